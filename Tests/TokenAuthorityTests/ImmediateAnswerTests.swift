import Foundation
import HTTPCore
import IdentityCore
import Storage
import Testing

@testable import TokenAuthority

/// The event-loop fast path of the token endpoint (`immediateGet`, `immediatePost`, offered through
/// `Router.immediateResponse(preparing:)`): it answers only when every step is a cache hit, exactly as the
/// handler would, and leaves everything else (first requests, failures, refusals, a full audit backlog)
/// to the handler.
@Suite struct ImmediateAnswerTests {
    private typealias Fixture = EndpointFixture
    static let secret = "app-token-secret"
    static let scopes = ["repository:alice/demo:pull,push", "repository:opensource/tool:pull"]

    /// The fixture with a cached application-token provider for alice, an audit sink that queues, and a
    /// reuse window, so a repeated request gets the same token and both paths can be compared byte for byte.
    private static func with(_ body: (EndpointFixture) async throws -> Void) async throws {
        try await Fixture.with(
            providers: { _, users in [ScriptedProvider.applicationToken(of: users["alice"]!, secret: secret)] },
            audit: RecordingAudit(acceptsWithoutWaiting: true), reuseWindow: .seconds(10), body)
    }

    private func immediate(_ fixture: EndpointFixture, _ head: HTTPRequestHead, body: [UInt8] = []) -> HTTPResponse? {
        var request = Fixture.request(head, body: body)
        return fixture.router.immediateResponse(preparing: &request)
    }

    private func lines(_ headers: HTTPHeaders) -> [String] { headers.map { "\($0.name): \($0.value)" } }

    @Test func theFastPathAnswersARepeatedRequestByteForByteAsTheHandlerDid() async throws {
        try await Self.with { fixture in
            let head = Fixture.getHead(as: "alice", password: Self.secret, scopes: Self.scopes)
            // The first request fills the caches (the decision) through the handler.
            #expect(immediate(fixture, head) == nil)
            let handled = await fixture.router.respond(to: Fixture.request(head))
            _ = try fixture.verifiedToken(handled, subject: "alice")
            let fast = try #require(immediate(fixture, head))
            #expect(fast.status == handled.status)
            #expect(lines(fast.headers) == lines(handled.headers))
            #expect(fast.body == handled.body)
            // And the handler, asked again, still gives the same answer.
            let again = await fixture.router.respond(to: Fixture.request(head))
            #expect(again.body == fast.body)
        }
    }

    @Test func anonymousRequestsAndPasswordGrantsTakeTheFastPathToo() async throws {
        try await Self.with { fixture in
            let anonymous = Fixture.getHead(as: nil, scopes: ["repository:opensource/tool:pull"])
            let handledAnonymous = await fixture.router.respond(to: Fixture.request(anonymous))
            let fastAnonymous = try #require(immediate(fixture, anonymous))
            #expect(fastAnonymous.body == handledAnonymous.body)

            let form = Array(
                formBody([
                    ("grant_type", "password"), ("username", "alice"), ("password", Self.secret),
                    ("service", Fixture.service), ("scope", "repository:alice/demo:pull"), ("client_id", "test"),
                ]).utf8)
            let post = HTTPRequestHead(
                method: .post, target: "/v2/token", path: "/v2/token",
                headers: ["Content-Type": "application/x-www-form-urlencoded"])
            let handledPost = await fixture.router.respond(to: Fixture.request(post, body: form))
            #expect(handledPost.status == .ok)
            let fastPost = try #require(immediate(fixture, post, body: form))
            #expect(fastPost.body == handledPost.body)
            #expect(lines(fastPost.headers) == lines(handledPost.headers))
        }
    }

    @Test func aFastPathAnswerIsAuditedExactlyAsTheHandlerAuditsIt() async throws {
        try await Self.with { fixture in
            let head = Fixture.getHead(as: "alice", password: Self.secret, scopes: Self.scopes)
            _ = await fixture.router.respond(to: Fixture.request(head))
            _ = try #require(immediate(fixture, head))
            let events = fixture.audit.events
            try #require(events.count == 2)
            #expect(events[0] == events[1])
            let record = try AuditedRequest(events[1])
            #expect(events[1].action == TokenRequestAudit.action)
            #expect(events[1].actorName == "alice")
            #expect(events[1].actorID == fixture.users["alice"]?.id)
            #expect(events[1].clientIP == Fixture.clientAddress)
            #expect(record.provider == "application-tokens")
            #expect(record.granted == ["repository:alice/demo:pull,push", "repository:opensource/tool:pull"])
        }
    }

    @Test func aUserDisabledAfterAFastAnswerIsRefusedAtTheVeryNextRequest() async throws {
        try await Self.with { fixture in
            let head = Fixture.getHead(as: "alice", password: Self.secret, scopes: Self.scopes)
            _ = await fixture.router.respond(to: Fixture.request(head))
            #expect(immediate(fixture, head)?.status == .ok)
            let alice = try #require(fixture.users["alice"])
            try await fixture.store.write { try $0.setEnabled(false, for: alice.id) }
            #expect(immediate(fixture, head) == nil)
            let refused = await fixture.router.respond(to: Fixture.request(head))
            #expect(try fixture.registryError(refused, status: .unauthorized).message == "account disabled")
            #expect(immediate(fixture, head) == nil)
        }
    }

    @Test func aRemovedMembershipIsDecidedAfreshAtTheVeryNextRequest() async throws {
        try await Fixture.with(
            audit: RecordingAudit(acceptsWithoutWaiting: true), reuseWindow: .seconds(10)
        ) { fixture in
            let scopes = ["repository:opensource/tool:pull,push"]
            let anonymous = Fixture.getHead(as: nil, scopes: scopes)
            _ = await fixture.router.respond(to: Fixture.request(anonymous))
            #expect(immediate(fixture, anonymous)?.status == .ok)
            try await fixture.store.write { writer in
                let namespace = try #require(try writer.namespace(named: "opensource"))
                try writer.setVisibility(.private, for: namespace.id)
            }
            #expect(immediate(fixture, anonymous) == nil)
            let after = try fixture.verifiedToken(
                await fixture.router.respond(to: Fixture.request(anonymous)), subject: "")
            #expect(after.access.isEmpty)
        }
    }

    @Test func failedAndUncachedCredentialsAlwaysTakeTheHandler() async throws {
        try await Self.with { fixture in
            let scopes = ["repository:alice/demo:pull"]
            let good = Fixture.getHead(as: "alice", password: Self.secret, scopes: scopes)
            _ = await fixture.router.respond(to: Fixture.request(good))
            // A wrong secret is no provider's cache hit: the local provider (no cache) must decide.
            #expect(immediate(fixture, Fixture.getHead(as: "alice", password: "wrong", scopes: scopes)) == nil)
            // A good password of a provider without a cache, even after a successful login.
            let password = Fixture.getHead(as: "alice", password: Accounts.alicePassword, scopes: scopes)
            #expect(await fixture.router.respond(to: Fixture.request(password)).status == .ok)
            #expect(immediate(fixture, password) == nil)
            // Malformed or mismatching requests are answered (with their errors) by the handler.
            #expect(
                immediate(fixture, Fixture.getHead(as: "alice", password: Self.secret, scopes: ["bad scope"])) == nil)
            let mismatch = HTTPRequestHead(
                method: .get, target: "/v2/token", path: "/v2/token",
                query: [("account", "bob"), ("scope", scopes[0]), ("service", Fixture.service)],
                headers: ["Authorization": Fixture.basic("alice", Self.secret)])
            #expect(immediate(fixture, mismatch) == nil)
            // A refresh token needs the store.
            #expect(
                immediate(
                    fixture,
                    Fixture.getHead(
                        as: "alice", password: Self.secret, scopes: scopes, extra: [("offline_token", "true")])) == nil)
        }
    }

    @Test func aFullAuditBacklogDeclinesTheFastPathWithoutRecordingAnything() async throws {
        try await Self.with { fixture in
            let head = Fixture.getHead(as: "alice", password: Self.secret, scopes: Self.scopes)
            _ = await fixture.router.respond(to: Fixture.request(head))
            fixture.audit.acceptsWithoutWaiting = false
            #expect(immediate(fixture, head) == nil)
            #expect(fixture.audit.events.count == 1)
            // The handler then answers and audits (waiting for the recorder).
            #expect(await fixture.router.respond(to: Fixture.request(head)).status == .ok)
            #expect(fixture.audit.events.count == 2)
        }
    }
}

/// The fast path reads `Authorization: Basic` byte-wise and only in its plain shape; wherever it reads a
/// value, the handler's parser reads the same credentials.
@Suite struct PlainBasicCredentialsTests {
    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    static let values: [String] = [
        "Basic " + base64("alice:secret"), "basic " + base64("alice:secret"), "BASIC " + base64("alice:secret"),
        "Basic " + base64("carol:pa:ss wörd ✓ :: end "), "Basic " + base64(":only-password"),
        "Basic " + base64("no-colon"), "Basic  " + base64("alice:two-spaces"), "Basic\t" + base64("alice:tab"),
        "Basic " + base64("alice:trailing") + " ", "Bearer " + base64("alice:secret"), "Basic", "Basic ",
        "Basic !!!!", "Basicx " + base64("alice:secret"), "Basic " + String(base64("alice:secret").dropLast()),
        "Basic " + Data([0x61, 0x3A, 0xFF, 0xFE]).base64EncodedString(),
    ]

    @Test(arguments: values) func thePlainReaderAgreesWithTheHandlersParserOrDeclines(_ value: String) throws {
        try Self.compare(value)
    }

    private static func compare(_ value: String) throws {
        let plain = TokenEndpoint.plainBasicCredentials(value, clientAddress: "192.0.2.1")
        guard let plain else { return }
        var request = HTTPRequest(
            head: HTTPRequestHead(
                method: .get, target: "/v2/token", path: "/v2/token", headers: ["Authorization": value]))
        request.context.clientAddress = "192.0.2.1"
        let handler = try #require(try TokenEndpoint.basicCredentials(request))
        #expect(plain.username == handler.username)
        #expect(plain.password == handler.password)
        #expect(plain.clientAddress == handler.clientAddress)
    }

    @Test func thePlainShapeIsRead() {
        let read = TokenEndpoint.plainBasicCredentials("bAsIc " + Self.base64("alice:s:e cret"), clientAddress: "x")
        #expect(read?.username == "alice")
        #expect(read?.password == "s:e cret")
        #expect(TokenEndpoint.plainBasicCredentials("Basic  " + Self.base64("a:b"), clientAddress: "x") == nil)
    }
}

/// The audit detail is built by appending to one string; its text is exactly the JSON object it always was.
@Suite struct TokenAuditDetailTests {
    @Test func theDetailIsTheSameJSONTextMemberForMember() {
        let full = TokenRequestAudit(
            username: "alice", provider: "local", clientIP: "192.0.2.1", service: "reg\"istry",
            requestedScopes: ["repository:a/b:pull,push", "repository:c\\d:pull"],
            grantedScopes: ["repository:a/b:pull"],
            outcome: .denied, reason: "line\nbreak")
        #expect(
            full.event().detail
                == #"{"provider":"local","service":"reg\"istry","requested":["repository:a/b:pull,push","repository:c\\d:pull"],"granted":["repository:a/b:pull"],"reason":"line\nbreak"}"#
        )
        let bare = TokenRequestAudit(
            username: nil, clientIP: nil, service: "s", requestedScopes: [], grantedScopes: [], outcome: .success)
        #expect(bare.event().detail == #"{"service":"s","requested":[],"granted":[]}"#)
    }

    @Test func longListsAreCutWithACountOfWhatWasLeftOut() {
        let many = (0..<53).map { "repository:r\($0):pull" }
        let audit = TokenRequestAudit(
            username: nil, clientIP: nil, service: "s", requestedScopes: many, grantedScopes: [], outcome: .success)
        let expected =
            #"{"service":"s","requested":["# + many.prefix(50).map { "\"\($0)\"" }.joined(separator: ",")
            + #"],"requestedOmitted":3,"granted":[]}"#
        #expect(audit.event().detail == expected)
    }
}
