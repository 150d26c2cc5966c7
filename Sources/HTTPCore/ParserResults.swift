import Diagnostics

// What HTTPRequestParser hands back: its events, the framing it found and its errors.

/// Why a request could not be parsed; each code maps to one response status.
public struct HTTPParseError: CodedError, Sendable {
    /// A stable identifier of the failure, usable in logs, metrics and tests.
    public enum Code: String, Sendable, CaseIterable {
        /// The request line or header section (or a chunked trailer section) exceeds the limit: 431.
        case headerTooLarge = "http.header_too_large"
        /// The body exceeds the responder's limit: 413.
        case bodyTooLarge = "http.body_too_large"
        /// The request line is not `method SP target SP version`: 400.
        case malformedRequestLine = "http.malformed_request_line"
        /// A header line has no colon, an empty or invalid name, or whitespace before the colon: 400.
        case malformedHeader = "http.malformed_header"
        /// A control character, bare CR or bare LF appears where it is not allowed: 400.
        case invalidCharacter = "http.invalid_character"
        /// A header line starts with whitespace (obsolete line folding): 400.
        case obsoleteLineFolding = "http.obs_fold"
        /// A chunk-size line or the CRLF after chunk data is malformed: 400.
        case invalidChunk = "http.invalid_chunk"
        /// Both Content-Length and Transfer-Encoding are present, or Transfer-Encoding on HTTP/1.0: 400.
        case conflictingFraming = "http.conflicting_framing"
        /// Content-Length is not a decimal number, or several disagree: 400.
        case invalidContentLength = "http.invalid_content_length"
        /// An HTTP/1.1 request without exactly one Host header: 400.
        case invalidHost = "http.invalid_host"
        /// The request target is not origin-form, absolute-form or `*`: 400.
        case invalidTarget = "http.invalid_target"
        /// A `%` escape in the path or query is malformed or decodes to invalid UTF-8 or NUL: 400.
        case invalidPercentEncoding = "http.invalid_percent_encoding"
        /// The method is a valid token the server does not implement: 501.
        case unsupportedMethod = "http.unsupported_method"
        /// A transfer-coding other than `chunked` was used: 501.
        case unsupportedTransferCoding = "http.unsupported_transfer_coding"
        /// A well-formed HTTP version other than 1.0 or 1.1: 505.
        case unsupportedVersion = "http.unsupported_version"
    }

    /// What went wrong, as a stable code.
    public let code: Code
    /// A short explanation for logs; it never contains request bytes.
    public let reason: String

    /// Creates an error.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The code clients see in the error document, in the API's spelling (`BODY_TOO_LARGE`).
    public var publicCode: String { String(code.rawValue.dropFirst("http.".count)).uppercased() }

    /// What the client sees: the rule the request broke, never the request's bytes.
    public var publicMessage: String {
        switch code {
        case .headerTooLarge: "The request line or headers are too large."
        case .bodyTooLarge: "The body is too large for this resource."
        case .malformedRequestLine: "The request line is malformed."
        case .malformedHeader: "A header line is malformed."
        case .invalidCharacter: "The request holds a control character where none is allowed."
        case .obsoleteLineFolding: "Folded header lines are not accepted."
        case .invalidChunk: "The chunked body is malformed."
        case .conflictingFraming: "The request gives both Content-Length and Transfer-Encoding."
        case .invalidContentLength: "Content-Length is invalid."
        case .invalidHost: "An HTTP/1.1 request needs exactly one Host header."
        case .invalidTarget: "The request target is invalid."
        case .invalidPercentEncoding: "A percent escape in the path or query is invalid."
        case .unsupportedMethod: "The method is not implemented."
        case .unsupportedTransferCoding: "Only the chunked transfer coding is accepted."
        case .unsupportedVersion: "Only HTTP/1.0 and HTTP/1.1 are supported."
        }
    }

    /// The status the server answers with before closing the connection.
    public var status: HTTPStatus {
        switch code {
        case .headerTooLarge: return .requestHeaderFieldsTooLarge
        case .bodyTooLarge: return .payloadTooLarge
        case .unsupportedMethod, .unsupportedTransferCoding: return .notImplemented
        case .unsupportedVersion: return .httpVersionNotSupported
        default: return .badRequest
        }
    }

}

/// What the parser found in the bytes given to it so far.
public enum HTTPRequestParserEvent: Sendable {
    /// The request line and headers are complete; the body (if any) follows.
    ///
    /// This is the moment to decide the body limit (`beginBody(limit:)`) and to answer
    /// `Expect: 100-continue`.
    case head(HTTPRequestHead)
    /// The request is complete; `body` is de-chunked and empty when there was none.
    case complete(body: [UInt8])
}

/// How the body of the current request is delimited.
public enum HTTPBodyFraming: Sendable, Equatable {
    /// No body.
    case none
    /// Exactly this many bytes follow the head.
    case length(Int)
    /// A chunked body of unknown length follows.
    case chunked
}
