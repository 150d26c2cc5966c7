import Diagnostics
import Foundation
import IdentityCore
import OAuth2

/// A GitLab claims object (ID token or userinfo).
typealias Claims = [String: ClaimValue]

/// GitLab sign-in (`type: gitlab`, gitlab.com or self-managed): OpenID Connect through the shared
/// `OpenIDRelyingParty`, which does the protocol (discovery, PKCE, nonce, the ID token checks, userinfo); this
/// type reads GitLab's claims: `sub` (the numeric user id) as subject, `nickname` (the username), the verified
/// address, and the groups (userinfo's `groups`, the ID token's `groups_direct`, and the role claims
/// `https://gitlab.org/claims/groups/owner|maintainer|developer`), then applies the group limit.
public final class GitLabProvider: RedirectSigningOut, GrantRevalidating, HealthReporting, ProviderFactory, Sendable {
    /// The `type` of `providers:` entries this plugin answers to.
    public static let typeName = "gitlab"
    /// The claims GitLab lists the groups in where the person has that role.
    static let roleClaims = ["owner", "maintainer", "developer"].map { "https://gitlab.org/claims/groups/" + $0 }

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
        relyingParty = OpenIDRelyingParty(
            settings: OpenIDRelyingPartySettings(
                client: OAuth2ClientSettings(
                    provider: id, clientID: configuration.clientID, clientSecret: configuration.clientSecret,
                    requestTimeout: .seconds(configuration.requestTimeout.seconds)),
                issuer: configuration.issuer, scopes: configuration.scopes, useUserinfo: true),
            http: context.http, now: context.now)
    }

    /// Makes a provider from its `config:` block (no network I/O).
    public static func make(
        id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext
    ) throws -> any IdentityProvider {
        try GitLabProvider(id: id, displayName: displayName, configuration: configuration, context: context)
    }

    // MARK: - Sign-in

    /// Builds the authorization URL (PKCE S256, `state`, `nonce`) and the pending state to keep.
    public func beginLogin(callbackURL: URL, state: String) async throws -> RedirectStart {
        try await relyingParty.begin(callbackURL: callbackURL, state: state)
    }

    /// Exchanges the code, checks the ID token and userinfo, reads the claims and applies the group limit.
    ///
    /// - Throws: `ProviderError(.accessDenied)` when the person is in no allowed group or has no verified
    ///   address; the relying party's errors otherwise.
    public func completeLogin(_ callback: CallbackParameters, pending: PendingLogin) async throws -> RedirectLogin {
        let login = try await relyingParty.complete(callback, pending: pending)
        let identity = self.identity(
            subject: login.idToken.subject, idToken: login.idToken.claims, userinfo: login.userinfo)
        if let refusal = refusal(of: identity) { throw ProviderError(.accessDenied, provider: id, reason: refusal) }
        guard identity.emailVerified else {
            throw ProviderError(
                .accessDenied, provider: id,
                reason: "the GitLab account \(identity.username) has no verified email address")
        }
        return RedirectLogin(identity: identity, issuer: configuration.issuer, grant: login.grant(at: now()))
    }

    /// The identity GitLab's claims describe (userinfo laid over the ID token).
    func identity(subject: String, idToken: Claims, userinfo: Claims?) -> ExternalIdentity {
        let claims = idToken.merging(userinfo ?? [:]) { _, fresh in fresh }
        let email = claims["email"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        let username =
            ["nickname", "preferred_username"].lazy.compactMap { claims[$0]?.string }.first { !$0.isEmpty } ?? subject
        var groups: [String] = []
        for source in [userinfo ?? [:], idToken] {
            groups += source["groups"]?.strings ?? []
            groups += source["groups_direct"]?.strings ?? []
            for claim in Self.roleClaims { groups += source[claim]?.strings ?? [] }
        }
        var seen = Set<String>()
        groups = groups.filter { !$0.isEmpty && seen.insert($0.lowercased()).inserted }
        return ExternalIdentity(
            provider: id, subject: subject, username: username, email: email,
            emailVerified: email != nil && claims["email_verified"]?.bool == true,
            displayName: claims["name"]?.string.flatMap { $0.isEmpty ? nil : $0 }, groups: groups, origin: .federated,
            credential: .externalLogin)
    }

    /// Why the group limit refuses `identity`, or nil when it lets it in: one of its groups is an allowed group
    /// or lies beneath one (`acme` admits `acme/platform`).
    func refusal(of identity: ExternalIdentity) -> String? {
        guard !configuration.allowedGroups.isEmpty else { return nil }
        let groups = identity.groups.map { $0.lowercased() }
        let admitted = configuration.allowedGroups.contains { allowed in
            let path = allowed.lowercased()
            return groups.contains { $0 == path || $0.hasPrefix(path + "/") }
        }
        return admitted
            ? nil
            : "the GitLab user \(identity.username) is not a member of an allowed group "
                + "(\(configuration.allowedGroups.joined(separator: ", ")))"
    }

    // MARK: - Sign-out

    /// GitLab's end-session URL when its discovery offers one (recent versions do not: then nil).
    public func signOutURL(grant: ProviderGrant?, returnURL: URL) async -> URL? {
        await relyingParty.endSessionURL(idTokenHint: grant?.idToken, returnURL: returnURL)
    }

    /// Revokes the grant's refresh token at GitLab's revocation endpoint.
    public func revoke(_ grant: ProviderGrant) async throws {
        guard let refreshToken = grant.refreshToken else { return }
        try await relyingParty.revoke(refreshToken: refreshToken)
    }

    // MARK: - Revalidation

    /// Redeems the kept refresh token and reads userinfo: `.valid` with the refreshed identity and the grant to
    /// keep (GitLab rotates refresh tokens); `.gone` on `invalid_grant` or when the person left the allowed
    /// groups.
    ///
    /// - Throws: `ProviderError(.unavailable)` for an outage, or when no refresh token was kept.
    public func revalidate(_ identity: ExternalIdentity, grant: ProviderGrant?) async throws -> Revalidation {
        guard let refreshToken = grant?.refreshToken else {
            throw ProviderError(
                .unavailable, provider: id,
                reason: "no refresh token was kept for \(identity.subject), so GitLab cannot be asked")
        }
        switch try await relyingParty.refresh(refreshToken, subject: identity.subject) {
        case .refused(let refusal):
            return .gone(reason: "GitLab refused the refresh token: \(refusal)")
        case .refreshed(let tokens, let idToken, let userinfo):
            let refreshed = self.identity(
                subject: identity.subject, idToken: idToken?.claims ?? [:], userinfo: userinfo)
            if let refusal = refusal(of: refreshed) { return .gone(reason: refusal) }
            return .valid(
                refreshed,
                ProviderGrant(
                    refreshToken: tokens.refreshToken ?? refreshToken, idToken: idToken?.compact ?? grant?.idToken,
                    accessTokenExpiresAt: tokens.expiresIn.map { now().addingTimeInterval(TimeInterval($0)) }))
        }
    }

    // MARK: - Health

    /// Whether GitLab's discovery document and keys can be had now (or from the cache).
    public func checkHealth() async -> ProviderHealth { await relyingParty.checkHealth() }
}
