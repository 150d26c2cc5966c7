import Diagnostics
import Foundation
import HTTPFetchingCore
import IdentityCore
import OAuth2

/// Bitbucket Cloud sign-in (`type: bitbucket`): OAuth2 through the shared `OAuth2Client`, then the 2.0 REST
/// API with the access token: `/user` for the account `uuid` (the subject: nicknames can change) and the
/// nickname (the username), `/user/emails` for the primary confirmed address, and
/// `/user/permissions/workspaces` (every page, by the `next` member) for the workspace limits and the groups
/// (workspace slugs). The old teams API is gone.
///
/// Bitbucket access tokens expire after two hours and come with a refresh token: revalidation redeems it
/// (`invalid_grant` means the consumer was revoked or the account is gone) and reads the API again.
public final class BitbucketProvider: GrantRevalidating, HealthReporting, ProviderFactory, Sendable {
    /// The `type` of `providers:` entries this plugin answers to.
    public static let typeName = "bitbucket"
    /// The most pages of workspaces or addresses read (100 each): a bound against a provider that links forever.
    static let maximumPages = 50

    /// The configured id.
    public let id: ProviderID
    /// The name shown on the sign-in button.
    public let displayName: String
    /// The settings in force.
    public let configuration: Configuration
    private let client: OAuth2Client
    private let flow: OAuth2CodeFlow
    private let api: ProviderAPI
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
        client = OAuth2Client(
            settings: OAuth2ClientSettings(
                provider: id, clientID: configuration.clientID, clientSecret: configuration.clientSecret,
                requestTimeout: .seconds(configuration.requestTimeout.seconds)),
            http: context.http)
        flow = OAuth2CodeFlow(
            client: client, authorizationEndpoint: configuration.webRoot + "/site/oauth2/authorize",
            tokenEndpoint: configuration.webRoot + "/site/oauth2/access_token", scopes: configuration.scopes,
            providerName: "Bitbucket")
        api = ProviderAPI(
            client: client, root: configuration.apiRoot, providerName: "Bitbucket",
            headers: [("Accept", "application/json")], maximumPages: Self.maximumPages)
    }

    /// Makes a provider from its `config:` block (no network I/O).
    public static func make(
        id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext
    ) throws -> any IdentityProvider {
        try BitbucketProvider(id: id, displayName: displayName, configuration: configuration, context: context)
    }

    // MARK: - Sign-in

    /// Builds Bitbucket's authorization URL (PKCE S256, `state`) and the pending state to keep.
    public func beginLogin(callbackURL: URL, state: String) async throws -> RedirectStart {
        try flow.begin(callbackURL: callbackURL, state: state)
    }

    /// Exchanges the code, reads the account, its primary confirmed address and workspaces, and applies the
    /// workspace limit.
    ///
    /// - Throws: `ProviderError(.accessDenied)` when the person has no allowed workspace or no confirmed
    ///   primary address; `.unavailable` when Bitbucket cannot be reached; `.protocolViolation` for a refused
    ///   code or an answer that is not Bitbucket's.
    public func completeLogin(_ callback: CallbackParameters, pending: PendingLogin) async throws -> RedirectLogin {
        let tokens = try await flow.complete(callback, pending: pending)
        let account: Account
        do {
            account = try await self.account(accessToken: tokens.accessToken)
        } catch let refused as ProviderAPI.TokenRefused {
            throw ProviderError(
                .protocolViolation, provider: id,
                reason: "Bitbucket refused the access token it just issued: \(refused)")
        }
        if let refusal = account.refusal(by: configuration) {
            throw ProviderError(.accessDenied, provider: id, reason: refusal)
        }
        guard account.identity.emailVerified else {
            throw ProviderError(
                .accessDenied, provider: id,
                reason: "the Bitbucket account \(account.identity.username) has no confirmed primary email "
                    + "address; confirm it at Bitbucket and sign in again")
        }
        return RedirectLogin(identity: account.identity, issuer: configuration.webRoot, grant: grant(from: tokens))
    }

    private func grant(from tokens: TokenResponse, keeping refreshToken: String? = nil) -> ProviderGrant {
        ProviderGrant(
            refreshToken: tokens.refreshToken ?? refreshToken,
            accessTokenExpiresAt: tokens.expiresIn.map { now().addingTimeInterval(TimeInterval($0)) },
            accessToken: tokens.accessToken)
    }

    // MARK: - Revalidation

    /// Redeems the kept refresh token and reads the account and workspaces again: `.valid` with the refreshed
    /// identity and the grant to keep; `.gone` when Bitbucket refuses the refresh token (`invalid_grant`) or
    /// the new access token, or the person left the allowed workspaces.
    ///
    /// - Throws: `ProviderError(.unavailable)` for an outage, or when no refresh token was kept.
    public func revalidate(_ identity: ExternalIdentity, grant: ProviderGrant?) async throws -> Revalidation {
        guard let refreshToken = grant?.refreshToken else {
            throw ProviderError(
                .unavailable, provider: id,
                reason: "no refresh token was kept for \(identity.subject), so Bitbucket cannot be asked")
        }
        let tokens: TokenResponse
        switch try await client.refresh(
            refreshToken, tokenEndpoint: configuration.webRoot + "/site/oauth2/access_token")
        {
        case .granted(let granted): tokens = granted
        case .refused(let refusal) where refusal.error == "invalid_grant":
            return .gone(reason: "Bitbucket refused the refresh token: \(refusal)")
        case .refused(let refusal):
            throw ProviderError(
                refusal.error == "invalid_client" || refusal.error == "unauthorized_client"
                    ? .misconfigured : .protocolViolation,
                provider: id, reason: "Bitbucket refused the refresh: \(refusal)")
        }
        let account: Account
        do {
            account = try await self.account(accessToken: tokens.accessToken)
        } catch let refused as ProviderAPI.TokenRefused {
            return .gone(reason: "Bitbucket no longer accepts the account's access token: \(refused)")
        }
        guard account.identity.subject == identity.subject else {
            throw ProviderError(
                .protocolViolation, provider: id,
                reason: "the kept refresh token belongs to Bitbucket account \(account.identity.subject), "
                    + "not \(identity.subject)")
        }
        if let refusal = account.refusal(by: configuration) { return .gone(reason: refusal) }
        return .valid(account.identity, self.grant(from: tokens, keeping: refreshToken))
    }

    // MARK: - Health

    /// Whether Bitbucket's API answers (`/user` asked without a token: a 401 is an answer).
    public func checkHealth() async -> ProviderHealth { await api.checkHealth(path: "/user") }

    // MARK: - The REST API

    /// What the API says about the person behind an access token.
    struct Account {
        var identity: ExternalIdentity
        var workspaces: [String]

        /// Why the workspace limit refuses this account, or nil when it lets it in.
        func refusal(by configuration: Configuration) -> String? {
            let workspaces = Set(self.workspaces.map { $0.lowercased() })
            guard
                configuration.allowedWorkspaces.isEmpty
                    || configuration.allowedWorkspaces.contains(where: { workspaces.contains($0.lowercased()) })
            else {
                return "the Bitbucket account \(identity.username) has no access to an allowed workspace "
                    + "(\(configuration.allowedWorkspaces.joined(separator: ", ")))"
            }
            return nil
        }
    }

    private struct User: Decodable {
        var uuid: String
        var nickname: String?
        var username: String?
        var displayName: String?

        enum CodingKeys: String, CodingKey {
            case uuid, nickname, username
            case displayName = "display_name"
        }
    }

    private struct Email: Decodable {
        var email: String
        var isPrimary: Bool
        var isConfirmed: Bool

        enum CodingKeys: String, CodingKey {
            case email
            case isPrimary = "is_primary"
            case isConfirmed = "is_confirmed"
        }
    }

    private struct WorkspacePermission: Decodable {
        struct Workspace: Decodable { var slug: String }
        var workspace: Workspace
    }

    /// One page of a 2.0 list: its items and the absolute URL of the next page, if any.
    private struct Page<Item: Decodable>: Decodable {
        var values: [Item]
        var next: String?
    }

    /// Reads the account, its addresses and workspaces with `accessToken`.
    func account(accessToken: String) async throws -> Account {
        let user = try await api.object(User.self, at: "/user", accessToken: accessToken)
        let emails: [Email] = try await allPages("/user/emails", accessToken: accessToken)
        let permissions: [WorkspacePermission] = try await allPages(
            "/user/permissions/workspaces", accessToken: accessToken)
        guard !user.uuid.isEmpty else {
            throw ProviderError(.protocolViolation, provider: id, reason: "Bitbucket's /user has an empty uuid")
        }
        let primary = emails.first { $0.isPrimary && $0.isConfirmed }
        var seen = Set<String>()
        let workspaces = permissions.map(\.workspace.slug).filter { seen.insert($0.lowercased()).inserted }
        let username = [user.nickname, user.username].compactMap { $0 }.first { !$0.isEmpty } ?? user.uuid
        let identity = ExternalIdentity(
            provider: id, subject: user.uuid, username: username, email: primary?.email,
            emailVerified: primary != nil, displayName: user.displayName.flatMap { $0.isEmpty ? nil : $0 },
            groups: workspaces, origin: .federated, credential: .externalLogin)
        return Account(identity: identity, workspaces: workspaces)
    }

    /// Every item of a paginated 2.0 list, 100 a page, following its `next` member.
    private func allPages<Item: Decodable>(_ path: String, accessToken: String) async throws -> [Item] {
        try await api.allPages(path, query: "?pagelen=100", accessToken: accessToken) { response, api in
            let page = try api.decode(Page<Item>.self, from: response, path: path)
            return (page.values, page.next)
        }
    }
}
