import Diagnostics
import HTTPCore
import Testing

@Suite struct RouterTests {
    /// A router whose handlers answer with the matched pattern and the captured parameters.
    static func echoRouter() -> Router {
        let echo: HTTPHandler = { request in
            let parameters = request.context.pathParameters.sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return .text("\(request.method) \(request.context.routePattern) [\(parameters)]")
        }
        var router = Router(logger: RoutingTestLogSink().logger())
        router.get("/", echo)
        router.get("/healthz", echo)
        router.get("/v2/", echo)
        router.get("/v2/_catalog", echo)
        router.get("/v2/*rest", echo)
        router.get("/users/:id", echo)
        router.put("/users/:id", echo)
        router.get("/users/me", echo)
        router.get("/users/:id/keys/:key", echo)
        router.get("/a/b/c", echo)
        router.get("/a/:x/d", echo)
        router.post("/v2/token", echo)
        router.get("/v2/token", echo)
        router.get("/files/*", echo)
        router.head("/explicit-head", echo)
        router.get("/explicit-head", echo)
        router.options("/cors", echo)
        return router
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var method: HTTPMethod
        var path: String
        var status: Int
        var body: String?
        var testDescription: String { "\(method) \(path) → \(status)" }
    }

    static let cases: [Case] = [
        Case(method: .get, path: "/", status: 200, body: "GET / []"),
        Case(method: .get, path: "/healthz", status: 200, body: "GET /healthz []"),
        Case(method: .get, path: "/healthz/", status: 404),
        Case(method: .get, path: "/healthzz", status: 404),
        Case(method: .get, path: "/HEALTHZ", status: 404),
        Case(method: .get, path: "/v2/", status: 200, body: "GET /v2/ []"),
        Case(method: .get, path: "/v2", status: 404),
        Case(method: .get, path: "/v2/_catalog", status: 200, body: "GET /v2/_catalog []"),
        Case(
            method: .get, path: "/v2/library/alpine/manifests/3.20", status: 200,
            body: "GET /v2/*rest [rest=library/alpine/manifests/3.20]"),
        Case(method: .get, path: "/v2/_catalog/x", status: 200, body: "GET /v2/*rest [rest=_catalog/x]"),
        Case(method: .get, path: "/users/42", status: 200, body: "GET /users/:id [id=42]"),
        Case(method: .put, path: "/users/42", status: 200, body: "PUT /users/:id [id=42]"),
        Case(method: .get, path: "/users/me", status: 200, body: "GET /users/me []"),
        Case(method: .get, path: "/users/", status: 404),
        Case(method: .get, path: "/users//keys/k", status: 404),
        Case(method: .get, path: "/users/42/keys/abc", status: 200, body: "GET /users/:id/keys/:key [id=42,key=abc]"),
        Case(method: .get, path: "/users/me/keys/abc", status: 200, body: "GET /users/:id/keys/:key [id=me,key=abc]"),
        Case(method: .get, path: "/users/%C3%A9", status: 200, body: "GET /users/:id [id=%C3%A9]"),
        Case(method: .get, path: "/users/é", status: 200, body: "GET /users/:id [id=é]"),
        Case(method: .get, path: "/a/b/c", status: 200, body: "GET /a/b/c []"),
        Case(method: .get, path: "/a/b/d", status: 200, body: "GET /a/:x/d [x=b]"),
        Case(method: .get, path: "/a/b/e", status: 404),
        Case(method: .post, path: "/v2/token", status: 200, body: "POST /v2/token []"),
        Case(method: .get, path: "/files/", status: 200, body: "GET /files/* [*=]"),
        Case(method: .get, path: "/files/a/b/", status: 200, body: "GET /files/* [*=a/b/]"),
        Case(method: .get, path: "/files", status: 404),
        Case(method: .head, path: "/healthz", status: 200, body: "HEAD /healthz []"),
        Case(method: .head, path: "/explicit-head", status: 200, body: "HEAD /explicit-head []"),
        Case(method: .options, path: "/cors", status: 200, body: "OPTIONS /cors []"),
        Case(method: .options, path: "/healthz", status: 405),
        Case(method: .delete, path: "/users/42", status: 405),
        Case(method: .post, path: "/nowhere", status: 404),
        Case(method: .get, path: "", status: 404),
        Case(method: .get, path: "*", status: 404),
        Case(method: .get, path: "//", status: 404),
    ]

    @Test(arguments: cases)
    func requestsReachTheMostSpecificRouteOrTheRightError(_ testCase: Case) async {
        let response = await Self.echoRouter().respond(to: RoutingFixtures.request(testCase.method, testCase.path))
        #expect(response.status.code == testCase.status)
        if let body = testCase.body {
            #expect(RoutingFixtures.body(response) == body)
        }
    }

    @Test func aPathMatchWithTheWrongMethodAnswers405WithAnAllowHeader() async {
        let response = await Self.echoRouter().respond(to: RoutingFixtures.request(.delete, "/users/42"))
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers["Allow"] == "GET, HEAD, PUT")
        #expect(
            RoutingFixtures.body(response)
                == #"{"errors":[{"code":"METHOD_NOT_ALLOWED","message":"The method is not allowed for the requested path."}]}"#
        )
    }

    @Test func theAllowHeaderListsMethodsOfEveryRouteMatchingThePath() async {
        // `/users/me` (GET only) and `/users/:id` (GET, PUT) both match `/users/me`.
        let response = await Self.echoRouter().respond(to: RoutingFixtures.request(.post, "/users/me"))
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers["Allow"] == "GET, HEAD, PUT")
    }

    @Test func aLessSpecificRouteServesAMethodTheMoreSpecificOneLacks() async {
        let response = await Self.echoRouter().respond(to: RoutingFixtures.request(.put, "/users/me"))
        #expect(RoutingFixtures.body(response) == "PUT /users/:id [id=me]")
    }

    @Test func anUnmatchedPathAnswersTheRegistryErrorDocument() async {
        let response = await Self.echoRouter().respond(to: RoutingFixtures.request(.get, "/nope"))
        #expect(response.status == .notFound)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(
            RoutingFixtures.body(response)
                == #"{"errors":[{"code":"NOT_FOUND","message":"Nothing matches the requested path."}]}"#)
    }

    @Test func bodyLimitsComeFromTheMatchedRouteOrTheDefault() {
        var router = Router(defaultBodyLimit: 2048)
        router.post("/v2/token", bodyLimit: 64 * 1024) { _ in .text("") }
        router.post("/upload") { _ in .text("") }
        router.get("/big", bodyLimit: 7) { _ in .text("") }
        func limit(_ method: HTTPMethod, _ path: String) -> Int {
            router.bodyLimit(for: HTTPRequestHead(method: method, target: path, path: path))
        }
        #expect(limit(.post, "/v2/token") == 64 * 1024)
        #expect(limit(.post, "/upload") == 2048)
        #expect(limit(.get, "/big") == 7)
        #expect(limit(.head, "/big") == 7)
        #expect(limit(.post, "/unknown") == 2048)
        #expect(limit(.delete, "/v2/token") == 2048)
    }

    @Test func theDefaultBodyLimitIsOneMebibyte() {
        var router = Router()
        router.post("/x") { _ in .text("") }
        #expect(router.bodyLimit(for: HTTPRequestHead(method: .post, target: "/x", path: "/x")) == 1_048_576)
    }

    @Test func matchingPatternReportsTheRouteARequestWouldReach() {
        let router = Self.echoRouter()
        #expect(router.matchingPattern(method: .get, path: "/users/7") == "/users/:id")
        #expect(router.matchingPattern(method: .head, path: "/v2/x/y") == "/v2/*rest")
        #expect(router.matchingPattern(method: .patch, path: "/users/7") == nil)
    }

    @Test func aThrownHTTPErrorBecomesItsOwnResponse() async {
        var router = Router()
        router.get("/secret") { _ in
            throw HTTPError.unauthorized("Log in first.", challenge: #"Basic realm="Portcullis""#)
        }
        let response = await router.respond(to: RoutingFixtures.request(.get, "/secret"))
        #expect(response.status == .unauthorized)
        #expect(response.headers["WWW-Authenticate"] == #"Basic realm="Portcullis""#)
        #expect(RoutingFixtures.body(response) == #"{"errors":[{"code":"UNAUTHORIZED","message":"Log in first."}]}"#)
    }

    @Test func anUnexpectedErrorBecomesAGeneric500AndIsLoggedWithTheRequestID() async {
        struct DatabaseExploded: Error, CustomStringConvertible {
            var description: String { "SELECT * FROM users failed at /var/lib/portcullis/db.sqlite" }
        }
        let sink = RoutingTestLogSink()
        var router = Router(logger: sink.logger())
        router.use(RequestIDMiddleware())
        router.get("/boom") { _ in throw DatabaseExploded() }
        let response = await router.respond(
            to: RoutingFixtures.request(.get, "/boom", headers: ["X-Request-Id": "req-123"]))
        #expect(response.status == .internalServerError)
        #expect(
            RoutingFixtures.body(response)
                == #"{"errors":[{"code":"INTERNAL_ERROR","message":"An internal error occurred."}]}"#)
        #expect(!RoutingFixtures.body(response).contains("SELECT"))
        #expect(response.headers["X-Request-Id"] == "req-123")
        #expect(sink.lines.count == 1)
        #expect(sink.lines.first?.contains("request_id=req-123") == true)
        #expect(sink.lines.first?.contains("SELECT * FROM users") == true)
        #expect(sink.lines.first?.contains("route=/boom") == true)
    }

    @Test func handlersSeeTheRequestBodyAndHeaders() async {
        var router = Router()
        router.post("/echo") { request in
            HTTPResponse(status: .created, headers: ["X-Seen": request.headers["X-In"] ?? ""], body: request.body)
        }
        let response = await router.respond(
            to: RoutingFixtures.request(.post, "/echo", headers: ["X-In": "yes"], body: Array("payload".utf8)))
        #expect(response.status == .created)
        #expect(response.headers["X-Seen"] == "yes")
        #expect(RoutingFixtures.body(response) == "payload")
    }

    @Test func aVeryLongHostilePathAnswers404() async {
        let path = "/" + String(repeating: "users/", count: 20_000)
        let response = await Self.echoRouter().respond(to: RoutingFixtures.request(.get, path))
        #expect(response.status == .notFound)
    }
}

@Suite struct RouterRegistrationTests {
    @Test func registeringTheSameMethodAndPathShapeTwiceStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            var router = Router()
            router.get("/users/:id") { _ in .text("") }
            router.get("/users/:name") { _ in .text("") }
        }
    }

    @Test func aWildcardBeforeTheLastSegmentStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            var router = Router()
            router.get("/v2/*rest/manifests") { _ in .text("") }
        }
    }

    @Test func aPatternWithoutALeadingSlashStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            var router = Router()
            router.get("healthz") { _ in .text("") }
        }
    }

    @Test func differentParameterNamesAtOnePositionCanServeDifferentMethods() async {
        var router = Router()
        router.get("/repos/:name") { request in .text(request.context.pathParameters["name"] ?? "") }
        router.delete("/repos/:id") { request in .text(request.context.pathParameters["id"] ?? "") }
        let get = await router.respond(to: RoutingFixtures.request(.get, "/repos/a"))
        let delete = await router.respond(to: RoutingFixtures.request(.delete, "/repos/b"))
        #expect(RoutingFixtures.body(get) == "a")
        #expect(RoutingFixtures.body(delete) == "b")
    }
}

@Suite struct RouterProbeTests {
    struct Marking: Middleware {
        func handle(_ request: HTTPRequest, next: (HTTPRequest) async throws -> HTTPResponse) async throws
            -> HTTPResponse
        {
            var response = try await next(request)
            response.headers.add(name: "X-Middleware", value: "ran")
            return response
        }
    }

    private func router() -> Router {
        var router = Router()
        router.use(Marking())
        router.probe("/healthz") { _ in .text("ok") }
        router.get("/other") { _ in .text("other") }
        return router
    }

    @Test func aProbeAnswersGetAndHeadOfItsExactPathImmediatelyWithoutMiddleware() async throws {
        let router = router()
        for method in [HTTPMethod.get, .head] {
            let request = HTTPRequest(head: HTTPRequestHead(method: method, target: "/healthz", path: "/healthz"))
            let immediate = try #require(router.immediateResponse(to: request))
            #expect(immediate.body == Array("ok".utf8))
            #expect(immediate.headers["X-Middleware"] == nil)
            let routed = await router.respond(to: request)
            #expect(routed.body == Array("ok".utf8))
        }
    }

    @Test func otherPathsAndMethodsAreNotAnsweredImmediately() async {
        let router = router()
        for (method, path) in [(HTTPMethod.post, "/healthz"), (.get, "/healthz/x"), (.get, "/other")] {
            let request = HTTPRequest(head: HTTPRequestHead(method: method, target: path, path: path))
            #expect(router.immediateResponse(to: request) == nil)
        }
        let other = await router.respond(
            to: HTTPRequest(head: HTTPRequestHead(method: .get, target: "/other", path: "/other")))
        #expect(other.headers["X-Middleware"] == "ran")
    }
}
