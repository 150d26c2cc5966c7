import Diagnostics

/// Sends outbound HTTP requests (webhooks, OIDC discovery and JWKS, registry API calls).
///
/// Threading contract: `send` may be called concurrently from any task, and implementations must never
/// block the caller's thread (blocking I/O belongs on a `BlockingPool`). Every HTTP status, including
/// 4xx and 5xx, is a returned `InboundResponse`; `send` throws an `HTTPClientError` only when no
/// complete, acceptable response arrived (bad request, connection or TLS failure, timeout, a body over
/// the size limit). Cancelling the calling task does not interrupt a request in flight: the
/// request's own timeouts bound it.
public protocol HTTPFetching: Sendable {
    /// Sends `request` and returns the final response (after redirects, when following them is enabled).
    func send(_ request: OutboundRequest) async throws -> InboundResponse
}

/// An HTTP request Portcullis sends to another server.
public struct OutboundRequest: Sendable {
    /// The request method; only the methods below are supported.
    public struct Method: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The method token, such as "GET".
        public let rawValue: String
        /// Wraps a method token; anything outside `supported` is refused when the request is sent.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The method token.
        public var description: String { rawValue }

        /// GET.
        public static let get = Method(rawValue: "GET")
        /// HEAD (the response has no body).
        public static let head = Method(rawValue: "HEAD")
        /// POST.
        public static let post = Method(rawValue: "POST")
        /// PUT.
        public static let put = Method(rawValue: "PUT")
        /// PATCH.
        public static let patch = Method(rawValue: "PATCH")
        /// DELETE.
        public static let delete = Method(rawValue: "DELETE")
        /// Every method a client implementation must accept.
        public static let supported: Set<Method> = [.get, .head, .post, .put, .patch, .delete]
    }

    /// The request method.
    public var method: Method
    /// The absolute `http://` or `https://` URL.
    public var url: String
    /// Header fields to send, in order; `Content-Length`, `Transfer-Encoding` and CR/LF are refused.
    public var headers: [(name: String, value: String)]
    /// The body, if any; GET and HEAD requests must not have one.
    public var body: [UInt8]?
    /// The limit for the whole exchange; nil means the client's default.
    public var timeout: Duration?
    /// The limit for establishing the connection (TCP and TLS); nil means the client's default.
    public var connectTimeout: Duration?
    /// The largest accepted response body in bytes; nil means the client's default.
    public var maxResponseBytes: Int?
    /// Whether to follow 3xx redirects; nil means the client's default (which is not to follow).
    public var followRedirects: Bool?

    /// Creates a request; only `url` is required.
    public init(
        method: Method = .get, url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
        timeout: Duration? = nil, connectTimeout: Duration? = nil, maxResponseBytes: Int? = nil,
        followRedirects: Bool? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
        self.followRedirects = followRedirects
    }
}

/// The response to an `OutboundRequest`.
public struct InboundResponse: Sendable {
    /// The HTTP status code, such as 200 or 404.
    public var status: Int
    /// The header fields of the final response, in order, names as the server sent them.
    public var headers: [(name: String, value: String)]
    /// The body bytes (empty for HEAD).
    public var body: [UInt8]

    /// Creates a response (useful for test doubles of `HTTPFetching`).
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of the header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// Every value of the header `name`, compared case-insensitively, in order.
    public func values(for name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    /// The body decoded as UTF-8 (invalid sequences become U+FFFD).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A failed outbound request: a stable code to branch on, plus the transport's message for logs.
///
/// Two errors are equal when their codes are equal, so `#expect(throws: HTTPClientError.timeout)` works.
public struct HTTPClientError: CodedError, Sendable {
    /// The stable kind of failure.
    public enum Code: String, Sendable, CaseIterable {
        /// The URL is malformed or not `http`/`https`.
        case invalidURL = "http_client.invalid_url"
        /// The request itself is unacceptable (bad header, body on GET, bad limits, unknown method).
        case invalidRequest = "http_client.invalid_request"
        /// The connect or total timeout expired.
        case timeout = "http_client.timeout"
        /// The server could not be resolved or reached, or the connection broke.
        case connectionFailed = "http_client.connection_failed"
        /// The TLS handshake or certificate verification failed.
        case tlsFailed = "http_client.tls_failed"
        /// The response (body or headers) exceeded the size limit.
        case responseTooLarge = "http_client.response_too_large"
        /// More redirects than allowed.
        case tooManyRedirects = "http_client.too_many_redirects"
        /// Any other transfer failure.
        case transferFailed = "http_client.transfer_failed"
    }

    /// The stable kind of failure.
    public let code: Code
    /// The transport's explanation (libcurl's message), for logs.
    public let message: String

    /// Creates an error with a code and a message for logs.
    public init(_ code: Code, message: String = "") {
        self.code = code
        self.message = message
    }

    /// The message, as `CodedError` names it.
    public var reason: String { message }

    /// An error with code `.invalidURL`, for matching.
    public static let invalidURL = HTTPClientError(.invalidURL)
    /// An error with code `.invalidRequest`, for matching.
    public static let invalidRequest = HTTPClientError(.invalidRequest)
    /// An error with code `.timeout`, for matching.
    public static let timeout = HTTPClientError(.timeout)
    /// An error with code `.connectionFailed`, for matching.
    public static let connectionFailed = HTTPClientError(.connectionFailed)
    /// An error with code `.tlsFailed`, for matching.
    public static let tlsFailed = HTTPClientError(.tlsFailed)
    /// An error with code `.responseTooLarge`, for matching.
    public static let responseTooLarge = HTTPClientError(.responseTooLarge)
    /// An error with code `.tooManyRedirects`, for matching.
    public static let tooManyRedirects = HTTPClientError(.tooManyRedirects)
    /// An error with code `.transferFailed`, for matching.
    public static let transferFailed = HTTPClientError(.transferFailed)
}

/// The fetcher a `ProviderContext` holds when the composition root handed none: every request fails with
/// `.connectionFailed`, so a provider that needs the network says so instead of reaching out unannounced.
public struct NoHTTPFetching: HTTPFetching {
    /// Creates the refusing fetcher.
    public init() {}

    /// Always throws `HTTPClientError(.connectionFailed)`.
    public func send(_ request: OutboundRequest) async throws -> InboundResponse {
        throw HTTPClientError(.connectionFailed, message: "no HTTP client was handed to this component")
    }
}
