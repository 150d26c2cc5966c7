// Writes HTTP/1.1 responses as bytes: status line, headers the server owns, body.

/// Serializes responses into a reusable byte buffer, caching the `Date` header for a second.
///
/// Not thread-safe: each event loop owns one serializer.
public struct HTTPResponseSerializer: Sendable {
    private var cachedSecond = Int.min
    private var cachedDate: [UInt8] = []

    /// Creates a serializer.
    public init() {}

    /// The interim response that tells a client to send the body it announced with `Expect: 100-continue`.
    public static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Appends `response` to `buffer` as the answer to a request with `requestMethod`.
    ///
    /// The serializer owns `Date`, `Content-Length`, `Transfer-Encoding` and `Connection`: those set by
    /// the responder are replaced, except that a HEAD response with an empty body keeps the
    /// responder's `Content-Length` (the length a GET would have had). No body is written for HEAD,
    /// 1xx, 204 and 304. `Connection: close` is written when `keepAlive` is false, and
    /// `Connection: keep-alive` when an HTTP/1.0 client is kept alive.
    public mutating func serialize(
        _ response: HTTPResponse, requestMethod: HTTPMethod, requestVersion: HTTPVersion, keepAlive: Bool,
        epochSeconds: Int, into buffer: inout [UInt8]
    ) {
        let code = response.status.code
        let bodyless = requestMethod == .head || (100..<200).contains(code) || code == 204 || code == 304
        let lengthAllowed = !(100..<200).contains(code) && code != 204

        buffer.append(contentsOf: statusLinePrefix)
        appendDecimal(min(max(code, 100), 999), to: &buffer)
        buffer.append(space)
        appendSanitized(response.status.reasonPhrase, to: &buffer)
        buffer.append(contentsOf: crlf)

        var headContentLength: String? = nil
        for field in response.headers.fields {
            let name = field.name
            if name.caseInsensitiveEquals("content-length") {
                headContentLength = field.value
                continue
            }
            if name.caseInsensitiveEquals("date") || name.caseInsensitiveEquals("connection")
                || name.caseInsensitiveEquals("transfer-encoding")
            {
                continue
            }
            // A name that is not a token would let a responder smuggle header lines: drop it.
            guard !name.isEmpty, name.utf8.allSatisfy(isFieldNameByte) else { continue }
            buffer.append(contentsOf: name.utf8)
            buffer.append(contentsOf: colonSpace)
            appendSanitized(field.value, to: &buffer)
            buffer.append(contentsOf: crlf)
        }

        buffer.append(contentsOf: datePrefix)
        buffer.append(contentsOf: date(epochSeconds))
        buffer.append(contentsOf: crlf)

        if lengthAllowed && code != 304 {
            if requestMethod == .head && response.body.isEmpty, let declared = headContentLength,
                !declared.isEmpty, declared.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
            {
                buffer.append(contentsOf: contentLengthPrefix)
                buffer.append(contentsOf: declared.utf8)
                buffer.append(contentsOf: crlf)
            } else {
                buffer.append(contentsOf: contentLengthPrefix)
                appendDecimal(response.body.count, to: &buffer)
                buffer.append(contentsOf: crlf)
            }
        }
        if !keepAlive {
            buffer.append(contentsOf: connectionClose)
        } else if requestVersion == .http1_0 {
            buffer.append(contentsOf: connectionKeepAlive)
        }
        buffer.append(contentsOf: crlf)
        if !bodyless { buffer.append(contentsOf: response.body) }
    }

    /// The response sent for a request that could not be parsed, before closing: the same error document
    /// every other refusal uses (`{"errors":[{"code":"BODY_TOO_LARGE","message":"…"}]}`), with a fresh
    /// `X-Request-Id` (`requestID`), so an API client parses it like any other error and can quote the id.
    public static func errorResponse(for error: HTTPParseError, requestID: String = RequestIDMiddleware.generateID())
        -> HTTPResponse
    {
        var response = HTTPError(error.status, code: error.publicCode, message: error.publicMessage).response()
        response.headers.replaceOrAdd(name: RequestIDMiddleware.headerName, value: requestID)
        return response
    }

    /// The IMF-fixdate for `epochSeconds`, formatted at most once per second.
    private mutating func date(_ epochSeconds: Int) -> [UInt8] {
        if epochSeconds != cachedSecond {
            cachedSecond = epochSeconds
            cachedDate = Array(HTTPDate.format(epochSeconds: epochSeconds).utf8)
        }
        return cachedDate
    }
}

/// HTTP dates (IMF-fixdate, RFC 9110 §5.6.7) computed without Foundation.
public enum HTTPDate {
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats seconds since the Unix epoch as `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func format(epochSeconds: Int) -> String {
        let days = epochSeconds >= 0 ? epochSeconds / 86400 : (epochSeconds - 86399) / 86400
        let secondsOfDay = epochSeconds - days * 86400
        let weekday = weekdays[((days % 7) + 7) % 7]
        // Howard Hinnant's days_from_civil inverse.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekday), \(two(day)) \(months[month - 1]) \(year) \(two(secondsOfDay / 3600)):"
            + "\(two(secondsOfDay / 60 % 60)):\(two(secondsOfDay % 60)) GMT"
    }
}

private let space: UInt8 = 0x20
private let crlf: [UInt8] = [0x0D, 0x0A]
private let colonSpace: [UInt8] = [0x3A, 0x20]
private let statusLinePrefix: [UInt8] = Array("HTTP/1.1 ".utf8)
private let datePrefix: [UInt8] = Array("Date: ".utf8)
private let contentLengthPrefix: [UInt8] = Array("Content-Length: ".utf8)
private let connectionClose: [UInt8] = Array("Connection: close\r\n".utf8)
private let connectionKeepAlive: [UInt8] = Array("Connection: keep-alive\r\n".utf8)

private func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
    let value = max(0, value)
    var divisor = 1
    while divisor <= value / 10 { divisor *= 10 }
    while divisor > 0 {
        buffer.append(0x30 + UInt8(value / divisor % 10))
        divisor /= 10
    }
}

/// Field values and reason phrases never carry CR, LF or other controls onto the wire.
private func appendSanitized(_ text: String, to buffer: inout [UInt8]) {
    if !text.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
        buffer.append(contentsOf: text.utf8)
        return
    }
    for byte in text.utf8 {
        buffer.append((byte < 0x20 && byte != 0x09) || byte == 0x7F ? space : byte)
    }
}

private func isFieldNameByte(_ byte: UInt8) -> Bool {
    (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
        || "!#$%&'*+-.^_`|~".utf8.contains(byte)
}
