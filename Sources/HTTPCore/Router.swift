import Diagnostics

/// A request handler: takes a complete request and returns a response or throws (an
/// `HTTPResponseError` becomes its own response, anything else a logged, generic 500).
public typealias HTTPHandler = @Sendable (HTTPRequest) async throws -> HTTPResponse

/// A route's synchronous fast path: the response when it can be given at once on the event loop
/// without waiting for anything, or nil to leave the request to the route's `HTTPHandler`.
///
/// Contract: called on an event-loop thread with the request as the inline middleware prepared it; it
/// must not block or wait, and returning nil must leave no trace (nothing recorded, logged or counted),
/// because the handler then answers the same request.
public typealias ImmediateHandler = @Sendable (HTTPRequest) -> HTTPResponse?

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
public struct Router: HTTPResponder, RouteRegistering {
    /// The body limit of routes registered without one, and of requests no route matches: 1 MiB
    /// unless configured.
    public var defaultBodyLimit: Int
    /// Where unexpected (non-`HTTPResponseError`) failures are logged, with the request id.
    public var logger: Logger

    /// The leading run of inline middleware, done in one pass before and after the async chain.
    private var inlineMiddleware: [any InlineMiddleware] = []
    /// The middleware from the first async one on.
    private var middleware: [any Middleware] = []
    private var table = RouteTable.empty
    private var probes: [String: @Sendable (HTTPRequest) -> HTTPResponse] = [:]
    /// Whether any route has an `ImmediateHandler`, so other requests skip the lookup.
    private var hasImmediateRoutes = false

    /// Creates a router with no routes and no middleware.
    public init(defaultBodyLimit: Int = 1 << 20, logger: Logger = Logger(label: "http")) {
        self.defaultBodyLimit = defaultBodyLimit
        self.logger = logger
    }

    // MARK: Registration

    /// Answers `GET` and `HEAD` of exactly `path` synchronously on the event loop, without middleware
    /// or a task: for health probes, which orchestrators call every few seconds and which must stay
    /// cheap, out of access logs and out of request metrics. `handler` must not block.
    public mutating func probe(_ path: String, _ handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        precondition(path.hasPrefix("/") && probes[path] == nil, "probe \(path) must be a new absolute path")
        probes[path] = handler
    }

    /// Adds `middleware` around every request, inside the middleware added before it (the first added
    /// runs first and sees the final response last).
    public mutating func use(_ middleware: any Middleware) {
        if self.middleware.isEmpty, let inline = middleware as? any InlineMiddleware {
            inlineMiddleware.append(inline)
            return
        }
        self.middleware.append(middleware)
    }

    /// Routes `method` requests whose path matches `pattern` to `handler`, accepting bodies up to
    /// `bodyLimit` bytes (`defaultBodyLimit` when nil).
    public mutating func on(
        _ method: HTTPMethod, _ pattern: String, bodyLimit: Int? = nil, _ handler: @escaping HTTPHandler
    ) {
        add(method, pattern, bodyLimit: bodyLimit, middleware: [], handler)
    }

    /// Routes `method` requests whose path matches `pattern` to `handler`, first offering each one to
    /// `immediate` on the event loop (see `immediateResponse(preparing:)`), which answers it at once, inside
    /// the inline middleware, or returns nil to leave it to `handler`.
    ///
    /// The fast path is skipped while the router has async (non-inline) middleware, which cannot run
    /// synchronously: every request then goes to `handler`.
    public mutating func on(
        _ method: HTTPMethod, _ pattern: String, bodyLimit: Int? = nil, immediate: @escaping ImmediateHandler,
        _ handler: @escaping HTTPHandler
    ) {
        add(method, pattern, bodyLimit: bodyLimit, middleware: [], immediate: immediate, handler)
        hasImmediateRoutes = true
    }

    /// Routes `GET` (and `HEAD`) requests matching `pattern` to `handler`, offering them to `immediate` first.
    public mutating func get(
        _ pattern: String, bodyLimit: Int? = nil, immediate: @escaping ImmediateHandler,
        _ handler: @escaping HTTPHandler
    ) {
        on(.get, pattern, bodyLimit: bodyLimit, immediate: immediate, handler)
    }

    /// Routes `POST` requests matching `pattern` to `handler`, offering them to `immediate` first.
    public mutating func post(
        _ pattern: String, bodyLimit: Int? = nil, immediate: @escaping ImmediateHandler,
        _ handler: @escaping HTTPHandler
    ) {
        on(.post, pattern, bodyLimit: bodyLimit, immediate: immediate, handler)
    }

    /// Registers the routes `build` adds under `prefix` (`/api`), each wrapped in `middleware` inside
    /// the router's own (authentication for an API, say).
    ///
    /// ```swift
    /// router.group("/api", middleware: [SessionMiddleware(store)]) { api in
    ///     api.get("/users/:id") { request in … }   // GET /api/users/:id
    /// }
    /// ```
    public mutating func group(
        _ prefix: String, middleware: [any Middleware] = [], _ build: (inout RouteGroup) -> Void
    ) {
        var group = RouteGroup(router: self, prefix: prefix, middleware: middleware)
        build(&group)
        self = group.router
    }

    mutating func add(
        _ method: HTTPMethod, _ pattern: String, bodyLimit: Int?, middleware: [any Middleware],
        immediate: ImmediateHandler? = nil, _ handler: @escaping HTTPHandler
    ) {
        precondition(bodyLimit.map { $0 >= 0 } ?? true, "route \(method) \(pattern) has a negative body limit")
        let route = Route(
            method: method, pattern: pattern, segments: Self.parse(pattern), bodyLimit: bodyLimit,
            middleware: middleware, immediate: immediate, handler: handler)
        table = table.adding(route)
    }

    // MARK: HTTPResponder

    /// The matched route's body limit, or `defaultBodyLimit` when nothing matches (the request is then
    /// answered 404/405, not 413). Lock-free and allocation-free: safe on the event loop.
    public func bodyLimit(for head: HTTPRequestHead) -> Int {
        let table = self.table
        guard let index = table.find(head.method, in: head.path) else { return defaultBodyLimit }
        return table.routes[index].bodyLimit ?? defaultBodyLimit
    }

    /// Resolves the route, fills `context.routePattern` and `context.pathParameters`, and runs the
    /// middleware chain around the handler; every failure becomes a response.
    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        let table = self.table
        if let start = request.context.inlinePassStart {
            // `immediateResponse(preparing:)` routed and prepared it; its fast path declined.
            let route = table.find(request.head.method, in: request.head.path).map { table.routes[$0] }
            var response = await dispatch(request, to: route, in: table)
            complete(request, &response, prepared: inlineMiddleware.count, start: start)
            return response
        }
        if let response = immediateResponse(to: request) { return response }
        var request = request
        let route = table.find(request.head.method, in: request.head.path).map { table.routes[$0] }
        if let route {
            request.context.routePattern = route.pattern
            route.captureParameters(from: request.head.path, into: &request.context.pathParameters)
        }
        guard !inlineMiddleware.isEmpty else { return await dispatch(request, to: route, in: table) }

        let start = ContinuousClock.now
        var prepared = 0
        var response: HTTPResponse
        do {
            try prepare(&request, counting: &prepared)
            response = await dispatch(request, to: route, in: table)
        } catch {
            response = errorResponse(for: error, request: request)
        }
        complete(request, &response, prepared: prepared, start: start)
        return response
    }

    /// Runs `prepare` of every inline middleware in order, counting in `prepared` those that returned (the
    /// ones `complete` must then run for, also when a later one throws).
    private func prepare(_ request: inout HTTPRequest, counting prepared: inout Int) throws {
        for step in inlineMiddleware {
            try step.prepare(&request)
            prepared += 1
        }
    }

    /// Runs `complete` of the first `prepared` inline middleware, innermost first.
    private func complete(
        _ request: HTTPRequest, _ response: inout HTTPResponse, prepared: Int, start: ContinuousClock.Instant
    ) {
        let elapsed = ContinuousClock.now - start
        for step in inlineMiddleware[..<prepared].reversed() {
            step.complete(request, &response, elapsed: elapsed)
        }
    }

    /// Runs the async middleware and the route's handler, or answers 404/405 through them.
    private func dispatch(_ request: HTTPRequest, to route: Route?, in table: RouteTable) async -> HTTPResponse {
        if let route {
            guard !route.middleware.isEmpty else { return await run(middleware, 0, request, route.handler) }
            return await run(middleware, 0, request) { inner in
                await run(route.middleware, 0, inner, route.handler)
            }
        }
        let allowed = table.allowedMethods(in: request.head.path)
        if allowed.isEmpty {
            return await run(middleware, 0, request) { _ in throw HTTPError.notFound() }
        }
        return await run(middleware, 0, request) { _ in throw HTTPError.methodNotAllowed(allowed: allowed) }
    }

    /// The answer of a probe registered for the request's path (`GET` or `HEAD`), or nil.
    public func immediateResponse(to request: HTTPRequest) -> HTTPResponse? {
        guard !probes.isEmpty, request.head.method == .get || request.head.method == .head,
            let probe = probes[request.head.path]
        else { return nil }
        return probe(request)
    }

    /// A probe's answer, or the answer of the matched route's `ImmediateHandler` inside the inline
    /// middleware pass (prepare, fast path, complete), all synchronously.
    ///
    /// When the fast path declines, `request` comes back routed and prepared (its request id, client
    /// address and in-flight count already set) and `respond(to:)` of that request runs the handler
    /// and completes the pass: each inline middleware prepares and completes once per request either way.
    /// A `prepare` that throws is answered here, as `respond(to:)` would answer it.
    public func immediateResponse(preparing request: inout HTTPRequest) -> HTTPResponse? {
        if let response = immediateResponse(to: request) { return response }
        guard hasImmediateRoutes, middleware.isEmpty else { return nil }
        let table = self.table
        guard let index = table.find(request.head.method, in: request.head.path) else { return nil }
        let route = table.routes[index]
        guard let immediate = route.immediate, route.middleware.isEmpty else { return nil }
        request.context.routePattern = route.pattern
        route.captureParameters(from: request.head.path, into: &request.context.pathParameters)
        let start = ContinuousClock.now
        var prepared = 0
        var response: HTTPResponse
        do {
            try prepare(&request, counting: &prepared)
            guard let answer = immediate(request) else {
                request.context.inlinePassStart = start
                return nil
            }
            response = answer
        } catch {
            response = errorResponse(for: error, request: request)
        }
        complete(request, &response, prepared: prepared, start: start)
        return response
    }

    /// The pattern of the route `method` and `path` would reach, or nil; for tests and diagnostics.
    public func matchingPattern(method: HTTPMethod, path: String) -> String? {
        table.find(method, in: path).map { table.routes[$0].pattern }
    }

    // MARK: Dispatch

    /// Runs `chain[index]` and everything inside it; errors thrown at any layer become responses
    /// before the layer outside sees them, so access logs and metrics always see the final status.
    private func run(
        _ chain: [any Middleware], _ index: Int, _ request: HTTPRequest,
        _ handler: (HTTPRequest) async throws -> HTTPResponse
    ) async -> HTTPResponse {
        do {
            guard index < chain.count else { return try await handler(request) }
            return try await chain[index].handle(request) { inner in await run(chain, index + 1, inner, handler) }
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
    struct Route: Sendable {
        var method: HTTPMethod
        var pattern: String
        var segments: [Segment]
        var bodyLimit: Int?
        /// Group middleware, run inside the router's own.
        var middleware: [any Middleware]
        var handler: HTTPHandler
        /// The synchronous fast path, if the route has one.
        var immediate: ImmediateHandler?
        /// Whether any segment captures, so parameter-free routes skip the capture walk.
        var captures: Bool

        init(
            method: HTTPMethod, pattern: String, segments: [Segment], bodyLimit: Int?, middleware: [any Middleware],
            immediate: ImmediateHandler? = nil, handler: @escaping HTTPHandler
        ) {
            self.immediate = immediate
            self.middleware = middleware
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
                let end = utf8[start...].firstIndex(of: RouteTable.slash) ?? utf8.endIndex
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

/// Something routes can be added to: a `Router` or a `RouteGroup` of one. The per-method helpers
/// (`get`, `post`, …) come from this protocol.
///
/// Contract: registration mutates a value and happens on one task at startup, before the router
/// serves; an invalid pattern or a second route for the same method and path shape stops the process.
public protocol RouteRegistering {
    /// Routes `method` requests whose path matches `pattern` to `handler`, accepting bodies up to
    /// `bodyLimit` bytes (the router's default when nil).
    mutating func on(_ method: HTTPMethod, _ pattern: String, bodyLimit: Int?, _ handler: @escaping HTTPHandler)
}

extension RouteRegistering {
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
}

/// Routes registered under a common path prefix and wrapped in common middleware; made by
/// `Router.group(_:middleware:_:)`.
public struct RouteGroup: RouteRegistering {
    var router: Router
    /// The prefix prepended to every pattern (`/api`).
    public let prefix: String
    /// The middleware wrapped around every route of the group, inside the router's own.
    public let middleware: [any Middleware]

    init(router: Router, prefix: String, middleware: [any Middleware]) {
        precondition(
            prefix.isEmpty || (prefix.hasPrefix("/") && !prefix.hasSuffix("/")),
            "group prefix \(prefix) must start with / and not end with it")
        self.router = router
        self.prefix = prefix
        self.middleware = middleware
    }

    /// Routes `method` requests to `prefix + pattern`, inside the group's middleware.
    public mutating func on(
        _ method: HTTPMethod, _ pattern: String, bodyLimit: Int? = nil, _ handler: @escaping HTTPHandler
    ) {
        router.add(method, prefix + pattern, bodyLimit: bodyLimit, middleware: middleware, handler)
    }

    /// A nested group: prefixes concatenate and the nested middleware runs inside this group's.
    public mutating func group(
        _ prefix: String, middleware: [any Middleware] = [], _ build: (inout RouteGroup) -> Void
    ) {
        var nested = RouteGroup(router: router, prefix: self.prefix + prefix, middleware: self.middleware + middleware)
        build(&nested)
        router = nested.router
    }
}

/// The immutable matching tables: a segment trie, kept for registration, and a flattened copy of it
/// made of plain integers for lookups, so matching neither allocates nor touches reference counts.
///
/// A class so the request path reaches the tables through one reference instead of copying the
/// router; registration builds a new table (a handful of routes, once, at startup).
final class RouteTable: Sendable {
    /// A trie node as built by registration.
    struct TrieNode: Sendable {
        var literals: [(bytes: [UInt8], child: Int)] = []
        var parameter = -1
        var wildcard = -1
        /// Routes whose pattern ends at this node, at most one per method.
        var routes: [Int] = []
    }

    /// A trie node flattened: ranges into the shared arrays, -1 for no child.
    struct Node: Sendable {
        var literals: Range<Int>
        var parameter: Int
        var wildcard: Int
        var terminals: Range<Int>
    }

    /// A literal child: its bytes are `literalBytes[offset..<offset + length]`.
    struct Literal: Sendable {
        var offset: Int
        var length: Int
        var child: Int
    }

    static let slash = UInt8(ascii: "/")
    static let empty = RouteTable(trie: [TrieNode()], routes: [])

    let trie: [TrieNode]
    let routes: [Router.Route]
    private let nodes: [Node]
    private let literals: [Literal]
    private let literalBytes: [UInt8]
    /// The method and route of every node's terminal routes, side by side.
    private let terminalMethods: [HTTPMethod]
    private let terminalRoutes: [Int]

    private init(trie: [TrieNode], routes: [Router.Route]) {
        self.trie = trie
        self.routes = routes
        var nodes: [Node] = []
        var literals: [Literal] = []
        var literalBytes: [UInt8] = []
        var terminalMethods: [HTTPMethod] = []
        var terminalRoutes: [Int] = []
        for node in trie {
            let firstLiteral = literals.count
            for literal in node.literals {
                literals.append(Literal(offset: literalBytes.count, length: literal.bytes.count, child: literal.child))
                literalBytes += literal.bytes
            }
            let firstTerminal = terminalRoutes.count
            for route in node.routes {
                terminalMethods.append(routes[route].method)
                terminalRoutes.append(route)
            }
            nodes.append(
                Node(
                    literals: firstLiteral..<literals.count, parameter: node.parameter, wildcard: node.wildcard,
                    terminals: firstTerminal..<terminalRoutes.count))
        }
        self.nodes = nodes
        self.literals = literals
        self.literalBytes = literalBytes
        self.terminalMethods = terminalMethods
        self.terminalRoutes = terminalRoutes
    }

    /// A table with `route` added; a second route for the same method and path shape is a
    /// programming error.
    func adding(_ route: Router.Route) -> RouteTable {
        var trie = self.trie
        var routes = self.routes
        var node = 0
        func child(_ existing: Int, _ link: (inout TrieNode, Int) -> Void) -> Int {
            if existing >= 0 { return existing }
            let created = trie.count
            trie.append(TrieNode())
            link(&trie[node], created)
            return created
        }
        for segment in route.segments {
            switch segment {
            case .literal(let text):
                let bytes = Array(text.utf8)
                let existing = trie[node].literals.first { $0.bytes == bytes }?.child ?? -1
                node = child(existing) { $0.literals.append((bytes, $1)) }
            case .parameter:
                node = child(trie[node].parameter) { $0.parameter = $1 }
            case .wildcard:
                node = child(trie[node].wildcard) { $0.wildcard = $1 }
            }
        }
        let clashes = trie[node].routes.filter { routes[$0].method == route.method }
        precondition(
            clashes.isEmpty,
            "route \(route.method) \(route.pattern) clashes with "
                + clashes.map { "\(routes[$0].method) \(routes[$0].pattern)" }.joined(separator: ", "))
        routes.append(route)
        trie[node].routes.append(routes.count - 1)
        return RouteTable(trie: trie, routes: routes)
    }

    /// The route for `method` at `path`: the most specific matching path, falling back from `HEAD`
    /// to `GET`. Allocation-free.
    func find(_ method: HTTPMethod, in path: String) -> Int? {
        let bytes = path.utf8.span
        guard !bytes.isEmpty, bytes[0] == Self.slash else { return nil }
        return find(method, bytes, node: 0, from: 1)
    }

    /// Depth-first search from `node` at the segment starting at byte `start` (past the end once the
    /// path is exhausted), most specific branch first. Depth is bounded by the longest pattern, not by
    /// the request, and each level tries at most one literal, one parameter and one wildcard.
    private func find(_ method: HTTPMethod, _ bytes: Span<UInt8>, node: Int, from start: Int) -> Int? {
        let current = nodes[node]
        if start > bytes.count { return route(in: current.terminals, for: method) }
        var end = start
        while end < bytes.count && bytes[end] != Self.slash { end &+= 1 }
        if let child = literalChild(of: current, matching: bytes, start, end) {
            if let found = find(method, bytes, node: child, from: end + 1) { return found }
        }
        if current.parameter >= 0, start < end {
            if let found = find(method, bytes, node: current.parameter, from: end + 1) { return found }
        }
        if current.wildcard >= 0 {
            return route(in: nodes[current.wildcard].terminals, for: method)
        }
        return nil
    }

    private func route(in terminals: Range<Int>, for method: HTTPMethod) -> Int? {
        var getRoute: Int?
        for index in terminals {
            let candidate = terminalMethods[index]
            if candidate == method { return terminalRoutes[index] }
            if candidate == .get { getRoute = terminalRoutes[index] }
        }
        return method == .head ? getRoute : nil
    }

    /// The child for the literal equal to `bytes[start..<end]`; literals are distinct, so at most one.
    private func literalChild(of node: Node, matching bytes: Span<UInt8>, _ start: Int, _ end: Int) -> Int? {
        let length = end - start
        search: for index in node.literals {
            let literal = literals[index]
            guard literal.length == length else { continue }
            for offset in 0..<length where literalBytes[literal.offset + offset] != bytes[start + offset] {
                continue search
            }
            return literal.child
        }
        return nil
    }

    /// Every method some route at `path` accepts, sorted, with `HEAD` added where `GET` is; only
    /// computed for 405 answers.
    func allowedMethods(in path: String) -> [HTTPMethod] {
        let bytes = path.utf8.span
        guard !bytes.isEmpty, bytes[0] == Self.slash else { return [] }
        var methods = Set<HTTPMethod>()
        collectMethods(bytes, node: 0, from: 1, into: &methods)
        if methods.contains(.get) { methods.insert(.head) }
        return methods.sorted { $0.rawValue < $1.rawValue }
    }

    private func collectMethods(_ bytes: Span<UInt8>, node: Int, from start: Int, into methods: inout Set<HTTPMethod>) {
        let current = nodes[node]
        if start > bytes.count {
            methods.formUnion(terminalMethods[current.terminals])
            return
        }
        var end = start
        while end < bytes.count && bytes[end] != Self.slash { end &+= 1 }
        if let child = literalChild(of: current, matching: bytes, start, end) {
            collectMethods(bytes, node: child, from: end + 1, into: &methods)
        }
        if current.parameter >= 0, start < end {
            collectMethods(bytes, node: current.parameter, from: end + 1, into: &methods)
        }
        if current.wildcard >= 0 {
            methods.formUnion(terminalMethods[nodes[current.wildcard].terminals])
        }
    }
}
