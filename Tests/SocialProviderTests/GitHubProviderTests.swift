import Foundation
import GitHub
import IdentityCore
import ProviderTesting
import TestSupport
import Testing

@Suite("GitHub provider against a loopback GitHub Enterprise")
struct GitHubProviderTests {
    static let octocat = FakeAccount(
        subject: "583231", login: "octocat", name: "The Octocat", email: "octocat@example.org",
        otherEmails: ["cat@example.net"], memberships: ["acme", "widgets"], teams: ["acme/platform", "widgets/ops"])

    func makeProvider(
        _ fake: FakeGitHub, _ adjust: (inout GitHubProvider.Configuration) -> Void = { _ in }
    ) async throws -> GitHubProvider {
        var configuration = GitHubProvider.Configuration(
            clientID: TestClient.id, clientSecret: TestClient.secret, webURL: fake.webURL, apiURL: fake.apiURL)
        adjust(&configuration)
        return try GitHubProvider(
            id: "github", displayName: "GitHub", configuration: configuration, context: try await testContext())
    }

    @Test func aSignInGivesTheNumericIDTheLoginThePrimaryVerifiedAddressAndOrgAndTeamGroups() async throws {
        let fake = try FakeGitHub(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.octocat)
        let provider = try await makeProvider(fake) {
            $0.allowedOrganizations = ["ACME"]
            $0.allowedTeams = ["acme/platform"]
        }
        let start = try await provider.beginLogin(callbackURL: callbackURL, state: "s1")
        #expect(start.authorizationURL.absoluteString.hasPrefix(fake.webURL + "/login/oauth/authorize?"))
        #expect(queryItems(of: start.authorizationURL)["code_challenge_method"] == "S256")

        let login = try await signIn(with: provider)
        #expect(login.identity.subject == "583231")
        #expect(login.identity.username == "octocat")
        #expect(login.identity.email == "octocat@example.org")
        #expect(login.identity.emailVerified)
        #expect(login.identity.displayName == "The Octocat")
        #expect(login.identity.groups == ["acme", "widgets", "acme/platform", "widgets/ops"])
        #expect(login.issuer == fake.webURL)
        #expect(login.grant?.accessToken != nil)
        #expect(login.grant?.refreshToken == nil)
    }

    @Test(arguments: [
        (["other-org"], [String](), "not a member of an allowed organisation (other-org)"),
        ([String](), ["acme/security"], "not a member of an allowed team (acme/security)"),
        (["acme"], ["widgets/security"], "not a member of an allowed team (widgets/security)"),
    ])
    func aPersonOutsideTheAllowedOrganisationsOrTeamsIsRefusedSayingWhich(
        organizations: [String], teams: [String], reason: String
    ) async throws {
        let fake = try FakeGitHub(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.octocat)
        let provider = try await makeProvider(fake) {
            $0.allowedOrganizations = organizations
            $0.allowedTeams = teams
        }
        let error = await providerError { _ = try await signIn(with: provider) }
        #expect(error?.code == .accessDenied)
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func everyPageOfOrganisationsAndTeamsIsFollowedByTheLinkHeader() async throws {
        let fake = try FakeGitHub(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        fake.setMaximumPageSize(2)
        var account = Self.octocat
        account.memberships = (1...5).map { "org-\($0)" }
        account.teams = (1...5).map { "org-\($0)/team-\($0)" }
        fake.authorization.signIn(account)
        // Both limits are met only on the third page.
        let provider = try await makeProvider(fake) {
            $0.allowedOrganizations = ["org-5"]
            $0.allowedTeams = ["org-5/team-5"]
        }
        let login = try await signIn(with: provider)
        #expect(login.identity.groups.count == 10)
        #expect(login.identity.groups.contains("org-5/team-5"))
        let requests = fake.authorization.apiRequests
        #expect(requests.contains("/api/v3/user/orgs?per_page=2&page=3"))
        #expect(requests.contains("/api/v3/user/teams?per_page=2&page=3"))
    }

    @Test func aNextLinkOutsideTheAPIRootIsRefusedAndTheTokenNeverSentThere() async throws {
        let fake = try FakeGitHub(clientID: TestClient.id, clientSecret: TestClient.secret)
        let elsewhere = try FakeGitHub(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer {
            Task {
                await fake.stop()
                await elsewhere.stop()
            }
        }
        fake.authorization.signIn(Self.octocat)
        fake.linkNextPages(to: elsewhere.apiURL + "/user/emails?page=2")
        let provider = try await makeProvider(fake)
        let error = await providerError { _ = try await signIn(with: provider) }
        #expect(error?.code == .protocolViolation)
        #expect(error?.reason.contains("outside the API root") == true)
        #expect(elsewhere.authorization.apiRequests.isEmpty)
    }

    @Test func anAccountWithoutAVerifiedPrimaryAddressIsRefused() async throws {
        let fake = try FakeGitHub(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        var account = Self.octocat
        account.emailVerified = false
        fake.authorization.signIn(account)
        let provider = try await makeProvider(fake)
        let error = await providerError { _ = try await signIn(with: provider) }
        #expect(error?.code == .accessDenied)
        #expect(error?.reason.contains("no verified primary email address") == true)
    }

    @Test func aGitHubThatIsDownIsUnavailableNotAHang() async throws {
        let fake = try FakeGitHub(clientID: TestClient.id, clientSecret: TestClient.secret)
        fake.authorization.signIn(Self.octocat)
        let provider = try await makeProvider(fake)
        let start = try await provider.beginLogin(callbackURL: callbackURL, state: "s")
        #expect(await provider.checkHealth().isHealthy)
        await fake.stop()
        #expect(await !provider.checkHealth().isHealthy)
        let error = await providerError {
            _ = try await provider.completeLogin(
                CallbackParameters(values: ["code": "code-1", "state": "s"]), pending: start.pending)
        }
        #expect(error?.code == .unavailable)
    }

    @Test func aHungAPIEndsAtTheRequestTimeoutAsUnavailable() async throws {
        let fake = try FakeGitHub(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.octocat)
        fake.hangAPI()
        let provider = try await makeProvider(fake) { $0.requestTimeout = ConfigDuration(seconds: 1) }
        let error = await providerError { _ = try await signIn(with: provider) }
        #expect(error?.code == .unavailable)
    }

    @Test func aBadCodeIsRefusedAsGitHubAnswersIt() async throws {
        let fake = try FakeGitHub(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        let provider = try await makeProvider(fake)
        let start = try await provider.beginLogin(callbackURL: callbackURL, state: "s")
        let error = await providerError {
            _ = try await provider.completeLogin(
                CallbackParameters(values: ["code": "forged", "state": "s"]), pending: start.pending)
        }
        #expect(error?.code == .protocolViolation)
        let denied = await providerError {
            _ = try await provider.completeLogin(
                CallbackParameters(values: ["error": "access_denied", "state": "s"]), pending: start.pending)
        }
        #expect(denied?.reason.contains("access_denied") == true)
    }

    @Test func revalidationIsValidWhileTheTokenWorksAndGoneWhenRevokedOrOutsideTheLimits() async throws {
        let fake = try FakeGitHub(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.octocat)
        let provider = try await makeProvider(fake) { $0.allowedOrganizations = ["acme"] }
        let login = try await signIn(with: provider)

        fake.authorization.updateAccount("583231") { $0.teams.append("acme/new-team") }
        let valid = try await provider.revalidate(login.identity, grant: login.grant)
        #expect(valid.validIdentity?.groups.contains("acme/new-team") == true)
        #expect(valid.validGrant == login.grant)

        fake.authorization.updateAccount("583231") { $0.memberships = ["widgets"] }
        let left = try await provider.revalidate(login.identity, grant: login.grant)
        #expect(left.goneReason?.contains("allowed organisation") == true)

        fake.authorization.updateAccount("583231") { $0.memberships = ["acme"] }
        fake.authorization.revokeTokens(of: "583231")
        let revoked = try await provider.revalidate(login.identity, grant: login.grant)
        #expect(revoked.goneReason?.contains("HTTP 401") == true)

        let error = await providerError { _ = try await provider.revalidate(login.identity, grant: nil) }
        #expect(error?.code == .unavailable)
    }

    @Test func anExhaustedRateLimitIsAnOutageNotARevokedToken() async throws {
        let fake = try FakeGitHub(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.octocat)
        let provider = try await makeProvider(fake)
        let login = try await signIn(with: provider)
        fake.exhaustRateLimit()
        // A 403 that would otherwise mean "suspended": revalidation must not suspend anyone for it.
        let error = await providerError { _ = try await provider.revalidate(login.identity, grant: login.grant) }
        #expect(error?.code == .unavailable)
        #expect(error?.reason.contains("rate limit") == true)
        fake.exhaustRateLimit(false)
        #expect(try await provider.revalidate(login.identity, grant: login.grant).validIdentity != nil)
    }

    @Test(arguments: [
        (GitHubProvider.Configuration(clientID: "", clientSecret: "s"), "clientID must not be empty"),
        (
            GitHubProvider.Configuration(clientID: "c", clientSecret: "s", apiURL: "http://ghe.example/api/v3"),
            "apiURL must be an https:// URL"
        ),
        (
            GitHubProvider.Configuration(clientID: "c", clientSecret: "s", allowedTeams: ["platform"]),
            "not of the form org/team-slug"
        ),
        (
            GitHubProvider.Configuration(
                clientID: "c", clientSecret: "s", allowedOrganizations: ["acme"], scopes: ["user:email"]),
            "scopes must contain read:org"
        ),
    ])
    func aConfigurationThatCannotWorkIsRefusedAtStart(configuration: GitHubProvider.Configuration, problem: String)
        async throws
    {
        let context = try await testContext()
        #expect(throws: ProviderError.self) {
            _ = try GitHubProvider(id: "github", displayName: "GitHub", configuration: configuration, context: context)
        }
        #expect(configuration.problems.contains { $0.contains(problem) }, "\(configuration.problems)")
    }

    @Test func theLinkHeaderIsReadForItsNextRelationOnly() {
        let header =
            #"<https://ghe.example/api/v3/user/orgs?page=3>; rel="last", <https://ghe.example/api/v3/user/orgs?page=2>; rel="next""#
        #expect(GitHubProvider.nextLink(in: [header]) == "https://ghe.example/api/v3/user/orgs?page=2")
        #expect(GitHubProvider.nextLink(in: [#"<https://x/a?page=1>; rel="prev""#]) == nil)
        #expect(GitHubProvider.nextLink(in: []) == nil)
    }
}
