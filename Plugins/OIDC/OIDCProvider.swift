import Diagnostics
import Foundation
import IdentityCore
import OAuth2

/// A generic OpenID Connect provider (`type: oidc`): browser sign-in with the authorization code flow, PKCE
/// S256, `state` and `nonce`; RP-initiated logout and refresh-token revocation; revalidation with the kept
/// refresh token. Everything protocol-shaped is `OpenIDRelyingParty`'s; this type turns claims into an
/// `ExternalIdentity` (username chain, email, groups) as configured.
public final class OIDCProvider: RedirectSigningOut, GrantRevalidating, HealthReporting, ProviderFactory, Sendable {
    /// The `type` of `providers:` entries this plugin answers to.
    public static let typeName = "oidc"

    /// The configured id.
    public let id: ProviderID
    /// The name shown on the sign-in button.
    public let displayName: String
    /// The settings in force.
    public let configuration: Configuration
    /// The relying party doing the protocol work.
    public let relyingParty: OpenIDRelyingParty
    private let logger: Logger
    private let now: @Sendable () -> Date

    /// Creates a provider; no network I/O happens here.
    ///
    /// - Throws: `ProviderError(.misconfigured)` listing every problem of `configuration`.
    public init(id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext) throws {
        try ProviderError.requireNone(configuration.problems, provider: id)
        self.id = id
        self.displayName = displayName
        self.configuration = configuration
        self.logger = context.logger
        self.now = context.now
        let client = OAuth2ClientSettings(
            provider: id, clientID: configuration.clientID, clientSecret: configuration.clientSecret,
            authentication: configuration.tokenEndpointAuth,
            requestTimeout: .seconds(configuration.requestTimeout.seconds))
        relyingParty = OpenIDRelyingParty(
            settings: OpenIDRelyingPartySettings(
                client: client, issuer: configuration.issuer, scopes: configuration.scopes,
                allowedAlgorithms: configuration.signingAlgorithms, skew: .seconds(configuration.clockSkew.seconds),
                jwksURIOverride: configuration.jwksURI,
                useUserinfo: configuration.useUserinfo || configuration.groupsFrom != .idToken,
                extraAuthorizationParameters: configuration.authorizationParameters),
            http: context.http, now: context.now)
    }

    /// Makes a provider from its `config:` block (no network I/O).
    public static func make(
        id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext
    ) throws -> any IdentityProvider {
        try OIDCProvider(id: id, displayName: displayName, configuration: configuration, context: context)
    }

    // MARK: - Sign-in

    /// Builds the authorization URL (PKCE S256, `state`, `nonce`) and the pending state to keep.
    public func beginLogin(callbackURL: URL, state: String) async throws -> RedirectStart {
        try await relyingParty.begin(callbackURL: callbackURL, state: state)
    }

    /// Exchanges the code, checks the ID token (and userinfo), and returns the identity and the grant.
    public func completeLogin(_ callback: CallbackParameters, pending: PendingLogin) async throws -> RedirectLogin {
        let login = try await relyingParty.complete(callback, pending: pending)
        let identity = self.identity(
            subject: login.idToken.subject, idTokenClaims: login.idToken.claims, userinfo: login.userinfo)
        return RedirectLogin(identity: identity, issuer: configuration.issuer, grant: login.grant(at: now()))
    }

    /// The identity the claims describe: `sub` as subject; the username from the first claim of the chain that
    /// has a value (else `sub`); `email`, `email_verified`, `name`; groups from the configured claim and source.
    public func identity(
        subject: String, idTokenClaims: [String: ClaimValue], userinfo: [String: ClaimValue]?
    ) -> ExternalIdentity {
        let claims = idTokenClaims.merging(userinfo ?? [:]) { _, fresh in fresh }
        let email = claims["email"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        var username = subject
        for name in configuration.usernameClaims {
            let value: String?
            if name == "email_local_part" {
                value = email.flatMap { $0.split(separator: "@", maxSplits: 1).first.map(String.init) }
            } else {
                value = claims[name]?.string
            }
            if let value, !value.trimmingCharacters(in: .whitespaces).isEmpty {
                username = value
                break
            }
        }
        var groups: [String] = []
        if configuration.groupsFrom != .userinfo {
            groups += idTokenClaims[configuration.groupsClaim]?.strings ?? []
        }
        if configuration.groupsFrom != .idToken {
            groups += userinfo?[configuration.groupsClaim]?.strings ?? []
        }
        var seen = Set<String>()
        groups = groups.filter { !$0.isEmpty && seen.insert($0).inserted }
        return ExternalIdentity(
            provider: id, subject: subject, username: username, email: email,
            emailVerified: email != nil && claims["email_verified"]?.bool == true,
            displayName: claims["name"]?.string, groups: groups, origin: .federated, credential: .externalLogin)
    }

    // MARK: - Sign-out

    /// The provider's end-session URL with `id_token_hint`, `post_logout_redirect_uri` and `client_id`, when
    /// `rpInitiatedLogout` is on and the provider offers one.
    public func signOutURL(grant: ProviderGrant?, returnURL: URL) async -> URL? {
        guard configuration.rpInitiatedLogout else { return nil }
        return await relyingParty.endSessionURL(idTokenHint: grant?.idToken, returnURL: returnURL)
    }

    /// Revokes the grant's refresh token at the provider's revocation endpoint (when it has one).
    public func revoke(_ grant: ProviderGrant) async throws {
        guard let refreshToken = grant.refreshToken else { return }
        try await relyingParty.revoke(refreshToken: refreshToken)
    }

    // MARK: - Revalidation

    /// Redeems the kept refresh token, then asks userinfo: `.valid` with the refreshed identity and the grant to
    /// keep (a rotated refresh token replaces the old one), `.gone` when the provider answers `invalid_grant`.
    ///
    /// - Throws: `ProviderError(.unavailable)` for an outage or when no refresh token was kept (nothing to
    ///   decide with: ask for `offline_access` if the provider issues refresh tokens only then).
    public func revalidate(_ identity: ExternalIdentity, grant: ProviderGrant?) async throws -> Revalidation {
        guard let refreshToken = grant?.refreshToken else {
            throw ProviderError(
                .unavailable, provider: id,
                reason: "no refresh token was kept for \(identity.subject), so the provider cannot be asked")
        }
        switch try await relyingParty.refresh(refreshToken, subject: identity.subject) {
        case .refused(let refusal):
            return .gone(reason: "the provider refused the refresh token: \(refusal)")
        case .refreshed(let tokens, let idToken, let userinfo):
            // Claims the refresh answer lacks (a refresh often has no ID token) come from the login's ID token.
            var idTokenClaims = idToken?.claims ?? [:]
            if idToken == nil, let kept = grant?.idToken, let stored = Self.payloadClaims(of: kept) {
                idTokenClaims = stored
            }
            let refreshed = self.identity(subject: identity.subject, idTokenClaims: idTokenClaims, userinfo: userinfo)
            let newGrant = ProviderGrant(
                refreshToken: tokens.refreshToken ?? refreshToken, idToken: idToken?.compact ?? grant?.idToken,
                accessTokenExpiresAt: tokens.expiresIn.map { now().addingTimeInterval(TimeInterval($0)) })
            return .valid(refreshed, newGrant)
        }
    }

    /// The payload of an ID token this provider verified at login and that was kept sealed since: read without
    /// a second verification (its keys may have rotated), only for claims a refresh answer did not repeat.
    private static func payloadClaims(of compact: String) -> [String: ClaimValue]? {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var text = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text) else { return nil }
        return ClaimValue.object(parsing: Array(data))
    }

    // MARK: - Health

    /// Whether discovery and the JWKS answer (or are cached).
    public func checkHealth() async -> ProviderHealth { await relyingParty.checkHealth() }
}
