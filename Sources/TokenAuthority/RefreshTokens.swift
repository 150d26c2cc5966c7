import CryptoCore
import Diagnostics
import Foundation
import Storage

/// Why a refresh token was not accepted.
public enum RefreshRejection: String, Sendable, Hashable, CaseIterable {
    /// The text does not have the shape of a Portcullis refresh token.
    case malformed
    /// No stored token has this secret.
    case unknown
    /// The token was revoked.
    case revoked
    /// The token was issued for another registry service.
    case otherService = "other_service"
    /// The user it belongs to no longer exists.
    case userMissing = "user_missing"
    /// The user it belongs to is disabled.
    case userDisabled = "user_disabled"
    /// The user it belongs to is locked out now; the token works again once the lock ends.
    case userLocked = "user_locked"
    /// It went unused longer than the idle expiry, or is older than the absolute expiry.
    case expired
}

/// How long refresh tokens live and how many one user may hold.
public struct RefreshTokenPolicy: Sendable, Hashable {
    /// A token unused for this long is refused. Default: 30 days.
    public var idleExpiry: Duration
    /// A token this old is refused however often it was used. Default: 90 days.
    public var absoluteExpiry: Duration
    /// Live tokens per user; issuing one more revokes the oldest first. Default: 50.
    public var maxPerUser: Int
    /// A redemption notes its time only when the last noted use is at least this old, so a busy client
    /// does not write on every exchange (idle expiry is days; a minute of slack does not matter). Default: 60 s.
    public var touchInterval: Duration

    /// Describes a policy; every parameter has the default documented on its property.
    public init(
        idleExpiry: Duration = .seconds(30 * 86_400), absoluteExpiry: Duration = .seconds(90 * 86_400),
        maxPerUser: Int = 50, touchInterval: Duration = .seconds(60)
    ) {
        self.idleExpiry = idleExpiry
        self.absoluteExpiry = absoluteExpiry
        self.maxPerUser = maxPerUser
        self.touchInterval = touchInterval
    }

    /// When `token` stops working: at its absolute expiry, or earlier when it goes unused for the idle expiry.
    public func expiry(of token: RefreshToken) -> Date {
        let absolute = token.createdAt.addingTimeInterval(absoluteExpiry.inSeconds)
        let idle = (token.lastUsedAt ?? token.createdAt).addingTimeInterval(idleExpiry.inSeconds)
        return min(absolute, idle)
    }
}

/// A refresh token as listed to operators: never the secret or its hash.
public struct RefreshTokenSummary: Sendable, Hashable {
    /// The stored token's id (what `token refresh revoke` takes).
    public var id: RefreshToken.ID
    /// The registry service it is bound to.
    public var service: String
    /// What asked for it (the user agent), if it said.
    public var client: String?
    /// When it was issued.
    public var createdAt: Date
    /// When it was last exchanged (to within the policy's touch interval), if ever.
    public var lastUsedAt: Date?
    /// When it stops working unless used again (or for good, at the absolute expiry).
    public var expiresAt: Date
}

/// The result of presenting a refresh token.
public enum RefreshRedemption: Sendable, Hashable {
    /// The token is good: issue an access token for this user.
    case valid(User.ID)
    /// The token is refused, for this reason (log it; tell the client only "invalid_grant").
    case invalid(RefreshRejection)
}

/// Issues and redeems the opaque refresh tokens of the OAuth2 POST flow (`grant_type=refresh_token`).
///
/// A token is `pcr_` followed by 43 base64url characters (32 random bytes); only its SHA-256 (lower
/// hex) is stored. Tokens are bound to a user and a service, revocable, and never rotated: Docker
/// keeps the first one it receives. They expire after `policy.idleExpiry` without use and
/// `policy.absoluteExpiry` after issue, a user holds at most `policy.maxPerUser` (the oldest are revoked
/// first), and they are refused while their user is disabled or locked out. Safe to share between tasks;
/// store errors pass through as thrown `StoreError`s (a refusal is a value, never a throw).
public struct RefreshTokenService: Sendable {
    /// The prefix every refresh token starts with (recognisable in secret scanners and logs).
    public static let prefix = "pcr_"
    private static let secretLength = 43
    /// Client descriptions (user agents) are cut to this many characters: they are attacker-chosen.
    static let maximumClientLength = 200

    private let store: any Store
    private let now: @Sendable () -> Date
    /// Expiry and the per-user limit.
    public let policy: RefreshTokenPolicy

    /// Creates the service over `store`, with a clock tests can fix.
    public init(
        store: any Store, policy: RefreshTokenPolicy = RefreshTokenPolicy(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.policy = policy
        self.now = now
    }

    /// Creates and stores a new refresh token for `userID` bound to `service`; returns the secret,
    /// which exists nowhere else afterwards. When the user already holds `policy.maxPerUser` live tokens,
    /// the oldest are revoked in the same transaction, each with an audit event.
    public func issue(userID: User.ID, service: String, client: String? = nil) async throws -> String {
        let token = Self.newSecret(prefix: Self.prefix)
        let hash = Self.hash(token)
        let client = client.map { String($0.prefix(Self.maximumClientLength)) }.flatMap { $0.isEmpty ? nil : $0 }
        let date = now()
        let policy = policy
        _ = try await store.write { writer in
            let live = try writer.refreshTokens(of: userID).filter { policy.expiry(of: $0) > date }
            let excess = live.count - (max(1, policy.maxPerUser) - 1)
            if excess > 0 {
                let username = try writer.user(id: userID)?.username
                for oldest in live.prefix(excess) {
                    try writer.revokeRefreshToken(oldest.id, at: date)
                    _ = try writer.appendAuditEvent(
                        NewAuditEvent(
                            action: "refresh_token.revoke", outcome: .success, actorID: userID, actorName: username,
                            target: "user/\(username ?? String(userID.rawValue))/refresh_token/\(oldest.id)",
                            detail: JSONText.object([
                                ("reason", JSONText.quoted("per-user limit of \(policy.maxPerUser) reached")),
                                ("service", JSONText.quoted(oldest.service)),
                            ]), time: date))
                }
            }
            return try writer.createRefreshToken(userID: userID, service: service, secretHash: hash, client: client)
        }
        return token
    }

    /// Checks a presented refresh token for `service`, re-checking its user every time, and notes its use
    /// (at most once per `policy.touchInterval`, so redemption is mostly a read). A token whose user is locked
    /// out is refused but kept: it works again once the lock ends.
    public func redeem(_ token: String, service: String) async throws -> RefreshRedemption {
        guard Self.isWellFormed(token) else { return .invalid(.malformed) }
        let hash = Self.hash(token)
        let date = now()
        let policy = policy
        let (redemption, touch) = try await store.read { reader -> (RefreshRedemption, RefreshToken.ID?) in
            // The lookup is by hash, so timing reveals nothing about the secret; the constant-time
            // comparison guards against a backend whose lookup is not an exact match.
            guard let stored = try reader.refreshToken(secretHash: hash),
                ConstantTime.equals(stored.secretHash, hash)
            else { return (.invalid(.unknown), nil) }
            guard stored.revokedAt == nil else { return (.invalid(.revoked), nil) }
            guard stored.service == service else { return (.invalid(.otherService), nil) }
            guard policy.expiry(of: stored) > date else { return (.invalid(.expired), nil) }
            guard let user = try reader.user(id: stored.userID) else { return (.invalid(.userMissing), nil) }
            guard user.isEnabled else { return (.invalid(.userDisabled), nil) }
            if let lockedUntil = user.lockedUntil, lockedUntil > date { return (.invalid(.userLocked), nil) }
            let due = stored.lastUsedAt.map { date.timeIntervalSince($0) >= policy.touchInterval.inSeconds } ?? true
            return (.valid(user.id), due ? stored.id : nil)
        }
        if let touch {
            // A token revoked or pruned meanwhile has nothing left to touch; this answer stands either way.
            do { try await store.write { try $0.touchRefreshToken(touch, at: date) } } catch let error as StoreError
                where error.code == .notFound
            {}
        }
        return redemption
    }

    /// The live tokens of a user (not revoked, not expired), oldest first; never a secret or a hash.
    public func list(of userID: User.ID) async throws -> [RefreshTokenSummary] {
        let date = now()
        let policy = policy
        return try await store.read { reader in
            try reader.refreshTokens(of: userID).compactMap { token in
                let expiresAt = policy.expiry(of: token)
                guard expiresAt > date else { return nil }
                return RefreshTokenSummary(
                    id: token.id, service: token.service, client: token.client, createdAt: token.createdAt,
                    lastUsedAt: token.lastUsedAt, expiresAt: expiresAt)
            }
        }
    }

    /// Revokes the live token `tokenID` of `userID`, audited with `actor`; returns false when the user holds
    /// no such live token (another user's id included, so ids cannot be probed across users).
    public func revoke(_ tokenID: RefreshToken.ID, of userID: User.ID, actor: String?) async throws -> Bool {
        let date = now()
        return try await store.write { writer -> Bool in
            guard try writer.refreshTokens(of: userID).contains(where: { $0.id == tokenID }) else { return false }
            try writer.revokeRefreshToken(tokenID, at: date)
            let username = try writer.user(id: userID)?.username
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "refresh_token.revoke", outcome: .success, actorName: actor,
                    target: "user/\(username ?? String(userID.rawValue))/refresh_token/\(tokenID)", time: date))
            return true
        }
    }

    /// Deletes revoked and expired tokens; returns how many went.
    public func prune() async throws -> Int {
        let date = now()
        let policy = policy
        return try await store.write { writer in
            try writer.pruneRefreshTokens(
                createdBefore: date.addingTimeInterval(-policy.absoluteExpiry.inSeconds),
                idleBefore: date.addingTimeInterval(-policy.idleExpiry.inSeconds))
        }
    }

    /// Revokes the stored token with this secret, if there is one; returns whether one was found.
    public func revoke(_ token: String) async throws -> Bool {
        guard Self.isWellFormed(token) else { return false }
        let hash = Self.hash(token)
        let date = now()
        return try await store.write { writer -> Bool in
            guard let stored = try writer.refreshToken(secretHash: hash) else { return false }
            try writer.revokeRefreshToken(stored.id, at: date)
            return true
        }
    }

    /// Revokes every refresh token of a user (password change, disabling, "log out everywhere").
    public func revokeAll(of userID: User.ID) async throws -> Int {
        let date = now()
        return try await store.write { writer in try writer.revokeRefreshTokens(of: userID, at: date) }
    }

    /// The stored form of a token: lowercase hex SHA-256 of its UTF-8 bytes.
    public static func hash(_ token: String) -> String { Hex.encode(Digest.sha256(token)) }

    /// A new refresh token: `prefix` and 32 random bytes in base64url (43 characters).
    static func newSecret(prefix: String) -> String { prefix + Base64URL.encode(SecureRandom.bytes(count: 32)) }

    /// Whether `token` has the exact shape `prefix` (`pcr_` unless given) + 43 base64url characters.
    static func isWellFormed(_ token: String, prefix: String = prefix) -> Bool {
        let bytes = Array(token.utf8)
        guard bytes.count == prefix.utf8.count + secretLength, token.hasPrefix(prefix) else { return false }
        return bytes.dropFirst(prefix.utf8.count).allSatisfy { byte in
            (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }
}
