import Diagnostics
import HTTPCore
import Synchronization
import Testing

/// Records the order in which middleware runs.
private struct TracingMiddleware: Middleware {
    let name: String
    let trace: Trace

    final class Trace: Sendable {
        private let events = Mutex<[String]>([])
        func append(_ event: String) { events.withLock { $0.append(event) } }
        var all: [String] { events.withLock { $0 } }
    }

    func handle(
        _ request: HTTPRequest, next: (HTTPRequest) async throws -> HTTPResponse
    ) async throws -> HTTPResponse {
        trace.append("\(name) in (route \(request.context.routePattern))")
        var response = try await next(request)
        trace.append("\(name) out (status \(response.status.code))")
        response.headers.add(name: "X-Trace", value: name)
        return response
    }
}

/// Records the order of its inline steps; refuses with 403 when `refuses` is set.
private struct TracingInlineMiddleware: InlineMiddleware {
    let name: String
    let trace: TracingMiddleware.Trace
    var refuses = false

    func prepare(_ request: inout HTTPRequest) throws {
        trace.append("\(name) prepare")
        if refuses { throw HTTPError.forbidden() }
    }

    func complete(_ request: HTTPRequest, _ response: inout HTTPResponse, elapsed: Duration) {
        trace.append("\(name) complete (status \(response.status.code))")
        response.headers.add(name: "X-Trace", value: name)
    }
}

/// Answers 401 itself unless the request carries a token.
private struct RequireTokenMiddleware: Middleware {
    func handle(
        _ request: HTTPRequest, next: (HTTPRequest) async throws -> HTTPResponse
    ) async throws -> HTTPResponse {
        guard request.headers["Authorization"] != nil else { throw HTTPError.unauthorized() }
        return try await next(request)
    }
}

@Suite struct MiddlewareTests {
    // MARK: Composition

    @Test func middlewareRunsInRegistrationOrderAroundTheHandler() async {
        let trace = TracingMiddleware.Trace()
        var router = Router()
        router.use(TracingMiddleware(name: "outer", trace: trace))
        router.use(TracingMiddleware(name: "inner", trace: trace))
        router.get("/users/:id") { _ in
            trace.append("handler")
            return .text("ok")
        }
        let response = await router.respond(to: RoutingFixtures.request(.get, "/users/1"))
        #expect(
            trace.all == [
                "outer in (route /users/:id)", "inner in (route /users/:id)", "handler", "inner out (status 200)",
                "outer out (status 200)",
            ])
        #expect(response.headers.values(for: "X-Trace") == ["inner", "outer"])
    }

    @Test func outerMiddlewareSeesTheFinalStatusOfErrorsThrownInside() async {
        let trace = TracingMiddleware.Trace()
        var router = Router()
        router.use(TracingMiddleware(name: "outer", trace: trace))
        router.use(RequireTokenMiddleware())
        router.get("/private") { _ in .text("secret") }
        let denied = await router.respond(to: RoutingFixtures.request(.get, "/private"))
        #expect(denied.status == .unauthorized)
        #expect(trace.all.last == "outer out (status 401)")
        let allowed = await router.respond(
            to: RoutingFixtures.request(.get, "/private", headers: ["Authorization": "Bearer x"]))
        #expect(allowed.status == .ok)
    }

    @Test func inlineMiddlewareWrapsTheAsyncChainInRegistrationOrder() async {
        let trace = TracingMiddleware.Trace()
        var router = Router()
        router.use(TracingInlineMiddleware(name: "first", trace: trace))
        router.use(TracingInlineMiddleware(name: "second", trace: trace))
        router.use(TracingMiddleware(name: "async", trace: trace))
        // Registered after an async layer, so it runs as an ordinary layer inside it.
        router.use(TracingInlineMiddleware(name: "late", trace: trace))
        router.get("/x") { _ in
            trace.append("handler")
            return .text("ok")
        }
        let response = await router.respond(to: RoutingFixtures.request(.get, "/x"))
        #expect(
            trace.all == [
                "first prepare", "second prepare", "async in (route /x)", "late prepare", "handler",
                "late complete (status 200)", "async out (status 200)", "second complete (status 200)",
                "first complete (status 200)",
            ])
        #expect(response.headers.values(for: "X-Trace") == ["late", "async", "second", "first"])
    }

    @Test func aRefusingInlineMiddlewareAnswersAndOnlyTheOnesBeforeItComplete() async {
        let trace = TracingMiddleware.Trace()
        var router = Router()
        router.use(TracingInlineMiddleware(name: "outer", trace: trace))
        router.use(TracingInlineMiddleware(name: "gate", trace: trace, refuses: true))
        router.use(TracingInlineMiddleware(name: "inner", trace: trace))
        router.get("/x") { _ in
            trace.append("handler")
            return .text("ok")
        }
        let response = await router.respond(to: RoutingFixtures.request(.get, "/x"))
        #expect(response.status == .forbidden)
        #expect(trace.all == ["outer prepare", "gate prepare", "outer complete (status 403)"])
    }

    @Test func anInlineMiddlewareInsideAGroupSeesErrorsThrownInside() async {
        let trace = TracingMiddleware.Trace()
        var router = Router()
        router.group("/api", middleware: [TracingInlineMiddleware(name: "group", trace: trace)]) { api in
            api.get("/boom") { _ in throw HTTPError.conflict("no") }
        }
        let response = await router.respond(to: RoutingFixtures.request(.get, "/api/boom"))
        #expect(response.status == .conflict)
        #expect(trace.all == ["group prepare", "group complete (status 409)"])
    }

    @Test func notFoundAndMethodNotAllowedPassThroughMiddleware() async {
        let trace = TracingMiddleware.Trace()
        var router = Router()
        router.use(TracingMiddleware(name: "only", trace: trace))
        router.get("/x") { _ in .text("") }
        _ = await router.respond(to: RoutingFixtures.request(.get, "/y"))
        _ = await router.respond(to: RoutingFixtures.request(.post, "/x"))
        #expect(
            trace.all == ["only in (route )", "only out (status 404)", "only in (route )", "only out (status 405)"])
    }

    // MARK: Groups

    @Test func groupMiddlewareWrapsOnlyTheGroupsRoutesInsideTheRoutersOwn() async {
        let trace = TracingMiddleware.Trace()
        var router = Router()
        router.use(TracingMiddleware(name: "global", trace: trace))
        router.get("/public") { _ in .text("public") }
        router.group("/api", middleware: [RequireTokenMiddleware(), TracingMiddleware(name: "api", trace: trace)]) {
            api in
            api.get("/users/:id") { request in .text("user \(request.context.pathParameters["id"] ?? "")") }
            api.group("/admin", middleware: [TracingMiddleware(name: "admin", trace: trace)]) { admin in
                admin.delete("/users/:id") { _ in HTTPResponse(status: .noContent) }
            }
        }
        let open = await router.respond(to: RoutingFixtures.request(.get, "/public"))
        #expect(RoutingFixtures.body(open) == "public")
        let denied = await router.respond(to: RoutingFixtures.request(.get, "/api/users/7"))
        #expect(denied.status == .unauthorized)
        #expect(denied.headers.values(for: "X-Trace") == ["global"])
        let token: HTTPHeaders = ["Authorization": "Bearer t"]
        let user = await router.respond(to: RoutingFixtures.request(.get, "/api/users/7", headers: token))
        #expect(RoutingFixtures.body(user) == "user 7")
        #expect(user.headers.values(for: "X-Trace") == ["api", "global"])
        let deleted = await router.respond(to: RoutingFixtures.request(.delete, "/api/admin/users/7", headers: token))
        #expect(deleted.status == .noContent)
        #expect(deleted.headers.values(for: "X-Trace") == ["admin", "api", "global"])
        #expect(router.matchingPattern(method: .delete, path: "/api/admin/users/7") == "/api/admin/users/:id")
    }

    @Test func unmatchedPathsUnderAGroupSkipTheGroupMiddleware() async {
        var router = Router()
        router.group("/api", middleware: [RequireTokenMiddleware()]) { api in
            api.get("/x") { _ in .text("") }
        }
        // 404 rather than 401: an unknown path reveals nothing a token would protect.
        let response = await router.respond(to: RoutingFixtures.request(.get, "/api/nope"))
        #expect(response.status == .notFound)
    }

    // MARK: Request id

    struct RequestIDCase: Sendable, CustomTestStringConvertible {
        var incoming: String?
        var kept: Bool
        var testDescription: String {
            "\(incoming.map { String(reflecting: String($0.prefix(40))) } ?? "none") kept: \(kept)"
        }
    }

    static let requestIDCases: [RequestIDCase] = [
        RequestIDCase(incoming: nil, kept: false),
        RequestIDCase(incoming: "abc-123_X.y", kept: true),
        RequestIDCase(incoming: String(repeating: "a", count: 128), kept: true),
        RequestIDCase(incoming: String(repeating: "a", count: 129), kept: false),
        RequestIDCase(incoming: "", kept: false),
        RequestIDCase(incoming: "with space", kept: false),
        RequestIDCase(incoming: "evil\r\nSet-Cookie: x=1", kept: false),
        RequestIDCase(incoming: "quote\"d", kept: false),
        RequestIDCase(incoming: "ünïcode", kept: false),
        RequestIDCase(incoming: "a=b", kept: false),
    ]

    @Test(arguments: requestIDCases)
    func saneIncomingRequestIDsAreKeptAndOthersReplaced(_ testCase: RequestIDCase) async {
        var router = Router()
        router.use(RequestIDMiddleware())
        router.get("/") { request in .text(request.context.requestID) }
        var headers = HTTPHeaders()
        if let incoming = testCase.incoming { headers.add(name: "X-Request-Id", value: incoming) }
        let response = await router.respond(to: RoutingFixtures.request(.get, "/", headers: headers))
        let seen = RoutingFixtures.body(response)
        #expect(response.headers["X-Request-Id"] == seen)
        if testCase.kept {
            #expect(seen == testCase.incoming)
        } else {
            #expect(seen.count == 24)
            #expect(seen.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) })
        }
    }

    @Test func generatedRequestIDsDiffer() async {
        var router = Router()
        router.use(RequestIDMiddleware())
        router.get("/") { request in .text(request.context.requestID) }
        var seen = Set<String>()
        for _ in 0..<200 {
            seen.insert(RoutingFixtures.body(await router.respond(to: RoutingFixtures.request(.get, "/"))))
        }
        #expect(seen.count == 200)
    }

    // MARK: Access log

    @Test func theAccessLogWritesOneLineWithoutTheQueryString() async {
        let sink = RoutingTestLogSink()
        var router = Router()
        router.use(RequestIDMiddleware())
        router.use(AccessLogMiddleware(logger: sink.logger("access")))
        router.get("/v2/token") { _ in .text("12345") }
        var request = RoutingFixtures.request(
            .get, "/v2/token", headers: ["X-Request-Id": "rid-1", "User-Agent": "docker/27.0 go/1.22"])
        request.head.target = "/v2/token?service=registry&password=hunter2"
        request.head.query = [("service", "registry"), ("password", "hunter2")]
        _ = await router.respond(to: request)
        #expect(sink.lines.count == 1)
        let line = sink.lines[0]
        #expect(!line.contains("hunter2"))
        #expect(!line.contains("service="))
        for expected in [
            "msg=request", "method=GET", "path=/v2/token", "status=200", "bytes=5", "client=192.0.2.10",
            "request_id=rid-1", #"user_agent="docker/27.0 go/1.22""#, "duration_ms=",
        ] {
            #expect(line.contains(expected), "missing \(expected) in \(line)")
        }
        #expect(line.range(of: #"duration_ms=[0-9]+\.[0-9]{3} "#, options: .regularExpression) != nil, "\(line)")
    }

    @Test func quietPathsAreServedWithoutAnAccessLogLine() async {
        let sink = RoutingTestLogSink()
        var router = Router()
        router.use(AccessLogMiddleware(logger: sink.logger("access"), quietPaths: ["/metrics"]))
        router.get("/metrics") { _ in .text("m") }
        router.get("/other") { _ in .text("o") }
        let quiet = await router.respond(to: RoutingFixtures.request(.get, "/metrics"))
        #expect(quiet.body == Array("m".utf8))
        #expect(sink.lines.isEmpty)
        _ = await router.respond(to: RoutingFixtures.request(.get, "/other"))
        #expect(sink.lines.count == 1)
    }

    @Test func theAccessLogUsesTheResolvedClientAndCountsNoBytesForHead() async {
        let sink = RoutingTestLogSink()
        var router = Router()
        router.use(ForwardedHeadersMiddleware(trustedProxies: ["10.0.0.0/8"]))
        router.use(AccessLogMiddleware(logger: sink.logger("access")))
        router.get("/") { _ in .text("body") }
        _ = await router.respond(
            to: RoutingFixtures.request(
                .head, "/", headers: ["X-Forwarded-For": "203.0.113.7"], remoteAddress: "10.1.2.3"))
        #expect(sink.lines.first?.contains("client=203.0.113.7") == true)
        #expect(sink.lines.first?.contains("bytes=0") == true)
    }

    @Test func theAccessLogNeutralisesControlCharactersInHostileInput() async {
        let sink = RoutingTestLogSink()
        var router = Router()
        router.use(AccessLogMiddleware(logger: sink.logger("access")))
        _ = await router.respond(
            to: RoutingFixtures.request(
                .get, "/a\nlevel=error msg=forged", headers: ["User-Agent": "x\u{1B}[31mred"]))
        #expect(sink.lines.count == 1)
        #expect(!sink.lines[0].contains("\n"))
        #expect(!sink.lines[0].contains("\u{1B}"))
        // InertText shows the line break as `\n` (which logfmt's quoting then escapes once more).
        #expect(sink.lines[0].contains(#"path="/a\\nlevel=error msg=forged""#))
        #expect(sink.lines[0].contains(#"user_agent=x\x1b[31mred"#))
        #expect(sink.lines[0].contains("status=404"))
    }

    // MARK: Security headers

    @Test func securityHeadersAreAddedToEveryResponse() async {
        var router = Router()
        router.use(SecurityHeadersMiddleware())
        router.get("/api") { _ in .json(Array("{}".utf8)) }
        let response = await router.respond(to: RoutingFixtures.request(.get, "/api"))
        #expect(response.headers["X-Content-Type-Options"] == "nosniff")
        #expect(response.headers["X-Frame-Options"] == "DENY")
        #expect(response.headers["Referrer-Policy"] == "no-referrer")
        #expect(response.headers["Content-Security-Policy"] == nil)
        #expect(response.headers["Strict-Transport-Security"] == nil)
    }

    @Test func htmlResponsesGetAContentSecurityPolicy() async {
        var router = Router()
        router.use(SecurityHeadersMiddleware())
        router.get("/ui") { _ in HTTPResponse(headers: ["Content-Type": "Text/HTML; charset=utf-8"]) }
        let response = await router.respond(to: RoutingFixtures.request(.get, "/ui"))
        #expect(response.headers["Content-Security-Policy"] == SecurityHeadersMiddleware.defaultContentSecurityPolicy)
    }

    @Test func hstsIsSentOnlyOverHTTPS() async {
        var router = Router()
        router.use(ForwardedHeadersMiddleware(trustedProxies: ["127.0.0.1"]))
        router.use(SecurityHeadersMiddleware())
        router.get("/") { _ in .text("") }
        let direct = await router.respond(to: RoutingFixtures.request(.get, "/", isTLS: true))
        #expect(direct.headers["Strict-Transport-Security"] == "max-age=31536000")
        let plain = await router.respond(to: RoutingFixtures.request(.get, "/"))
        #expect(plain.headers["Strict-Transport-Security"] == nil)
        let proxied = await router.respond(
            to: RoutingFixtures.request(
                .get, "/", headers: ["X-Forwarded-Proto": "https"], remoteAddress: "127.0.0.1"))
        #expect(proxied.headers["Strict-Transport-Security"] == "max-age=31536000")
        let spoofed = await router.respond(
            to: RoutingFixtures.request(.get, "/", headers: ["X-Forwarded-Proto": "https"]))
        #expect(spoofed.headers["Strict-Transport-Security"] == nil)
    }

    @Test func securityHeadersNeverOverrideWhatTheHandlerSet() async {
        var router = Router()
        router.use(SecurityHeadersMiddleware())
        router.get("/embed") { _ in
            HTTPResponse(
                headers: [
                    "Content-Type": "text/html", "X-Frame-Options": "SAMEORIGIN",
                    "Content-Security-Policy": "default-src 'none'", "Referrer-Policy": "same-origin",
                ])
        }
        let response = await router.respond(to: RoutingFixtures.request(.get, "/embed"))
        #expect(response.headers.values(for: "X-Frame-Options") == ["SAMEORIGIN"])
        #expect(response.headers.values(for: "Content-Security-Policy") == ["default-src 'none'"])
        #expect(response.headers.values(for: "Referrer-Policy") == ["same-origin"])
        #expect(response.headers["X-Content-Type-Options"] == "nosniff")
    }

    @Test func errorResponsesCarrySecurityHeadersToo() async {
        var router = Router()
        router.use(SecurityHeadersMiddleware())
        let response = await router.respond(to: RoutingFixtures.request(.get, "/missing"))
        #expect(response.status == .notFound)
        #expect(response.headers["X-Content-Type-Options"] == "nosniff")
    }

    // MARK: Metrics

    @Test func metricsCountByRoutePatternNotByRawPath() async {
        let registry = MetricsRegistry()
        var router = Router()
        router.use(MetricsMiddleware(registry: registry))
        router.get("/users/:id") { _ in .text("") }
        router.post("/fail") { _ in throw HTTPError.forbidden() }
        for id in 1...3 { _ = await router.respond(to: RoutingFixtures.request(.get, "/users/\(id)")) }
        _ = await router.respond(to: RoutingFixtures.request(.post, "/fail"))
        _ = await router.respond(to: RoutingFixtures.request(.get, "/scanner/probe/1"))
        _ = await router.respond(to: RoutingFixtures.request(.get, "/scanner/probe/2"))
        let text = registry.exposition()
        #expect(text.contains(#"portcullis_http_requests_total{method="GET",route="/users/:id",status="200"} 3"#))
        #expect(text.contains(#"portcullis_http_requests_total{method="POST",route="/fail",status="403"} 1"#))
        #expect(text.contains(#"portcullis_http_requests_total{method="GET",route="unmatched",status="404"} 2"#))
        #expect(text.contains(#"portcullis_http_request_duration_seconds_count{method="GET",route="/users/:id"} 3"#))
        #expect(text.contains("portcullis_http_requests_in_flight 0"))
        #expect(!text.contains("/users/1"))
        #expect(!text.contains("scanner"))
    }

    @Test func metricsFoldUnknownMethodTokensIntoOneLabel() async {
        let registry = MetricsRegistry()
        var router = Router()
        router.use(MetricsMiddleware(registry: registry))
        _ = await router.respond(to: RoutingFixtures.request(HTTPMethod(rawValue: "BREW"), "/pot"))
        #expect(registry.exposition().contains(#"{method="OTHER",route="unmatched",status="404"} 1"#))
    }

    @Test func theMetricsEndpointServesTheExposition() async {
        let registry = MetricsRegistry()
        registry.counter("portcullis_logins_total", help: "Logins.").increment()
        var router = Router()
        router.get("/metrics") { _ in .metrics(registry) }
        let response = await router.respond(to: RoutingFixtures.request(.get, "/metrics"))
        #expect(response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(
            RoutingFixtures.body(response)
                == "# HELP portcullis_logins_total Logins.\n# TYPE portcullis_logins_total counter\nportcullis_logins_total 1\n"
        )
    }

    // MARK: A full stack

    @Test func theProductionStackComposes() async {
        let sink = RoutingTestLogSink()
        let registry = MetricsRegistry()
        var router = Router(logger: sink.logger())
        router.use(RequestIDMiddleware())
        router.use(ForwardedHeadersMiddleware(trustedProxies: ["10.0.0.0/8", "::1/128"]))
        router.use(AccessLogMiddleware(logger: sink.logger("access")))
        router.use(MetricsMiddleware(registry: registry))
        router.use(SecurityHeadersMiddleware())
        router.get("/healthz") { request in .text("ok from \(request.context.clientAddress)") }
        let response = await router.respond(
            to: RoutingFixtures.request(
                .get, "/healthz", headers: ["X-Forwarded-For": "198.51.100.4", "X-Forwarded-Proto": "https"],
                remoteAddress: "::1"))
        #expect(RoutingFixtures.body(response) == "ok from 198.51.100.4")
        #expect(response.headers["X-Request-Id"]?.count == 24)
        #expect(response.headers["Strict-Transport-Security"] != nil)
        #expect(sink.lines.count == 1)
        #expect(registry.exposition().contains(#"route="/healthz",status="200"} 1"#))
    }
}
