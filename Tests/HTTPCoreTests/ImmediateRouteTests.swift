import Diagnostics
import HTTPCore
import Synchronization
import Testing

/// Routes with a synchronous fast path: `Router.immediateResponse(preparing:)` answers inside the inline
/// middleware pass, or hands the prepared request to `respond(to:)`, which finishes that same pass.
@Suite struct ImmediateRouteTests {
    /// Counts its `prepare` and `complete` calls and notes the request id it completed with.
    final class Counting: InlineMiddleware {
        let prepares = Atomic<Int>(0)
        let completes = Atomic<Int>(0)

        func prepare(_ request: inout HTTPRequest) throws {
            prepares.add(1, ordering: .relaxed)
            request.context.clientAddress = "198.51.100.1"
        }

        func complete(_ request: HTTPRequest, _ response: inout HTTPResponse, elapsed: Duration) {
            completes.add(1, ordering: .relaxed)
            response.headers.add(name: "X-Completed", value: request.context.requestID)
        }
    }

    struct Harness {
        var router: Router
        var counting: Counting
        var registry: MetricsRegistry
        var sink: RoutingTestLogSink
    }

    /// A router with the standard inline middleware around `GET /fast`, whose fast path answers when the
    /// query says `fast=yes` and sees the client address the middleware prepared.
    static func harness() -> Harness {
        let counting = Counting()
        let registry = MetricsRegistry()
        let sink = RoutingTestLogSink()
        var router = Router(logger: sink.logger())
        router.use(RequestIDMiddleware())
        router.use(AccessLogMiddleware(logger: sink.logger("access")))
        router.use(SecurityHeadersMiddleware())
        router.use(MetricsMiddleware(registry: registry))
        router.use(counting)
        router.get(
            "/fast",
            immediate: { request in
                guard request.head.queryValue("fast") == "yes" else { return nil }
                return .text("fast for \(request.context.clientAddress)")
            },
            { request in .text("slow for \(request.context.clientAddress)") })
        router.get("/plain") { _ in .text("plain") }
        return Harness(router: router, counting: counting, registry: registry, sink: sink)
    }

    static func request(_ target: String) -> HTTPRequest {
        let parts = target.split(separator: "?", maxSplits: 1)
        let query = parts.count > 1 ? parts[1].split(separator: "=").map(String.init) : []
        return HTTPRequest(
            head: HTTPRequestHead(
                method: .get, target: target, path: String(parts[0]),
                query: query.count == 2 ? [(name: query[0], value: query[1])] : []))
    }

    @Test func aFastPathAnswersAtOnceWithTheMiddlewareApplied() throws {
        let harness = Self.harness()
        var request = Self.request("/fast?fast=yes")
        let response = try #require(harness.router.immediateResponse(preparing: &request))
        #expect(String(decoding: response.body, as: UTF8.self) == "fast for 198.51.100.1")
        #expect(response.headers["X-Content-Type-Options"] == "nosniff")
        let requestID = try #require(response.headers["X-Request-Id"])
        #expect(response.headers["X-Completed"] == requestID)
        #expect(harness.counting.prepares.load(ordering: .relaxed) == 1)
        #expect(harness.counting.completes.load(ordering: .relaxed) == 1)
        let text = harness.registry.exposition()
        #expect(text.contains(#"portcullis_http_requests_total{method="GET",route="/fast",status="200"} 1"#))
        #expect(text.contains("portcullis_http_requests_in_flight 0"))
        #expect(harness.sink.lines.filter { $0.contains("path=/fast") }.count == 1)
    }

    @Test func aDeclinedFastPathLeavesTheRequestToTheHandlerWithTheMiddlewareAppliedOnce() async throws {
        let harness = Self.harness()
        var request = Self.request("/fast?fast=no")
        #expect(harness.router.immediateResponse(preparing: &request) == nil)
        // Prepared once, not yet completed: the request is in flight and nothing is logged.
        #expect(harness.counting.prepares.load(ordering: .relaxed) == 1)
        #expect(harness.counting.completes.load(ordering: .relaxed) == 0)
        #expect(harness.registry.exposition().contains("portcullis_http_requests_in_flight 1"))
        #expect(harness.sink.lines.isEmpty)
        let preparedID = request.context.requestID
        #expect(!preparedID.isEmpty)

        let response = await harness.router.respond(to: request)
        #expect(String(decoding: response.body, as: UTF8.self) == "slow for 198.51.100.1")
        #expect(response.headers["X-Request-Id"] == preparedID)
        #expect(response.headers["X-Completed"] == preparedID)
        #expect(response.headers.values(for: "X-Request-Id").count == 1)
        #expect(response.headers.values(for: "X-Content-Type-Options").count == 1)
        #expect(harness.counting.prepares.load(ordering: .relaxed) == 1)
        #expect(harness.counting.completes.load(ordering: .relaxed) == 1)
        let text = harness.registry.exposition()
        #expect(text.contains(#"portcullis_http_requests_total{method="GET",route="/fast",status="200"} 1"#))
        #expect(text.contains("portcullis_http_requests_in_flight 0"))
        #expect(harness.sink.lines.filter { $0.contains("path=/fast") }.count == 1)
    }

    @Test func routesWithoutAFastPathAreLeftUntouched() async throws {
        let harness = Self.harness()
        var request = Self.request("/plain")
        #expect(harness.router.immediateResponse(preparing: &request) == nil)
        #expect(request.context.requestID.isEmpty)
        #expect(harness.counting.prepares.load(ordering: .relaxed) == 0)
        let response = await harness.router.respond(to: request)
        #expect(String(decoding: response.body, as: UTF8.self) == "plain")
        #expect(harness.counting.prepares.load(ordering: .relaxed) == 1)
        #expect(harness.counting.completes.load(ordering: .relaxed) == 1)
    }

    @Test func respondAloneStillRunsTheHandlerOfAFastPathRoute() async {
        let harness = Self.harness()
        let response = await harness.router.respond(to: Self.request("/fast?fast=yes"))
        #expect(String(decoding: response.body, as: UTF8.self) == "slow for 198.51.100.1")
        #expect(harness.counting.prepares.load(ordering: .relaxed) == 1)
        #expect(harness.counting.completes.load(ordering: .relaxed) == 1)
    }

    @Test func anAsyncMiddlewareTurnsTheFastPathOff() async {
        struct Passing: Middleware {
            func handle(_ request: HTTPRequest, next: (HTTPRequest) async throws -> HTTPResponse) async throws
                -> HTTPResponse
            { try await next(request) }
        }
        var router = Router()
        router.use(Passing())
        router.get("/fast", immediate: { _ in .text("fast") }, { _ in .text("slow") })
        var request = Self.request("/fast")
        #expect(router.immediateResponse(preparing: &request) == nil)
        let response = await router.respond(to: request)
        #expect(String(decoding: response.body, as: UTF8.self) == "slow")
    }
}
