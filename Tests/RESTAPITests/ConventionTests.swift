import Administration
import ApplicationTokens
import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import IdentityCore
import RESTAPI
import Storage
import Testing

/// Test routes exercising every convention: a paged, sortable list of 30 things, a create with a strict
/// body, and an administrators-only delete.
enum ThingRoutes {
    static let thing = JSONSchema.named(
        "Thing",
        .object([
            .required("name", .string(minLength: 1, maxLength: 20)),
            .optional("size", .integer(minimum: 0, maximum: 10)),
            .optional("public", .boolean),
        ]))

    static let names = (1...30).map { String(format: "thing-%02d", $0) }

    static var routes: [APIRoute] {
        [
            APIRoute(
                .get, "/things", operationID: "listThings", summary: "Things.", tags: ["test"], access: .user,
                listing: APIListing(sortFields: ["name", "created_at"], defaultSort: "name"),
                responses: [APIResponseSpec(.ok, "Things.", .array(thing))]
            ) { request in
                let page = request.page!
                let sorted = page.sort.first?.descending == true ? names.reversed() : names
                let items = sorted.dropFirst(page.offset).prefix(page.perPage).map {
                    JSONValue.object([("name", .string($0))])
                }
                return .page(Array(items), total: names.count, of: request)
            },
            APIRoute(
                .post, "/things", operationID: "createThing", summary: "Makes a thing.", tags: ["test"],
                access: .user, requestBody: thing, responses: [APIResponseSpec(.created, "Made.", thing)]
            ) { request in
                let name = request.body!["name"]!.stringValue!
                if name == "taken" { throw ApplicationTokenError(.nameTaken, "a thing named taken exists") }
                return .created(request.body!, location: "/api/v1/things/\(name)")
            },
            APIRoute(
                .delete, "/things/{name}", operationID: "deleteThing", summary: "Removes a thing.", tags: ["test"],
                access: .admin, parameters: [.path("name", .string(minLength: 1, maxLength: 20), "The thing.")],
                responses: [APIResponseSpec(.noContent, "Removed.")]
            ) { _ in .noContent },
        ]
    }
}

@Suite("REST API conventions")
struct ConventionTests {
    @Test(
        "A malformed, mistyped, incomplete or over-specified body is a 400 naming what is wrong",
        arguments: [
            (#"{"name": "a""#, "JSON_MALFORMED", nil),
            (#"{"name": "a", "name": "b"}"#, "JSON_MALFORMED", nil),
            (#"[1, 2]"#, "FIELD_TYPE_INVALID", nil),
            (#"{"name": "a", "size": "big"}"#, "FIELD_TYPE_INVALID", "size"),
            (#"{"name": "a", "size": 1.5}"#, "FIELD_TYPE_INVALID", "size"),
            (#"{"name": "a", "public": 1}"#, "FIELD_TYPE_INVALID", "public"),
            (#"{"name": "a", "colour": "red"}"#, "FIELD_UNKNOWN", "colour"),
            (#"{"size": 1}"#, "FIELD_REQUIRED", "name"),
            (#"{"name": "a", "size": 11}"#, "FIELD_INVALID", "size"),
            (#"{"name": ""}"#, "FIELD_INVALID", "name"),
        ] as [(String, String, String?)])
    func badBodies(body: String, code: String, field: String?) async throws {
        let fixture = try await APIFixture(extraRoutes: ThingRoutes.routes)
        let answer = await fixture.send(
            .post, "/api/v1/things", headers: APIFixture.bearer(fixture.aliceToken), body: body)
        #expect(answer.status == 400)
        #expect(answer.errorCode == code)
        #expect(answer.errorField == field)
        #expect(answer.header("Content-Type") == "application/json")
    }

    @Test("A good body creates: 201 with Location; a service's conflict is a 409 with its stable code")
    func createAndConflict() async throws {
        let fixture = try await APIFixture(extraRoutes: ThingRoutes.routes)
        let headers = APIFixture.bearer(fixture.aliceToken)
        let created = await fixture.send(.post, "/api/v1/things", headers: headers, body: #"{"name":"box","size":3}"#)
        #expect(created.status == 201)
        #expect(created.header("Location") == "/api/v1/things/box")
        #expect(created.json?["size"] == .integer(3))
        let conflict = await fixture.send(.post, "/api/v1/things", headers: headers, body: #"{"name":"taken"}"#)
        #expect(conflict.status == 409)
        #expect(conflict.errorCode == "NAME_TAKEN")
    }

    @Test("An oversized body is a 413 and a body that is not JSON a 415, both as error documents")
    func oversizedAndWrongMediaType() async throws {
        let fixture = try await APIFixture(extraRoutes: ThingRoutes.routes)
        let headers = APIFixture.bearer(fixture.aliceToken)
        let big = #"{"name":""# + String(repeating: "x", count: RESTAPI.defaultJSONBodyLimit) + #""}"#
        let oversized = await fixture.send(.post, "/api/v1/things", headers: headers, body: big)
        #expect(oversized.status == 413)
        #expect(oversized.errorCode == "BODY_TOO_LARGE")
        var form = headers
        form.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let wrongType = await fixture.send(.post, "/api/v1/things", headers: form, body: "name=box")
        #expect(wrongType.status == 415)
    }

    @Test(
        "Paging parameters out of bounds are 400s naming the parameter",
        arguments: [
            ("per_page=1000", "PAGINATION_NUMBER_INVALID", "per_page"),
            ("per_page=0", "PAGINATION_NUMBER_INVALID", "per_page"),
            ("page=0", "PAGINATION_NUMBER_INVALID", "page"),
            ("page=-1", "PAGINATION_NUMBER_INVALID", "page"),
            ("page=two", "PAGINATION_NUMBER_INVALID", "page"),
            ("page=1&page=2", "PAGINATION_NUMBER_INVALID", "page"),
            ("sort=colour", "SORT_INVALID", "sort"),
            ("sort=name,name", "SORT_INVALID", "sort"),
            ("sort=", "SORT_INVALID", "sort"),
        ])
    func badPaging(query: String, code: String, field: String) async throws {
        let fixture = try await APIFixture(extraRoutes: ThingRoutes.routes)
        let answer = await fixture.send(.get, "/api/v1/things?\(query)", headers: APIFixture.bearer(fixture.aliceToken))
        #expect(answer.status == 400)
        #expect(answer.errorCode == code)
        #expect(answer.errorField == field)
    }

    @Test("A page of 10 of 30 has the count, Link (first, prev, next, last) and Portus's headers")
    func pagingHeaders() async throws {
        let fixture = try await APIFixture(extraRoutes: ThingRoutes.routes)
        let answer = await fixture.send(
            .get, "/api/v1/things?per_page=10&page=2&sort=-name", headers: APIFixture.bearer(fixture.aliceToken))
        #expect(answer.status == 200)
        guard case .array(let items)? = answer.json else {
            Issue.record("not an array")
            return
        }
        #expect(items.count == 10)
        #expect(items.first?["name"] == .string("thing-20"))
        #expect(answer.header("X-Total-Count") == "30")
        #expect(answer.header("X-Total") == "30")
        #expect(answer.header("X-Total-Pages") == "3")
        #expect(answer.header("X-Page") == "2")
        #expect(answer.header("X-Per-Page") == "10")
        #expect(
            answer.header("Link")
                == "</api/v1/things?sort=-name&page=1&per_page=10>; rel=\"first\", "
                + "</api/v1/things?sort=-name&page=1&per_page=10>; rel=\"prev\", "
                + "</api/v1/things?sort=-name&page=3&per_page=10>; rel=\"next\", "
                + "</api/v1/things?sort=-name&page=3&per_page=10>; rel=\"last\"")
        let defaults = await fixture.send(.get, "/api/v1/things", headers: APIFixture.bearer(fixture.aliceToken))
        #expect(defaults.header("X-Per-Page") == "25")
    }

    @Test(
        "A known path with another method is a 405 with Allow; an unknown path a JSON 404",
        arguments: [
            (HTTPMethod.post, "/api/v1/users/me", 405, "GET, HEAD"),
            (HTTPMethod.delete, "/api/v1/_ping", 405, "GET, HEAD"),
            (HTTPMethod.put, "/api/v1/things", 405, "GET, HEAD, POST"),
            (HTTPMethod.get, "/api/v1/nothing-here", 404, nil),
            (HTTPMethod.get, "/api/v1/users/me/extra", 404, nil),
            (HTTPMethod.get, "/api/v1", 404, nil),
            (HTTPMethod.post, "/api/v1/", 404, nil),
        ] as [(HTTPMethod, String, Int, String?)])
    func unmatched(method: HTTPMethod, path: String, status: Int, allow: String?) async throws {
        let fixture = try await APIFixture(extraRoutes: ThingRoutes.routes)
        let answer = await fixture.send(method, path)
        #expect(answer.status == status)
        #expect(answer.header("Allow") == allow)
        #expect(answer.errorCode == (status == 404 ? "NOT_FOUND" : "METHOD_NOT_ALLOWED"))
        #expect(answer.header("X-Request-Id") != nil)
    }

    @Test("Every answer carries X-Request-Id: a sane incoming one echoed, anything else replaced")
    func requestIDs() async throws {
        let fixture = try await APIFixture()
        let echoed = await fixture.send(.get, "/api/v1/_ping", headers: ["X-Request-Id": "trace-42.a_b"])
        #expect(echoed.header("X-Request-Id") == "trace-42.a_b")
        let replaced = await fixture.send(.get, "/api/v1/nowhere", headers: ["X-Request-Id": "bad id\u{1B}[31m"])
        let generated = try #require(replaced.header("X-Request-Id"))
        #expect(generated.count == 24 && generated.allSatisfy(\.isHexDigit))
        let refused = await fixture.send(.get, "/api/v1/users/me")
        #expect(refused.status == 401)
        #expect(refused.header("X-Request-Id") != nil)
    }

    @Test("Only administrators reach admin routes; the 403 says what is missing")
    func adminRoutes() async throws {
        let fixture = try await APIFixture(extraRoutes: ThingRoutes.routes)
        let alice = await fixture.send(.delete, "/api/v1/things/box", headers: APIFixture.bearer(fixture.aliceToken))
        #expect(alice.status == 403)
        #expect(alice.errorCode == "DENIED")
        #expect(alice.errorMessage?.contains("administrator") == true)
        let root = await fixture.send(.delete, "/api/v1/things/box", headers: APIFixture.bearer(fixture.rootToken))
        #expect(root.status == 204)
    }

    @Test("A path parameter breaking its schema is a 400 naming it")
    func pathParameters() async throws {
        let fixture = try await APIFixture(extraRoutes: ThingRoutes.routes)
        let answer = await fixture.send(
            .delete, "/api/v1/things/" + String(repeating: "x", count: 21),
            headers: APIFixture.bearer(fixture.rootToken))
        #expect(answer.status == 400)
        #expect(answer.errorCode == "PARAMETER_INVALID")
        #expect(answer.errorField == "name")
    }

    @Test(
        "Service codes map to a status and an UPPER_SNAKE code",
        arguments: [
            ("webhook.invalid_url", 400, "WEBHOOK_INVALID_URL"),
            ("team.not_found", 404, "TEAM_NOT_FOUND"),
            ("namespace.name_taken", 409, "NAMESPACE_NAME_TAKEN"),
            ("store.conflict", 409, "CONFLICT"),
            ("nameTaken", 409, "NAME_TAKEN"),
        ])
    func errorMapping(code: String, status: Int, apiCode: String) {
        let mapped = APIErrorMapping.table[code] ?? APIErrorMappingProbe.inferred(code)
        #expect(mapped?.status.code == status)
        #expect(mapped?.code == apiCode)
    }
}

/// The inference rule, reached through a coded error as services throw them.
enum APIErrorMappingProbe {
    struct Probe: Error, CodedError {
        struct Code: RawRepresentable, Equatable {
            var rawValue: String
        }
        var code: Code
        var reason: String { "" }
    }

    static func inferred(_ code: String) -> (status: HTTPStatus, code: String)? {
        APIErrorMapping.apiError(for: Probe(code: Probe.Code(rawValue: code))).map { ($0.status, $0.code) }
    }
}
