import Foundation
import HTTPFetchingCore
import IdentityCore
import OAuth2
import Testing

@Suite("The OAuth2 client's pure parts: PKCE, the authorization URL, discovery checks, cache lifetimes")
struct OAuth2UnitTests {
    @Test("The S256 challenge is base64url(SHA-256(verifier)), as Python's hashlib computes it")
    func pkceMatchesTheRFCExample() {
        let pkce = PKCE(verifier: "dBjjJbC4qP1bYnEYAvtw9dJYqO6VcI0kaSi7zN5u3xE")
        #expect(pkce.challenge == "7E9drQvwAx2-mo6qjM46tR4Ep238Ae7eLyAbGwmVUPo")
        #expect(PKCE.method == "S256")
    }

    @Test("Fresh verifiers are 43 base64url characters and differ")
    func freshVerifiersDiffer() {
        let first = PKCE.generate()
        let second = PKCE.generate()
        #expect(first.verifier.count == 43)
        #expect(first.verifier != second.verifier)
    }

    @Test("The authorization URL carries code, the client, the escaped redirect URI, scope, state and S256")
    func authorizationURLCarriesEverything() throws {
        let client = OAuth2Client(
            settings: OAuth2ClientSettings(provider: "sso", clientID: "my app", clientSecret: "s"),
            http: NoHTTPFetching())
        let pkce = PKCE(verifier: "dBjjJbC4qP1bYnEYAvtw9dJYqO6VcI0kaSi7zN5u3xE")
        let url = try client.authorizationURL(
            endpoint: "https://sso.example.org/auth?tenant=a", redirectURI: "https://reg.example.org/cb?x=1&y=2",
            state: "st&ate", scopes: ["openid", "email"], pkce: pkce, extra: [("nonce", "n1")])
        let text = url.absoluteString
        #expect(text.hasPrefix("https://sso.example.org/auth?tenant=a&response_type=code&"))
        let items = queryItems(of: url)
        #expect(items["client_id"] == "my app")
        #expect(items["redirect_uri"] == "https://reg.example.org/cb?x=1&y=2")
        #expect(items["scope"] == "openid email")
        #expect(items["state"] == "st&ate")
        #expect(items["code_challenge"] == "7E9drQvwAx2-mo6qjM46tR4Ep238Ae7eLyAbGwmVUPo")
        #expect(items["code_challenge_method"] == "S256")
        #expect(items["nonce"] == "n1")
        #expect(!text.contains(" "))
    }

    @Test("Settings never print the client secret")
    func settingsMaskTheSecret() {
        let settings = OAuth2ClientSettings(provider: "sso", clientID: "app", clientSecret: "hunter2-secret")
        #expect(!"\(settings)".contains("hunter2"))
        let tokens = TokenResponse(accessToken: "at-secret", refreshToken: "rt-secret", idToken: "id-secret")
        #expect(!"\(tokens)".contains("secret"))
    }

    @Test(
        "Cache lifetimes follow Cache-Control and Expires within 5 minutes and 24 hours",
        arguments: [
            (["Cache-Control": "max-age=600"], 600.0),
            (["Cache-Control": "public, max-age=60"], 300.0),
            (["Cache-Control": "max-age=999999"], 86_400.0),
            (["Cache-Control": "no-cache"], 300.0),
            (["Cache-Control": "no-store, max-age=9000"], 300.0),
            (["Date": "Tue, 15 Jan 2030 10:00:00 GMT", "Expires": "Tue, 15 Jan 2030 12:00:00 GMT"], 7_200.0),
            (["Expires": "not a date"], 3_600.0),
            ([:], 3_600.0),
        ])
    func cacheLifetimes(headers: [String: String], expected: TimeInterval) {
        let response = InboundResponse(
            status: 200, headers: headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        #expect(
            ProviderCachePolicy().lifetime(of: response, now: Date(timeIntervalSince1970: 1_800_000_000)) == expected)
    }

    @Test(
        "A discovery document of another issuer is a misconfiguration naming both values",
        arguments: ["https://sso.example.org/", "https://SSO.example.org", "https://sso.example.org/realms/other"])
    func discoveryIssuerMustBeByteEqual(published: String) {
        let document: [String: ClaimValue] = [
            "issuer": .string(published), "authorization_endpoint": .string("https://sso.example.org/a"),
            "token_endpoint": .string("https://sso.example.org/t"), "jwks_uri": .string("https://sso.example.org/k"),
        ]
        #expect {
            _ = try OpenIDProviderMetadata.parse(document, expectedIssuer: "https://sso.example.org", provider: "sso")
        } throws: { error in
            guard let error = error as? ProviderError, error.code == .misconfigured else { return false }
            return error.reason.contains(published) && error.reason.contains("https://sso.example.org\"")
        }
    }

    @Test("A discovery document without a token endpoint is a protocol violation naming it")
    func discoveryNeedsItsEndpoints() {
        let document: [String: ClaimValue] = [
            "issuer": .string("https://sso.example.org"),
            "authorization_endpoint": .string("https://sso.example.org/a"),
            "jwks_uri": .string("https://sso.example.org/k"),
        ]
        #expect {
            _ = try OpenIDProviderMetadata.parse(document, expectedIssuer: "https://sso.example.org", provider: "sso")
        } throws: { error in
            (error as? ProviderError)?.code == .protocolViolation
                && (error as? ProviderError)?.reason.contains("token_endpoint") == true
        }
    }

    @Test("Discovery lives under the issuer's path, without a doubled slash")
    func discoveryURL() {
        #expect(
            OpenIDProviderMetadata.discoveryURL(of: "https://sso.example.org/realms/main/")
                == "https://sso.example.org/realms/main/.well-known/openid-configuration")
    }

    @Test("Claims read booleans sent as strings, and a single group as a list")
    func claimValues() {
        #expect(ClaimValue.string("true").bool == true)
        #expect(ClaimValue.bool(false).bool == false)
        #expect(ClaimValue.number(1).bool == nil)
        #expect(ClaimValue.string("devs").strings == ["devs"])
        #expect(ClaimValue.array([.string("a"), .number(2), .string("b")]).strings == ["a", "b"])
    }
}
