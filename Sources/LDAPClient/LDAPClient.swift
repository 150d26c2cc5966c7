import CLDAP
import Foundation
import Synchronization
import Threading

/// How to reach one directory server: its URL, the transport security, and the time limits.
public struct LDAPConnectionOptions: Sendable, Hashable {
    /// `ldap://host:port` or `ldaps://host:port`.
    public var url: String
    /// Whether an `ldap://` connection is upgraded with StartTLS before anything else is sent.
    public var startTLS: Bool
    /// A PEM file of the CA certificates to trust; nil trusts what libldap trusts by default.
    public var caFile: String?
    /// Whether the server certificate and host name are checked. Turning it off is for tests and
    /// emergencies only: anyone on the path can then read every password.
    public var verifiesCertificates: Bool
    /// The limit for the TCP connect and the TLS handshake.
    public var connectTimeout: Duration
    /// The limit for each LDAP request (StartTLS, bind, search).
    public var operationTimeout: Duration
    /// The most connections one client has open at once; further conversations wait for a free one
    /// (within their deadline), so a hung server cannot take every thread of a shared pool.
    public var maximumConcurrentSessions: Int

    /// Creates options; the defaults verify certificates, allow 5 s to connect and 10 s per request,
    /// and open at most 8 connections at once.
    public init(
        url: String, startTLS: Bool = false, caFile: String? = nil, verifiesCertificates: Bool = true,
        connectTimeout: Duration = .seconds(5), operationTimeout: Duration = .seconds(10),
        maximumConcurrentSessions: Int = 8
    ) {
        self.maximumConcurrentSessions = maximumConcurrentSessions
        self.url = url
        self.startTLS = startTLS
        self.caFile = caFile
        self.verifiesCertificates = verifiesCertificates
        self.connectTimeout = connectTimeout
        self.operationTimeout = operationTimeout
    }

    /// Whether the URL is `ldaps://` (TLS from the first byte).
    public var isLDAPS: Bool { url.lowercased().hasPrefix("ldaps://") }

    /// Whether the connection is protected by TLS one way or the other.
    public var usesTLS: Bool { isLDAPS || startTLS }

    /// Problems that make these options unusable, as sentences (empty when they are fine). Does no I/O
    /// beyond checking that the CA file is readable.
    public var problems: [String] {
        var found: [String] = []
        let lowered = url.lowercased()
        if !(lowered.hasPrefix("ldap://") || lowered.hasPrefix("ldaps://")) {
            found.append("url must start with ldap:// or ldaps:// (got \"\(url)\")")
        } else if url.contains("\0") || url.contains(" ") || !LDAPSession.isValidURL(url) {
            found.append("url \"\(url)\" is not a valid LDAP URL")
        }
        if isLDAPS && startTLS { found.append("startTLS cannot be combined with an ldaps:// url") }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            found.append("caFile \(caFile) cannot be read")
        }
        if connectTimeout <= .zero { found.append("connectTimeout must be longer than 0") }
        if operationTimeout <= .zero { found.append("operationTimeout must be longer than 0") }
        if !(1...1024).contains(maximumConcurrentSessions) {
            found.append("the connection limit must be between 1 and 1024 (got \(maximumConcurrentSessions))")
        }
        return found
    }
}

/// How far below the base DN a search looks.
public enum LDAPScope: String, Sendable, Hashable, CaseIterable {
    /// The base entry only.
    case base
    /// The base entry's immediate children.
    case one
    /// The base entry and everything below it.
    case sub

    fileprivate var cValue: Int32 {
        switch self {
        case .base: LDAP_SCOPE_BASE
        case .one: LDAP_SCOPE_ONELEVEL
        case .sub: LDAP_SCOPE_SUBTREE
        }
    }
}

/// A directory client: runs short LDAP conversations on a `BlockingPool`, one fresh connection each.
///
/// Why one connection per conversation rather than a handle pool: a login rebinds the connection as
/// the user, so a pooled handle would carry one user's authorization into the next user's request
/// unless it was rebound every time; a fresh handle also never has to notice that the server restarted
/// and its pooled sockets died. Opening one costs about a millisecond on a LAN (plus a TLS handshake),
/// small next to the login it serves.
///
/// Threading: immutable and `Sendable`; `withSession` may be called concurrently, each call using its
/// own handle on one pool thread. Nothing here touches libldap's global options: TLS settings are made
/// on each handle and take effect through `LDAP_OPT_X_TLS_NEWCTX`.
public final class LDAPClient: Sendable {
    /// The connection settings.
    public let options: LDAPConnectionOptions
    private let pool: BlockingPool
    private let admission: Admission

    /// Creates a client; does no I/O.
    ///
    /// - Throws: `LDAPError(.invalidURL)` naming every problem of `options`.
    public init(options: LDAPConnectionOptions, pool: BlockingPool) throws {
        let problems = options.problems
        guard problems.isEmpty else {
            throw LDAPError(.invalidURL, message: problems.joined(separator: "; "))
        }
        _ = Self.brokenPipesIgnored
        self.options = options
        self.pool = pool
        self.admission = Admission(limit: options.maximumConcurrentSessions)
    }

    /// libldap writes to its sockets without `MSG_NOSIGNAL`, so a server that hangs up (after a failed
    /// TLS handshake, or when it is restarted) would kill the process with SIGPIPE on the next write.
    /// The server ignores SIGPIPE at start for the same reason; a client must not depend on that.
    private static let brokenPipesIgnored: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return true
    }()

    /// The most time one `withSession` call may take: the connect timeout plus the operation timeout.
    public var deadline: Duration { options.connectTimeout + options.operationTimeout }

    /// Connects (with StartTLS when configured), runs `body` on the connection, and unbinds, all on one
    /// pool thread; the caller's task is suspended meanwhile.
    ///
    /// The whole conversation is bounded by ``deadline``: past it the call throws `LDAPError(.timeout)`
    /// even if libldap is still waiting, and the connection's socket is shut down so the pool thread is
    /// released at once (libldap's own timeouts do not cover the TLS handshake). At most
    /// ``LDAPConnectionOptions/maximumConcurrentSessions`` conversations run at once; the others wait
    /// for a free connection within their deadline.
    ///
    /// - Throws: `LDAPError` from connecting or from `body`; whatever else `body` throws.
    public func withSession<T: Sendable>(_ body: @escaping @Sendable (LDAPSession) throws -> T) async throws -> T {
        let options = self.options
        let killSwitch = SocketKillSwitch()
        return try await runOnPool(within: deadline, onDeadline: killSwitch.trip) {
            let session = try LDAPSession(options: options, killSwitch: killSwitch)
            defer { session.close() }
            return try body(session)
        }
    }

    private func runOnPool<T: Sendable>(
        within limit: Duration, onDeadline: @escaping @Sendable () -> Void, _ job: @escaping @Sendable () throws -> T
    ) async throws -> T {
        let gate = ResumeOnce<T>()
        let url = options.url
        return try await withCheckedThrowingContinuation { continuation in
            gate.install(continuation)
            let timer = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled else { return }
                gate.resume(
                    with: .failure(
                        LDAPError(.timeout, resultCode: LDAP_TIMEOUT, message: "\(url) gave no answer within \(limit)"))
                )
                // Only after the caller has its timeout: unblocking the thread makes the job fail too.
                onDeadline()
            }
            let pool = self.pool
            let admission = self.admission
            admission.enter {
                pool.submit {
                    defer { admission.leave() }
                    // A caller that already gave up (it waited for a free slot past its deadline) is
                    // not worth a connection to a directory that is probably struggling.
                    guard !gate.isResolved else { return }
                    let result = Result { try job() }
                    timer.cancel()
                    gate.resume(with: result)
                }
            }
        }
    }
}

/// Unblocks a pool thread stuck on a socket once its caller's deadline has passed.
///
/// libldap bounds its waits for LDAP answers, but Debian's build does the TLS handshake with plain
/// blocking reads, so a server that accepts and then freezes would hold the thread forever. Shutting
/// the socket down (not closing it: the descriptor stays the session's) makes that read fail at once.
/// The session disarms the switch before libldap closes the descriptor, so a late trip can never
/// touch a reused descriptor.
final class SocketKillSwitch: Sendable {
    private struct State {
        var descriptor: Int32?
        var tripped = false
    }

    private let state = Mutex(State())

    /// Watches `descriptor`; shuts it down at once if the deadline has already passed.
    func arm(_ descriptor: Int32) {
        state.withLock { state in
            state.descriptor = descriptor
            if state.tripped { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }

    /// Stops watching (before the descriptor is closed).
    func disarm() {
        state.withLock { $0.descriptor = nil }
    }

    /// The deadline passed: shut the watched socket down, now or when it is armed.
    func trip() {
        state.withLock { state in
            state.tripped = true
            if let descriptor = state.descriptor { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }
}

/// Caps the conversations one client has in flight, so a hung directory holds at most that many
/// threads of the shared I/O pool; the rest wait here (still bounded by their deadline).
private final class Admission: Sendable {
    private struct State {
        var active = 0
        var waiting: [@Sendable () -> Void] = []
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) { self.limit = max(limit, 1) }

    /// Runs `start` now if a slot is free, else when one frees up.
    func enter(_ start: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            guard state.active < limit else {
                state.waiting.append(start)
                return false
            }
            state.active += 1
            return true
        }
        if runNow { start() }
    }

    /// Frees the caller's slot, handing it to the longest waiter.
    func leave() {
        let next = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.waiting.isEmpty else {
                state.active -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?()
    }
}

/// Resumes a continuation once: whichever of the job and the watchdog finishes first wins.
private final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    /// Whether the continuation was resumed already.
    var isResolved: Bool { continuation.withLock { $0 == nil } }

    func resume(with result: Result<T, any Error>) {
        let waiting = continuation.withLock { stored -> CheckedContinuation<T, any Error>? in
            defer { stored = nil }
            return stored
        }
        waiting?.resume(with: result)
    }
}

/// One open connection to the directory, handed to the body of ``LDAPClient/withSession(_:)``.
///
/// Threading: not `Sendable`. Every method blocks its thread until the server answers or a timeout
/// passes, so a session exists only inside a pool job and must not escape it.
public final class LDAPSession {
    private var handle: OpaquePointer?
    private let options: LDAPConnectionOptions
    private let killSwitch: SocketKillSwitch

    /// Whether libldap accepts `url` (parsing only, no I/O).
    static func isValidURL(_ url: String) -> Bool {
        var probe: OpaquePointer?
        let status = ldap_initialize(&probe, url)
        if let probe { ldap_unbind_ext_s(probe, nil, nil) }
        return status == LDAP_SUCCESS && probe != nil
    }

    init(options: LDAPConnectionOptions, killSwitch: SocketKillSwitch) throws {
        self.options = options
        self.killSwitch = killSwitch
        var created: OpaquePointer?
        // An ldaps:// URL is opened as ldap:// and TLS is installed on the connected socket: libldap
        // reports a failed handshake inside its connect as "can't contact server", which would hide a
        // certificate problem behind what looks like an outage.
        let plainURL = options.isLDAPS ? "ldap://" + options.url.dropFirst("ldaps://".count) : options.url
        let status = ldap_initialize(&created, plainURL)
        guard status == LDAP_SUCCESS, let created else {
            throw LDAPError(.invalidURL, resultCode: status, message: "\(options.url): \(Self.text(of: status))")
        }
        handle = created
        do {
            try configure(created)
            try connect(created)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Unbinds and frees the handle; later calls fail with `serverDown`.
    func close() {
        guard let handle else { return }
        self.handle = nil
        killSwitch.disarm()
        ldap_unbind_ext_s(handle, nil, nil)
    }

    // MARK: - Operations

    /// Binds as `dn` with `password` (a simple bind).
    ///
    /// An empty password is refused here with `invalidCredentials` without asking the server: with a DN
    /// and no password a simple bind is an "unauthenticated bind", which some servers accept.
    ///
    /// - Throws: `LDAPError(.invalidCredentials)` for a wrong DN or password; other codes when the server
    ///   cannot be used.
    public func bind(dn: String, password: String) throws {
        guard !password.isEmpty else {
            throw LDAPError(.invalidCredentials, resultCode: LDAP_INVALID_CREDENTIALS, message: "empty password")
        }
        try simpleBind(dn: dn, password: Array(password.utf8))
    }

    /// Binds anonymously (empty DN, empty password), dropping any earlier bind's authorization.
    ///
    /// - Throws: `LDAPError` when the server refuses anonymous binds or cannot be used.
    public func bindAnonymously() throws {
        try simpleBind(dn: "", password: [])
    }

    /// Searches below `base` and returns the entries with the requested `attributes` (an empty list
    /// asks for every user attribute; operational ones such as `entryUUID` or `memberOf` must be named).
    ///
    /// A search that hits `sizeLimit` (0: the server's limit) returns the entries received so far
    /// rather than failing; ask for one more entry than you need to detect "too many".
    ///
    /// - Throws: `LDAPError(.noSuchObject)` when `base` does not exist, `.invalidFilter` for a malformed
    ///   filter, other codes when the server cannot be used.
    public func search(
        base: String, scope: LDAPScope, filter: String, attributes: [String], sizeLimit: Int = 0
    ) throws -> [LDAPEntry] {
        let handle = try openHandle()
        guard !base.contains("\0"), !filter.contains("\0"), !attributes.contains(where: { $0.contains("\0") }) else {
            throw LDAPError(.invalidFilter, resultCode: LDAP_FILTER_ERROR, message: "a NUL byte in a search argument")
        }
        var names: [UnsafeMutablePointer<CChar>?] = attributes.map { strdup($0) } + [nil]
        defer { for name in names { free(name) } }
        var limit = Self.timeval(options.operationTimeout)
        var result: OpaquePointer?
        let status = names.withUnsafeMutableBufferPointer { buffer in
            ldap_search_ext_s(
                handle, base, scope.cValue, filter, attributes.isEmpty ? nil : buffer.baseAddress, 0, nil, nil,
                &limit, Int32(clamping: max(sizeLimit, 0)), &result)
        }
        defer { if let result { ldap_msgfree(result) } }
        guard status == LDAP_SUCCESS || status == LDAP_SIZELIMIT_EXCEEDED else {
            throw error(status, "search under \(base)")
        }
        guard let result else { return [] }
        return entries(of: result, handle: handle)
    }

    // MARK: - Internals

    private func openHandle() throws -> OpaquePointer {
        guard let handle else {
            throw LDAPError(.serverDown, resultCode: LDAP_SERVER_DOWN, message: "the session is closed")
        }
        return handle
    }

    private func simpleBind(dn: String, password: [UInt8]) throws {
        let handle = try openHandle()
        guard !dn.contains("\0") else {
            throw LDAPError(.invalidCredentials, resultCode: LDAP_INVALID_CREDENTIALS, message: "a NUL byte in the DN")
        }
        var secret = password
        let status = secret.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var credential = berval(
                bv_len: ber_len_t(buffer.count),
                bv_val: buffer.baseAddress.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: CChar.self) })
            return ldap_sasl_bind_s(handle, dn, nil, &credential, nil, nil, nil)
        }
        // Do not leave the password in a buffer the allocator may hand out again.
        for index in secret.indices { secret[index] = 0 }
        guard status == LDAP_SUCCESS else { throw error(status, dn.isEmpty ? "anonymous bind" : "bind as \(dn)") }
    }

    private func configure(_ handle: OpaquePointer) throws {
        var version = LDAP_VERSION3
        try set(handle, LDAP_OPT_PROTOCOL_VERSION, &version, "protocol version")
        // Referrals would send the password to a server named by the answer, not by the configuration.
        try set(handle, LDAP_OPT_REFERRALS, nil, "referrals")
        var network = Self.timeval(options.connectTimeout)
        try set(handle, LDAP_OPT_NETWORK_TIMEOUT, &network, "network timeout")
        var operation = Self.timeval(options.operationTimeout)
        try set(handle, LDAP_OPT_TIMEOUT, &operation, "operation timeout")
        guard options.usesTLS else { return }
        var requirement = options.verifiesCertificates ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER
        try set(handle, LDAP_OPT_X_TLS_REQUIRE_CERT, &requirement, "certificate checking")
        if let caFile = options.caFile {
            try caFile.withCString { try set(handle, LDAP_OPT_X_TLS_CACERTFILE, $0, "CA file") }
        }
        // LDAP_OPT_X_TLS_PROTOCOL_TLS1_2 is `(3 << 8) + 3`, a macro Swift does not import.
        var minimum: Int32 = (3 << 8) + 3
        try set(handle, LDAP_OPT_X_TLS_PROTOCOL_MIN, &minimum, "minimum TLS version")
        // A TLS context of this handle's own, built from the options above; libldap's global context
        // (and whatever another provider configured) stays untouched.
        var isServer: Int32 = 0
        try set(handle, LDAP_OPT_X_TLS_NEWCTX, &isServer, "TLS context")
    }

    private func connect(_ handle: OpaquePointer) throws {
        let connected = ldap_connect(handle)
        guard connected == LDAP_SUCCESS else {
            var failure = error(connected, "connect to \(options.url)")
            if failure.code == .tlsFailure { failure.code = .serverDown }
            throw failure
        }
        var descriptor: Int32 = -1
        if ldap_get_option(handle, LDAP_OPT_DESC, &descriptor) == LDAP_OPT_SUCCESS, descriptor >= 0 {
            killSwitch.arm(descriptor)
        }
        guard options.usesTLS else { return }
        let upgraded = options.isLDAPS ? ldap_install_tls(handle) : ldap_start_tls_s(handle, nil, nil)
        guard upgraded == LDAP_SUCCESS else {
            var failure = error(upgraded, options.isLDAPS ? "TLS with \(options.url)" : "StartTLS with \(options.url)")
            if failure.code != .timeout && failure.code != .serverDown { failure.code = .tlsFailure }
            throw failure
        }
    }

    private func set(_ handle: OpaquePointer, _ option: Int32, _ value: UnsafeRawPointer?, _ what: String) throws {
        let status = ldap_set_option(handle, option, value)
        guard status == LDAP_OPT_SUCCESS else {
            throw LDAPError(
                options.usesTLS && option >= 0x6000 ? .tlsFailure : .protocolError, resultCode: status,
                message: "setting the \(what) failed: \(Self.text(of: status))")
        }
    }

    private func entries(of result: OpaquePointer, handle: OpaquePointer) -> [LDAPEntry] {
        var found: [LDAPEntry] = []
        var entry = ldap_first_entry(handle, result)
        while let current = entry {
            var dn = ""
            if let pointer = ldap_get_dn(handle, current) {
                dn = String(cString: pointer)
                ldap_memfree(pointer)
            }
            var attributes: [String: [[UInt8]]] = [:]
            var cursor: OpaquePointer?
            var name = ldap_first_attribute(handle, current, &cursor)
            while let attribute = name {
                var values: [[UInt8]] = []
                if let list = ldap_get_values_len(handle, current, attribute) {
                    var index = 0
                    while let value = list[index] {
                        let count = Int(value.pointee.bv_len)
                        values.append(
                            count == 0 || value.pointee.bv_val == nil
                                ? [] : Array(UnsafeRawBufferPointer(start: value.pointee.bv_val, count: count)))
                        index += 1
                    }
                    ldap_value_free_len(list)
                }
                attributes[String(cString: attribute), default: []] += values
                ldap_memfree(attribute)
                name = ldap_next_attribute(handle, current, cursor)
            }
            if let cursor { ber_free(cursor, 0) }
            found.append(LDAPEntry(dn: dn, rawAttributes: attributes))
            entry = ldap_next_entry(handle, current)
        }
        return found
    }

    private func error(_ status: Int32, _ step: String) -> LDAPError {
        var detail = ""
        if let handle {
            var message: UnsafeMutablePointer<CChar>?
            if ldap_get_option(handle, LDAP_OPT_DIAGNOSTIC_MESSAGE, &message) == LDAP_OPT_SUCCESS, let message {
                detail = String(cString: message)
                ldap_memfree(message)
            }
        }
        let code: LDAPError.Code
        switch status {
        case LDAP_SERVER_DOWN: code = .serverDown
        case LDAP_CONNECT_ERROR: code = options.usesTLS ? .tlsFailure : .serverDown
        case LDAP_TIMEOUT, LDAP_TIMELIMIT_EXCEEDED: code = .timeout
        case LDAP_INVALID_CREDENTIALS: code = .invalidCredentials
        case LDAP_NO_SUCH_OBJECT: code = .noSuchObject
        case LDAP_INAPPROPRIATE_AUTH, LDAP_INSUFFICIENT_ACCESS: code = .insufficientAccess
        case LDAP_BUSY, LDAP_UNAVAILABLE, LDAP_UNWILLING_TO_PERFORM, LDAP_ADMINLIMIT_EXCEEDED:
            code = .serverUnavailable
        case LDAP_FILTER_ERROR: code = .invalidFilter
        default: code = .protocolError
        }
        let text = "\(step): \(Self.text(of: status))" + (detail.isEmpty ? "" : " (\(detail))")
        return LDAPError(code, resultCode: status, message: text)
    }

    private static func text(of status: Int32) -> String {
        ldap_err2string(status).map { String(cString: $0) } ?? "result \(status)"
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
