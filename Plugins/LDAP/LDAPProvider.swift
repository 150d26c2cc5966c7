import Diagnostics
import Foundation
import IdentityCore
import LDAPClient
import Storage
import Synchronization
import Threading

/// Checks usernames and passwords against an LDAP directory by search-then-bind (`type: ldap`), and
/// lists group memberships for sync.
///
/// A login, on one fresh connection (see `LDAPClient` for why), all on `context.ioPool`:
/// 1. An empty password is `.rejected(.invalidCredentials)` before any network I/O (an LDAP bind with
///    a DN and no password is an "unauthenticated bind", which some servers accept).
/// 2. Connect (StartTLS or ldaps as configured), bind as the service account (or stay anonymous), and
///    search `user.baseDN` for `(&<user.filter>(<usernameAttribute>=<escaped username>))`.
/// 3. No entry: one bind with the password as a DN that does not exist (the work a wrong password costs),
///    then `.notMine`, so a later provider may know the name. Two or more: `.rejected` and a warning in the
///    log (an ambiguous name must not log in as whichever entry came first).
/// 4. Bind as the entry's DN with the password: refused is `.rejected(.invalidCredentials)`.
/// 5. Rebind as the service account and read the user's groups (their DNs go into `groups`).
///
/// A directory that is down, hangs or fails TLS gives `ProviderError(.unavailable)` naming the
/// provider, never a rejection, and no login waits longer than `connectTimeout + operationTimeout`.
/// A refused service-account bind or a missing base DN gives `ProviderError(.misconfigured)`.
///
/// Threading: immutable; every method may run concurrently, each call on its own LDAP connection.
public final class LDAPProvider: PasswordAuthenticating, GroupDirectory, IdentityRefreshing, ProviderFactory {
    /// The `type` of `providers:` entries this plugin serves.
    public static let typeName = "ldap"
    /// Usernames longer than this (in UTF-8 bytes) are never looked up.
    public static let maximumUsernameBytes = 256
    /// How many levels of nested groups are followed at most.
    public static let maximumNestingDepth = 16
    /// The most members ``members(of:)`` returns for one group.
    public static let maximumGroupMembers = 50_000

    /// The configured id.
    public let id: ProviderID
    /// The name shown to users.
    public let displayName: String
    /// The settings in force.
    public let configuration: Configuration

    /// Counters of the work done so far: how tests see that an unknown name costs what a wrong password costs.
    public struct Statistics: Sendable, Hashable {
        /// Binds with a user's password as a real entry.
        public var userBinds: Int
        /// Binds with a user's password as a DN that does not exist (unknown names and decoy work).
        public var dummyBinds: Int
        /// Every bind with a user-supplied password, real or dummy.
        public var passwordBinds: Int { userBinds + dummyBinds }

        /// Creates counters.
        public init(userBinds: Int, dummyBinds: Int) {
            self.userBinds = userBinds
            self.dummyBinds = dummyBinds
        }
    }

    private let client: LDAPClient
    private let context: ProviderContext
    private let logger: Logger
    /// A DN below the user base that names no entry: binding as it costs the server what a wrong password
    /// costs, and is refused without touching any real account (a directory's own lockout never counts it).
    private let absentDN: String
    private let userBinds = Atomic<Int>(0)
    private let dummyBinds = Atomic<Int>(0)

    /// Creates a provider; does no network I/O.
    ///
    /// - Throws: `ProviderError(.misconfigured)` naming every problem of `configuration`.
    public init(id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext) throws {
        let connection = LDAPConnectionOptions(
            url: configuration.url, startTLS: configuration.startTLS, caFile: configuration.caFile,
            verifiesCertificates: !configuration.insecureSkipVerify,
            connectTimeout: .seconds(configuration.connectTimeout.seconds),
            operationTimeout: .seconds(configuration.operationTimeout.seconds),
            maximumConcurrentSessions: min(max(configuration.maxConnections, 1), 1024))
        try ProviderError.requireNone(connection.problems + configuration.problems, provider: id)
        self.id = id
        self.displayName = displayName
        self.configuration = configuration
        self.context = context
        self.logger = context.logger.with(["provider": id.rawValue])
        // Random so that no entry a directory administrator might create can be this one.
        let marker = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        self.absentDN = "cn=portcullis-no-such-entry-\(marker),\(configuration.user.baseDN)"
        do {
            self.client = try LDAPClient(options: connection, pool: context.ioPool)
        } catch {
            throw ProviderError(.misconfigured, provider: id, reason: String(describing: error))
        }
        if configuration.insecureSkipVerify && connection.usesTLS {
            logger.warning(
                "LDAP certificate verification is OFF (insecureSkipVerify): anyone on the network path can read passwords",
                ["url": configuration.url])
        }
        if !connection.usesTLS {
            logger.warning(
                "LDAP passwords are sent in clear text: use ldaps:// or startTLS", ["url": configuration.url])
        }
    }

    /// Makes a provider for a `type: ldap` entry.
    public static func make(
        id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext
    ) throws -> any IdentityProvider {
        try LDAPProvider(id: id, displayName: displayName, configuration: configuration, context: context)
    }

    /// The work counters so far.
    public var statistics: Statistics {
        Statistics(userBinds: userBinds.load(ordering: .relaxed), dummyBinds: dummyBinds.load(ordering: .relaxed))
    }

    // MARK: - Password login

    private enum LoginResult: Sendable {
        case authenticated(ExternalIdentity)
        case unknownUser
        case ambiguous([String])
        case wrongPassword(dn: String)
    }

    /// Decides whether `credentials` belong to a directory user (search-then-bind).
    public func authenticate(_ credentials: PasswordCredentials) async throws -> PasswordOutcome {
        guard !credentials.password.isEmpty else { return .rejected(.invalidCredentials) }
        let username = credentials.username
        guard !username.isEmpty, username.utf8.count <= Self.maximumUsernameBytes else { return .notMine }
        let password = credentials.password
        let result = try await run("login") { session -> LoginResult in
            try self.bindServiceAccount(session)
            let found = try self.searchUsers(
                session, filter: self.userFilter(self.configuration.user.usernameAttribute, equals: username),
                sizeLimit: 2)
            guard let entry = found.first else {
                try self.bindAbsentEntry(session, password: password)
                return .unknownUser
            }
            guard found.count == 1 else { return .ambiguous(found.map(\.dn)) }
            do {
                self.userBinds.add(1, ordering: .relaxed)
                try session.bind(dn: entry.dn, password: password)
            } catch let error as LDAPError where error.code == .invalidCredentials {
                return .wrongPassword(dn: entry.dn)
            }
            var identity = try self.identity(from: entry, typedUsername: username)
            if self.configuration.groups != nil {
                try self.bindServiceAccount(session, again: true)
                identity.groups = try self.groups(ofEntry: entry, session: session).map(\.dn)
            }
            return .authenticated(identity)
        }
        switch result {
        case .authenticated(let identity):
            logger.debug("LDAP login", ["username": identity.username, "subject": identity.subject])
            return .authenticated(identity)
        case .unknownUser:
            return .notMine
        case .ambiguous(let dns):
            logger.warning(
                "LDAP login refused: the username matches several entries",
                ["username": String(username.prefix(200)), "entries": dns.prefix(5).joined(separator: " | ")])
            await audit(credentials, reason: "ambiguous_user")
            return .rejected(.invalidCredentials)
        case .wrongPassword(let dn):
            logger.info("LDAP login refused: wrong password", ["dn": dn])
            await audit(credentials, reason: "invalid_credentials")
            return .rejected(.invalidCredentials)
        }
    }

    /// The work of a login of an unknown name (connect, search, one bind as a DN that does not exist),
    /// deciding nothing; failures are ignored (see `PasswordAuthenticating.spendDecoyWork(for:)`).
    public func spendDecoyWork(for credentials: PasswordCredentials) async {
        let username = credentials.username
        let password = credentials.password
        guard !password.isEmpty, !username.isEmpty, username.utf8.count <= Self.maximumUsernameBytes else { return }
        _ = try? await client.withSession { session in
            try self.bindServiceAccount(session)
            _ = try self.searchUsers(
                session, filter: self.userFilter(self.configuration.user.usernameAttribute, equals: username),
                sizeLimit: 2)
            try self.bindAbsentEntry(session, password: password)
        }
    }

    /// Binds as `absentDN` with `password`, which the server refuses as it refuses a wrong password.
    private func bindAbsentEntry(_ session: LDAPSession, password: String) throws {
        dummyBinds.add(1, ordering: .relaxed)
        do {
            try session.bind(dn: absentDN, password: password)
        } catch let error as LDAPError
            where error.code == .invalidCredentials || error.code == .noSuchObject
            || error.code == .insufficientAccess
        {
            // The expected refusal; nothing else is learnt from it.
        }
    }

    // MARK: - Group directory and refresh

    /// The groups of a user this provider authenticated earlier, found again by its subject.
    public func groups(of identity: ExternalIdentity) async throws -> [DirectoryGroup] {
        guard configuration.groups != nil else { return [] }
        let subject = identity.subject
        return try await run("group lookup") { session in
            try self.bindServiceAccount(session)
            guard let entry = try self.userEntry(subject: subject, session: session) else { return [] }
            return try self.groups(ofEntry: entry, session: session)
        }
    }

    /// The users in `group` (and in its nested groups when `groups.nested` is on), without their groups.
    public func members(of group: DirectoryGroup) async throws -> [ExternalIdentity] {
        guard let groups = configuration.groups else { return [] }
        return try await run("member listing") { session in
            try self.bindServiceAccount(session)
            return try self.members(of: group.dn, settings: groups, session: session)
        }
    }

    /// Reads the user again by its subject: nil when the directory no longer has it.
    public func refresh(_ identity: ExternalIdentity) async throws -> ExternalIdentity? {
        let subject = identity.subject
        let username = identity.username
        return try await run("refresh") { session -> ExternalIdentity? in
            try self.bindServiceAccount(session)
            guard let entry = try self.userEntry(subject: subject, session: session) else { return nil }
            var refreshed = try self.identity(from: entry, typedUsername: username)
            if self.configuration.groups != nil {
                refreshed.groups = try self.groups(ofEntry: entry, session: session).map(\.dn)
            }
            return refreshed
        }
    }

    // MARK: - Running conversations

    /// Runs `body` on a fresh connection and turns LDAP failures into `ProviderError`s.
    private func run<T: Sendable>(_ purpose: String, _ body: @escaping @Sendable (LDAPSession) throws -> T)
        async throws -> T
    {
        do {
            return try await client.withSession(body)
        } catch let error as LDAPError {
            let failure = providerError(error, purpose: purpose)
            logger.error("LDAP \(purpose) failed", ["code": failure.code.rawValue, "error": error.description])
            throw failure
        } catch let error as ProviderError {
            logger.error("LDAP \(purpose) failed", ["code": error.code.rawValue, "error": error.reason])
            throw error
        }
    }

    private func providerError(_ error: LDAPError, purpose: String) -> ProviderError {
        switch error.code {
        case .serverDown, .timeout, .tlsFailure, .serverUnavailable:
            return ProviderError(
                .unavailable, provider: id,
                reason:
                    "identity provider unavailable: LDAP server \(configuration.url) (\(error.code.rawValue)): \(error.message)"
            )
        case .invalidCredentials, .insufficientAccess, .noSuchObject, .invalidFilter, .invalidURL:
            return ProviderError(
                .misconfigured, provider: id,
                reason: "LDAP \(purpose) at \(configuration.url) failed (\(error.code.rawValue)): \(error.message)")
        case .protocolError:
            return ProviderError(
                .protocolViolation, provider: id,
                reason: "LDAP \(purpose) at \(configuration.url) failed: \(error.message)")
        }
    }

    // MARK: - Pieces run inside a session (on a pool thread)

    private func bindServiceAccount(_ session: LDAPSession, again: Bool = false) throws {
        if let dn = configuration.bindDN, let password = configuration.bindPassword {
            try session.bind(dn: dn, password: password)
        } else if again {
            // Drop the user's own authorization so group reads see what the anonymous searcher sees.
            try session.bindAnonymously()
        }
    }

    private var userAttributes: [String] {
        let user = configuration.user
        var names = [user.usernameAttribute, user.emailAttribute, user.displayNameAttribute, "uid"]
        if user.subjectAttribute.lowercased() != "dn" { names.append(user.subjectAttribute) }
        if configuration.groups?.membership == .memberOf { names.append("memberOf") }
        return Array(Set(names)).sorted()
    }

    private func userFilter(_ attribute: String, equals value: String) -> String {
        "(&\(configuration.user.filter)(\(attribute)=\(LDAPEscape.filterValue(value))))"
    }

    private func searchUsers(_ session: LDAPSession, filter: String, sizeLimit: Int) throws -> [LDAPEntry] {
        let user = configuration.user
        return try session.search(
            base: user.baseDN, scope: user.scope == .one ? .one : .sub, filter: filter, attributes: userAttributes,
            sizeLimit: sizeLimit)
    }

    /// The user entry whose subject is `subject`, if exactly one exists.
    private func userEntry(subject: String, session: LDAPSession) throws -> LDAPEntry? {
        let attribute = configuration.user.subjectAttribute
        if attribute.lowercased() == "dn" {
            guard isBelow(subject, base: configuration.user.baseDN) else { return nil }
            return try lookUp(subject, filter: configuration.user.filter, attributes: userAttributes, session: session)
        }
        let assertion: String
        if attribute.lowercased() == "objectguid" {
            guard let bytes = bytes(fromHex: subject) else { return nil }
            assertion = LDAPEscape.filterValue(bytes: bytes)
        } else {
            assertion = LDAPEscape.filterValue(subject)
        }
        let found = try searchUsers(
            session, filter: "(&\(configuration.user.filter)(\(attribute)=\(assertion)))", sizeLimit: 2)
        return found.count == 1 ? found[0] : nil
    }

    /// A base-scope read of `dn` if it matches `filter`; nil when it does not exist or does not match.
    private func lookUp(_ dn: String, filter: String, attributes: [String], session: LDAPSession) throws -> LDAPEntry? {
        do {
            return try session.search(base: dn, scope: .base, filter: filter, attributes: attributes).first
        } catch let error as LDAPError where error.code == .noSuchObject {
            return nil
        }
    }

    private func identity(from entry: LDAPEntry, typedUsername: String) throws -> ExternalIdentity {
        let user = configuration.user
        let subject: String?
        switch user.subjectAttribute.lowercased() {
        case "dn": subject = entry.dn
        case "objectguid": subject = entry.firstValueHex(user.subjectAttribute)
        default: subject = entry.firstValue(user.subjectAttribute) ?? entry.firstValueHex(user.subjectAttribute)
        }
        guard let subject, !subject.isEmpty else {
            throw ProviderError(
                .misconfigured, provider: id,
                reason:
                    "the entry \(entry.dn) has no \(user.subjectAttribute) value (subjectAttribute) the search can read"
            )
        }
        let names = entry.values(user.usernameAttribute)
        let username =
            names.first { $0.caseInsensitiveCompare(typedUsername) == .orderedSame } ?? names.first ?? typedUsername
        return ExternalIdentity(
            provider: id, subject: subject, username: username, email: entry.firstValue(user.emailAttribute),
            emailVerified: false, displayName: entry.firstValue(user.displayNameAttribute), groups: [],
            origin: .federated, credential: .password, distinguishedName: entry.dn)
    }

    // MARK: - Groups

    private func groups(ofEntry entry: LDAPEntry, session: LDAPSession) throws -> [DirectoryGroup] {
        guard let settings = configuration.groups else { return [] }
        var found: [String: DirectoryGroup] = [:]
        switch settings.membership {
        case .member, .uniqueMember:
            let attribute = settings.membership.rawValue
            var frontier = [entry.dn]
            var depth = 0
            // Breadth first over "groups whose member is one of these DNs"; `found` is the cycle guard.
            while !frontier.isEmpty && depth <= (settings.nested ? Self.maximumNestingDepth : 0) {
                let assertions = frontier.map { "(\(attribute)=\(LDAPEscape.filterValue($0)))" }.joined()
                let groups = try session.search(
                    base: settings.baseDN, scope: .sub, filter: "(&\(settings.filter)(|\(assertions)))",
                    attributes: [settings.nameAttribute])
                frontier = []
                for group in groups where found[group.dn.lowercased()] == nil {
                    found[group.dn.lowercased()] = directoryGroup(group, settings: settings)
                    frontier.append(group.dn)
                }
                depth += 1
            }
        case .memberUid:
            let uid = entry.firstValue("uid") ?? entry.firstValue(configuration.user.usernameAttribute)
            guard let uid else { return [] }
            let groups = try session.search(
                base: settings.baseDN, scope: .sub,
                filter: "(&\(settings.filter)(memberUid=\(LDAPEscape.filterValue(uid))))",
                attributes: [settings.nameAttribute])
            for group in groups { found[group.dn.lowercased()] = directoryGroup(group, settings: settings) }
        case .memberOf:
            var frontier = entry.values("memberOf")
            var seen = Set<String>()
            var depth = 0
            while !frontier.isEmpty && depth <= (settings.nested ? Self.maximumNestingDepth : 0) {
                var next: [String] = []
                for dn in frontier where seen.insert(dn.lowercased()).inserted && isBelow(dn, base: settings.baseDN) {
                    guard
                        let group = try lookUp(
                            dn, filter: settings.filter, attributes: [settings.nameAttribute, "memberOf"],
                            session: session)
                    else { continue }
                    found[group.dn.lowercased()] = directoryGroup(group, settings: settings)
                    next += group.values("memberOf")
                }
                frontier = next
                depth += 1
            }
        }
        return found.values.sorted { $0.dn < $1.dn }
    }

    private func directoryGroup(_ entry: LDAPEntry, settings: GroupSearch) -> DirectoryGroup {
        let name =
            entry.firstValue(settings.nameAttribute) ?? LDAPDistinguishedName.firstRDN(of: entry.dn)?.value ?? entry.dn
        return DirectoryGroup(dn: entry.dn, name: name)
    }

    private func members(of groupDN: String, settings: GroupSearch, session: LDAPSession) throws -> [ExternalIdentity] {
        var identities: [String: ExternalIdentity] = [:]
        var visitedGroups = Set<String>()
        var frontier = [groupDN]
        var depth = 0
        while !frontier.isEmpty && depth <= (settings.nested ? Self.maximumNestingDepth : 0) {
            var nextGroups: [String] = []
            for dn in frontier where visitedGroups.insert(dn.lowercased()).inserted {
                guard isBelow(dn, base: settings.baseDN) else { continue }
                switch settings.membership {
                case .member, .uniqueMember:
                    let attribute = settings.membership.rawValue
                    guard let group = try lookUp(dn, filter: settings.filter, attributes: [attribute], session: session)
                    else { continue }
                    for memberDN in group.values(attribute) {
                        guard identities.count < Self.maximumGroupMembers else { break }
                        if isBelow(memberDN, base: configuration.user.baseDN),
                            let user = try lookUp(
                                memberDN, filter: configuration.user.filter, attributes: userAttributes,
                                session: session)
                        {
                            let identity = try identity(from: user, typedUsername: "")
                            identities[identity.subject] = identity
                        } else if settings.nested {
                            nextGroups.append(memberDN)
                        }
                    }
                case .memberUid:
                    guard
                        let group = try lookUp(dn, filter: settings.filter, attributes: ["memberUid"], session: session)
                    else { continue }
                    for uid in group.values("memberUid") where identities.count < Self.maximumGroupMembers {
                        let found = try searchUsers(session, filter: userFilter("uid", equals: uid), sizeLimit: 2)
                        guard found.count == 1 else { continue }
                        let identity = try identity(from: found[0], typedUsername: uid)
                        identities[identity.subject] = identity
                    }
                case .memberOf:
                    guard try lookUp(dn, filter: settings.filter, attributes: ["cn"], session: session) != nil else {
                        continue
                    }
                    let users = try searchUsers(
                        session, filter: userFilter("memberOf", equals: dn), sizeLimit: Self.maximumGroupMembers)
                    for user in users {
                        let identity = try identity(from: user, typedUsername: "")
                        identities[identity.subject] = identity
                    }
                    if settings.nested {
                        let children = try session.search(
                            base: settings.baseDN, scope: .sub,
                            filter: "(&\(settings.filter)(memberOf=\(LDAPEscape.filterValue(dn))))", attributes: ["cn"])
                        nextGroups += children.map(\.dn)
                    }
                }
            }
            frontier = nextGroups
            depth += 1
        }
        return identities.values.sorted { $0.username < $1.username }
    }

    // MARK: - Helpers

    private func audit(_ credentials: PasswordCredentials, reason: String) async {
        let detail = ["provider": id.rawValue, "reason": reason]
        let json = (try? JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys]))
            .flatMap { String(data: $0, encoding: .utf8) }
        await context.audit.record(
            NewAuditEvent(
                action: "login.password", outcome: .denied, target: "user:\(credentials.username.prefix(200))",
                clientIP: credentials.clientAddress, detail: json, time: context.now()))
    }
}

/// Whether `dn` is `base` or below it (compared without case and spaces after commas, which is enough
/// for DNs the same server wrote).
func isBelow(_ dn: String, base: String) -> Bool {
    func normal(_ text: String) -> String {
        text.lowercased().replacingOccurrences(of: ", ", with: ",").trimmingSpaces
    }
    let child = normal(dn)
    let parent = normal(base)
    return child == parent || child.hasSuffix("," + parent)
}

private func bytes(fromHex text: String) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0, !digits.isEmpty else { return nil }
    var bytes: [UInt8] = []
    for index in stride(from: 0, to: digits.count, by: 2) {
        guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
            return nil
        }
        bytes.append(byte)
    }
    return bytes
}

extension LDAPProvider: DirectoryUserLookup {
    /// Searches for `username` as a login does (service bind, the user filter), without binding as the user.
    public func identity(forUsername username: String) async throws -> ExternalIdentity? {
        guard !username.isEmpty, username.utf8.count <= Self.maximumUsernameBytes else { return nil }
        return try await run("user lookup") { session -> ExternalIdentity? in
            try self.bindServiceAccount(session)
            let found = try self.searchUsers(
                session, filter: self.userFilter(self.configuration.user.usernameAttribute, equals: username),
                sizeLimit: 2)
            guard found.count == 1 else { return nil }
            return try self.identity(from: found[0], typedUsername: username)
        }
    }
}

extension LDAPProvider: HealthReporting {
    /// Connects and binds as the service account (anonymously without one): what every login needs first.
    public func checkHealth() async -> ProviderHealth {
        do {
            try await run("health check") { [self] session in try bindServiceAccount(session, again: true) }
            return ProviderHealth(isHealthy: true, message: "The directory at \(configuration.url) answers.")
        } catch let error as ProviderError {
            return ProviderHealth(isHealthy: false, message: error.reason)
        } catch {
            return ProviderHealth(isHealthy: false, message: "The directory at \(configuration.url) failed: \(error)")
        }
    }
}
