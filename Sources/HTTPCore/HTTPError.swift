import Diagnostics

/// An error that knows the HTTP response it stands for; handlers and middleware throw these to answer
/// a request with a client-visible failure.
///
/// Contract: `response()` must not reveal internals (file paths, SQL, stack traces, secrets); it is
/// sent verbatim. Any thrown error that does not conform becomes a generic 500 whose details are only
/// logged. Conformers must be cheap to build, since hostile clients can trigger them at will.
public protocol HTTPResponseError: Error {
    /// The status of the response.
    var status: HTTPStatus { get }
    /// The full response sent to the client.
    func response() -> HTTPResponse
}

/// A client-visible failure: a status, a stable machine-readable code, a public message and optional
/// extra headers, rendered as the Docker registry's error document
/// `{"errors":[{"code":"NOT_FOUND","message":"…"}]}`.
///
/// Two errors are equal when their codes and statuses are, so tests can write
/// `#expect(throws: HTTPError.notFound())` without repeating the message.
public struct HTTPError: HTTPResponseError, Equatable, CustomStringConvertible {
    /// The response status.
    public var status: HTTPStatus
    /// A stable, upper-case code clients may branch on (`NOT_FOUND`, `BODY_TOO_LARGE`).
    public var code: String
    /// A human-readable message sent to the client; never put secrets or internal details here.
    public var message: String
    /// Headers added to the response (`WWW-Authenticate`, `Allow`, `Retry-After`).
    public var headers: HTTPHeaders

    /// Creates an error from its parts.
    public init(_ status: HTTPStatus, code: String, message: String, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    /// The JSON error document with `headers` and `Content-Type: application/json`.
    public func response() -> HTTPResponse {
        var response = HTTPResponse.json(Self.errorDocument([self]), status: status)
        // Added, not replaced: several `WWW-Authenticate` challenges must all reach the client.
        if headers["Content-Type"] != nil { response.headers.remove(name: "Content-Type") }
        for (name, value) in headers { response.headers.add(name: name, value: value) }
        return response
    }

    /// `HTTPError(404 NOT_FOUND: no route matches the path)`, for logs.
    public var description: String { "HTTPError(\(status.code) \(code): \(message))" }

    /// Equal when code and status are; the message and headers are presentation.
    public static func == (lhs: HTTPError, rhs: HTTPError) -> Bool {
        lhs.code == rhs.code && lhs.status == rhs.status
    }

    /// The bytes of `{"errors":[{"code":…,"message":…},…]}` for several errors at once (the registry
    /// protocol allows a list).
    public static func errorDocument(_ errors: [HTTPError]) -> [UInt8] {
        var json = #"{"errors":["#
        for (index, error) in errors.enumerated() {
            if index > 0 { json += "," }
            json += #"{"code":"# + JSONText.quoted(error.code)
            json += #","message":"# + JSONText.quoted(error.message) + "}"
        }
        json += "]}"
        return Array(json.utf8)
    }
}

// MARK: Common errors

extension HTTPError {
    /// 400 `BAD_REQUEST`: the request is malformed.
    public static func badRequest(_ message: String = "The request is malformed.") -> HTTPError {
        HTTPError(.badRequest, code: "BAD_REQUEST", message: message)
    }

    /// 401 `UNAUTHORIZED`: credentials are missing or wrong; `challenge` becomes `WWW-Authenticate`
    /// (for example `Basic realm="Portcullis"` or a registry `Bearer realm=…,service=…` challenge).
    public static func unauthorized(
        _ message: String = "Authentication is required.", challenge: String? = nil
    ) -> HTTPError {
        var headers = HTTPHeaders()
        if let challenge { headers.add(name: "WWW-Authenticate", value: challenge) }
        return HTTPError(.unauthorized, code: "UNAUTHORIZED", message: message, headers: headers)
    }

    /// 403 `DENIED`: authenticated but not allowed (the registry protocol's code for this).
    public static func forbidden(_ message: String = "Access to the resource is denied.") -> HTTPError {
        HTTPError(.forbidden, code: "DENIED", message: message)
    }

    /// 404 `NOT_FOUND`: nothing lives at this path.
    public static func notFound(_ message: String = "Nothing matches the requested path.") -> HTTPError {
        HTTPError(.notFound, code: "NOT_FOUND", message: message)
    }

    /// 405 `METHOD_NOT_ALLOWED` with an `Allow` header listing `allowed`.
    public static func methodNotAllowed(allowed: [HTTPMethod]) -> HTTPError {
        HTTPError(
            .methodNotAllowed, code: "METHOD_NOT_ALLOWED",
            message: "The method is not allowed for the requested path.",
            headers: ["Allow": allowed.map(\.rawValue).joined(separator: ", ")])
    }

    /// 409 `CONFLICT`: the request conflicts with the current state of the resource.
    public static func conflict(_ message: String) -> HTTPError {
        HTTPError(.conflict, code: "CONFLICT", message: message)
    }

    /// 413 `BODY_TOO_LARGE`: the body exceeds `limit` bytes.
    public static func bodyTooLarge(limit: Int) -> HTTPError {
        HTTPError(
            .payloadTooLarge, code: "BODY_TOO_LARGE",
            message: "The request body exceeds the limit of \(limit) bytes.")
    }

    /// 415 `UNSUPPORTED_MEDIA_TYPE`: the body's `Content-Type` is not accepted here.
    public static func unsupportedMediaType(_ message: String = "The content type is not supported.") -> HTTPError {
        HTTPError(.unsupportedMediaType, code: "UNSUPPORTED_MEDIA_TYPE", message: message)
    }

    /// 429 `TOO_MANY_REQUESTS`, with `Retry-After` when `retryAfterSeconds` is given.
    public static func tooManyRequests(retryAfterSeconds: Int? = nil) -> HTTPError {
        var headers = HTTPHeaders()
        if let retryAfterSeconds { headers.add(name: "Retry-After", value: String(retryAfterSeconds)) }
        return HTTPError(
            .tooManyRequests, code: "TOO_MANY_REQUESTS", message: "Too many requests; slow down.",
            headers: headers)
    }

    /// 500 `INTERNAL_ERROR`, the generic answer for every failure that is not the client's; it never
    /// says what went wrong.
    public static let internalServerError = HTTPError(
        .internalServerError, code: "INTERNAL_ERROR", message: "An internal error occurred.")

    /// 503 `UNAVAILABLE`: a dependency (directory, database) is down; `Retry-After` when given.
    public static func serviceUnavailable(
        _ message: String = "The service is temporarily unavailable.", retryAfterSeconds: Int? = nil
    ) -> HTTPError {
        var headers = HTTPHeaders()
        if let retryAfterSeconds { headers.add(name: "Retry-After", value: String(retryAfterSeconds)) }
        return HTTPError(.serviceUnavailable, code: "UNAVAILABLE", message: message, headers: headers)
    }
}
