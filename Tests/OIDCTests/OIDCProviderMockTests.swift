import Foundation
import IdentityCore
import OAuth2
import OIDC
import ProviderTesting
import TestSupport
import Testing

/// The `oidc` provider against the real third-party OpenID provider `oidc-provider-mock` on loopback.
@Suite(
    "Against oidc-provider-mock, the oidc provider signs in, revalidates and signs out",
    .enabled(if: OIDCProviderMock.shouldRun), .serialized)
struct OIDCProviderMockTests {
    /// A mock and a provider on the real clock (the mock's tokens carry real times, and a loaded machine may take
    /// a while between the mock's signing and our check).
    static func setUp(
        _ adjust: (inout OIDCProvider.Configuration) -> Void = { _ in }
    ) async throws -> (OIDCProviderMock, OIDCProvider) {
        let mock = try await OIDCProviderMock.start()
        let provider = try makeProvider(issuer: mock.issuer, clock: nil, store: try await testStore(), adjust)
        return (mock, provider)
    }

    static func signIn(_ user: String, at mock: OIDCProviderMock, with provider: OIDCProvider) async throws
        -> RedirectLogin
    {
        let start = try await provider.beginLogin(callbackURL: callbackURL, state: "state-\(user)")
        let callback = try await mock.authorize(start.authorizationURL, as: user)
        #expect(callback["state"] == "state-\(user)")
        return try await provider.completeLogin(CallbackParameters(values: callback), pending: start.pending)
    }

    @Test("begin → authorize → complete gives alice's identity with her groups and a grant to keep")
    func aliceSignsIn() async throws {
        let (mock, provider) = try await Self.setUp()
        defer { mock.stop() }
        let login = try await Self.signIn("alice", at: mock, with: provider)
        #expect(login.issuer == mock.issuer)
        #expect(login.identity.subject == "alice")
        #expect(login.identity.username == "alice")
        #expect(login.identity.email == "alice@example.org")
        #expect(login.identity.emailVerified)
        #expect(login.identity.displayName == "Alice Liddell")
        #expect(Set(login.identity.groups) == ["registry-admins", "developers"])
        #expect(login.grant?.refreshToken != nil)
        #expect(login.grant?.idToken != nil)
    }

    @Test("carol's unverified email is reported unverified; bob's groups come from the ID token alone too")
    func claimsPerUser() async throws {
        let (mock, provider) = try await Self.setUp { $0.groupsFrom = .idToken }
        defer { mock.stop() }
        let carol = try await Self.signIn("carol", at: mock, with: provider)
        #expect(!carol.identity.emailVerified)
        #expect(carol.identity.groups.isEmpty)
        let bob = try await Self.signIn("bob", at: mock, with: provider)
        #expect(bob.identity.groups == ["developers"])
    }

    @Test("A denied login is refused naming access_denied")
    func deniedLogin() async throws {
        let (mock, provider) = try await Self.setUp()
        defer { mock.stop() }
        let start = try await provider.beginLogin(callbackURL: callbackURL, state: "s")
        let callback = try await mock.authorize(start.authorizationURL, as: "alice", deny: true)
        let error = await providerError {
            _ = try await provider.completeLogin(CallbackParameters(values: callback), pending: start.pending)
        }
        #expect(error?.reason.contains("access_denied") == true)
    }

    @Test("A code is single use: its replay is refused by the provider")
    func codeReplayIsRefused() async throws {
        let (mock, provider) = try await Self.setUp()
        defer { mock.stop() }
        let start = try await provider.beginLogin(callbackURL: callbackURL, state: "s")
        let callback = try await mock.authorize(start.authorizationURL, as: "alice")
        _ = try await provider.completeLogin(CallbackParameters(values: callback), pending: start.pending)
        let error = await providerError {
            _ = try await provider.completeLogin(CallbackParameters(values: callback), pending: start.pending)
        }
        #expect(error?.reason.contains("refused the code") == true, "\(error?.reason ?? "accepted")")
    }

    @Test("Revalidation with the refresh token is valid, and gone once the provider revoked alice's tokens")
    func revalidation() async throws {
        let (mock, provider) = try await Self.setUp()
        defer { mock.stop() }
        let login = try await Self.signIn("alice", at: mock, with: provider)
        guard case .valid(let identity, let grant) = try await provider.revalidate(login.identity, grant: login.grant)
        else {
            Issue.record("a fresh grant was not valid")
            return
        }
        #expect(Set(identity.groups) == ["registry-admins", "developers"])
        #expect(grant?.refreshToken == login.grant?.refreshToken, "the mock rotates nothing: the old token is kept")

        try await mock.revokeTokens(of: "alice")
        guard case .gone(let reason) = try await provider.revalidate(login.identity, grant: grant) else {
            Issue.record("a revoked grant was not gone")
            return
        }
        #expect(reason.contains("invalid_grant"))
    }

    @Test("Sign-out gives the mock's end-session URL with the hint; revocation is a no-op without an endpoint")
    func signOut() async throws {
        let (mock, provider) = try await Self.setUp()
        defer { mock.stop() }
        let login = try await Self.signIn("alice", at: mock, with: provider)
        let url = try #require(
            await provider.signOutURL(grant: login.grant, returnURL: URL(string: "http://127.0.0.1:5080/")!))
        #expect(url.absoluteString.hasPrefix(mock.issuer + "/oauth2/end_session?"))
        let query = queryItems(of: url)
        #expect(query["id_token_hint"] == login.grant?.idToken)
        #expect(query["client_id"] == TestClient.id)
        #expect(query["post_logout_redirect_uri"] == "http://127.0.0.1:5080/")
        try await provider.revoke(try #require(login.grant))

        let quiet = try makeProvider(issuer: mock.issuer, clock: nil, store: try await testStore()) {
            $0.rpInitiatedLogout = false
        }
        #expect(await quiet.signOutURL(grant: login.grant, returnURL: URL(string: "http://127.0.0.1:5080/")!) == nil)
    }

    @Test("The health check reports the provider's discovery and keys")
    func health() async throws {
        let (mock, provider) = try await Self.setUp()
        let healthy = await provider.checkHealth()
        #expect(healthy.isHealthy)
        mock.stop()
        let stale = await provider.checkHealth()
        #expect(stale.isHealthy, "cached copies still serve logins")
    }
}
