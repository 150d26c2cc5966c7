import Foundation
import IdentityCore
import OAuth2
import OIDC
import ProviderTesting
import Testing

@Suite("The oidc provider's configuration is checked at start, without network I/O")
struct OIDCConfigurationTests {
    static func problems(_ adjust: (inout OIDCProvider.Configuration) -> Void) -> [String] {
        var configuration = OIDCProvider.Configuration(
            issuer: "https://sso.example.org", clientID: "app", clientSecret: "s")
        adjust(&configuration)
        return configuration.problems
    }

    @Test("The defaults are sound")
    func defaultsAreSound() {
        #expect(Self.problems { _ in }.isEmpty)
        let configuration = OIDCProvider.Configuration(
            issuer: "https://sso.example.org", clientID: "a", clientSecret: "s")
        #expect(configuration.scopes == ["openid", "profile", "email"])
        #expect(configuration.usernameClaims == ["preferred_username", "nickname", "email_local_part"])
        #expect(configuration.signingAlgorithms == [.rs256])
        #expect(configuration.clockSkew.seconds == 60)
    }

    @Test(
        "Each unusable setting is named",
        arguments: [
            ("http://sso.example.org", "https"),
            ("not a url", "absolute"),
            ("https://sso.example.org?x=1", "query"),
        ])
    func badIssuers(issuer: String, words: String) {
        #expect(Self.problems { $0.issuer = issuer }.contains { $0.contains(words) })
    }

    @Test("Algorithms outside RS256 and ES256 are refused, none and HS256 by name")
    func algorithmsAreChecked() {
        let found = Self.problems { $0.allowedAlgorithms = ["RS256", "none", "HS256"] }
        #expect(found.contains { $0.contains("none is not accepted") })
        #expect(found.contains { $0.contains("HS256 is not accepted") })
    }

    @Test("Scopes without openid, a long skew, a bad timeout and reserved parameters are refused")
    func otherProblems() {
        #expect(Self.problems { $0.scopes = ["email"] }.contains { $0.contains("openid") })
        #expect(Self.problems { $0.clockSkew = .init(seconds: 600) }.contains { $0.contains("clockSkew") })
        #expect(Self.problems { $0.requestTimeout = .init(seconds: 0) }.contains { $0.contains("requestTimeout") })
        #expect(Self.problems { $0.authorizationParameters = ["state": "x"] }.contains { $0.contains("state") })
    }

    @Test("A misconfigured provider is not made, and the error lists the problems")
    func makeRefusesProblems() async throws {
        let error = await providerError {
            _ = try makeProvider(issuer: "http://sso.example.org", clock: FixedClock(), store: try await testStore())
        }
        #expect(error?.code == .misconfigured)
        #expect(error?.reason.contains("https") == true)
    }

    @Test("The configuration never prints the client secret")
    func secretIsMasked() {
        let configuration = OIDCProvider.Configuration(
            issuer: "https://sso.example.org", clientID: "app", clientSecret: "hunter2-secret")
        #expect(!"\(configuration)".contains("hunter2"))
        #expect(!String(reflecting: configuration).contains("hunter2"))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("hunter2"))
    }

    @Test(
        "The username comes from the first claim of the chain that has a value, else sub",
        arguments: [
            (["preferred_username": "alice.l", "nickname": "al"], "alice.l"),
            (["nickname": "al", "email": "alice@example.org"], "al"),
            (["email": "alice@example.org"], "alice"),
            ([String: String](), "sub-123"),
        ])
    func usernameChain(claims: [String: String], username: String) async throws {
        let provider = try makeProvider(
            issuer: "https://sso.example.org", clock: FixedClock(), store: try await testStore())
        let identity = provider.identity(
            subject: "sub-123", idTokenClaims: claims.mapValues { ClaimValue.string($0) }, userinfo: nil)
        #expect(identity.username == username)
    }
}
