import Diagnostics
import Foundation
import IdentityCore
import OAuth2

/// A Google claims object (ID token or userinfo).
typealias Claims = [String: ClaimValue]

/// Google sign-in (`type: google`): OpenID Connect through the shared `OpenIDRelyingParty` (discovery, PKCE,
/// nonce, the ID token checks, userinfo); this type reads Google's claims: `sub` as subject, the verified
/// address (`email_verified` required) and its local part as the username, and checks the hosted domain.
///
/// The `hd` authorization parameter only preselects an account at Google's page: anyone can remove it from
/// the URL. The domain limit is the signed ID token's `hd` claim, checked here on the server.
public final class GoogleProvider: RedirectSigningOut, GrantRevalidating, HealthReporting, ProviderFactory, Sendable {
    /// The `type` of `providers:` entries this plugin answers to.
    public static let typeName = "google"

    /// The configured id.
    public let id: ProviderID
    /// The name shown on the sign-in button.
    public let displayName: String
    /// The settings in force.
    public let configuration: Configuration
    /// The relying party doing the protocol work.
    public let relyingParty: OpenIDRelyingParty
    private let now: @Sendable () -> Date

    /// Creates a provider; no network I/O happens here.
    ///
    /// - Throws: `ProviderError(.misconfigured)` listing every problem of `configuration`.
    public init(id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext) throws {
        try ProviderError.requireNone(configuration.problems, provider: id)
        self.id = id
        self.displayName = displayName
        self.configuration = configuration
        now = context.now
        var parameters: [String: String] = [:]
        // A hint for Google's account chooser only; the hd claim is what is checked.
        if configuration.allowedDomains.count == 1 { parameters["hd"] = configuration.allowedDomains[0] }
        if configuration.offlineAccess {
            parameters["access_type"] = "offline"
            parameters["prompt"] = "consent"
        }
        relyingParty = OpenIDRelyingParty(
            settings: OpenIDRelyingPartySettings(
                client: OAuth2ClientSettings(
                    provider: id, clientID: configuration.clientID, clientSecret: configuration.clientSecret,
                    requestTimeout: .seconds(configuration.requestTimeout.seconds)),
                issuer: configuration.issuer, scopes: configuration.scopes, useUserinfo: true,
                extraAuthorizationParameters: parameters),
            http: context.http, now: context.now)
    }

    /// Makes a provider from its `config:` block (no network I/O).
    public static func make(
        id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext
    ) throws -> any IdentityProvider {
        try GoogleProvider(id: id, displayName: displayName, configuration: configuration, context: context)
    }

    // MARK: - Sign-in

    /// Builds the authorization URL (PKCE S256, `state`, `nonce`, the `hd` hint) and the pending state to keep.
    public func beginLogin(callbackURL: URL, state: String) async throws -> RedirectStart {
        try await relyingParty.begin(callbackURL: callbackURL, state: state)
    }

    /// Exchanges the code, checks the ID token and userinfo, then the verified address and the hosted domain.
    ///
    /// - Throws: `ProviderError(.accessDenied)` for an unverified address or an account outside the allowed
    ///   domains; the relying party's errors otherwise.
    public func completeLogin(_ callback: CallbackParameters, pending: PendingLogin) async throws -> RedirectLogin {
        let login = try await relyingParty.complete(callback, pending: pending)
        let identity = self.identity(subject: login.idToken.subject, claims: login.idToken.claims)
        if let refusal = refusal(of: identity, idToken: login.idToken.claims) {
            throw ProviderError(.accessDenied, provider: id, reason: refusal)
        }
        return RedirectLogin(identity: identity, issuer: configuration.issuer, grant: login.grant(at: now()))
    }

    /// The identity Google's claims describe. Only the signed ID token is read for the address, its
    /// verification and the domain: userinfo adds nothing Google does not already sign.
    func identity(subject: String, claims: Claims) -> ExternalIdentity {
        let email = claims["email"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        let username = email.flatMap { $0.split(separator: "@", maxSplits: 1).first.map(String.init) } ?? subject
        return ExternalIdentity(
            provider: id, subject: subject, username: username, email: email,
            emailVerified: email != nil && claims["email_verified"]?.bool == true,
            displayName: claims["name"]?.string.flatMap { $0.isEmpty ? nil : $0 }, origin: .federated,
            credential: .externalLogin)
    }

    /// Why `identity` (with its ID token's claims) may not sign in, or nil: an unverified address, or a hosted
    /// domain (`hd`) that is missing or not allowed when domains are limited.
    func refusal(of identity: ExternalIdentity, idToken claims: Claims) -> String? {
        guard identity.emailVerified else {
            return "the Google account \(identity.email ?? identity.subject) has no verified email address"
        }
        guard !configuration.allowedDomains.isEmpty else { return nil }
        guard let domain = claims["hd"]?.string, !domain.isEmpty else {
            return "the Google account \(identity.email ?? identity.subject) belongs to no Google Workspace domain "
                + "(allowed: \(configuration.allowedDomains.joined(separator: ", ")))"
        }
        guard configuration.allowedDomains.contains(where: { $0.lowercased() == domain.lowercased() }) else {
            return "the Google Workspace domain \(domain) is not allowed "
                + "(allowed: \(configuration.allowedDomains.joined(separator: ", ")))"
        }
        return nil
    }

    // MARK: - Sign-out

    /// Google offers no end-session endpoint: nil unless a discovery document says otherwise.
    public func signOutURL(grant: ProviderGrant?, returnURL: URL) async -> URL? {
        await relyingParty.endSessionURL(idTokenHint: grant?.idToken, returnURL: returnURL)
    }

    /// Revokes the grant's refresh token at Google's revocation endpoint.
    public func revoke(_ grant: ProviderGrant) async throws {
        guard let refreshToken = grant.refreshToken else { return }
        try await relyingParty.revoke(refreshToken: refreshToken)
    }

    // MARK: - Revalidation

    /// Redeems the kept refresh token: `.valid` with the refreshed identity; `.gone` on `invalid_grant` (the
    /// account was deleted or suspended, or the grant revoked) or when the new ID token fails the address or
    /// domain checks.
    ///
    /// - Throws: `ProviderError(.unavailable)` for an outage, or when no refresh token was kept (offline
    ///   access is off).
    public func revalidate(_ identity: ExternalIdentity, grant: ProviderGrant?) async throws -> Revalidation {
        guard let refreshToken = grant?.refreshToken else {
            throw ProviderError(
                .unavailable, provider: id,
                reason: "no refresh token was kept for \(identity.subject) (is offlineAccess on?), so Google "
                    + "cannot be asked")
        }
        switch try await relyingParty.refresh(refreshToken, subject: identity.subject) {
        case .refused(let refusal):
            return .gone(reason: "Google refused the refresh token: \(refusal)")
        case .refreshed(let tokens, let idToken, let userinfo):
            // Google answers a refresh with a new ID token; without one, userinfo's claims are all there is.
            let claims = idToken?.claims ?? userinfo ?? [:]
            let refreshed = self.identity(subject: identity.subject, claims: claims)
            if let refusal = refusal(of: refreshed, idToken: claims) { return .gone(reason: refusal) }
            return .valid(
                refreshed,
                ProviderGrant(
                    refreshToken: tokens.refreshToken ?? refreshToken, idToken: idToken?.compact ?? grant?.idToken,
                    accessTokenExpiresAt: tokens.expiresIn.map { now().addingTimeInterval(TimeInterval($0)) }))
        }
    }

    // MARK: - Health

    /// Whether Google's discovery document and keys can be had now (or from the cache).
    public func checkHealth() async -> ProviderHealth { await relyingParty.checkHealth() }
}
