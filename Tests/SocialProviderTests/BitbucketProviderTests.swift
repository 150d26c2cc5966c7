import Bitbucket
import Foundation
import IdentityCore
import ProviderTesting
import TestSupport
import Testing

@Suite("Bitbucket provider against a loopback Bitbucket Cloud")
struct BitbucketProviderTests {
    static let ada = FakeAccount(
        subject: "{d301aafa-d676-4ee0-88be-962be7417567}", login: "ada", name: "Ada Lovelace",
        email: "ada@example.org", otherEmails: ["ada@example.net"], memberships: ["acme", "analytical-engines"])

    func makeProvider(
        _ fake: FakeBitbucket, clock: FixedClock = FixedClock(),
        _ adjust: (inout BitbucketProvider.Configuration) -> Void = { _ in }
    ) async throws -> BitbucketProvider {
        var configuration = BitbucketProvider.Configuration(
            clientID: TestClient.id, clientSecret: TestClient.secret, webURL: fake.webURL, apiURL: fake.apiURL)
        adjust(&configuration)
        return try BitbucketProvider(
            id: "bitbucket", displayName: "Bitbucket", configuration: configuration,
            context: try await testContext(clock: clock))
    }

    @Test func aSignInGivesTheAccountUUIDTheNicknameThePrimaryConfirmedAddressAndWorkspaces() async throws {
        let fake = try FakeBitbucket(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.ada)
        let clock = FixedClock()
        let provider = try await makeProvider(fake, clock: clock) { $0.allowedWorkspaces = ["ACME"] }
        let start = try await provider.beginLogin(callbackURL: callbackURL, state: "s")
        #expect(start.authorizationURL.absoluteString.hasPrefix(fake.webURL + "/site/oauth2/authorize?"))

        let login = try await signIn(with: provider)
        #expect(login.identity.subject == "{d301aafa-d676-4ee0-88be-962be7417567}")
        #expect(login.identity.username == "ada")
        #expect(login.identity.email == "ada@example.org")
        #expect(login.identity.emailVerified)
        #expect(login.identity.displayName == "Ada Lovelace")
        #expect(login.identity.groups == ["acme", "analytical-engines"])
        #expect(login.issuer == fake.webURL)
        #expect(login.grant?.refreshToken != nil)
        #expect(login.grant?.accessToken != nil)
        #expect(login.grant?.accessTokenExpiresAt == clock.now().addingTimeInterval(7200))
    }

    @Test func aPersonWithoutAnAllowedWorkspaceIsRefusedSayingWhich() async throws {
        let fake = try FakeBitbucket(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.ada)
        let provider = try await makeProvider(fake) { $0.allowedWorkspaces = ["babbage", "difference"] }
        let error = await providerError { _ = try await signIn(with: provider) }
        #expect(error?.code == .accessDenied)
        #expect(error?.reason.contains("no access to an allowed workspace (babbage, difference)") == true)
    }

    @Test func everyPageOfWorkspacesAndAddressesIsFollowedByNext() async throws {
        let fake = try FakeBitbucket(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        fake.setMaximumPageSize(2)
        var account = Self.ada
        account.memberships = (1...5).map { "workspace-\($0)" }
        account.otherEmails = ["a@example.net", "b@example.net", "c@example.net"]
        fake.authorization.signIn(account)
        let provider = try await makeProvider(fake) { $0.allowedWorkspaces = ["workspace-5"] }
        let login = try await signIn(with: provider)
        #expect(login.identity.groups == (1...5).map { "workspace-\($0)" })
        let requests = fake.authorization.apiRequests
        #expect(requests.contains("/2.0/user/permissions/workspaces?pagelen=2&page=3"))
        #expect(requests.contains("/2.0/user/emails?pagelen=2&page=2"))
    }

    @Test func anAccountWithoutAConfirmedPrimaryAddressIsRefused() async throws {
        let fake = try FakeBitbucket(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        var account = Self.ada
        account.emailVerified = false
        fake.authorization.signIn(account)
        let provider = try await makeProvider(fake)
        let error = await providerError { _ = try await signIn(with: provider) }
        #expect(error?.code == .accessDenied)
        #expect(error?.reason.contains("no confirmed primary email address") == true)
    }

    @Test func aBitbucketThatIsDownIsUnavailableNotAHang() async throws {
        let fake = try FakeBitbucket(clientID: TestClient.id, clientSecret: TestClient.secret)
        fake.authorization.signIn(Self.ada)
        let provider = try await makeProvider(fake)
        let login = try await signIn(with: provider)
        #expect(await provider.checkHealth().isHealthy)
        await fake.stop()
        #expect(await !provider.checkHealth().isHealthy)
        let error = await providerError { _ = try await provider.revalidate(login.identity, grant: login.grant) }
        #expect(error?.code == .unavailable)
        let start = try await provider.beginLogin(callbackURL: callbackURL, state: "s")
        let completing = await providerError {
            _ = try await provider.completeLogin(
                CallbackParameters(values: ["code": "code-9", "state": "s"]), pending: start.pending)
        }
        #expect(completing?.code == .unavailable)
    }

    @Test func revalidationRedeemsTheRefreshTokenAndIsGoneWhenRevokedOrOutsideTheWorkspaces() async throws {
        let fake = try FakeBitbucket(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.ada)
        let provider = try await makeProvider(fake) { $0.allowedWorkspaces = ["acme"] }
        let login = try await signIn(with: provider)

        let valid = try await provider.revalidate(login.identity, grant: login.grant)
        #expect(valid.validIdentity?.subject == login.identity.subject)
        let rotated = try #require(valid.validGrant)
        #expect(rotated.refreshToken != login.grant?.refreshToken)
        // The old refresh token was spent by the redemption.
        let spent = try await provider.revalidate(login.identity, grant: login.grant)
        #expect(spent.goneReason?.contains("invalid_grant") == true)

        fake.authorization.updateAccount(Self.ada.subject) { $0.memberships = ["elsewhere"] }
        let left = try await provider.revalidate(login.identity, grant: rotated)
        #expect(left.goneReason?.contains("allowed workspace") == true)
    }

    @Test func aRevokedConsumerIsGone() async throws {
        let fake = try FakeBitbucket(clientID: TestClient.id, clientSecret: TestClient.secret)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.ada)
        let provider = try await makeProvider(fake)
        let login = try await signIn(with: provider)
        fake.authorization.revokeTokens(of: Self.ada.subject)
        let revoked = try await provider.revalidate(login.identity, grant: login.grant)
        #expect(revoked.goneReason?.contains("refused the refresh token") == true)
    }
}
