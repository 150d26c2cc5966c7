import CryptoCore
import Foundation
import IdentityCore
import OAuth2
import OIDC
import ProviderTesting
import TestSupport
import Testing

/// The `oidc` provider against an issuer written to misbehave, on loopback: every login goes begin → callback
/// → complete over real HTTP, with time from a fixed clock.
@Suite("Against a hostile issuer, the oidc provider refuses each attack with a clear error", .serialized)
struct HostileIssuerTests {
    /// One issuer, one provider, one clock per test.
    struct Setup {
        let issuer: HostileIssuer
        let provider: OIDCProvider
        let clock: FixedClock

        static func make(
            keys: [HostileIssuer.SigningKey] = [IssuerKeys.first],
            _ adjust: (inout OIDCProvider.Configuration) -> Void = { _ in }
        ) async throws -> Setup {
            let issuer = try HostileIssuer(keys: keys)
            let clock = FixedClock()
            let provider = try makeProvider(issuer: issuer.issuer, clock: clock, store: try await testStore(), adjust)
            return Setup(issuer: issuer, provider: provider, clock: clock)
        }

        /// Begins a login, scripts the token endpoint to answer with the ID token `forge` makes for the login's
        /// nonce, and completes it.
        func login(
            refreshToken: String? = "refresh-1",
            forge: (_ claims: [String: any Sendable]) -> String? = { HostileIssuer.sign($0, with: IssuerKeys.first) }
        ) async throws -> RedirectLogin {
            let start = try await provider.beginLogin(callbackURL: callbackURL, state: "state-1")
            let nonce = queryItems(of: start.authorizationURL)["nonce"]
            let claims = issuer.claims(clientID: TestClient.id, nonce: nonce, now: clock.now())
            let idToken = forge(claims)
            issuer.update {
                $0.tokenAnswer = (200, HostileIssuer.tokenAnswer(idToken: idToken, refreshToken: refreshToken))
            }
            return try await provider.completeLogin(
                CallbackParameters(values: ["code": "code-1", "state": "state-1"]), pending: start.pending)
        }

        func stop() async { await issuer.stop() }
    }

    @Test("A well-behaved answer signs alice in with PKCE S256 and the verifier at the token endpoint")
    func goodLogin() async throws {
        let setup = try await Setup.make()
        defer { Task { await setup.stop() } }
        setup.issuer.update {
            $0.userinfo = #"{"sub":"alice","email":"alice@example.org","email_verified":true,"groups":["ops"]}"#
        }
        let start = try await setup.provider.beginLogin(callbackURL: callbackURL, state: "state-1")
        let query = queryItems(of: start.authorizationURL)
        #expect(query["code_challenge_method"] == "S256")
        #expect(query["state"] == "state-1")
        #expect(query["scope"] == "openid profile email")
        let login = try await setup.login { claims in
            var claims = claims
            claims["groups"] = ["devs"]
            claims["preferred_username"] = "alice.l"
            return HostileIssuer.sign(claims, with: IssuerKeys.first)
        }
        #expect(login.identity.subject == "alice")
        #expect(login.identity.username == "alice.l")
        #expect(login.identity.email == "alice@example.org")
        #expect(login.identity.emailVerified)
        #expect(login.identity.groups == ["devs", "ops"])
        #expect(login.identity.credential == .externalLogin)
        #expect(login.issuer == setup.issuer.issuer)
        #expect(login.grant?.refreshToken == "refresh-1")
        #expect(setup.issuer.tokenForms.last?.contains("code_verifier=") == true)
        #expect(
            setup.issuer.tokenForms.last?.contains("client_secret") == false,
            "client_secret_basic sends no secret in the form")
    }

    /// A forged or bad ID token and the words its refusal must contain.
    struct Attack: Sendable, CustomTestStringConvertible {
        var name: String
        var forge: @Sendable (_ claims: [String: any Sendable], _ issuer: String) -> String
        var reason: String
        var testDescription: String { name }
    }

    static let attacks: [Attack] = [
        Attack(name: "alg none", forge: { claims, _ in HostileIssuer.unsigned(claims) }, reason: "alg \"none\""),
        Attack(
            name: "HS256 signed with the client secret",
            forge: { claims, _ in HostileIssuer.hs256(claims, secret: TestClient.secret) }, reason: "alg \"HS256\""),
        Attack(
            name: "wrong aud",
            forge: { claims, _ in
                HostileIssuer.sign(claims.merging(["aud": "someone-else"]) { $1 }, with: IssuerKeys.first)
            },
            reason: "aud"),
        Attack(
            name: "wrong iss",
            forge: { claims, issuer in
                HostileIssuer.sign(claims.merging(["iss": issuer + "/evil"]) { $1 }, with: IssuerKeys.first)
            }, reason: "is not the configured issuer"),
        Attack(
            name: "wrong nonce",
            forge: { claims, _ in
                HostileIssuer.sign(claims.merging(["nonce": "replayed"]) { $1 }, with: IssuerKeys.first)
            },
            reason: "nonce"),
        Attack(
            name: "expired",
            forge: { claims, _ in
                HostileIssuer.sign(claims.merging(["exp": 1_800_000_000 - 3600]) { $1 }, with: IssuerKeys.first)
            }, reason: "expired"),
        Attack(
            name: "nbf in the future",
            forge: { claims, _ in
                HostileIssuer.sign(claims.merging(["nbf": 1_800_000_000 + 3600]) { $1 }, with: IssuerKeys.first)
            }, reason: "not valid yet"),
        Attack(
            name: "signed by a stranger under a published kid",
            forge: { claims, _ in HostileIssuer.sign(claims, with: IssuerKeys.stranger) }, reason: "signature"),
    ]

    @Test("A hostile ID token is refused naming what failed, and no identity comes back", arguments: attacks)
    func hostileTokenIsRefused(_ attack: Attack) async throws {
        let setup = try await Setup.make()
        defer { Task { await setup.stop() } }
        let issuer = setup.issuer.issuer
        let error = await providerError { _ = try await setup.login { attack.forge($0, issuer) } }
        #expect(error?.code == .protocolViolation)
        #expect(error?.provider == "corp-sso")
        #expect(error?.reason.contains(attack.reason) == true, "\(error?.reason ?? "accepted")")
    }

    @Test("Rotated keys: a token under a new kid refetches the JWKS once, then succeeds")
    func rotatedKeysRefetchOnce() async throws {
        let setup = try await Setup.make()
        defer { Task { await setup.stop() } }
        _ = try await setup.login()
        #expect(setup.issuer.jwksFetches == 1)
        setup.issuer.update { $0.publishedKeys = [IssuerKeys.second] }
        setup.clock.advance(by: 31)
        let login = try await setup.login { HostileIssuer.sign($0, with: IssuerKeys.second) }
        #expect(login.identity.subject == "alice")
        #expect(setup.issuer.jwksFetches == 2)
        _ = try await setup.login { HostileIssuer.sign($0, with: IssuerKeys.second) }
        #expect(setup.issuer.jwksFetches == 2, "the new key is cached")
    }

    @Test("A key published for RS256 does not verify a PS256 token, even with PS256 allowed")
    func keysAreBoundToTheirAlgorithm() async throws {
        let bound = HostileIssuer.SigningKey(keyID: "key-1", key: IssuerKeys.first.key, algorithm: "RS256")
        let setup = try await Setup.make(keys: [bound]) { $0.allowedAlgorithms = ["RS256", "PS256"] }
        defer { Task { await setup.stop() } }
        let error = await providerError {
            _ = try await setup.login { HostileIssuer.sign($0, with: bound, algorithm: .ps256) }
        }
        #expect(error?.reason.contains("no trusted key fits alg PS256") == true, "\(error?.reason ?? "accepted")")
        #expect(try await setup.login { HostileIssuer.sign($0, with: bound) }.identity.subject == "alice")
    }

    @Test("A flood of unknown kids fetches the JWKS at most once per 30 s")
    func unknownKeyFloodIsBounded() async throws {
        let setup = try await Setup.make()
        defer { Task { await setup.stop() } }
        _ = try await setup.login()
        #expect(setup.issuer.jwksFetches == 1)
        for round in 0..<2 {
            for index in 0..<25 {
                let forged = HostileIssuer.SigningKey(keyID: "forged-\(round)-\(index)", key: IssuerKeys.stranger.key)
                let error = await providerError { _ = try await setup.login { HostileIssuer.sign($0, with: forged) } }
                #expect(error?.reason.contains("forged-\(round)-\(index)") == true, "\(error?.reason ?? "accepted")")
            }
            #expect(setup.issuer.jwksFetches == 1 + round, "round \(round)")
            setup.clock.advance(by: 31)
            // The first forged kid after the interval refetches once; the rest of the round does not.
            let forged = HostileIssuer.SigningKey(keyID: "after-\(round)", key: IssuerKeys.stranger.key)
            _ = await providerError { _ = try await setup.login { HostileIssuer.sign($0, with: forged) } }
            #expect(setup.issuer.jwksFetches == 2 + round, "round \(round)")
            setup.clock.advance(by: 1)
        }
    }

    @Test("A jwks_uri on another origin is refused naming both, unless configured explicitly")
    func foreignKeySetNeedsConsent() async throws {
        let setup = try await Setup.make()
        defer { Task { await setup.stop() } }
        let foreign = "http://localhost:\(setup.issuer.port)/jwks"
        setup.issuer.update { $0.jwksURI = foreign }
        let error = await providerError { _ = try await setup.login() }
        #expect(error?.code == .misconfigured)
        #expect(error?.reason.contains(foreign) == true && error?.reason.contains(setup.issuer.issuer) == true)
        #expect(setup.issuer.jwksFetches == 0)

        let consenting = try makeProvider(issuer: setup.issuer.issuer, clock: setup.clock, store: try await testStore())
        {
            $0.jwksURI = foreign
        }
        let explicit = Setup(issuer: setup.issuer, provider: consenting, clock: setup.clock)
        #expect(try await explicit.login().identity.subject == "alice")
    }

    @Test("A hung JWKS endpoint gives a clear unavailable error within the request timeout, not a hang")
    func hungKeySetIsBounded() async throws {
        let setup = try await Setup.make { $0.requestTimeout = .init(seconds: 1) }
        defer { Task { await setup.stop() } }
        setup.issuer.update { $0.hangJWKS = true }
        let error = await providerError { _ = try await setup.login() }
        #expect(error?.code == .unavailable)
        #expect(
            error?.reason.contains("JWKS") == true && error?.reason.contains("timeout") == true,
            "\(error?.reason ?? "")")
    }

    @Test("A discovery document naming another issuer is a misconfiguration naming both values")
    func discoveryIssuerMismatch() async throws {
        let setup = try await Setup.make()
        defer { Task { await setup.stop() } }
        setup.issuer.update { $0.discoveryIssuer = "http://localhost:\(setup.issuer.port)" }
        let error = await providerError {
            _ = try await setup.provider.beginLogin(callbackURL: callbackURL, state: "s")
        }
        #expect(error?.code == .misconfigured)
        #expect(error?.reason.contains("http://localhost:\(setup.issuer.port)") == true)
        #expect(error?.reason.contains(setup.issuer.issuer) == true)
    }

    @Test("Userinfo for another sub is refused")
    func userinfoSubjectMustMatch() async throws {
        let setup = try await Setup.make()
        defer { Task { await setup.stop() } }
        setup.issuer.update { $0.userinfo = #"{"sub":"mallory","email":"mallory@example.org"}"# }
        let error = await providerError { _ = try await setup.login() }
        #expect(error?.reason.contains("userinfo sub \"mallory\"") == true, "\(error?.reason ?? "accepted")")
    }

    @Test(
        "Bad token endpoint answers are refused naming what was wrong",
        arguments: [
            (400, #"{"error":"invalid_grant","error_description":"code used"}"#, "invalid_grant (\"code used\")"),
            (200, "<html>login</html>", "not a JSON object"),
            (200, #"{"token_type":"Bearer"}"#, "no access_token"),
            (200, #"{"access_token":"a","token_type":"Bearer"}"#, "no id_token"),
            (502, "bad gateway", "HTTP 502"),
        ])
    func badTokenAnswers(status: Int, body: String, reason: String) async throws {
        let setup = try await Setup.make()
        defer { Task { await setup.stop() } }
        let start = try await setup.provider.beginLogin(callbackURL: callbackURL, state: "s")
        setup.issuer.update { $0.tokenAnswer = (status, body) }
        let error = await providerError {
            _ = try await setup.provider.completeLogin(
                CallbackParameters(values: ["code": "c"]), pending: start.pending)
        }
        #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "accepted")")
    }

    @Test("A callback carrying the provider's error is refused naming it, without a token request")
    func callbackErrorIsRefused() async throws {
        let setup = try await Setup.make()
        defer { Task { await setup.stop() } }
        let start = try await setup.provider.beginLogin(callbackURL: callbackURL, state: "s")
        let error = await providerError {
            _ = try await setup.provider.completeLogin(
                CallbackParameters(values: ["error": "access_denied", "error_description": "user said no"]),
                pending: start.pending)
        }
        #expect(error?.reason.contains("access_denied") == true)
        #expect(setup.issuer.tokenRequests == 0)
    }

    @Test("Revalidation: invalid_grant is gone, a good refresh is valid with the rotated token, an outage throws")
    func revalidation() async throws {
        let setup = try await Setup.make()
        let login = try await setup.login()
        setup.issuer.update {
            $0.tokenAnswer = (200, HostileIssuer.tokenAnswer(idToken: nil, refreshToken: "refresh-2"))
            $0.userinfo = #"{"sub":"alice","groups":["new-team"]}"#
        }
        guard
            case .valid(let identity, let grant) = try await setup.provider.revalidate(
                login.identity, grant: login.grant)
        else {
            Issue.record("a good refresh was not valid")
            return
        }
        #expect(identity.groups == ["new-team"])
        #expect(grant?.refreshToken == "refresh-2")
        #expect(grant?.idToken == login.grant?.idToken)
        #expect(setup.issuer.tokenForms.last?.contains("grant_type=refresh_token") == true)

        setup.issuer.update { $0.tokenAnswer = (400, #"{"error":"invalid_grant"}"#) }
        guard case .gone(let reason) = try await setup.provider.revalidate(login.identity, grant: grant) else {
            Issue.record("invalid_grant was not gone")
            return
        }
        #expect(reason.contains("invalid_grant"))

        await setup.stop()
        let error = await providerError { _ = try await setup.provider.revalidate(login.identity, grant: grant) }
        #expect(error?.code == .unavailable)
    }

    @Test("Discovery and keys are served stale while the provider is down")
    func staleCopiesRideOutAnOutage() async throws {
        let setup = try await Setup.make()
        _ = try await setup.login()
        await setup.stop()
        setup.clock.advance(by: 2 * 86_400)
        let metadata = try await setup.provider.relyingParty.cache.providerMetadata()
        #expect(metadata.issuer == setup.issuer.issuer)
        let keys = try await setup.provider.relyingParty.cache.candidateKeys(for: "key-1")
        #expect(keys.count == 1)
    }

    @Test("Sign-out builds the end-session URL and revokes the refresh token")
    func signOut() async throws {
        let setup = try await Setup.make()
        defer { Task { await setup.stop() } }
        let login = try await setup.login()
        let url = try #require(
            await setup.provider.signOutURL(grant: login.grant, returnURL: URL(string: "https://reg.example.org/")!))
        let query = queryItems(of: url)
        #expect(url.absoluteString.hasPrefix(setup.issuer.issuer + "/end-session?"))
        #expect(query["id_token_hint"] == login.grant?.idToken)
        #expect(query["post_logout_redirect_uri"] == "https://reg.example.org/")
        #expect(query["client_id"] == TestClient.id)
        try await setup.provider.revoke(try #require(login.grant))
        #expect(setup.issuer.revocations == 1)
        setup.issuer.update { $0.revokeStatus = 503 }
        let error = await providerError { try await setup.provider.revoke(try #require(login.grant)) }
        #expect(error?.code == .unavailable)
    }
}
