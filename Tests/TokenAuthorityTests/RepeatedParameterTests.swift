import Foundation
import HTTPCore
import IdentityCore
import Storage
import Testing

@testable import TokenAuthority

/// A token request that repeats a single-valued parameter (`account`, `service`, `client_id`, …) or the
/// `Authorization` header is refused with a 400 naming it, on the handler's path and on the event-loop fast
/// path alike (which declines, leaving the answer to the handler); `scope` may repeat.
@Suite struct RepeatedParameterTests {
    private typealias Fixture = EndpointFixture
    static let secret = "app-token-secret"
    static let scope = "repository:alice/demo:pull"

    /// A fixture whose caches can answer alice's requests on the fast path once warmed.
    private static func with(_ body: (EndpointFixture) async throws -> Void) async throws {
        try await Fixture.with(
            providers: { _, users in [ScriptedProvider.applicationToken(of: users["alice"]!, secret: secret)] },
            audit: RecordingAudit(acceptsWithoutWaiting: true), reuseWindow: .seconds(10), body)
    }

    private func immediate(_ fixture: EndpointFixture, _ head: HTTPRequestHead, body: [UInt8] = []) -> HTTPResponse? {
        var request = Fixture.request(head, body: body)
        return fixture.router.immediateResponse(preparing: &request)
    }

    /// alice's GET with `extra` parameters added and `authorizations` Authorization fields.
    private static func getHead(extra: [(String, String)] = [], authorizations: Int = 1) -> HTTPRequestHead {
        var head = Fixture.getHead(as: "alice", password: secret, scopes: [scope], extra: extra)
        for _ in 1..<max(authorizations, 1) {
            head.headers.add(name: "authorization", value: Fixture.basic("alice", secret))
        }
        return head
    }

    private static func postHead(authorizations: Int = 0) -> HTTPRequestHead {
        var headers = HTTPHeaders([("Host", "auth.example"), ("Content-Type", "application/x-www-form-urlencoded")])
        for _ in 0..<authorizations { headers.add(name: "Authorization", value: Fixture.basic("alice", secret)) }
        return HTTPRequestHead(method: .post, target: "/v2/token", path: "/v2/token", headers: headers)
    }

    private static let passwordForm: [(String, String)] = [
        ("grant_type", "password"), ("username", "alice"), ("password", secret), ("service", Fixture.service),
        ("scope", scope), ("client_id", "docker"), ("access_type", "online"),
    ]

    /// Checks a refusal: 400, the registry's BAD_REQUEST, and a message naming `name`.
    private func expectRefused(
        _ response: HTTPResponse, naming name: String, oauth: Bool, fixture: EndpointFixture,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (code, message) = try fixture.registryError(response, status: .badRequest, sourceLocation: sourceLocation)
        #expect(code == "BAD_REQUEST", sourceLocation: sourceLocation)
        #expect(
            message.contains(name) && message.contains("more than once"), "\(message)", sourceLocation: sourceLocation)
        if oauth {
            #expect(try response.jsonObject()["error"] as? String == "invalid_request", sourceLocation: sourceLocation)
        }
    }

    @Test(
        arguments: [
            ("account", [("account", "root")]),
            ("account", [("account", "alice")]),
            ("service", [("service", Fixture.otherService)]),
            ("client_id", [("client_id", "docker"), ("client_id", "evil")]),
            ("offline_token", [("offline_token", "false"), ("offline_token", "true")]),
        ] as [(String, [(String, String)])])
    func aGETRepeatingASingleValuedParameterIsRefusedOnBothPaths(name: String, extra: [(String, String)]) async throws {
        try await Self.with { fixture in
            // Warm every cache with the same request without the repeat: the fast path then answers it.
            let plain = Self.getHead()
            _ = try fixture.verifiedToken(await fixture.router.respond(to: Fixture.request(plain)), subject: "alice")
            #expect(immediate(fixture, plain) != nil, "the fast path answers the request without the repeat")

            let repeated = Self.getHead(extra: extra)
            #expect(immediate(fixture, repeated) == nil, "the fast path declines a repeated \(name)")
            let response = await fixture.router.respond(to: Fixture.request(repeated))
            try expectRefused(response, naming: "'\(name)'", oauth: false, fixture: fixture)
            let audited = try #require(try fixture.auditRecords.last)
            #expect(audited.event.outcome == .failure)
            #expect(audited.reason?.contains("'\(name)'") == true)
        }
    }

    @Test func aGETWithTwoAuthorizationHeadersIsRefusedOnBothPathsEvenWhenTheyAgree() async throws {
        try await Self.with { fixture in
            let plain = Self.getHead()
            _ = await fixture.router.respond(to: Fixture.request(plain))
            #expect(immediate(fixture, plain) != nil)
            let doubled = Self.getHead(authorizations: 2)
            #expect(immediate(fixture, doubled) == nil)
            let response = await fixture.router.respond(to: Fixture.request(doubled))
            try expectRefused(response, naming: "Authorization header", oauth: false, fixture: fixture)
        }
    }

    @Test func repeatedScopesAreStillOneRequest() async throws {
        try await Self.with { fixture in
            let head = Fixture.getHead(
                as: "alice", password: Self.secret, scopes: [Self.scope, "repository:alice/other:pull", Self.scope])
            let token = try fixture.verifiedToken(
                await fixture.router.respond(to: Fixture.request(head)), subject: "alice")
            #expect(token.access.map(\.name).sorted() == ["alice/demo", "alice/other"])
            #expect(immediate(fixture, head) != nil, "and the fast path answers it again")
        }
    }

    @Test(arguments: [
        "grant_type", "service", "client_id", "username", "password", "access_type", "account",
    ])
    func aPasswordGrantRepeatingASingleValuedFieldIsRefusedOnBothPaths(name: String) async throws {
        try await Self.with { fixture in
            let plain = Array(formBody(Self.passwordForm).utf8)
            #expect(await fixture.router.respond(to: Fixture.request(Self.postHead(), body: plain)).status == .ok)
            #expect(immediate(fixture, Self.postHead(), body: plain) != nil)

            let value = Self.passwordForm.first { $0.0 == name }?.1 ?? "alice"
            let repeated = Array(formBody(Self.passwordForm + [(name, value)] + [(name, value)]).utf8)
            #expect(immediate(fixture, Self.postHead(), body: repeated) == nil)
            let response = await fixture.router.respond(to: Fixture.request(Self.postHead(), body: repeated))
            try expectRefused(response, naming: "'\(name)'", oauth: true, fixture: fixture)
        }
    }

    @Test func aRefreshGrantRepeatingTheRefreshTokenIsRefused() async throws {
        try await Self.with { fixture in
            let form = formBody([
                ("grant_type", "refresh_token"), ("refresh_token", "a"), ("refresh_token", "b"),
                ("service", Fixture.service),
            ])
            let response = await fixture.router.respond(to: Fixture.request(Self.postHead(), body: Array(form.utf8)))
            try expectRefused(response, naming: "'refresh_token'", oauth: true, fixture: fixture)
        }
    }

    @Test func aPOSTWithTwoAuthorizationHeadersIsRefusedOnBothPaths() async throws {
        try await Self.with { fixture in
            let form = Array(formBody(Self.passwordForm).utf8)
            _ = await fixture.router.respond(to: Fixture.request(Self.postHead(), body: form))
            #expect(immediate(fixture, Self.postHead(authorizations: 2), body: form) == nil)
            let response = await fixture.router.respond(
                to: Fixture.request(Self.postHead(authorizations: 2), body: form))
            try expectRefused(response, naming: "Authorization header", oauth: true, fixture: fixture)
        }
    }
}
