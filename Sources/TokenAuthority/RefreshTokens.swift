import CryptoCore
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
/// keeps the first one it receives. Safe to share between tasks; store errors pass through as thrown
/// `StoreError`s (a refusal is a value, never a throw).
public struct RefreshTokenService: Sendable {
    /// The prefix every refresh token starts with (recognisable in secret scanners and logs).
    public static let prefix = "pcr_"
    private static let secretLength = 43

    private let store: any Store
    private let now: @Sendable () -> Date

    /// Creates the service over `store`, with a clock tests can fix.
    public init(store: any Store, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.now = now
    }

    /// Creates and stores a new refresh token for `userID` bound to `service`; returns the secret,
    /// which exists nowhere else afterwards.
    public func issue(userID: User.ID, service: String) async throws -> String {
        let token = Self.prefix + Base64URL.encode(SecureRandom.bytes(count: 32))
        let hash = Self.hash(token)
        _ = try await store.write { writer in
            try writer.createRefreshToken(userID: userID, service: service, secretHash: hash)
        }
        return token
    }

    /// Checks a presented refresh token for `service`, re-checking its user every time, and notes its use.
    public func redeem(_ token: String, service: String) async throws -> RefreshRedemption {
        guard Self.isWellFormed(token) else { return .invalid(.malformed) }
        let hash = Self.hash(token)
        let date = now()
        return try await store.write { writer -> RefreshRedemption in
            // The lookup is by hash, so timing reveals nothing about the secret; the constant-time
            // comparison guards against a backend whose lookup is not an exact match.
            guard let stored = try writer.refreshToken(secretHash: hash),
                ConstantTime.equals(stored.secretHash, hash)
            else { return .invalid(.unknown) }
            guard stored.revokedAt == nil else { return .invalid(.revoked) }
            guard stored.service == service else { return .invalid(.otherService) }
            guard let user = try writer.user(id: stored.userID) else { return .invalid(.userMissing) }
            guard user.isEnabled else { return .invalid(.userDisabled) }
            try writer.touchRefreshToken(stored.id, at: date)
            return .valid(user.id)
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

    /// Whether `token` has the exact shape `pcr_` + 43 base64url characters.
    static func isWellFormed(_ token: String) -> Bool {
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
