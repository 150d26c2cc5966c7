import Authorization
import CryptoCore
import Foundation
import Storage

/// How long a web session lasts: `idle` since it was last used, `absolute` since sign-in, whichever ends first.
public struct WebSessionTimeouts: Sendable, Hashable {
    /// The longest a session may go unused (8 hours by default: a working day).
    public var idle: TimeInterval
    /// The longest a session may last at all (7 days by default).
    public var absolute: TimeInterval

    /// Describes the timeouts.
    public init(idle: TimeInterval = 8 * 3600, absolute: TimeInterval = 7 * 86400) {
        self.idle = idle
        self.absolute = absolute
    }
}

/// A web session that `WebSessionService.resolve` accepted: the signed-in account as of this request.
public struct ActiveWebSession: Sendable, Hashable, CustomStringConvertible {
    /// The stored session's id (not a secret: the sessions list shows it).
    public var id: WebSession.ID
    /// The signed-in account, read in the same transaction as the session (enabled).
    public var user: User
    /// The token forms and script calls of this session must carry (compare it with `acceptsCSRFToken`).
    public var csrfToken: String
    /// When it started.
    public var createdAt: Date
    /// When it was last used (at most `WebSessionService.touchInterval` old).
    public var lastSeenAt: Date
    /// Its absolute end.
    public var expiresAt: Date

    /// The account acting through this session.
    public var caller: Caller { Caller.user(user) }

    /// A log-safe summary: never the CSRF token.
    public var description: String { "ActiveWebSession(\(id), \(user.username))" }

    /// Whether `token` is this session's CSRF token, compared in constant time.
    public func acceptsCSRFToken(_ token: String) -> Bool { ConstantTime.equals(token, csrfToken) }

    init(_ session: WebSession, user: User, expiresAt: Date) {
        id = session.id
        self.user = user
        csrfToken = session.csrfToken
        createdAt = session.createdAt
        lastSeenAt = session.lastSeenAt
        self.expiresAt = expiresAt
    }
}

/// A session just started at sign-in: the cookie value to set (shown nowhere else, never stored) and the session.
public struct StartedWebSession: Sendable, CustomStringConvertible {
    /// The opaque cookie value (`pcw_…`); only its SHA-256 is stored.
    public var cookieValue: String
    /// The session it signs in.
    public var session: ActiveWebSession

    /// A log-safe summary: never the cookie value.
    public var description: String { "StartedWebSession(\(session.id), \(session.user.username))" }
}

/// One live session as the sessions list in the profile shows it.
public struct WebSessionSummary: Sendable, Hashable {
    /// The session's id (what "end this session" names).
    public var id: WebSession.ID
    /// When it started.
    public var createdAt: Date
    /// When it was last used.
    public var lastSeenAt: Date
    /// When it ends at the latest.
    public var expiresAt: Date
    /// The browser's user agent at sign-in; attacker-chosen text (escape it).
    public var client: String?
    /// The client address at sign-in.
    public var address: String?
    /// Whether it is the session making the request.
    public var isCurrent: Bool
}

/// The web UI's server-side sessions: start one at sign-in, resolve the cookie on every request, end one, end
/// all, list them, prune dead ones.
///
/// The cookie value is `pcw_` and 43 base64url characters of 32 random bytes; the store keeps only its SHA-256,
/// found by a unique index, so resolving a session is one indexed read (plus a write at most once per
/// `touchInterval`). A session works while it is not revoked, not idle for `timeouts.idle`, not older than
/// `timeouts.absolute` (the shorter of the stored end and the configured limit, so tightening the limit
/// applies to sessions already started), and its account exists and is enabled. Deleting an account deletes
/// its sessions (the store cascades); disabling one or setting its password revokes them
/// (`AccountAdministration`). Every state lives in the store, so any instance serves any session.
///
/// Throws `AdministrationError` for refusals, `StoreError` when the database fails.
public struct WebSessionService: Sendable {
    /// How often the last-seen time is written at most: resolving a session is normally a read only. The idle
    /// timeout is therefore measured from a time up to this much earlier than the last request.
    public static let touchInterval: TimeInterval = 60
    /// What every cookie value starts with, so a leaked one is recognised (secret scanners, logs).
    public static let cookiePrefix = "pcw_"
    /// The most user-agent characters (Unicode scalars) kept for the sessions list.
    public static let clientLength = 256
    /// The most address characters kept.
    public static let addressLength = 255

    private static let randomCharacters = 43  // 32 bytes of base64url without padding
    private static let cookieLength = cookiePrefix.utf8.count + randomCharacters

    private let store: any Store
    private let timeouts: WebSessionTimeouts
    private let now: @Sendable () -> Date
    private let settings = ResourcePolicySettings()
    /// Sessions and their accounts as last read, by cookie hash, trusted while the store's authorization
    /// generation holds: ending a session, and any change to its account, advance it (migration 14's triggers),
    /// at once on this instance and within the backend's polling interval on others, as for the token caches.
    /// Timeouts are checked on every use all the same.
    private let recent = AuthorizationCache<String, Found>(capacity: 10_000)

    /// Creates the service.
    public init(
        store: any Store, timeouts: WebSessionTimeouts = .init(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.timeouts = timeouts
        self.now = now
    }

    /// Signs `userID` in: a new session with a fresh random cookie value and CSRF token (a new id at every
    /// sign-in, so a session id planted before sign-in is worth nothing). `previous`, the cookie the browser
    /// sent, is ended when it names a session. Audited as `session.started`.
    ///
    /// - Throws: `AdministrationError(.unauthenticated)` when the account does not exist or is disabled.
    public func start(for userID: User.ID, client: String?, address: String?, replacing previous: String? = nil)
        async throws -> StartedWebSession
    {
        let cookieValue = Self.cookiePrefix + Base64URL.encode(SecureRandom.bytes(count: 32))
        let secretHash = Self.hash(cookieValue)
        let csrfToken = Base64URL.encode(SecureRandom.bytes(count: 32))
        let previousHash = previous.flatMap(Self.secretHash(ofCookie:))
        let client = Self.bounded(client, Self.clientLength), address = Self.bounded(address, Self.addressLength)
        let date = now(), expiresAt = date.addingTimeInterval(timeouts.absolute)
        let active = try await store.write { writer -> ActiveWebSession in
            guard let user = try writer.user(id: userID), user.isEnabled else {
                throw AdministrationError(.unauthenticated, "the account no longer exists or is disabled")
            }
            var detail: [String: String] = [:]
            if let previousHash, let old = try writer.webSession(secretHash: previousHash), old.revokedAt == nil {
                try writer.revokeWebSession(old.id, at: date)
                detail["replaced"] = old.id.description
            }
            let session = try writer.createWebSession(
                userID: userID, secretHash: secretHash, csrfToken: csrfToken, expiresAt: expiresAt, client: client,
                address: address)
            detail["session"] = session.id.description
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "session.started", outcome: .success, actorID: user.id, actorName: user.username,
                    target: "user:\(user.username)", clientIP: address, detail: AuditDetail.json(detail), time: date))
            return ActiveWebSession(session, user: user, expiresAt: expiresAt)
        }
        return StartedWebSession(cookieValue: cookieValue, session: active)
    }

    /// The session a cookie value signs in, or nil: malformed (no store access at all), unknown, revoked, past
    /// its idle or absolute timeout, or its account disabled or gone. Writes only when the last-seen time is
    /// `touchInterval` old.
    public func resolve(_ cookieValue: String) async throws -> ActiveWebSession? {
        guard let hash = Self.secretHash(ofCookie: cookieValue) else { return nil }
        let date = now(), timeouts = timeouts
        let generation = store.authorizationGeneration
        var found = recent.value(for: hash, at: generation)
        if found == nil {
            found = try await store.read { reader -> Found? in
                guard let session = try reader.webSession(secretHash: hash),
                    let user = try reader.user(id: session.userID)
                else { return nil }
                return Found(session: session, user: user)
            }
            if let found { recent.insert(found, for: hash, readAt: generation) }
        }
        // The lookup was by the hash's index; compare again in constant time all the same.
        guard let found, ConstantTime.equals(found.session.secretHash, hash), found.user.isEnabled,
            let end = Self.end(of: found.session, timeouts, at: date)
        else { return nil }
        var session = found.session
        if date.timeIntervalSince(session.lastSeenAt) >= Self.touchInterval {
            let touched = try await store.write { writer -> Bool in
                // Re-read: a sign-out may have come in between.
                guard let current = try writer.webSession(secretHash: hash), current.revokedAt == nil else {
                    return false
                }
                try writer.touchWebSession(current.id, at: date)
                return true
            }
            guard touched else { return nil }
            session.lastSeenAt = date
            recent.insert(Found(session: session, user: found.user), for: hash, readAt: generation)
        }
        return ActiveWebSession(session, user: found.user, expiresAt: end)
    }

    /// Signs out: ends the session the cookie value names, if it is live (else does nothing). Audited as
    /// `session.ended`.
    public func end(_ cookieValue: String) async throws {
        guard let hash = Self.secretHash(ofCookie: cookieValue) else { return }
        let date = now()
        try await store.write { writer in
            guard let session = try writer.webSession(secretHash: hash), session.revokedAt == nil,
                let user = try writer.user(id: session.userID)
            else { return }
            try writer.revokeWebSession(session.id, at: date)
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "session.ended", outcome: .success, actorID: user.id, actorName: user.username,
                    target: "user:\(user.username)", clientIP: nil,
                    detail: AuditDetail.json(["session": session.id.description, "reason": "sign_out"]), time: date))
        }
    }

    /// Ends one of `userID`'s live sessions (from the sessions list). Audited as `session.ended`.
    ///
    /// - Throws: `AdministrationError` `.forbidden` unless the caller is that account or an administrator,
    ///   `.userNotFound`, `.sessionNotFound` when the account has no live session with this id.
    public func end(_ id: WebSession.ID, of userID: User.ID, by caller: Caller) async throws {
        let date = now(), settings = settings
        try await store.write { writer in
            let (acting, user) = try Self.authorize(caller, for: userID, settings, writer)
            guard try writer.webSessions(of: user.id).contains(where: { $0.id == id }) else {
                throw AdministrationError(.sessionNotFound, "\(user.username) has no live session \(id)")
            }
            try writer.revokeWebSession(id, at: date)
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "session.ended", target: "user:\(user.username)",
                    detail: [("session", id.description), ("reason", "ended")]))
        }
    }

    /// "Sign out everywhere": ends every live session of `userID` but `current`; returns how many ended.
    /// Audited as `session.ended_everywhere`.
    ///
    /// - Throws: `AdministrationError` `.forbidden` unless the caller is that account or an administrator,
    ///   `.userNotFound`.
    public func endAll(of userID: User.ID, except current: WebSession.ID?, by caller: Caller) async throws -> Int {
        let date = now(), settings = settings
        return try await store.write { writer in
            let (acting, user) = try Self.authorize(caller, for: userID, settings, writer)
            let ended = try writer.revokeWebSessions(of: user.id, except: current, at: date)
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "session.ended_everywhere", target: "user:\(user.username)",
                    detail: [("count", String(ended)), ("kept", current?.description)]))
            return ended
        }
    }

    /// The live sessions of `userID`, newest first, `current` marked.
    ///
    /// - Throws: `AdministrationError` `.forbidden` unless the caller is that account or an administrator,
    ///   `.userNotFound`.
    public func list(of userID: User.ID, current: WebSession.ID?, by caller: Caller) async throws
        -> [WebSessionSummary]
    {
        let date = now(), timeouts = timeouts, settings = settings
        return try await store.read { reader in
            let user = try Self.authorize(caller, for: userID, settings, reader).user
            return try reader.webSessions(of: user.id).compactMap { session in
                Self.end(of: session, timeouts, at: date).map { end in
                    WebSessionSummary(
                        id: session.id, createdAt: session.createdAt, lastSeenAt: session.lastSeenAt, expiresAt: end,
                        client: session.client, address: session.address, isCurrent: session.id == current)
                }
            }
        }
    }

    /// Deletes sessions that ended (revoked, past their absolute end, idle past the timeout); returns how many.
    public func prune() async throws -> Int {
        let date = now(), idleSince = date.addingTimeInterval(-timeouts.idle)
        return try await store.write { try $0.pruneWebSessions(before: date, lastSeenBefore: idleSince) }
    }

    // MARK: - Helpers

    /// The stored hash of a well-formed cookie value; nil for anything else (empty, huge, non-ASCII, wrong
    /// prefix), which therefore never reaches the store.
    static func secretHash(ofCookie value: String) -> String? {
        let bytes = value.utf8
        guard bytes.count == cookieLength, value.hasPrefix(cookiePrefix),
            bytes.dropFirst(cookiePrefix.utf8.count).allSatisfy(isBase64URL)
        else { return nil }
        return hash(value)
    }

    private static func hash(_ value: String) -> String { Hex.encode(Digest.sha256(value)) }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    /// When a session ends at the latest, or nil when it has already ended (revoked, idle, too old).
    private static func end(of session: WebSession, _ timeouts: WebSessionTimeouts, at date: Date) -> Date? {
        guard session.revokedAt == nil else { return nil }
        let end = min(session.expiresAt, session.createdAt.addingTimeInterval(timeouts.absolute))
        guard date < end, date < session.lastSeenAt.addingTimeInterval(timeouts.idle) else { return nil }
        return end
    }

    /// Text a client chose, without control characters and cut to `limit` Unicode scalars; nil when empty.
    private static func bounded(_ text: String?, _ limit: Int) -> String? {
        guard let text else { return nil }
        var scalars = String.UnicodeScalarView()
        var kept = 0
        for scalar in text.unicodeScalars where scalar.properties.generalCategory != .control {
            guard kept < limit else { break }
            scalars.append(scalar)
            kept += 1
        }
        return scalars.isEmpty ? nil : String(scalars)
    }

    /// The caller resolved in this transaction, allowed to act for `userID` (itself or an administrator), and
    /// that account. The permission is checked before the account is looked up, so a refusal tells nothing.
    private static func authorize(
        _ caller: Caller, for userID: User.ID, _ settings: ResourcePolicySettings, _ reader: any StoreReading
    ) throws -> (acting: ResolvedCaller, user: User) {
        let acting = try ResolvedCaller(caller, in: reader)
        if acting.actor.userID != userID { try acting.require(.administer, settings) }
        guard let user = try reader.user(id: userID) else {
            throw AdministrationError(.userNotFound, "no user with id \(userID)")
        }
        return (acting, user)
    }

    private struct Found: Sendable {
        var session: WebSession
        var user: User
    }
}
