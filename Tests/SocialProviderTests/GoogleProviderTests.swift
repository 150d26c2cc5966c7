import Foundation
import Google
import IdentityCore
import ProviderTesting
import TestSupport
import Testing

@Suite("Google provider against a loopback Google")
struct GoogleProviderTests {
    static let linus = FakeAccount(
        subject: "110169484474386276334", login: "", name: "Linus", email: "linus@example.com",
        hostedDomain: "example.com")

    func makeProvider(
        _ fake: FakeOpenIDProvider, clock: FixedClock, _ adjust: (inout GoogleProvider.Configuration) -> Void = { _ in }
    ) async throws -> GoogleProvider {
        var configuration = GoogleProvider.Configuration(
            issuer: fake.issuer, clientID: TestClient.id, clientSecret: TestClient.secret)
        adjust(&configuration)
        return try GoogleProvider(
            id: "google", displayName: "Google", configuration: configuration,
            context: try await testContext(clock: clock))
    }

    func makeFake(clock: FixedClock) throws -> FakeOpenIDProvider {
        try FakeOpenIDProvider(
            .google, clientID: TestClient.id, clientSecret: TestClient.secret, key: fakeSigningKey, now: clock.function)
    }

    @Test func aSignInGivesTheSubjectTheVerifiedAddressAndAsksForOfflineAccessInTheDomain() async throws {
        let clock = FixedClock()
        let fake = try makeFake(clock: clock)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.linus)
        let provider = try await makeProvider(fake, clock: clock) { $0.allowedDomains = ["Example.com"] }
        let start = try await provider.beginLogin(callbackURL: callbackURL, state: "s")
        let query = queryItems(of: start.authorizationURL)
        #expect(start.authorizationURL.absoluteString.hasPrefix(fake.issuer + "/o/oauth2/v2/auth?"))
        #expect(query["hd"] == "Example.com")
        #expect(query["access_type"] == "offline")

        let login = try await signIn(with: provider)
        #expect(login.identity.subject == "110169484474386276334")
        #expect(login.identity.username == "linus")
        #expect(login.identity.email == "linus@example.com")
        #expect(login.identity.emailVerified)
        #expect(login.identity.groups.isEmpty)
        #expect(login.issuer == fake.issuer)
        #expect(login.grant?.refreshToken != nil)
    }

    @Test(arguments: [
        ("other.example", "the Google Workspace domain other.example is not allowed"),
        (nil, "belongs to no Google Workspace domain"),
    ])
    func anAccountOutsideTheAllowedDomainsIsRefusedByTheSignedHDClaim(domain: String?, reason: String) async throws {
        let clock = FixedClock()
        let fake = try makeFake(clock: clock)
        defer { Task { await fake.stop() } }
        var account = Self.linus
        account.hostedDomain = domain
        account.email = "linus@\(domain ?? "gmail.com")"
        fake.authorization.signIn(account)
        let provider = try await makeProvider(fake, clock: clock) { $0.allowedDomains = ["example.com"] }
        // The hd hint in the URL is the browser's to change; the fake ignores it, as an attacker would.
        let error = await providerError { _ = try await signIn(with: provider) }
        #expect(error?.code == .accessDenied)
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func anUnverifiedAddressIsRefusedEvenWithoutDomainLimits() async throws {
        let clock = FixedClock()
        let fake = try makeFake(clock: clock)
        defer { Task { await fake.stop() } }
        var account = Self.linus
        account.emailVerified = false
        fake.authorization.signIn(account)
        let provider = try await makeProvider(fake, clock: clock)
        let error = await providerError { _ = try await signIn(with: provider) }
        #expect(error?.code == .accessDenied)
        #expect(error?.reason.contains("no verified email address") == true)
    }

    @Test func aGoogleThatIsDownIsUnavailableNotAHang() async throws {
        let clock = FixedClock()
        let fake = try makeFake(clock: clock)
        let provider = try await makeProvider(fake, clock: clock)
        // Another instance (its own discovery cache) sees the provider up before it stops.
        #expect(try await makeProvider(fake, clock: clock).checkHealth().isHealthy)
        await fake.stop()
        let error = await providerError { _ = try await provider.beginLogin(callbackURL: callbackURL, state: "s") }
        #expect(error?.code == .unavailable)
    }

    @Test func revalidationIsValidWithTheRefreshTokenAndGoneWhenRevokedOrMovedOutOfTheDomain() async throws {
        let clock = FixedClock()
        let fake = try makeFake(clock: clock)
        defer { Task { await fake.stop() } }
        fake.authorization.signIn(Self.linus)
        let provider = try await makeProvider(fake, clock: clock) { $0.allowedDomains = ["example.com"] }
        let login = try await signIn(with: provider)

        let valid = try await provider.revalidate(login.identity, grant: login.grant)
        #expect(valid.validIdentity?.email == "linus@example.com")
        let kept = try #require(valid.validGrant)
        #expect(kept.refreshToken == login.grant?.refreshToken)

        fake.authorization.updateAccount(Self.linus.subject) { $0.hostedDomain = "elsewhere.example" }
        let moved = try await provider.revalidate(login.identity, grant: kept)
        #expect(moved.goneReason?.contains("elsewhere.example is not allowed") == true)

        fake.authorization.revokeTokens(of: Self.linus.subject)
        let revoked = try await provider.revalidate(login.identity, grant: kept)
        #expect(revoked.goneReason?.contains("invalid_grant") == true)
    }
}
