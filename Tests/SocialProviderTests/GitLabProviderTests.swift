import Foundation
import GitLab
import IdentityCore
import ProviderTesting
import TestSupport
import Testing

@Suite("GitLab provider against a loopback self-managed GitLab")
struct GitLabProviderTests {
    static let grace = FakeAccount(
        subject: "4242", login: "grace", name: "Grace Hopper", email: "grace@example.org",
        memberships: ["acme", "acme/platform", "navy"], roles: ["owner": ["navy"], "developer": ["acme/platform"]])

    func makeProvider(
        _ fake: FakeOpenIDProvider, clock: FixedClock, _ adjust: (inout GitLabProvider.Configuration) -> Void = { _ in }
    ) async throws -> GitLabProvider {
        var configuration = GitLabProvider.Configuration(
            issuer: fake.issuer, clientID: TestClient.id, clientSecret: TestClient.secret)
        adjust(&configuration)
        return try GitLabProvider(
            id: "gitlab", displayName: "GitLab", configuration: configuration,
            context: try await testContext(clock: clock))
    }

    func makeFake(clock: FixedClock) throws -> FakeOpenIDProvider {
        try FakeOpenIDProvider(
            .gitlab, clientID: TestClient.id, clientSecret: TestClient.secret, key: fakeSigningKey, now: clock.function)
    }

    @Test func aSignInGivesTheUserIDTheNicknameTheAddressAndEveryGroupFromUserinfo() async throws {
        let clock = FixedClock()
        let fake = try makeFake(clock: clock)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.grace)
        let provider = try await makeProvider(fake, clock: clock) { $0.allowedGroups = ["acme/platform"] }
        let start = try await provider.beginLogin(callbackURL: callbackURL, state: "s")
        #expect(start.authorizationURL.absoluteString.hasPrefix(fake.issuer + "/oauth/authorize?"))

        let login = try await signIn(with: provider)
        #expect(login.identity.subject == "4242")
        #expect(login.identity.username == "grace")
        #expect(login.identity.email == "grace@example.org")
        #expect(login.identity.emailVerified)
        #expect(Set(login.identity.groups) == ["acme", "acme/platform", "navy"])
        #expect(login.issuer == fake.issuer)
        #expect(login.grant?.refreshToken != nil)
        #expect(login.grant?.idToken != nil)
    }

    @Test(arguments: [
        (["acme"], true),  // the parent admits its subgroup members too
        (["ACME/Platform"], true),
        (["navy/ships"], false),
        (["acme/platform/deep"], false),
        (["other"], false),
    ])
    func theGroupLimitAdmitsMembersOfAnAllowedGroupOrItsSubgroups(allowed: [String], admitted: Bool) async throws {
        let clock = FixedClock()
        let fake = try makeFake(clock: clock)
        defer { Task { await fake.stop() } }
        var account = Self.grace
        account.memberships = ["acme/platform"]
        account.roles = [:]
        fake.authorization.signIn(account)
        let provider = try await makeProvider(fake, clock: clock) { $0.allowedGroups = allowed }
        let error = await providerError { _ = try await signIn(with: provider) }
        if admitted {
            #expect(error == nil)
        } else {
            #expect(error?.code == .accessDenied)
            #expect(error?.reason.contains("not a member of an allowed group") == true)
        }
    }

    @Test func anUnverifiedAddressIsRefused() async throws {
        let clock = FixedClock()
        let fake = try makeFake(clock: clock)
        defer { Task { await fake.stop() } }
        var account = Self.grace
        account.emailVerified = false
        fake.authorization.signIn(account)
        let provider = try await makeProvider(fake, clock: clock)
        let error = await providerError { _ = try await signIn(with: provider) }
        #expect(error?.code == .accessDenied)
        #expect(error?.reason.contains("no verified email address") == true)
    }

    @Test func aGitLabThatIsDownIsUnavailableNotAHang() async throws {
        let clock = FixedClock()
        let fake = try makeFake(clock: clock)
        let provider = try await makeProvider(fake, clock: clock)
        // Another instance (its own discovery cache) sees the provider up before it stops.
        #expect(try await makeProvider(fake, clock: clock).checkHealth().isHealthy)
        await fake.stop()
        let error = await providerError { _ = try await provider.beginLogin(callbackURL: callbackURL, state: "s") }
        #expect(error?.code == .unavailable)
    }

    @Test func revalidationIsValidWithTheRefreshTokenAndGoneWhenRevokedOrOutsideTheGroups() async throws {
        let clock = FixedClock()
        let fake = try makeFake(clock: clock)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.grace)
        let provider = try await makeProvider(fake, clock: clock) { $0.allowedGroups = ["acme"] }
        let login = try await signIn(with: provider)

        fake.authorization.updateAccount("4242") { $0.memberships.append("acme/new") }
        let valid = try await provider.revalidate(login.identity, grant: login.grant)
        #expect(valid.validIdentity?.groups.contains("acme/new") == true)
        let rotated = try #require(valid.validGrant)
        #expect(rotated.refreshToken != login.grant?.refreshToken)

        fake.authorization.updateAccount("4242") {
            $0.memberships = ["navy"]
            $0.roles = ["owner": ["navy"]]
        }
        let left = try await provider.revalidate(login.identity, grant: rotated)
        #expect(left.goneReason?.contains("allowed group") == true)

        fake.authorization.updateAccount("4242") { $0.memberships = ["acme"] }
        let again = try await signIn(with: provider)
        fake.authorization.revokeTokens(of: "4242")
        let revoked = try await provider.revalidate(again.identity, grant: again.grant)
        #expect(revoked.goneReason?.contains("invalid_grant") == true)
    }

    @Test func signOutRevokesTheRefreshTokenAtGitLab() async throws {
        let clock = FixedClock()
        let fake = try makeFake(clock: clock)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.grace)
        let provider = try await makeProvider(fake, clock: clock)
        let login = try await signIn(with: provider)
        try await provider.revoke(try #require(login.grant))
        #expect(fake.revocations == 1)
        #expect(await provider.signOutURL(grant: login.grant, returnURL: callbackURL) == nil)
    }
}
