import Foundation
import HTTPCore
import RESTAPI
import Storage
import Testing

@Suite("REST API resources and document")
struct ResourceTests {
    @Test("_ping is anonymous; version needs a user")
    func pingAndVersion() async throws {
        let fixture = try await APIFixture()
        #expect(await fixture.send(.get, "/api/v1/_ping").status == 200)
        #expect(await fixture.send(.get, "/api/v1/version").status == 401)
        let version = await fixture.send(.get, "/api/v1/version", headers: APIFixture.bearer(fixture.aliceToken))
        #expect(version.json?["version"] == .string("9.9.9-test"))
        #expect(version.json?["api_versions"] == .array(["v1"]))
    }

    @Test("users/me shows the caller without secrets")
    func currentUser() async throws {
        let fixture = try await APIFixture()
        let answer = await fixture.send(.get, "/api/v1/users/me", headers: APIFixture.bearer(fixture.rootToken))
        let user = try #require(answer.json?["user"])
        #expect(user["username"] == .string("root"))
        #expect(user["admin"] == .bool(true))
        #expect(user["email"] == .null)
        #expect(answer.json?["credential"]?["actions"] == .null)
        let problems = SystemResources.userSchema.problems(in: user)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("health is 200 while the database works and 503 once it fails")
    func health() async throws {
        let fixture = try await APIFixture()
        let healthy = await fixture.send(.get, "/api/v1/health")
        #expect(healthy.status == 200)
        #expect(healthy.json?["status"] == .string("ok"))
        #expect(healthy.json?["database"]?["healthy"] == .bool(true))
        await fixture.store.close()
        let failing = await fixture.send(.get, "/api/v1/health")
        #expect(failing.status == 503)
        #expect(failing.json?["status"] == .string("failing"))
        #expect(failing.json?["database"]?["message"] == .string("unavailable"))
    }

    /// `docs/openapi.json` in the repository.
    static let checkedInDocument = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/openapi.json")

    @Test("The served document is the checked-in docs/openapi.json (PORTCULLIS_WRITE_OPENAPI=1 rewrites it)")
    func documentIsCheckedIn() async throws {
        let fixture = try await APIFixture()
        let served = await fixture.send(.get, "/api/v1/openapi.json")
        #expect(served.status == 200)
        #expect(served.response.body == fixture.api.openAPIDocument)
        if ProcessInfo.processInfo.environment["PORTCULLIS_WRITE_OPENAPI"] == "1" {
            try Data(fixture.api.openAPIDocument).write(to: Self.checkedInDocument)
        }
        let checkedIn = try [UInt8](Data(contentsOf: Self.checkedInDocument))
        #expect(
            checkedIn == fixture.api.openAPIDocument,
            "docs/openapi.json is stale: run PORTCULLIS_WRITE_OPENAPI=1 swift test --filter documentIsCheckedIn")
    }

    @Test("Every registered route is in the document, and every documented operation reaches its route")
    func documentAndRouterAgree() async throws {
        let fixture = try await APIFixture()
        let document = try JSONParser.parse(fixture.api.openAPIDocument)
        guard case .object(let paths)? = document["paths"] else {
            Issue.record("no paths")
            return
        }
        var documented = Set<String>()
        for (path, operations) in paths {
            guard case .object(let methods) = operations else { continue }
            for (method, _) in methods {
                documented.insert("\(method.uppercased()) \(path)")
                let concrete = path.replacingOccurrences(of: #"\{[^}]+\}"#, with: "x", options: .regularExpression)
                let pattern = fixture.router.matchingPattern(
                    method: HTTPMethod(rawValue: method.uppercased()), path: concrete)
                let route = fixture.api.routes.first {
                    "/api/v1" + $0.path == path && $0.method.rawValue == method.uppercased()
                }
                #expect(route != nil, "\(method) \(path) is documented but not in the table")
                #expect(
                    pattern == route.map { "/api/v1" + $0.routerPattern },
                    "\(method) \(path) reaches \(pattern ?? "nothing")")
            }
        }
        for route in fixture.api.routes {
            #expect(
                documented.contains("\(route.method.rawValue) /api/v1\(route.path)"), "\(route.path) is not documented")
        }
    }

    @Test("Every operation documents its errors with the error schema, and its access")
    func operationsDocumentErrors() async throws {
        let fixture = try await APIFixture()
        let document = try JSONParser.parse(fixture.api.openAPIDocument)
        let me = try #require(document["paths"]?["/api/v1/users/me"]?["get"])
        #expect(me["x-portcullis-access"] == .string("user"))
        #expect(
            me["responses"]?["401"]?["content"]?["application/json"]?["schema"]
                == .object([("$ref", "#/components/schemas/Errors")]))
        #expect(me["responses"]?["default"] != nil)
        #expect(document["openapi"] == .string("3.1.0"))
    }
}

@Suite("REST API mounting")
struct MountingTests {
    @Test("Mounting the API keeps other routes' synchronous fast path on (no router-wide async middleware)")
    func fastPathStaysOn() async throws {
        let fixture = try await APIFixture()
        var router = Router()
        router.use(RequestIDMiddleware())
        router.get("/v2/token", immediate: { _ in .text("fast") }) { _ in .text("slow") }
        fixture.api.register(on: &router)
        var request = HTTPRequest(head: HTTPRequestHead(method: .get, target: "/v2/token", path: "/v2/token"))
        let answer = try #require(router.immediateResponse(preparing: &request))
        #expect(answer.body == Array("fast".utf8))
        #expect(answer.headers["X-Request-Id"] != nil)
        var api = HTTPRequest(head: HTTPRequestHead(method: .get, target: "/api/v1/_ping", path: "/api/v1/_ping"))
        #expect(router.immediateResponse(preparing: &api) == nil)
        #expect(await router.respond(to: api).status == .ok)
    }
}
