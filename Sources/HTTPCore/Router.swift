import Diagnostics

/// A request handler: takes a complete request and returns a response or throws (an
/// `HTTPResponseError` becomes its own response, anything else a logged, generic 500).
public typealias HTTPHandler = @Sendable (HTTPRequest) async throws -> HTTPResponse

/// Dispatches requests to handlers by method and path pattern, wrapped in middleware; the
/// `HTTPResponder` the server drives.
///
/// Patterns are `/`-separated segments: literals (`/v2/token`), `:name` parameters matching one
/// non-empty segment (`/users/:id`), and a trailing `*name` (or bare `*`) wildcard matching the rest of
/// the path, slashes included, possibly empty (`/v2/*rest` matches `/v2/` and `/v2/a/b/manifests/c`).
/// A literal beats a parameter, which beats a wildcard; when a more specific branch dead-ends the
/// next one is tried. A trailing slash is significant (`/v2/` is not `/v2`).
///
/// No path match answers 404; a path match without the method answers 405 with `Allow`. `HEAD` uses
/// the `GET` route unless one is registered for `HEAD` (the server drops the body). Both go through
/// the middleware, so they are logged, counted and carry the security headers.
///
/// Registration happens once at startup (`var router = Router(); router.get(…)`); an invalid or
/// duplicate pattern is a programming error and stops the process. Afterwards the router is an
/// immutable value, safe to share: lookups take no locks and allocate only for captured parameters.
///
/// ```swift
/// var router = Router(logger: logger)
/// router.use(RequestIDMiddleware())
/// router.get("/healthz") { _ in .text("ok") }
/// router.post("/v2/token", bodyLimit: 64 * 1024) { request in try await tokens.issue(request) }
/// router.get("/v2/*rest") { request in … request.context.pathParameters["rest"] … }
/// ```
public struct Router: HTTPResponder {
    /// The body limit of routes registered without one, and of requests no route matches: 1 MiB
    /// unless configured.
    public var defaultBodyLimit: Int
    /// Where unexpected (non-`HTTPResponseError`) failures are logged, with the request id.
    public var logger: Logger

    private var middleware: [any Middleware] = []
    private var routes: [Route] = []
    private var nodes: [Node] = [Node()]

    /// Creates a router with no routes and no middleware.
    public init(defaultBodyLimit: Int = 1 << 20, logger: Logger = Logger(label: "http")) {
        self.defaultBodyLimit = defaultBodyLimit
        self.logger = logger
    }

    // MARK: Registration

    /// Adds `middleware` around every request, inside the middleware added before it (the first added
    /// runs first and sees the final response last).
    public mutating func use(_ middleware: any Middleware) {
        self.middleware.append(middleware)
    }

    /// Routes `method` requests whose path matches `pattern` to `handler`, accepting bodies up to
    /// `bodyLimit` bytes (`defaultBodyLimit` when nil).
    public mutating func on(
        _ method: HTTPMethod, _ pattern: String, bodyLimit: Int? = nil, _ handler: @escaping HTTPHandler
    ) {
        let segments = Self.parse(pattern)
        var node = 0
        for segment in segments {
            switch segment {
            case .literal(let text):
                let bytes = Array(text.utf8)
                if let existing = nodes[node].literals.first(where: { $0.bytes == bytes }) {
                    node = existing.child
                } else {
                    nodes.append(Node())
                    nodes[node].literals.append((bytes, nodes.count - 1))
                    node = nodes.count - 1
                }
            case .parameter:
                if let child = nodes[node].parameter {
                    node = child
                } else {
                    nodes.append(Node())
                    nodes[node].parameter = nodes.count - 1
                    node = nodes.count - 1
                }
            case .wildcard:
                if let child = nodes[node].wildcard {
                    node = child
                } else {
                    nodes.append(Node())
                    nodes[node].wildcard = nodes.count - 1
                    node = nodes.count - 1
                }
            }
        }
        precondition(
            !nodes[node].routes.contains { routes[$0].method == method },
            "route \(method) \(pattern) is registered twice (or clashes with \(routesDescription(node)))")
        precondition(bodyLimit.map { $0 >= 0 } ?? true, "route \(method) \(pattern) has a negative body limit")
        routes.append(
            Route(method: method, pattern: pattern, segments: segments, bodyLimit: bodyLimit, handler: handler))
        nodes[node].routes.append(routes.count - 1)
    }

    /// Routes `GET` (and `HEAD`, unless registered separately) requests matching `pattern`.
    public mutating func get(_ pattern: String, bodyLimit: Int? = nil, _ handler: @escaping HTTPHandler) {
        on(.get, pattern, bodyLimit: bodyLimit, handler)
    }

    /// Routes `HEAD` requests matching `pattern`, overriding the `GET` fallback.
    public mutating func head(_ pattern: String, bodyLimit: Int? = nil, _ handler: @escaping HTTPHandler) {
        on(.head, pattern, bodyLimit: bodyLimit, handler)
    }

    /// Routes `POST` requests matching `pattern`.
    public mutating func post(_ pattern: String, bodyLimit: Int? = nil, _ handler: @escaping HTTPHandler) {
        on(.post, pattern, bodyLimit: bodyLimit, handler)
    }

    /// Routes `PUT` requests matching `pattern`.
    public mutating func put(_ pattern: String, bodyLimit: Int? = nil, _ handler: @escaping HTTPHandler) {
        on(.put, pattern, bodyLimit: bodyLimit, handler)
    }

    /// Routes `PATCH` requests matching `pattern`.
    public mutating func patch(_ pattern: String, bodyLimit: Int? = nil, _ handler: @escaping HTTPHandler) {
        on(.patch, pattern, bodyLimit: bodyLimit, handler)
    }

    /// Routes `DELETE` requests matching `pattern`.
    public mutating func delete(_ pattern: String, bodyLimit: Int? = nil, _ handler: @escaping HTTPHandler) {
        on(.delete, pattern, bodyLimit: bodyLimit, handler)
    }

    /// Routes `OPTIONS` requests matching `pattern` (unregistered, they answer 405).
    public mutating func options(_ pattern: String, bodyLimit: Int? = nil, _ handler: @escaping HTTPHandler) {
        on(.options, pattern, bodyLimit: bodyLimit, handler)
    }

    // MARK: HTTPResponder

    /// The matched route's body limit, or `defaultBodyLimit` when nothing matches (the request is then
    /// answered 404/405, not 413). Lock-free and allocation-free: safe on the event loop.
    public func bodyLimit(for head: HTTPRequestHead) -> Int {
        guard let index = findRoute(method: head.method, path: head.path) else { return defaultBodyLimit }
        return routes[index].bodyLimit ?? defaultBodyLimit
    }

    /// Resolves the route, fills `context.routePattern` and `context.pathParameters`, and runs the
    /// middleware chain around the handler; every failure becomes a response.
    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        var request = request
        if let index = findRoute(method: request.head.method, path: request.head.path) {
            let route = routes[index]
            request.context.routePattern = route.pattern
            route.captureParameters(from: request.head.path, into: &request.context.pathParameters)
            return await run(0, request, route.handler)
        }
        let allowed = allowedMethods(path: request.head.path)
        if allowed.isEmpty {
            return await run(0, request) { _ in throw HTTPError.notFound() }
        }
        return await run(0, request) { _ in throw HTTPError.methodNotAllowed(allowed: allowed) }
    }

    /// The pattern of the route `method` and `path` would reach, or nil; for tests and diagnostics.
    public func matchingPattern(method: HTTPMethod, path: String) -> String? {
        findRoute(method: method, path: path).map { routes[$0].pattern }
    }

    // MARK: Dispatch

    /// Runs middleware `index` and everything inside it; errors thrown at any layer become responses
    /// before the layer outside sees them, so access logs and metrics always see the final status.
    private func run(
        _ index: Int, _ request: HTTPRequest, _ handler: (HTTPRequest) async throws -> HTTPResponse
    ) async -> HTTPResponse {
        do {
            guard index < middleware.count else { return try await handler(request) }
            return try await middleware[index].handle(request) { inner in await run(index + 1, inner, handler) }
        } catch {
            return errorResponse(for: error, request: request)
        }
    }

    private func errorResponse(for error: any Error, request: HTTPRequest) -> HTTPResponse {
        if let error = error as? any HTTPResponseError {
            return error.response()
        }
        // The error's text may name internals (paths, SQL, hosts): it goes to the log only.
        logger.error(
            "unhandled error",
            [
                "request_id": request.context.requestID, "route": request.context.routePattern,
                "method": request.head.method.rawValue, "error_type": String(reflecting: type(of: error)),
                "error": String(describing: error),
            ])
        return HTTPError.internalServerError.response()
    }

    // MARK: Matching

    static let slash = UInt8(ascii: "/")

    /// The route for `method` at `path`: the most specific matching path, falling back from `HEAD`
    /// to `GET`.
    private func findRoute(method: HTTPMethod, path: String) -> Int? {
        let utf8 = path.utf8
        guard utf8.first == Self.slash else { return nil }
        return match(node: 0, utf8, from: utf8.index(after: utf8.startIndex)) { node in
            route(in: node, for: method)
        }
    }

    private func route(in node: Node, for method: HTTPMethod) -> Int? {
        var getRoute: Int?
        for index in node.routes {
            let candidate = routes[index].method
            if candidate == method { return index }
            if candidate == .get { getRoute = index }
        }
        return method == .head ? getRoute : nil
    }

    /// Every method some route at `path` accepts, sorted, with `HEAD` added where `GET` is.
    private func allowedMethods(path: String) -> [HTTPMethod] {
        let utf8 = path.utf8
        guard utf8.first == Self.slash else { return [] }
        var methods = Set<HTTPMethod>()
        _ = match(node: 0, utf8, from: utf8.index(after: utf8.startIndex)) { node -> Int? in
            for index in node.routes { methods.insert(routes[index].method) }
            return nil  // keep exploring every branch
        }
        if methods.contains(.get) { methods.insert(.head) }
        return methods.sorted { $0.rawValue < $1.rawValue }
    }

    /// Depth-first search from `node` at the segment starting at `start` (`nil` once the path is
    /// exhausted), most specific branch first; `accept` picks a route at a node whose pattern ends
    /// where the path does. Depth is bounded by the longest pattern, not by the request.
    private func match(
        node: Int, _ utf8: String.UTF8View, from start: String.Index?, _ accept: (Node) -> Int?
    ) -> Int? {
        let current = nodes[node]
        guard let start else { return accept(current) }
        var end = start
        while end < utf8.endIndex && utf8[end] != Self.slash { end = utf8.index(after: end) }
        let next = end < utf8.endIndex ? utf8.index(after: end) : nil
        let segment = utf8[start..<end]
        for literal in current.literals where literal.bytes.elementsEqual(segment) {
            if let found = match(node: literal.child, utf8, from: next, accept) { return found }
        }
        if let parameter = current.parameter, start < end {
            if let found = match(node: parameter, utf8, from: next, accept) { return found }
        }
        if let wildcard = current.wildcard {
            return accept(nodes[wildcard])
        }
        return nil
    }

    private func routesDescription(_ node: Int) -> String {
        nodes[node].routes.map { "\(routes[$0].method) \(routes[$0].pattern)" }.joined(separator: ", ")
    }

    // MARK: Patterns

    enum Segment: Equatable, Sendable {
        case literal(String)
        case parameter(String)
        case wildcard(String)
    }

    /// Splits and validates a pattern; a malformed one is a programming error.
    static func parse(_ pattern: String) -> [Segment] {
        precondition(pattern.hasPrefix("/"), "route pattern \(pattern) must start with /")
        let parts = pattern.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        var names = Set<String>()
        return parts.enumerated().map { position, part in
            let isLast = position == parts.count - 1
            if part.hasPrefix(":") {
                let name = String(part.dropFirst())
                precondition(isValidName(name), "route pattern \(pattern) has an invalid parameter name \(part)")
                precondition(names.insert(name).inserted, "route pattern \(pattern) repeats parameter \(name)")
                return .parameter(name)
            }
            if part.hasPrefix("*") {
                precondition(isLast, "route pattern \(pattern) has a wildcard before its last segment")
                let name = part == "*" ? "*" : String(part.dropFirst())
                precondition(name == "*" || isValidName(name), "route pattern \(pattern) has an invalid wildcard name")
                precondition(names.insert(name).inserted, "route pattern \(pattern) repeats parameter \(name)")
                return .wildcard(name)
            }
            precondition(!part.isEmpty || isLast, "route pattern \(pattern) has an empty segment")
            return .literal(String(part))
        }
    }

    private static func isValidName(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                (byte | 0x20 >= 97 && byte | 0x20 <= 122) || (byte >= 48 && byte <= 57) || byte == UInt8(ascii: "_")
            }
    }
}

extension Router {
    /// A trie node; children are indices into `nodes` so the whole table is a few flat arrays.
    struct Node: Sendable {
        var literals: [(bytes: [UInt8], child: Int)] = []
        var parameter: Int?
        var wildcard: Int?
        /// Routes whose pattern ends at this node, at most one per method.
        var routes: [Int] = []
    }

    struct Route: Sendable {
        var method: HTTPMethod
        var pattern: String
        var segments: [Segment]
        var bodyLimit: Int?
        var handler: HTTPHandler
        /// Whether any segment captures, so parameter-free routes skip the capture walk.
        var captures: Bool

        init(method: HTTPMethod, pattern: String, segments: [Segment], bodyLimit: Int?, handler: @escaping HTTPHandler)
        {
            self.method = method
            self.pattern = pattern
            self.segments = segments
            self.bodyLimit = bodyLimit
            self.handler = handler
            captures = segments.contains { if case .literal = $0 { false } else { true } }
        }

        /// Copies the `:name` segments and the wildcard rest of `path` (already known to match).
        func captureParameters(from path: String, into parameters: inout [String: String]) {
            guard captures else { return }
            // Byte-wise, like the matcher: a `/` followed by a combining mark is still a separator.
            let utf8 = path.utf8
            var start = utf8.index(after: utf8.startIndex)
            for segment in segments {
                let end = utf8[start...].firstIndex(of: Router.slash) ?? utf8.endIndex
                switch segment {
                case .literal: break
                case .parameter(let name): parameters[name] = String(Substring(utf8[start..<end]))
                case .wildcard(let name):
                    parameters[name] = String(Substring(utf8[start...]))
                    return
                }
                guard end < utf8.endIndex else { return }
                start = utf8.index(after: end)
            }
        }
    }
}
