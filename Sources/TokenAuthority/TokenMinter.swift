import CryptoCore
import Diagnostics
import Foundation

/// One entry of a registry token's `access` claim: what may be done to one resource.
///
/// Encodes as `{"type":"repository","name":"team/app","actions":["pull","push"]}`.
public struct AccessClaim: Codable, Sendable, Hashable {
    /// The resource type: `repository` or `registry`.
    public var type: String
    /// The resource name (`team/app`, or `catalog` for the registry).
    public var name: String
    /// The granted actions (`pull`, `push`, `delete`, `*`).
    public var actions: [String]

    /// Creates an access entry.
    public init(type: String, name: String, actions: [String]) {
        self.type = type
        self.name = name
        self.actions = actions
    }
}

/// A freshly minted registry token and the times the token response reports.
public struct IssuedToken: Sendable, Hashable {
    /// The compact JWT.
    public var token: String
    /// Seconds from issue to expiry (the response's `expires_in`).
    public var expiresIn: Int
    /// The `iat` time (whole seconds).
    public var issuedAt: Date
    /// The `exp` time (whole seconds).
    public var expiresAt: Date
    /// The `kid` of the key that signed it.
    public var keyID: String
    /// The random `jti`, for audit correlation.
    public var tokenID: String
}

/// Mints the bearer tokens a Docker registry accepts (see registry-protocol.md).
///
/// Claims are `iss`, `sub`, `aud` (a string), `exp`, `nbf`, `iat` (integer seconds), a random `jti`
/// of 128 bits and `access`, rendered in that fixed order without escaped slashes. Safe to share
/// between tasks; minting is synchronous and cheap (one ECDSA or RSA signature).
public struct TokenMinter: Sendable {
    /// The `iss` claim; the registry's `auth.token.issuer` must equal it.
    public let issuer: String
    /// How long tokens live, before capping at the signing certificate's expiry.
    public let lifetime: Duration
    private let currentRing: @Sendable () -> SigningKeyRing

    /// A minter that always signs with the ring currently held by `keyRing` (so reloads take effect).
    public init(issuer: String, lifetime: Duration, keyRing: SigningKeyRingStore) {
        self.issuer = issuer
        self.lifetime = lifetime
        self.currentRing = { keyRing.ring }
    }

    /// A minter with a fixed ring.
    public init(issuer: String, lifetime: Duration, keyRing: SigningKeyRing) {
        self.issuer = issuer
        self.lifetime = lifetime
        self.currentRing = { keyRing }
    }

    /// Mints a token for `subject` ("" for anonymous) to present to the registry `audience`.
    ///
    /// The token expires after `lifetime`, or earlier when the signing certificate expires first,
    /// because the registry refuses a token whose `x5c` certificate is no longer valid.
    /// - Throws: `SigningKeyError.noValidKey` when no key may sign at `now`; `JWTError.signingFailed`.
    public func mint(subject: String, audience: String, access: [AccessClaim], now: Date) throws -> IssuedToken {
        let key = try currentRing().signingKey(at: now)
        let issuedAt = Int64(now.timeIntervalSince1970.rounded(.down))
        let certificateEnd = Int64(key.certificate.notAfter.timeIntervalSince1970.rounded(.down))
        let expiresAt = max(issuedAt + 1, min(issuedAt + lifetime.components.seconds, certificateEnd))
        let tokenID = Base64URL.encode(SecureRandom.bytes(count: 16))
        let accessJSON =
            "["
            + access.map { entry in
                JSONText.object([
                    ("type", JSONText.quoted(entry.type)), ("name", JSONText.quoted(entry.name)),
                    ("actions", JSONText.array(entry.actions)),
                ])
            }.joined(separator: ",") + "]"
        let claims = JSONText.object([
            ("iss", JSONText.quoted(issuer)), ("sub", JSONText.quoted(subject)), ("aud", JSONText.quoted(audience)),
            ("exp", String(expiresAt)), ("nbf", String(issuedAt)), ("iat", String(issuedAt)),
            ("jti", JSONText.quoted(tokenID)), ("access", accessJSON),
        ])
        let token = try key.sign(claimsJSON: Array(claims.utf8))
        return IssuedToken(
            token: token, expiresIn: Int(expiresAt - issuedAt),
            issuedAt: Date(timeIntervalSince1970: TimeInterval(issuedAt)),
            expiresAt: Date(timeIntervalSince1970: TimeInterval(expiresAt)), keyID: key.keyID, tokenID: tokenID)
    }
}
