/// An HTTP request method; any token is representable, the common ones have names.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The method token as sent on the wire (case-sensitive, per RFC 9110).
    public let rawValue: String
    /// Creates a method from its token.
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let get = HTTPMethod(rawValue: "GET")
    public static let head = HTTPMethod(rawValue: "HEAD")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let put = HTTPMethod(rawValue: "PUT")
    public static let patch = HTTPMethod(rawValue: "PATCH")
    public static let delete = HTTPMethod(rawValue: "DELETE")
    public static let options = HTTPMethod(rawValue: "OPTIONS")

    /// The methods the server implements; any other gets 501.
    public static let supported: Set<HTTPMethod> = [.get, .head, .post, .put, .patch, .delete, .options]

    /// The token itself.
    public var description: String { rawValue }
}

/// The protocol version of a message (HTTP/1.0 or HTTP/1.1).
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    /// The major version digit.
    public var major: Int
    /// The minor version digit.
    public var minor: Int
    /// Creates a version from its digits.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    /// `HTTP/1.1` and so on.
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// An ordered list of header fields with case-insensitive lookup; repeated names are kept.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The fields in the order received or added.
    public private(set) var fields: [(name: String, value: String)] = []

    /// Creates an empty header list.
    public init() {}
    /// Creates headers from name/value pairs, in order.
    public init(_ pairs: [(String, String)]) { fields = pairs.map { (name: $0.0, value: $0.1) } }
    /// Creates headers from a literal, in order.
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    /// Adds a field, keeping any existing one of the same name.
    public mutating func add(name: String, value: String) { fields.append((name, value)) }

    /// Replaces every field named `name` with one field.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        fields.append((name, value))
    }

    /// Removes every field named `name`.
    public mutating func remove(name: String) {
        fields.removeAll { $0.name.caseInsensitiveEquals(name) }
    }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// Every value of `name`, in order.
    public func values(for name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    /// Whether a comma-separated header (such as `Connection`) lists `token`, case-insensitively.
    public func contains(name: String, token: String) -> Bool {
        values(for: name).contains { value in
            value.split(separator: ",").contains {
                $0.trimmingSpaces().caseInsensitiveEquals(token)
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// A response status code with its reason phrase.
public struct HTTPStatus: Hashable, Sendable, CustomStringConvertible {
    /// The three-digit code.
    public let code: Int
    /// The reason phrase written on the status line.
    public let reasonPhrase: String

    /// Creates a status; the reason phrase defaults to the standard one for `code`.
    public init(code: Int, reasonPhrase: String? = nil) {
        self.code = code
        self.reasonPhrase = reasonPhrase ?? HTTPStatus.standardReasons[code] ?? "Unknown"
    }

    /// `404 Not Found` and so on.
    public var description: String { "\(code) \(reasonPhrase)" }

    public static let `continue` = HTTPStatus(code: 100)
    public static let ok = HTTPStatus(code: 200)
    public static let created = HTTPStatus(code: 201)
    public static let accepted = HTTPStatus(code: 202)
    public static let noContent = HTTPStatus(code: 204)
    public static let movedPermanently = HTTPStatus(code: 301)
    public static let found = HTTPStatus(code: 302)
    public static let seeOther = HTTPStatus(code: 303)
    public static let notModified = HTTPStatus(code: 304)
    public static let badRequest = HTTPStatus(code: 400)
    public static let unauthorized = HTTPStatus(code: 401)
    public static let forbidden = HTTPStatus(code: 403)
    public static let notFound = HTTPStatus(code: 404)
    public static let methodNotAllowed = HTTPStatus(code: 405)
    public static let requestTimeout = HTTPStatus(code: 408)
    public static let conflict = HTTPStatus(code: 409)
    public static let lengthRequired = HTTPStatus(code: 411)
    public static let payloadTooLarge = HTTPStatus(code: 413)
    public static let uriTooLong = HTTPStatus(code: 414)
    public static let unsupportedMediaType = HTTPStatus(code: 415)
    public static let expectationFailed = HTTPStatus(code: 417)
    public static let unprocessableContent = HTTPStatus(code: 422)
    public static let tooManyRequests = HTTPStatus(code: 429)
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431)
    public static let internalServerError = HTTPStatus(code: 500)
    public static let notImplemented = HTTPStatus(code: 501)
    public static let badGateway = HTTPStatus(code: 502)
    public static let serviceUnavailable = HTTPStatus(code: 503)
    public static let gatewayTimeout = HTTPStatus(code: 504)
    public static let httpVersionNotSupported = HTTPStatus(code: 505)

    static let standardReasons: [Int: String] = [
        100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted",
        204: "No Content", 206: "Partial Content", 301: "Moved Permanently", 302: "Found", 303: "See Other",
        304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
        401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
        406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required",
        412: "Precondition Failed", 413: "Content Too Large", 414: "URI Too Long",
        415: "Unsupported Media Type", 416: "Range Not Satisfiable", 417: "Expectation Failed",
        422: "Unprocessable Content", 423: "Locked", 428: "Precondition Required", 429: "Too Many Requests",
        431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
        502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
        505: "HTTP Version Not Supported",
    ]
}

/// The request line and header fields of a request, available before its body has arrived.
public struct HTTPRequestHead: Sendable {
    /// The request method.
    public var method: HTTPMethod
    /// The request target exactly as sent (`/v2/token?service=x`).
    public var target: String
    /// The percent-decoded path of the target, without the query.
    public var path: String
    /// The decoded query parameters in order; repeated names are kept (`scope` repeats).
    public var query: [(name: String, value: String)]
    /// The protocol version.
    public var version: HTTPVersion
    /// The header fields.
    public var headers: HTTPHeaders

    /// Creates a request head.
    public init(
        method: HTTPMethod, target: String, path: String, query: [(name: String, value: String)] = [],
        version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders()
    ) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
    }

    /// The first value of query parameter `name`, or nil.
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// Every value of query parameter `name`, in order.
    public func queryValues(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }

    /// Whether the connection stays open after this request (HTTP/1.1 default, 1.0 opt-in).
    public var keepAlive: Bool {
        if headers.contains(name: "Connection", token: "close") { return false }
        if version == .http1_0 { return headers.contains(name: "Connection", token: "keep-alive") }
        return true
    }
}

/// Facts about the connection a request came in on, filled by the server.
public struct HTTPConnectionInfo: Sendable {
    /// The peer's IP address as text (`127.0.0.1`, `::1`).
    public var remoteAddress: String
    /// The peer's port.
    public var remotePort: Int
    /// Whether the request arrived over TLS terminated by this process.
    public var isTLS: Bool

    /// Creates connection facts.
    public init(remoteAddress: String = "127.0.0.1", remotePort: Int = 0, isTLS: Bool = false) {
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.isTLS = isTLS
    }
}

/// A complete request: head, body and where it came from.
public struct HTTPRequest: Sendable {
    /// The request line and headers.
    public var head: HTTPRequestHead
    /// The body bytes (de-chunked); empty when there was none.
    public var body: [UInt8]
    /// The connection it arrived on.
    public var connection: HTTPConnectionInfo
    /// Values set by the router and middleware (path parameters, request id, client address).
    public var context: RequestContext

    /// Creates a request.
    public init(
        head: HTTPRequestHead, body: [UInt8] = [], connection: HTTPConnectionInfo = HTTPConnectionInfo(),
        context: RequestContext = RequestContext()
    ) {
        self.head = head
        self.body = body
        self.connection = connection
        self.context = context
    }

    /// The request method.
    public var method: HTTPMethod { head.method }
    /// The decoded path.
    public var path: String { head.path }
    /// The header fields.
    public var headers: HTTPHeaders { head.headers }
}

/// Per-request values added while routing: path parameters, the request id, the client address
/// after trusted-proxy resolution.
public struct RequestContext: Sendable {
    /// Values captured from `:name` segments of the matched route.
    public var pathParameters: [String: String] = [:]
    /// The id of this request, echoed as `X-Request-Id` and logged.
    public var requestID: String = ""
    /// The client IP: the peer, or the `X-Forwarded-For` client when the peer is a trusted proxy.
    public var clientAddress: String = ""
    /// Whether the original request was HTTPS (directly or per a trusted proxy's `X-Forwarded-Proto`).
    public var isSecure: Bool = false
    /// The route pattern that matched (`/v2/token`), used as a low-cardinality metrics label.
    public var routePattern: String = ""
    /// When the router's inline middleware pass began, once `Router.immediateResponse(preparing:)` has
    /// routed the request and prepared it but left it to `respond(to:)`: that pass is then not begun again.
    var inlinePassStart: ContinuousClock.Instant?

    /// Creates an empty context.
    public init() {}
}

/// A response: status, headers and a body held in memory.
public struct HTTPResponse: Sendable {
    /// The status.
    public var status: HTTPStatus
    /// The header fields; the server adds `Date`, `Content-Length` and `Connection`.
    public var headers: HTTPHeaders
    /// The body bytes (not sent for HEAD requests, 1xx, 204 and 304).
    public var body: [UInt8]

    /// Creates a response.
    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// An `application/json` response from already-encoded JSON.
    public static func json(_ json: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: json)
    }
}

/// Produces responses for requests; the HTTP server calls it for every request it parses.
///
/// Contract: `bodyLimit(for:)` runs on an I/O event-loop thread, so it must be fast and must not
/// block or await. `respond(to:)` runs as a Swift task that prefers its connection's event loop as
/// executor (no thread hop for work that does not suspend): it must not block (blocking C calls go
/// to a `BlockingPool`), should keep synchronous CPU work short (it delays that loop's other
/// connections, as in nginx), and never throws; failures become error responses.
public protocol HTTPResponder: Sendable {
    /// The largest body, in bytes, accepted for a request with this head; larger gets 413.
    func bodyLimit(for head: HTTPRequestHead) -> Int
    /// Handles one complete request.
    func respond(to request: HTTPRequest) async -> HTTPResponse
    /// The answer to `request` if it can be given at once, synchronously, on the event loop (health
    /// probes); nil sends the request to `respond(to:)`. Must be as cheap as `bodyLimit(for:)`.
    func immediateResponse(to request: HTTPRequest) -> HTTPResponse?
    /// Like `immediateResponse(to:)`, but may also do the first part of the work `respond(to:)` would do
    /// (routing, middleware preparation) and note it in `request`: when it returns nil, the caller must
    /// pass this `request`, not the original, to `respond(to:)`. The server asks this one.
    func immediateResponse(preparing request: inout HTTPRequest) -> HTTPResponse?
}

extension HTTPResponder {
    /// Responders without synchronous routes answer everything through `respond(to:)`.
    public func immediateResponse(to request: HTTPRequest) -> HTTPResponse? { nil }

    /// Responders that prepare nothing ahead answer from `immediateResponse(to:)`.
    public func immediateResponse(preparing request: inout HTTPRequest) -> HTTPResponse? {
        immediateResponse(to: request)
    }
}

extension StringProtocol {
    /// ASCII case-insensitive equality, as header names and tokens require.
    public func caseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        func lowered(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte | 0x20 : byte }
        // Native strings are contiguous UTF-8: compare the buffers directly (header lookups run this
        // for every field of every request).
        let compared = a.withContiguousStorageIfAvailable { x in
            b.withContiguousStorageIfAvailable { y in
                for index in 0..<x.count where lowered(x[index]) != lowered(y[index]) { return false }
                return true
            }
        }
        if let compared, let result = compared { return result }
        return zip(a, b).allSatisfy { lowered($0) == lowered($1) }
    }

    /// The string without leading and trailing spaces and tabs (optional whitespace, RFC 9110).
    public func trimmingSpaces() -> Substring {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
