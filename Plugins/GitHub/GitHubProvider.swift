import Diagnostics
import Foundation
import HTTPFetchingCore
import IdentityCore
import OAuth2

/// GitHub sign-in (`type: github`, github.com or GitHub Enterprise Server): OAuth2 (GitHub is not an OpenID
/// provider) through the shared `OAuth2Client`, then the REST API with the access token: `/user` for the
/// numeric id (the subject: logins can be renamed and reused) and the login (the username), `/user/emails`
/// for the primary verified address, `/user/orgs` and `/user/teams` (every page, by `Link: rel="next"`) for
/// the organisation and team limits and the groups (`org` and `org/team-slug`).
///
/// GitHub OAuth app tokens do not expire and come without a refresh token, so the grant keeps the access
/// token and revalidation asks the API again with it: a 401 means the person revoked the app or is gone.
/// There is no sign-out at GitHub: revoking the grant at sign-out would make the next revalidation suspend
/// the person, whose application tokens must outlive their web session.
public final class GitHubProvider: GrantRevalidating, HealthReporting, ProviderFactory, Sendable {
    /// The `type` of `providers:` entries this plugin answers to.
    public static let typeName = "github"
    /// The most pages of organisations, teams or addresses read (100 each): a bound against a provider
    /// that links forever, far above any real membership list.
    static let maximumPages = 50

    /// The configured id.
    public let id: ProviderID
    /// The name shown on the sign-in button.
    public let displayName: String
    /// The settings in force.
    public let configuration: Configuration
    private let flow: OAuth2CodeFlow
    private let api: ProviderAPI

    /// Creates a provider; no network I/O happens here.
    ///
    /// - Throws: `ProviderError(.misconfigured)` listing every problem of `configuration`.
    public init(id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext) throws {
        try ProviderError.requireNone(configuration.problems, provider: id)
        self.id = id
        self.displayName = displayName
        self.configuration = configuration
        let client = OAuth2Client(
            settings: OAuth2ClientSettings(
                provider: id, clientID: configuration.clientID, clientSecret: configuration.clientSecret,
                authentication: .clientSecretPost, requestTimeout: .seconds(configuration.requestTimeout.seconds)),
            http: context.http)
        flow = OAuth2CodeFlow(
            client: client, authorizationEndpoint: configuration.webRoot + "/login/oauth/authorize",
            tokenEndpoint: configuration.webRoot + "/login/oauth/access_token", scopes: configuration.scopes,
            providerName: "GitHub")
        api = ProviderAPI(
            client: client, root: configuration.apiRoot, providerName: "GitHub",
            headers: [
                ("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28"),
                ("User-Agent", "Portcullis"),
            ], maximumPages: Self.maximumPages)
    }

    /// Makes a provider from its `config:` block (no network I/O).
    public static func make(
        id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext
    ) throws -> any IdentityProvider {
        try GitHubProvider(id: id, displayName: displayName, configuration: configuration, context: context)
    }

    // MARK: - Sign-in

    /// Builds GitHub's authorization URL (PKCE S256, `state`) and the pending state to keep.
    public func beginLogin(callbackURL: URL, state: String) async throws -> RedirectStart {
        try flow.begin(callbackURL: callbackURL, state: state)
    }

    /// Exchanges the code, reads the account, its primary verified address, organisations and teams, and
    /// applies the limits.
    ///
    /// - Throws: `ProviderError(.accessDenied)` naming the limit the person is outside of, or when GitHub
    ///   knows no verified primary address; `.unavailable` when GitHub cannot be reached; `.protocolViolation`
    ///   for a refused code or an answer that is not GitHub's.
    public func completeLogin(_ callback: CallbackParameters, pending: PendingLogin) async throws -> RedirectLogin {
        let accessToken = try await flow.complete(callback, pending: pending).accessToken
        let account: Account
        do {
            account = try await self.account(accessToken: accessToken)
        } catch let refused as ProviderAPI.TokenRefused {
            throw ProviderError(
                .protocolViolation, provider: id, reason: "GitHub refused the access token it just issued: \(refused)")
        }
        if let refusal = account.refusal(by: configuration) {
            throw ProviderError(.accessDenied, provider: id, reason: refusal)
        }
        guard account.identity.emailVerified else {
            throw ProviderError(
                .accessDenied, provider: id,
                reason: "the GitHub account \(account.identity.username) has no verified primary email address; "
                    + "verify it at GitHub and sign in again")
        }
        return RedirectLogin(
            identity: account.identity, issuer: configuration.webRoot, grant: ProviderGrant(accessToken: accessToken))
    }

    // MARK: - Revalidation

    /// Asks `/user`, the organisations and the teams again with the kept access token: `.valid` with the
    /// refreshed identity; `.gone` when GitHub no longer accepts the token (the app was revoked, the account
    /// deleted or suspended) or the person left the allowed organisations and teams.
    ///
    /// - Throws: `ProviderError(.unavailable)` for an outage, or when no access token was kept.
    public func revalidate(_ identity: ExternalIdentity, grant: ProviderGrant?) async throws -> Revalidation {
        guard let accessToken = grant?.accessToken else {
            throw ProviderError(
                .unavailable, provider: id,
                reason: "no access token was kept for \(identity.subject), so GitHub cannot be asked")
        }
        let account: Account
        do {
            account = try await self.account(accessToken: accessToken)
        } catch let refused as ProviderAPI.TokenRefused {
            return .gone(reason: "GitHub no longer accepts the access token: \(refused)")
        }
        guard account.identity.subject == identity.subject else {
            throw ProviderError(
                .protocolViolation, provider: id,
                reason: "the kept access token belongs to GitHub user \(account.identity.subject), "
                    + "not \(identity.subject)")
        }
        if let refusal = account.refusal(by: configuration) { return .gone(reason: refusal) }
        return .valid(account.identity, grant)
    }

    // MARK: - Health

    /// Whether GitHub's API answers (`/user` asked without a token: a 401 is an answer).
    public func checkHealth() async -> ProviderHealth { await api.checkHealth(path: "/user") }

    // MARK: - The REST API

    /// What the API says about the person behind an access token.
    struct Account {
        var identity: ExternalIdentity
        var organizations: [String]
        var teams: [String]

        /// Why the configured limits refuse this account, or nil when they let it in (each configured limit
        /// must be met: one allowed organisation, and one allowed team).
        func refusal(by configuration: Configuration) -> String? {
            let login = identity.username
            let organizations = Set(self.organizations.map { $0.lowercased() })
            if !configuration.allowedOrganizations.isEmpty,
                !configuration.allowedOrganizations.contains(where: { organizations.contains($0.lowercased()) })
            {
                return "the GitHub user \(login) is not a member of an allowed organisation "
                    + "(\(configuration.allowedOrganizations.joined(separator: ", ")))"
            }
            let teams = Set(self.teams.map { $0.lowercased() })
            if !configuration.allowedTeams.isEmpty,
                !configuration.allowedTeams.contains(where: { teams.contains($0.lowercased()) })
            {
                return "the GitHub user \(login) is not a member of an allowed team "
                    + "(\(configuration.allowedTeams.joined(separator: ", ")))"
            }
            return nil
        }
    }

    private struct User: Decodable {
        var id: Int64
        var login: String
        var name: String?
    }

    private struct Email: Decodable {
        var email: String
        var primary: Bool
        var verified: Bool
    }

    private struct Organization: Decodable {
        var login: String
    }

    private struct Team: Decodable {
        struct Owner: Decodable { var login: String }
        var slug: String
        var organization: Owner
    }

    /// Reads the account, its addresses, organisations and teams with `accessToken`.
    func account(accessToken: String) async throws -> Account {
        let user = try await api.object(User.self, at: "/user", accessToken: accessToken)
        let emails: [Email] = try await allPages("/user/emails", accessToken: accessToken)
        let organizations: [Organization] = try await allPages("/user/orgs", accessToken: accessToken)
        let teams: [Team] = try await allPages("/user/teams", accessToken: accessToken)
        let primary = emails.first { $0.primary && $0.verified }
        var seen = Set<String>()
        let organizationNames = organizations.map(\.login)
        let teamNames = teams.map { "\($0.organization.login)/\($0.slug)" }
        let groups = (organizationNames + teamNames).filter { seen.insert($0.lowercased()).inserted }
        let identity = ExternalIdentity(
            provider: id, subject: String(user.id), username: user.login, email: primary?.email,
            emailVerified: primary != nil, displayName: user.name.flatMap { $0.isEmpty ? nil : $0 }, groups: groups,
            origin: .federated, credential: .externalLogin)
        return Account(identity: identity, organizations: organizationNames, teams: teamNames)
    }

    /// Every item of a GitHub list, 100 a page, following `Link: rel="next"`.
    private func allPages<Item: Decodable>(_ path: String, accessToken: String) async throws -> [Item] {
        try await api.allPages(path, query: "?per_page=100", accessToken: accessToken) { response, api in
            (try api.decode([Item].self, from: response, path: path), Self.nextLink(in: response.values(for: "Link")))
        }
    }

    /// The `rel="next"` target of RFC 8288 `Link` header values, if any.
    public static func nextLink(in values: [String]) -> String? {
        for value in values {
            for link in value.split(separator: ",") {
                let parts = link.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let target = parts.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
                let relations = parts.dropFirst().compactMap { parameter -> [String]? in
                    let pair = parameter.split(separator: "=", maxSplits: 1).map(String.init)
                    guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "rel" else {
                        return nil
                    }
                    let names = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
                    return names.lowercased().split(separator: " ").map(String.init)
                }.joined()
                if relations.contains("next") { return String(target.dropFirst().dropLast()) }
            }
        }
        return nil
    }
}
