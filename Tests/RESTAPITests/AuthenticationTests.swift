import Administration
import ApplicationTokens
import CryptoCore
import Foundation
import HTTPCore
import IdentityCore
import RESTAPI
import Storage
import Testing

@Suite("REST API authentication")
struct AuthenticationTests {
    @Test("An application token works as Bearer, as Basic user:token and as Portus-Auth")
    func everyForm() async throws {
        let fixture = try await APIFixture()
        let forms: [(HTTPHeaders, String)] = [
            (APIFixture.bearer(fixture.aliceToken), "bearer"),
            (APIFixture.basic("alice", fixture.aliceToken), "basic"),
            (APIFixture.basic("ALICE", fixture.aliceToken), "basic"),
            (["Portus-Auth": "alice:\(fixture.aliceToken)"], "portus-auth"),
        ]
        for (headers, source) in forms {
            let answer = await fixture.send(.get, "/api/v1/users/me", headers: headers)
            #expect(answer.status == 200, "\(source)")
            #expect(answer.json?["user"]?["username"] == .string("alice"))
            #expect(answer.json?["credential"]?["source"] == .string(source))
            #expect(answer.json?["user"]?["password_hash"] == nil)
        }
    }

    @Test("No credentials on a user route is a 401 with a Bearer challenge")
    func missingCredentials() async throws {
        let fixture = try await APIFixture()
        let answer = await fixture.send(.get, "/api/v1/users/me")
        #expect(answer.status == 401)
        #expect(answer.errorCode == "UNAUTHORIZED")
        #expect(answer.header("WWW-Authenticate") == #"Bearer realm="portcullis""#)
    }

    @Test(
        "A password is never accepted: 401 saying the API takes application tokens",
        arguments: ["hunter2", "pct_short", "eyJhbGciOiJFUzI1NiJ9.e30.sig"])
    func passwordsRefused(secret: String) async throws {
        let fixture = try await APIFixture()
        for headers in [
            APIFixture.basic("alice", secret), APIFixture.bearer(secret), ["Portus-Auth": "alice:\(secret)"],
        ] {
            let answer = await fixture.send(.get, "/api/v1/users/me", headers: headers)
            #expect(answer.status == 401)
            #expect(answer.errorMessage?.contains("application tokens") == true)
            #expect(answer.header("WWW-Authenticate") == #"Bearer realm="portcullis""#)
        }
    }

    @Test("Bad credentials are refused even on anonymous routes, and never silently ignored")
    func badCredentialsOnAnonymousRoutes() async throws {
        let fixture = try await APIFixture()
        let answer = await fixture.send(
            .get, "/api/v1/_ping", headers: APIFixture.bearer(ApplicationTokenFormat.generate()))
        #expect(answer.status == 401)
        let clean = await fixture.send(.get, "/api/v1/_ping")
        #expect(clean.status == 200)
        #expect(clean.json == .object([("pong", .bool(true))]))
    }

    @Test("Another user's name with a token, an unknown token, and both headers at once are refused")
    func mismatches() async throws {
        let fixture = try await APIFixture()
        let wrongName = await fixture.send(
            .get, "/api/v1/users/me", headers: APIFixture.basic("root", fixture.aliceToken))
        #expect(wrongName.status == 401)
        let unknown = await fixture.send(
            .get, "/api/v1/users/me", headers: APIFixture.bearer(ApplicationTokenFormat.generate()))
        #expect(unknown.status == 401)
        var both = APIFixture.bearer(fixture.aliceToken)
        both.add(name: "Portus-Auth", value: "alice:\(fixture.aliceToken)")
        let ambiguous = await fixture.send(.get, "/api/v1/users/me", headers: both)
        #expect(ambiguous.status == 400)
        #expect(ambiguous.errorCode == "CREDENTIALS_AMBIGUOUS")
    }

    @Test("A revoked token, a disabled user's token and a deleted user's token are 401s")
    func revokedDisabledDeleted() async throws {
        let fixture = try await APIFixture()
        let headers = APIFixture.bearer(fixture.aliceToken)
        #expect(await fixture.send(.get, "/api/v1/users/me", headers: headers).status == 200)
        try await ApplicationTokenService(store: fixture.store).revoke(
            owner: fixture.alice.id, name: "ci", by: .commandLine(osUser: "test"))
        #expect(await fixture.send(.get, "/api/v1/users/me", headers: headers).status == 401)

        let pull = APIFixture.bearer(fixture.pullToken)
        #expect(await fixture.send(.get, "/api/v1/users/me", headers: pull).status == 200)
        let alice = fixture.alice.id
        try await fixture.store.write { try $0.setEnabled(false, for: alice) }
        #expect(await fixture.send(.get, "/api/v1/users/me", headers: pull).status == 401)

        let root = APIFixture.bearer(fixture.rootToken)
        #expect(await fixture.send(.get, "/api/v1/version", headers: root).status == 200)
        let rootID = fixture.root.id
        try await fixture.store.write { try $0.deleteUser(rootID) }
        #expect(await fixture.send(.get, "/api/v1/version", headers: root).status == 401)
    }

    @Test("A token restricted to pull, or to api:read, reads but gets a 403 on a write route saying what it lacks")
    func restrictedTokens() async throws {
        let fixture = try await APIFixture(extraRoutes: ThingRoutes.routes)
        for token in [fixture.pullToken, fixture.readToken] {
            let headers = APIFixture.bearer(token)
            #expect(await fixture.send(.get, "/api/v1/things", headers: headers).status == 200)
            let write = await fixture.send(.post, "/api/v1/things", headers: headers, body: #"{"name":"box"}"#)
            #expect(write.status == 403)
            #expect(write.errorCode == "DENIED")
            #expect(write.errorMessage?.contains("api:write") == true)
        }
        let me = await fixture.send(.get, "/api/v1/users/me", headers: APIFixture.bearer(fixture.readToken))
        #expect(me.json?["credential"]?["namespaces"] == .array(["alice"]))
        #expect(me.json?["credential"]?["actions"] == .array(["api:read"]))
        let full = await fixture.send(
            .post, "/api/v1/things", headers: APIFixture.bearer(fixture.aliceToken), body: #"{"name":"box"}"#)
        #expect(full.status == 201)
    }

    @Test("Failed token attempts count towards the address's guessing limit: past it, 429 with Retry-After")
    func guessingThrottle() async throws {
        let fixture = try await APIFixture(failures: 3)
        for _ in 0..<3 {
            let guess = await fixture.send(
                .get, "/api/v1/users/me", headers: APIFixture.bearer(ApplicationTokenFormat.generate()),
                from: "127.0.0.9")
            #expect(guess.status == 401)
        }
        let refused = await fixture.send(
            .get, "/api/v1/users/me", headers: APIFixture.bearer(fixture.aliceToken), from: "127.0.0.9")
        #expect(refused.status == 429)
        #expect(refused.errorCode == "TOO_MANY_REQUESTS")
        #expect(refused.errorMessage?.contains("Too many failed attempts from this address") == true)
        #expect(refused.header("Retry-After") != nil)
        let elsewhere = await fixture.send(
            .get, "/api/v1/users/me", headers: APIFixture.bearer(fixture.aliceToken), from: "127.0.0.10")
        #expect(elsewhere.status == 200)
    }

    @Test("API token checks take no concurrent-check slot of their address: they cost a hash and one read")
    func tokenChecksSkipTheConcurrencyLimit() async throws {
        let fixture = try await APIFixture(concurrentChecks: 1)
        let headers = APIFixture.bearer(fixture.aliceToken)
        #expect(await fixture.send(.get, "/api/v1/users/me", headers: headers, from: "127.0.0.5").status == 200)
        // The address's one slot is taken (a password check of another client running), as under load.
        #expect(fixture.throttle.beginCheck(from: "127.0.0.5", now: Date()) == nil)
        defer { fixture.throttle.finishCheck(from: "127.0.0.5") }
        #expect(await fixture.send(.get, "/api/v1/users/me", headers: headers, from: "127.0.0.5").status == 200)
        let uncached = await fixture.send(
            .get, "/api/v1/users/me", headers: APIFixture.bearer(fixture.rootToken), from: "127.0.0.5")
        #expect(uncached.status == 200, "a token never vouched for is checked all the same: \(uncached)")
        #expect(fixture.throttle.runningChecks(from: "127.0.0.5") == 1, "only the other client's check holds a slot")
    }

    @Test("A 429 says which limit the address met: its failed attempts, or its checks in progress at once")
    func throttlingMessagesNameTheirCause() {
        let failures = APIError.tooManyRequests(
            Throttling(cause: .failures, retryAfterSeconds: 30, isFirstInWindow: true))
        let concurrency = APIError.tooManyRequests(
            Throttling(cause: .concurrency, retryAfterSeconds: 1, isFirstInWindow: true))
        #expect(failures.items[0].message.contains("Too many failed attempts from this address"))
        #expect(
            concurrency.items[0].message.contains("Too many credential checks in progress from this address at once"))
        #expect(failures.headers["Retry-After"] == "30")
    }

    @Test("Passwords never reach the guessing count: they are refused before any check")
    func passwordsDoNotCount() async throws {
        let fixture = try await APIFixture(failures: 1)
        for _ in 0..<3 {
            _ = await fixture.send(
                .get, "/api/v1/users/me", headers: APIFixture.basic("alice", "hunter2"), from: "127.0.0.7")
        }
        #expect(fixture.throttle.isRefusing("127.0.0.7", now: Date()) == false)
    }

    @Test("A session needs X-CSRF-Token on unsafe methods; token requests do not")
    func csrfSeam() async throws {
        struct CookieSessions: APISessionResolving {
            let caller: APICaller
            func session(for request: HTTPRequest) async throws -> APISession? {
                request.headers["Cookie"] == "portcullis_session=s1"
                    ? APISession(caller: caller, csrfToken: "c-123") : nil
            }
        }
        let fixture = try await APIFixture(extraRoutes: ThingRoutes.routes)
        let caller = APICaller(userID: fixture.root.id.rawValue, username: "root", isAdmin: true, source: .session)
        let authenticator = APIAuthenticator(
            tokens: fixture.api.authenticator.tokens, sessions: CookieSessions(caller: caller))
        let route = try #require(fixture.api.routes.first { $0.operationID == "deleteThing" })
        func request(_ headers: HTTPHeaders) -> HTTPRequest {
            HTTPRequest(
                head: HTTPRequestHead(
                    method: .delete, target: "/api/v1/things/box", path: "/api/v1/things/box", headers: headers))
        }
        await #expect(throws: APIError(.forbidden, code: "CSRF_TOKEN_INVALID", message: "")) {
            _ = try await authenticator.caller(of: request(["Cookie": "portcullis_session=s1"]))
        }
        await #expect(throws: APIError(.forbidden, code: "CSRF_TOKEN_INVALID", message: "")) {
            _ = try await authenticator.caller(
                of: request(["Cookie": "portcullis_session=s1", "X-CSRF-Token": "c-124"]))
        }
        let withHeader = try await authenticator.caller(
            of: request(["Cookie": "portcullis_session=s1", "X-CSRF-Token": "c-123"]))
        #expect(withHeader?.source == .session)
        try authenticator.authorize(withHeader, for: route)
        let token = try await authenticator.caller(of: request(APIFixture.bearer(fixture.rootToken)))
        #expect(token?.source == .bearer)
    }
}
