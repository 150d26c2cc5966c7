import CryptoCore
import Diagnostics
import Foundation
import Threading

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
    /// How long after minting a token is handed out again for the same subject, audience, access and
    /// signing key; zero mints every time.
    public let reuseWindow: Duration
    private let currentRing: @Sendable () -> SigningKeyRing
    private let recent: RecentTokens?

    /// A minter that always signs with the ring currently held by `keyRing` (so reloads take effect).
    public init(issuer: String, lifetime: Duration, keyRing: SigningKeyRingStore, reuseWindow: Duration = .zero) {
        self.init(issuer: issuer, lifetime: lifetime, reuseWindow: reuseWindow, currentRing: { keyRing.ring })
    }

    /// A minter with a fixed ring.
    public init(issuer: String, lifetime: Duration, keyRing: SigningKeyRing, reuseWindow: Duration = .zero) {
        self.init(issuer: issuer, lifetime: lifetime, reuseWindow: reuseWindow, currentRing: { keyRing })
    }

    private init(
        issuer: String, lifetime: Duration, reuseWindow: Duration, currentRing: @escaping @Sendable () -> SigningKeyRing
    ) {
        self.issuer = issuer
        self.lifetime = lifetime
        self.reuseWindow = reuseWindow
        self.currentRing = currentRing
        self.recent = reuseWindow > .zero ? RecentTokens(window: reuseWindow, capacity: 10_000) : nil
    }

    /// Mints a token for `subject` ("" for anonymous) to present to the registry `audience`.
    ///
    /// The token expires after `lifetime`, or earlier when the signing certificate expires first,
    /// because the registry refuses a token whose `x5c` certificate is no longer valid.
    /// - Throws: `SigningKeyError.noValidKey` when no key may sign at `now`; `JWTError.signingFailed`.
    ///
    /// With a `reuseWindow`, a token minted for the same subject, audience and access by the same key
    /// less than that long ago is returned again (with `expiresIn` counting down to its unchanged `exp`):
    /// it grants exactly what a fresh one would, and a fleet of CI jobs pulling with one robot account
    /// then costs one signature per window instead of one per request.
    public func mint(subject: String, audience: String, access: [AccessClaim], now: Date) throws -> IssuedToken {
        let key = try currentRing().signingKey(at: now)
        let reuseKey = RecentTokens.Key(keyID: key.keyID, subject: subject, audience: audience, access: access)
        if let recent, let reused = recent.token(for: reuseKey, at: now) { return reused }
        let issuedAt = Int64(now.timeIntervalSince1970.rounded(.down))
        let certificateEnd = Int64(key.certificate.notAfter.timeIntervalSince1970.rounded(.down))
        let expiresAt = max(issuedAt + 1, min(issuedAt + lifetime.components.seconds, certificateEnd))
        let tokenID = Self.randomTokenID()
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
        let issued = IssuedToken(
            token: token, expiresIn: Int(expiresAt - issuedAt),
            issuedAt: Date(timeIntervalSince1970: TimeInterval(issuedAt)),
            expiresAt: Date(timeIntervalSince1970: TimeInterval(expiresAt)), keyID: key.keyID, tokenID: tokenID)
        // Ordinary tokens only: a request for hundreds of scopes must not make the cache hold megabytes.
        if token.utf8.count <= RecentTokens.largestRemembered { recent?.remember(issued, for: reuseKey) }
        return issued
    }

    /// 128 random bits, base64url: from the system's CSPRNG (getrandom), which costs a fraction of
    /// OpenSSL's `RAND_bytes` per call; a `jti` only has to be unique and unguessable.
    static func randomTokenID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return Base64URL.encode(withUnsafeBytes(of: (high, low)) { Array($0) })
    }
}

/// Tokens minted within the reuse window, by what they were minted for.
///
/// Threading: every method may be called concurrently; each holds one short lock.
final class RecentTokens: Sendable {
    /// Everything a token's content depends on besides the clock (issuer and lifetime are the minter's).
    struct Key: Hashable, Sendable {
        var keyID: String
        var subject: String
        var audience: String
        var access: [AccessClaim]
    }

    /// Longer tokens are minted each time.
    static let largestRemembered = 8192

    private let window: TimeInterval
    private let tokens: BoundedCache<Key, IssuedToken>

    init(window: Duration, capacity: Int) {
        self.window = window.inSeconds
        tokens = BoundedCache(capacity: capacity)
    }

    /// The token remembered for `key`, if it was minted less than the window before `now` and has at least
    /// a second left; its `expiresIn` is what remains at `now`.
    func token(for key: Key, at now: Date) -> IssuedToken? {
        guard var token = tokens.value(for: key) else { return nil }
        let remaining = token.expiresAt.timeIntervalSince(now)
        guard now.timeIntervalSince(token.issuedAt) < window, remaining >= 1 else { return nil }
        token.expiresIn = Int(remaining.rounded(.down))
        return token
    }

    /// Remembers a freshly minted token (when full, an arbitrary older entry makes room).
    func remember(_ token: IssuedToken, for key: Key) { tokens.insert(token, for: key) }
}
