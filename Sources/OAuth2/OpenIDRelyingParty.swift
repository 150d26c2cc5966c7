import CryptoCore
import Foundation
import HTTPFetchingCore
import IdentityCore

/// How a relying party talks to one OpenID provider.
public struct OpenIDRelyingPartySettings: Sendable {
    /// The client: id, secret, authentication method, request bounds (its `provider` names errors).
    public var client: OAuth2ClientSettings
    /// The issuer, exactly as the provider writes it in `iss`.
    public var issuer: String
    /// The scopes asked for (`openid` is added when missing).
    public var scopes: [String]
    /// The accepted ID token signature algorithms.
    public var allowedAlgorithms: Set<SigningAlgorithm>
    /// The clock skew tolerated for token times.
    public var skew: Duration
    /// A key-set URL to use instead of discovery's (and the explicit consent to another origin).
    public var jwksURIOverride: String?
    /// Whether the userinfo endpoint is asked after each login and merged into the claims.
    public var useUserinfo: Bool
    /// Cache lifetimes and refetch limits of discovery and keys.
    public var cachePolicy: ProviderCachePolicy
    /// Further authorization request parameters (`prompt`, Google's `hd`), sent after the standard ones.
    public var extraAuthorizationParameters: [String: String]

    /// Creates settings.
    public init(
        client: OAuth2ClientSettings, issuer: String, scopes: [String] = ["openid", "profile", "email"],
        allowedAlgorithms: Set<SigningAlgorithm> = [.rs256], skew: Duration = .seconds(60),
        jwksURIOverride: String? = nil, useUserinfo: Bool = true,
        cachePolicy: ProviderCachePolicy = ProviderCachePolicy(),
        extraAuthorizationParameters: [String: String] = [:]
    ) {
        self.client = client
        self.issuer = issuer
        self.scopes = scopes.contains("openid") ? scopes : ["openid"] + scopes
        self.allowedAlgorithms = allowedAlgorithms
        self.skew = skew
        self.jwksURIOverride = jwksURIOverride
        self.useUserinfo = useUserinfo
        self.cachePolicy = cachePolicy
        self.extraAuthorizationParameters = extraAuthorizationParameters
    }

    /// The ID token checks these settings ask for.
    public var requirements: IDTokenRequirements {
        IDTokenRequirements(issuer: issuer, clientID: client.clientID, allowedAlgorithms: allowedAlgorithms, skew: skew)
    }
}

/// A finished OpenID login: the verified ID token, the userinfo claims if asked, and the tokens.
public struct OpenIDLogin: Sendable {
    /// The verified ID token.
    public var idToken: VerifiedIDToken
    /// The userinfo answer (its `sub` equals the ID token's), if asked.
    public var userinfo: [String: ClaimValue]?
    /// The token endpoint's answer (secrets: never log).
    public var tokens: TokenResponse

    /// The ID token's claims with userinfo's laid over them (userinfo is the fresher source).
    public var claims: [String: ClaimValue] { idToken.claims.merging(userinfo ?? [:]) { _, fresh in fresh } }

    /// The grant worth keeping: the refresh token, the ID token for the logout hint, the access token's expiry.
    public func grant(at now: Date) -> ProviderGrant {
        ProviderGrant(
            refreshToken: tokens.refreshToken, idToken: idToken.compact,
            accessTokenExpiresAt: tokens.expiresIn.map { now.addingTimeInterval(TimeInterval($0)) })
    }
}

/// What a refresh with a kept grant found.
public enum OpenIDRefresh: Sendable {
    /// The grant still works: the tokens, the new ID token if one came, and the userinfo answer if asked.
    case refreshed(tokens: TokenResponse, idToken: VerifiedIDToken?, userinfo: [String: ClaimValue]?)
    /// The provider refused the refresh token (`invalid_grant`): revoked, expired, or the user is gone.
    case refused(OAuth2Refusal)
}

/// The OpenID Connect relying party (authorization code flow with PKCE S256, `state` and `nonce`) that the
/// `oidc` plugin is, and that provider-specific plugins (GitLab, Google) wrap with their own claims rules.
///
/// Holds no per-login state: `begin` returns what the caller keeps (in the store or a sealed cookie) and
/// `complete` gets it back, so any instance can finish a login another began. Discovery and keys are cached
/// per issuer by its `ProviderKeyCache`. No I/O happens at creation.
public final class OpenIDRelyingParty: Sendable {
    /// The settings in force.
    public let settings: OpenIDRelyingPartySettings
    /// The OAuth2 client (token, refresh, revocation).
    public let client: OAuth2Client
    /// Discovery and keys of the issuer.
    public let cache: ProviderKeyCache
    private let now: @Sendable () -> Date

    /// The pending-login keys `begin` writes and `complete` reads.
    enum PendingKey {
        static let verifier = "code_verifier"
        static let nonce = "nonce"
        static let redirectURI = "redirect_uri"
    }

    /// Creates a relying party fetching through `http`, with time from `now`.
    public init(
        settings: OpenIDRelyingPartySettings, http: any HTTPFetching, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.settings = settings
        self.client = OAuth2Client(settings: settings.client, http: http)
        self.cache = ProviderKeyCache(
            issuer: settings.issuer, client: client, policy: settings.cachePolicy,
            jwksURIOverride: settings.jwksURIOverride, now: now)
        self.now = now
    }

    private var provider: ProviderID { settings.client.provider }

    /// Starts a login: a fresh PKCE verifier and nonce, the authorization URL carrying `state`.
    public func begin(callbackURL: URL, state: String) async throws -> RedirectStart {
        let metadata = try await cache.providerMetadata()
        let pkce = PKCE.generate()
        let nonce = Base64URL.encode(SecureRandom.bytes(count: 24))
        let redirectURI = callbackURL.absoluteString
        let extra =
            [("nonce", nonce)]
            + settings.extraAuthorizationParameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let url = try client.authorizationURL(
            endpoint: metadata.authorizationEndpoint, redirectURI: redirectURI, state: state, scopes: settings.scopes,
            pkce: pkce, extra: extra)
        return RedirectStart(
            authorizationURL: url,
            pending: PendingLogin(data: [
                PendingKey.verifier: pkce.verifier, PendingKey.nonce: nonce, PendingKey.redirectURI: redirectURI,
            ]))
    }

    /// Finishes a login from the callback: the provider's `error` answer, the `iss` parameter (RFC 9207) when
    /// sent, the code exchange with the PKCE verifier, the ID token checks with the pending nonce, and
    /// userinfo when configured (its `sub` must equal the ID token's).
    ///
    /// - Throws: `ProviderError` naming what failed (see `RedirectAuthenticating`).
    public func complete(_ callback: CallbackParameters, pending: PendingLogin) async throws -> OpenIDLogin {
        let values = callback.values
        if let error = values["error"] {
            let description = values["error_description"].map { " (\(Printable.short($0)))" } ?? ""
            throw ProviderError(
                .protocolViolation, provider: provider,
                reason:
                    "the provider refused the login: \(Printable.short(error, limit: 64, quoted: false))\(description)")
        }
        guard let verifier = pending.data[PendingKey.verifier], let nonce = pending.data[PendingKey.nonce],
            let redirectURI = pending.data[PendingKey.redirectURI]
        else {
            throw ProviderError(
                .protocolViolation, provider: provider,
                reason: "the pending login lacks its verifier, nonce or redirect URI")
        }
        if let issuer = values["iss"], Array(issuer.utf8) != Array(settings.issuer.utf8) {
            throw ProviderError(
                .protocolViolation, provider: provider,
                reason:
                    "the callback's iss \(Printable.short(issuer, limit: 200)) is not the configured issuer (a mix-up)")
        }
        guard let code = values["code"], !code.isEmpty else {
            throw ProviderError(.protocolViolation, provider: provider, reason: "the callback has no code")
        }
        let metadata = try await cache.providerMetadata()
        let outcome = try await client.exchangeCode(
            code, redirectURI: redirectURI, codeVerifier: verifier, tokenEndpoint: metadata.tokenEndpoint)
        let tokens: TokenResponse
        switch outcome {
        case .granted(let granted): tokens = granted
        case .refused(let refusal): throw refused(refusal, what: "the code")
        }
        guard let compact = tokens.idToken else {
            throw ProviderError(
                .protocolViolation, provider: provider,
                reason: "the token answer has no id_token (is openid in scopes?)")
        }
        let idToken = try await verifyIDToken(compact, expectedNonce: nonce)
        var userinfo: [String: ClaimValue]?
        if settings.useUserinfo, let endpoint = metadata.userinfoEndpoint {
            userinfo = try await fetchUserinfo(
                endpoint: endpoint, accessToken: tokens.accessToken, subject: idToken.subject)
        }
        return OpenIDLogin(idToken: idToken, userinfo: userinfo, tokens: tokens)
    }

    /// A token endpoint's refusal as an error: a client the provider does not accept is our misconfiguration,
    /// anything else (a used or expired code, a PKCE mismatch) a refusal naming the provider's error.
    private func refused(_ refusal: OAuth2Refusal, what: String) -> ProviderError {
        let clientProblem = refusal.error == "invalid_client" || refusal.error == "unauthorized_client"
        return ProviderError(
            clientProblem ? .misconfigured : .protocolViolation, provider: provider,
            reason: "the token endpoint refused \(what): \(refusal)")
    }

    /// Verifies an ID token of this issuer (keys from the cache), expecting `expectedNonce` when not nil.
    public func verifyIDToken(_ compact: String, expectedNonce: String?) async throws -> VerifiedIDToken {
        try await VerifiedIDToken.verify(
            compact, requirements: settings.requirements, expectedNonce: expectedNonce, now: now(), provider: provider
        ) { [cache] keyID, algorithm in
            // A key whose JWK names another `alg` is not a candidate (RFC 7517 §4.4): a provider that
            // publishes one RSA key for RS256 must not have it accept PS256 forgeries made elsewhere, or
            // the reverse.
            try await cache.candidateKeys(for: keyID).filter { $0.algorithm == nil || $0.algorithm == algorithm }
                .map(\.key)
        }
    }

    /// Asks the userinfo endpoint with `accessToken`; its `sub` must equal `subject`.
    ///
    /// - Throws: `.protocolViolation` for a missing or different `sub` (a token substitution), a non-JSON
    ///   (signed or encrypted) answer or a refusal; `.unavailable` for an outage.
    public func fetchUserinfo(endpoint: String, accessToken: String, subject: String) async throws -> [String:
        ClaimValue]
    {
        let (object, _) = try await client.getJSON(endpoint, bearer: accessToken, what: "userinfo endpoint")
        guard let sub = object["sub"]?.string else {
            throw ProviderError(.protocolViolation, provider: provider, reason: "the userinfo answer has no sub")
        }
        guard Array(sub.utf8) == Array(subject.utf8) else {
            throw ProviderError(
                .protocolViolation, provider: provider,
                reason: "the userinfo sub \(Printable.short(sub)) is not the ID token's sub \(Printable.short(subject))"
            )
        }
        return object
    }

    /// Redeems `refreshToken` for `subject`: a new ID token is verified (no nonce; same `sub`), then userinfo
    /// is asked when the provider has one, its `sub` checked.
    ///
    /// - Throws: `.unavailable` for an outage; `.misconfigured` for `invalid_client`; `.protocolViolation` for
    ///   an answer that fails a check.
    public func refresh(_ refreshToken: String, subject: String) async throws -> OpenIDRefresh {
        let metadata = try await cache.providerMetadata()
        let outcome = try await client.refresh(refreshToken, tokenEndpoint: metadata.tokenEndpoint)
        let tokens: TokenResponse
        switch outcome {
        case .granted(let granted): tokens = granted
        case .refused(let refusal) where refusal.error == "invalid_grant": return .refused(refusal)
        case .refused(let refusal): throw refused(refusal, what: "the refresh")
        }
        var idToken: VerifiedIDToken?
        if let compact = tokens.idToken {
            let verified = try await verifyIDToken(compact, expectedNonce: nil)
            guard Array(verified.subject.utf8) == Array(subject.utf8) else {
                throw ProviderError(
                    .protocolViolation, provider: provider, reason: "the refreshed ID token is for another sub")
            }
            idToken = verified
        }
        var userinfo: [String: ClaimValue]?
        if let endpoint = metadata.userinfoEndpoint {
            userinfo = try await fetchUserinfo(endpoint: endpoint, accessToken: tokens.accessToken, subject: subject)
        }
        return .refreshed(tokens: tokens, idToken: idToken, userinfo: userinfo)
    }

    /// The RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0): the provider's
    /// `end_session_endpoint` with `id_token_hint`, `post_logout_redirect_uri` and `client_id`; nil when the
    /// provider offers none or discovery cannot be had now.
    public func endSessionURL(idTokenHint: String?, returnURL: URL) async -> URL? {
        guard let metadata = try? await cache.providerMetadata(), let endpoint = metadata.endSessionEndpoint else {
            return nil
        }
        var pairs: [(String, String)] = []
        if let idTokenHint { pairs.append(("id_token_hint", idTokenHint)) }
        pairs += [("post_logout_redirect_uri", returnURL.absoluteString), ("client_id", settings.client.clientID)]
        return URL(string: FormEncoding.appending(pairs, to: endpoint))
    }

    /// Revokes `refreshToken` at the provider's `revocation_endpoint`; does nothing when it offers none.
    public func revoke(refreshToken: String) async throws {
        guard let endpoint = try await cache.providerMetadata().revocationEndpoint else { return }
        try await client.revoke(refreshToken, endpoint: endpoint)
    }

    /// Whether discovery and the keys can be had now (or from a cached copy).
    public func checkHealth() async -> ProviderHealth {
        do {
            _ = try await cache.providerMetadata()
            _ = try await cache.candidateKeys(for: nil)
            return ProviderHealth(isHealthy: true, message: "discovery and JWKS of \(settings.issuer) answer")
        } catch let error as ProviderError {
            return ProviderHealth(isHealthy: false, message: error.reason)
        } catch {
            return ProviderHealth(isHealthy: false, message: "\(error)")
        }
    }
}
