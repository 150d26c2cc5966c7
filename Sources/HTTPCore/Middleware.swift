import Diagnostics
import Synchronization

/// A step wrapped around request handling: it may change the request on the way in, answer without
/// calling the rest of the chain, and change the response on the way out.
///
/// Contract: called concurrently for many requests from tasks on the cooperative pool, so it must be
/// `Sendable`, must not block, and keeps per-request state in locals or in `request.context`. `next`
/// runs the remaining middleware and the handler; it may be called at most once, only during
/// `handle`, and on the calling task (it is not escaping). Inside a `Router`, `next` never actually
/// throws: the router turns any failure of the inner layers into its response first, so a middleware
/// always sees the final status. A middleware may throw an `HTTPResponseError` to answer with it
/// (an authentication check throwing `HTTPError.unauthorized`); any other error becomes a logged 500.
public protocol Middleware: Sendable {
    /// Handles `request`, usually by calling `next` with it (or a modified copy).
    func handle(
        _ request: HTTPRequest, next: (HTTPRequest) async throws -> HTTPResponse
    ) async throws -> HTTPResponse
}

/// A middleware that never awaits: it adjusts the request before handling and the response after, and
/// the router runs it inline instead of as a layer of the async chain.
///
/// Every request passes the router's middleware, so the async layers' costs (a frame, a closure and a
/// copy of the request each) showed in the token endpoint's throughput; the standard middleware are all
/// of this kind. The router runs the leading run of inline middleware registered before any async one in
/// one pass: `prepare` in registration order, the rest of the chain and the handler, then `complete` in
/// reverse order for every middleware whose `prepare` returned, so they still always see the final
/// status.
///
/// Contract: both methods are called on the request's task, must not block and keep per-request state in
/// `request.context`. `prepare` may throw an `HTTPResponseError` to answer with it (anything else becomes
/// a logged 500); `complete` cannot fail. `elapsed` is the time since the router began the inline pass.
public protocol InlineMiddleware: Middleware {
    /// Adjusts the request before the handler runs; throw an `HTTPResponseError` to answer instead.
    func prepare(_ request: inout HTTPRequest) throws

    /// Adjusts the final response; `request` is the request as the handler saw it.
    func complete(_ request: HTTPRequest, _ response: inout HTTPResponse, elapsed: Duration)
}

extension InlineMiddleware {
    /// Runs `prepare`, the chain and `complete` the way the router's inline pass does (for groups and
    /// middleware placed after an async one).
    public func handle(
        _ request: HTTPRequest, next: (HTTPRequest) async throws -> HTTPResponse
    ) async throws -> HTTPResponse {
        let start = ContinuousClock.now
        var request = request
        try prepare(&request)
        var response: HTTPResponse
        do {
            response = try await next(request)
        } catch {
            // Seen with the status the error will be answered with, then passed on to be answered.
            var failed = (error as? any HTTPResponseError)?.response() ?? HTTPError.internalServerError.response()
            complete(request, &failed, elapsed: ContinuousClock.now - start)
            throw error
        }
        complete(request, &response, elapsed: ContinuousClock.now - start)
        return response
    }

    /// Does nothing to the request.
    public func prepare(_ request: inout HTTPRequest) throws {}

    /// Does nothing to the response.
    public func complete(_ request: HTTPRequest, _ response: inout HTTPResponse, elapsed: Duration) {}
}

// MARK: - Request id

/// Gives every request an id: the client's `X-Request-Id` when it is sane (1 to 128 characters of
/// `[A-Za-z0-9._-]`), else a fresh random-looking one. Sets `context.requestID` and echoes `X-Request-Id`.
///
/// Put it first, so that everything inside (logs, errors) carries the id.
public struct RequestIDMiddleware: InlineMiddleware {
    /// The header read and written.
    public static let headerName = "X-Request-Id"

    /// Creates the middleware.
    public init() {}

    /// Assigns the id.
    public func prepare(_ request: inout HTTPRequest) {
        request.context.requestID =
            request.head.headers[Self.headerName].flatMap(Self.acceptedID) ?? Self.generateID()
    }

    /// Echoes the id on the response.
    public func complete(_ request: HTTPRequest, _ response: inout HTTPResponse, elapsed: Duration) {
        response.headers.replaceOrAdd(name: Self.headerName, value: request.context.requestID)
    }

    /// The incoming id if it is safe to log and echo, else nil.
    static func acceptedID(_ candidate: String) -> String? {
        let utf8 = candidate.utf8
        guard !utf8.isEmpty, utf8.count <= 128 else { return nil }
        let isSane = utf8.allSatisfy { byte in
            (byte | 0x20 >= 97 && byte | 0x20 <= 122) || (byte >= 48 && byte <= 57)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        return isSane ? candidate : nil
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let keys: (UInt64, UInt64) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }()
    private static let sequence = Atomic<UInt64>(0)

    /// 24 lowercase hex digits (96 bits) that look random: a per-process counter run through a
    /// bijective mixer under per-process random keys. Unique within the process, collision-free in
    /// practice across processes, and no system call per request. Request ids are correlation
    /// handles, not secrets.
    public static func generateID() -> String {
        let count = sequence.wrappingAdd(1, ordering: .relaxed).newValue
        let high = mix(count &+ keys.0)
        let low = mix(count ^ keys.1)
        var bytes = [UInt8](repeating: 0, count: 24)
        for index in 0..<16 {
            bytes[index] = hexDigits[Int(truncatingIfNeeded: high >> (60 - 4 * UInt64(index)) & 0xF)]
        }
        for index in 0..<8 {
            bytes[16 + index] = hexDigits[Int(truncatingIfNeeded: low >> (60 - 4 * UInt64(index)) & 0xF)]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The SplitMix64 finaliser: a bijection on 64 bits that scatters consecutive inputs.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Access log

/// Writes one `info` line per request: method, path (never the query string, which may carry
/// secrets), status, duration in milliseconds, body bytes, client address, request id and user agent.
///
/// Put it inside `RequestIDMiddleware` and `ForwardedHeadersMiddleware` so the id and the resolved
/// client address are known.
public struct AccessLogMiddleware: InlineMiddleware {
    /// Where the lines go.
    public let logger: Logger
    /// Paths answered without a log line: probes that orchestrators and scrapers call every few
    /// seconds (`/readyz`, `/metrics`) would otherwise drown the log.
    public let quietPaths: Set<String>

    /// Creates the middleware writing to `logger`, leaving out requests for `quietPaths`.
    public init(logger: Logger, quietPaths: Set<String> = []) {
        self.logger = logger
        self.quietPaths = quietPaths
    }

    /// Logs the outcome.
    public func complete(_ request: HTTPRequest, _ response: inout HTTPResponse, elapsed: Duration) {
        if quietPaths.contains(request.path) { return }
        let bytes = request.method == .head ? 0 : response.body.count
        log(request, status: response.status.code, bytes: bytes, elapsed: elapsed)
    }

    private func log(_ request: HTTPRequest, status: Int, bytes: Int, elapsed: Duration) {
        let (seconds, attoseconds) = elapsed.components
        // Whole microseconds as `ms.µµµ`, formatted as integers: printing a Double cost more than the rest
        // of the line's numbers.
        let microseconds = max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        let fraction = String(microseconds % 1000)
        let milliseconds = "\(microseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
        let client =
            request.context.clientAddress.isEmpty
            ? request.connection.remoteAddress : request.context.clientAddress
        // In sorted key order, as `Logger` writes a dictionary's keys, without building one per request.
        logger.log(
            .info, "request",
            fields: [
                ("bytes", String(bytes)),
                ("client", InertText.escaped(client, limit: 64)),
                ("duration_ms", milliseconds),
                ("method", InertText.escaped(request.method.rawValue, limit: 32)),
                ("path", InertText.escaped(request.path, limit: 2048)),
                ("request_id", request.context.requestID),
                ("status", String(status)),
                ("user_agent", InertText.escaped(request.headers["User-Agent"] ?? "", limit: 256)),
            ])
    }
}

// MARK: - Security headers

/// Adds defensive response headers unless the handler already set them: `X-Content-Type-Options`,
/// `X-Frame-Options`, `Referrer-Policy`, a `Content-Security-Policy` on HTML responses, and
/// `Strict-Transport-Security` only when the request arrived over HTTPS (`context.isSecure`).
///
/// Put it inside `ForwardedHeadersMiddleware`, which decides `isSecure` behind a proxy.
public struct SecurityHeadersMiddleware: InlineMiddleware {
    /// Same-origin everything, no plugins, no framing, no `<base>` tricks, forms post only to us.
    public static let defaultContentSecurityPolicy =
        "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

    /// The policy set on `text/html` responses.
    public var contentSecurityPolicy: String
    /// The `Strict-Transport-Security` value for HTTPS responses; nil leaves HSTS off.
    public var strictTransportSecurity: String?

    /// Creates the middleware; HSTS defaults to one year without `includeSubDomains`, which would
    /// affect hosts this server does not know about.
    public init(
        contentSecurityPolicy: String = SecurityHeadersMiddleware.defaultContentSecurityPolicy,
        strictTransportSecurity: String? = "max-age=31536000"
    ) {
        self.contentSecurityPolicy = contentSecurityPolicy
        self.strictTransportSecurity = strictTransportSecurity
    }

    /// Fills in the missing headers.
    public func complete(_ request: HTTPRequest, _ response: inout HTTPResponse, elapsed: Duration) {
        func addIfMissing(_ name: String, _ value: String) {
            if response.headers[name] == nil { response.headers.add(name: name, value: value) }
        }
        addIfMissing("X-Content-Type-Options", "nosniff")
        addIfMissing("X-Frame-Options", "DENY")
        addIfMissing("Referrer-Policy", "no-referrer")
        if let type = response.headers["Content-Type"], Self.isHTML(type) {
            addIfMissing("Content-Security-Policy", contentSecurityPolicy)
        }
        if request.context.isSecure, let strictTransportSecurity {
            addIfMissing("Strict-Transport-Security", strictTransportSecurity)
        }
    }

    /// Whether a `Content-Type` value is `text/html`, parameters and case aside.
    static func isHTML(_ contentType: String) -> Bool {
        let utf8 = contentType.utf8
        let end = utf8.firstIndex(of: UInt8(ascii: ";")) ?? utf8.endIndex
        return Substring(utf8[..<end]).trimmingSpaces().caseInsensitiveEquals("text/html")
    }
}

// MARK: - Metrics

/// Counts requests in `portcullis_http_requests_total{method,route,status}`, observes latency in
/// `portcullis_http_request_duration_seconds{method,route}` and tracks
/// `portcullis_http_requests_in_flight`.
///
/// The `route` label is the matched pattern (`/v2/*rest`), `unmatched` for 404s and 405s, never the
/// raw path: raw paths would create a series per URL a scanner tries.
public struct MetricsMiddleware: InlineMiddleware {
    private let requests: MetricFamily<Counter>
    private let duration: MetricFamily<Histogram>
    private let inFlight: Gauge

    /// Creates the middleware, registering its metrics in `registry`.
    public init(registry: MetricsRegistry) {
        requests = registry.counter(
            "portcullis_http_requests_total", help: "HTTP requests answered, by method, route pattern and status.",
            labelNames: ["method", "route", "status"])
        duration = registry.histogram(
            "portcullis_http_request_duration_seconds",
            help: "Time from routing to response, by method and route pattern.", labelNames: ["method", "route"])
        inFlight = registry.gauge(
            "portcullis_http_requests_in_flight", help: "HTTP requests currently being handled.")
    }

    /// Counts the request in flight.
    public func prepare(_ request: inout HTTPRequest) {
        inFlight.increment()
    }

    /// Records the outcome.
    public func complete(_ request: HTTPRequest, _ response: inout HTTPResponse, elapsed: Duration) {
        inFlight.decrement()
        let status = response.status.code
        // The server answers unknown methods itself, but a raw token must never become a label.
        let method = HTTPMethod.supported.contains(request.method) ? request.method.rawValue : "OTHER"
        let route = request.context.routePattern.isEmpty ? "unmatched" : request.context.routePattern
        duration.labels(method, route).observe(elapsed)
        requests.labels(method, route, String(status)).increment()
    }
}

extension HTTPResponse {
    /// The Prometheus scrape answer: `registry.exposition()` as text format 0.0.4
    /// (`router.get("/metrics") { _ in .metrics(registry) }`).
    public static func metrics(_ registry: MetricsRegistry) -> HTTPResponse {
        HTTPResponse(
            status: .ok, headers: ["Content-Type": MetricsRegistry.contentType],
            body: Array(registry.exposition().utf8))
    }
}
