import CryptoCore
import Foundation
import IdentityCore
import JOSE

/// What an ID token must satisfy to be accepted (OpenID Connect Core §3.1.3.7).
public struct IDTokenRequirements: Sendable, Hashable {
    /// The configured issuer: `iss` must equal it byte for byte.
    public var issuer: String
    /// The client id: `aud` must contain it, and `azp` must equal it when `aud` has several members.
    public var clientID: String
    /// The signature algorithms accepted (RS256 by default). `none` and HMAC algorithms are never accepted:
    /// JOSE has no way to verify them with an issuer's key, and HS256 keyed with the client secret would let
    /// anyone who holds the secret (every instance of a confidential client's deployment) mint identities.
    public var allowedAlgorithms: Set<SigningAlgorithm>
    /// The clock skew tolerated for `exp`, `nbf` and `iat`.
    public var skew: Duration

    /// Creates requirements; the defaults are RS256 and 60 s.
    public init(
        issuer: String, clientID: String, allowedAlgorithms: Set<SigningAlgorithm> = [.rs256],
        skew: Duration = .seconds(60)
    ) {
        self.issuer = issuer
        self.clientID = clientID
        self.allowedAlgorithms = allowedAlgorithms
        self.skew = skew
    }
}

/// An ID token whose signature, issuer, audience, times and nonce have all been checked: the only form in
/// which an ID token's claims are used to decide who someone is.
public struct VerifiedIDToken: Sendable {
    /// The verified JWT (header, registered claims, the algorithm that verified it).
    public let jwt: VerifiedJWT
    /// `sub`: never empty.
    public let subject: String
    /// Every claim of the payload.
    public let claims: [String: ClaimValue]
    /// The compact form, kept as the `id_token_hint` of RP-initiated logout.
    public let compact: String

    /// Checks `compact` against `requirements` with the keys `keys` gives for its `kid` (every candidate for a
    /// token without `kid`) and its (allowed) `alg`, at `now`.
    ///
    /// Order: parse; `alg` in the allow-list (before any key is fetched, so `alg: none` or HS256 costs the
    /// provider nothing); signature with a candidate key; `exp` (required), `nbf`; `iss` byte-equal; `aud`
    /// contains the client id; `azp` equal to it when there are several audiences (or whenever present);
    /// `iat` present and not in the future; `sub` present; `nonce` equal to `expectedNonce` (compared in
    /// constant time) when one was sent.
    ///
    /// - Throws: `ProviderError(.protocolViolation)` whose reason names the check that failed; errors of
    ///   `keys` (an unreachable JWKS: `.unavailable`) pass through.
    public static func verify(
        _ compact: String, requirements: IDTokenRequirements, expectedNonce: String?, now: Date,
        provider: ProviderID, keys: (_ keyID: String?, _ algorithm: String) async throws -> [PublicKey]
    ) async throws -> VerifiedIDToken {
        func refused(_ reason: String) -> ProviderError {
            ProviderError(.protocolViolation, provider: provider, reason: "the ID token was refused: \(reason)")
        }
        let token: UnverifiedJWT
        do {
            token = try UnverifiedJWT(compact: compact)
        } catch let error as JWTError {
            throw refused("\(error.code.rawValue): \(error.reason)")
        }
        guard let algorithm = SigningAlgorithm(rawValue: token.header.algorithm),
            requirements.allowedAlgorithms.contains(algorithm)
        else {
            let allowed = requirements.allowedAlgorithms.map(\.rawValue).sorted().joined(separator: ", ")
            throw refused(
                "its alg \(Printable.short(token.header.algorithm)) is not allowed (allowed: \(allowed); never none or HS*)"
            )
        }
        let candidates = try await keys(token.header.keyID, algorithm.rawValue)
        let verified: VerifiedJWT
        do {
            verified = try token.verify(
                tryingEach: candidates, allowedAlgorithms: requirements.allowedAlgorithms, now: now,
                leeway: requirements.skew, requireExpiry: true)
        } catch let error as JWTError {
            switch error.code {
            case .expired: throw refused("it expired (exp \(Self.stamp(token.unverifiedClaims.expiresAt)))")
            case .notYetValid:
                throw refused("it is not valid yet (nbf \(Self.stamp(token.unverifiedClaims.notBefore)))")
            case .missingExpiry: throw refused("it has no exp")
            case .invalidSignature: throw refused("its signature does not verify with the issuer's keys")
            default: throw refused("\(error.code.rawValue): \(error.reason)")
            }
        }
        let claims = verified.claims
        guard let issuer = claims.issuer else { throw refused("it has no iss") }
        guard Array(issuer.utf8) == Array(requirements.issuer.utf8) else {
            throw refused(
                "its iss \(Printable.short(issuer, limit: 200)) is not the configured issuer "
                    + Printable.short(requirements.issuer, limit: 200))
        }
        guard claims.audience.contains(where: { Array($0.utf8) == Array(requirements.clientID.utf8) }) else {
            throw refused(
                "its aud \(Printable.short(claims.audience.joined(separator: ", "))) does not contain the client id")
        }
        let all = ClaimValue.object(parsing: claims.json) ?? [:]
        let authorizedParty = all["azp"]?.string
        if claims.audience.count > 1 || authorizedParty != nil {
            guard let authorizedParty, Array(authorizedParty.utf8) == Array(requirements.clientID.utf8) else {
                throw refused(
                    "it has several audiences and its azp \(Printable.short(authorizedParty ?? "(none)")) is not the client id"
                )
            }
        }
        guard let issuedAt = claims.issuedAt else { throw refused("it has no iat") }
        let slack = TimeInterval(requirements.skew.components.seconds)
        guard issuedAt <= now.addingTimeInterval(slack) else {
            throw refused("it was issued in the future (iat \(Self.stamp(issuedAt)))")
        }
        guard let subject = claims.subject, !subject.isEmpty else { throw refused("it has no sub") }
        if let expectedNonce {
            guard let nonce = all["nonce"]?.string else { throw refused("it has no nonce, and one was sent") }
            guard ConstantTime.equals(nonce, expectedNonce) else {
                throw refused("its nonce is not the one this login sent (a replayed or injected token)")
            }
        }
        return VerifiedIDToken(jwt: verified, subject: subject, claims: all, compact: compact)
    }

    private static func stamp(_ date: Date?) -> String {
        guard let date else { return "-" }
        return ISO8601DateFormatter().string(from: date)
    }
}
