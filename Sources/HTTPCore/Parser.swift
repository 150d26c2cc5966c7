import Diagnostics

// An incremental HTTP/1.1 request parser working on bytes (RFC 9110 / RFC 9112).
//
// Strictness is deliberate: anything that two parsers could read differently (request smuggling
// material such as obs-fold, bare CR or LF, Content-Length next to Transfer-Encoding, conflicting
// lengths) is refused with 400 instead of being guessed at.

/// An incremental HTTP/1.x request parser: append bytes as they arrive, then call `next()` until it
/// returns nil.
///
/// Bytes after a complete request stay buffered for the next one (pipelining). After an error every
/// later `next()` throws the same error; the connection must be answered with `error.status` and
/// closed. Not thread-safe: one parser belongs to one connection.
public struct HTTPRequestParser: Sendable {
    /// The largest request line plus header section (and the largest chunked trailer section).
    public let maxHeaderBytes: Int
    /// The body limit used when `beginBody(limit:)` is not called after a head.
    public var defaultBodyLimit: Int

    private enum State: Sendable {
        case head
        case awaitingBodyLimit
        case contentBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed(HTTPParseError)
    }

    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Where the search for the end of the head resumes, so byte-by-byte input stays linear.
    private var scanIndex = 0
    private var state: State = .head
    private var body: [UInt8] = []
    private var bodyLimit = 0
    private var trailerBytes = 0

    /// The framing of the request whose head was returned last (valid until it completes).
    public private(set) var framing: HTTPBodyFraming = .none

    /// Bytes received but not yet consumed by a complete event.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Whether the parser sits between requests with nothing buffered.
    public var isIdle: Bool {
        if case .head = state { return readIndex == buffer.count }
        return false
    }

    /// Whether the parser has started reading a request whose head is not complete yet.
    public var isReadingHead: Bool {
        if case .head = state { return readIndex < buffer.count }
        return false
    }

    /// Creates a parser with the given limits (16 KiB of head, 1 MiB of body by default).
    public init(maxHeaderBytes: Int = 16 * 1024, defaultBodyLimit: Int = 1024 * 1024) {
        self.maxHeaderBytes = maxHeaderBytes
        self.defaultBodyLimit = defaultBodyLimit
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: ArraySlice<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: [UInt8]) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    private mutating func compact() {
        if readIndex == buffer.count {
            if !buffer.isEmpty { buffer.removeAll(keepingCapacity: true) }
            readIndex = 0
            scanIndex = 0
        } else if readIndex >= 4096 && readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
            scanIndex = max(0, scanIndex - readIndex)
            readIndex = 0
        }
    }

    /// Sets the body limit for the request whose head was just returned.
    ///
    /// Throws `bodyTooLarge` at once when a Content-Length already exceeds it, so the server can
    /// refuse an `Expect: 100-continue` request without reading the body.
    public mutating func beginBody(limit: Int) throws(HTTPParseError) {
        guard case .awaitingBodyLimit = state else { return }
        bodyLimit = max(0, limit)
        switch framing {
        case .none:
            state = .contentBody(remaining: 0)
        case .length(let length):
            if length > bodyLimit {
                throw fail(.bodyTooLarge, "Content-Length exceeds the body limit")
            }
            body.reserveCapacity(length)
            state = .contentBody(remaining: length)
        case .chunked:
            state = .chunkSize
        }
    }

    /// Returns the next event, nil when more bytes are needed.
    public mutating func next() throws(HTTPParseError) -> HTTPRequestParserEvent? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .head:
                guard let head = try parseHead() else { return nil }
                state = .awaitingBodyLimit
                return .head(head)
            case .awaitingBodyLimit:
                try beginBody(limit: defaultBodyLimit)
            case .contentBody(let remaining):
                let take = min(remaining, buffer.count - readIndex)
                if take > 0 {
                    body.append(contentsOf: buffer[readIndex..<(readIndex + take)])
                    readIndex += take
                }
                if remaining - take > 0 {
                    state = .contentBody(remaining: remaining - take)
                    return nil
                }
                return finishRequest()
            case .chunkSize:
                guard let size = try parseChunkSizeLine() else { return nil }
                if size == 0 {
                    trailerBytes = 0
                    state = .trailers
                } else {
                    if size > bodyLimit - body.count {
                        throw fail(.bodyTooLarge, "chunked body exceeds the body limit")
                    }
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let take = min(remaining, buffer.count - readIndex)
                if take > 0 {
                    body.append(contentsOf: buffer[readIndex..<(readIndex + take)])
                    readIndex += take
                }
                if remaining - take > 0 {
                    state = .chunkData(remaining: remaining - take)
                    return nil
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard buffer.count - readIndex >= 2 else { return nil }
                guard buffer[readIndex] == cr && buffer[readIndex + 1] == lf else {
                    throw fail(.invalidChunk, "chunk data not followed by CRLF")
                }
                readIndex += 2
                state = .chunkSize
            case .trailers:
                guard let finished = try consumeTrailerLine() else { return nil }
                if finished { return finishRequest() }
            }
        }
    }

    private mutating func finishRequest() -> HTTPRequestParserEvent {
        let complete = body
        body = []
        framing = .none
        state = .head
        scanIndex = readIndex
        return .complete(body: complete)
    }

    private mutating func fail(_ code: HTTPParseError.Code, _ reason: String) -> HTTPParseError {
        let error = HTTPParseError(code, reason)
        state = .failed(error)
        return error
    }

    // MARK: Head

    private mutating func parseHead() throws(HTTPParseError) -> HTTPRequestHead? {
        // RFC 9112 §2.2: ignore empty lines received before the request line.
        while buffer.count - readIndex >= 2 && buffer[readIndex] == cr && buffer[readIndex + 1] == lf {
            readIndex += 2
        }
        if readIndex < buffer.count && buffer[readIndex] == lf {
            throw fail(.invalidCharacter, "bare LF before the request line")
        }
        var index = max(scanIndex, readIndex)
        var headEnd = -1
        // Only the first `maxHeaderBytes` bytes of a head are looked at, in order, so the verdict
        // cannot depend on how the bytes were split: a bare LF past the limit is never seen, whether
        // it arrived in the same read as the limit's byte or after it.
        let end = scanLimit(maxHeaderBytes)
        while index < end {
            if buffer[index] == lf {
                // A bare LF is refused outright instead of waiting for a CRLF CRLF that never comes.
                guard index > readIndex, buffer[index - 1] == cr else {
                    throw fail(.invalidCharacter, "bare LF in the request head")
                }
                if index - readIndex >= 3 && buffer[index - 2] == lf && buffer[index - 3] == cr {
                    headEnd = index + 1
                    break
                }
            }
            index += 1
        }
        if headEnd < 0 {
            scanIndex = end
            if buffer.count - readIndex > maxHeaderBytes {
                throw fail(.headerTooLarge, "request head exceeds \(maxHeaderBytes) bytes")
            }
            return nil
        }
        let start = readIndex
        readIndex = headEnd
        scanIndex = headEnd
        return try parseHeadSection(start, headEnd - 2)
    }

    /// Parses `[start, end)`: the request line and header lines, each ending in CRLF.
    private mutating func parseHeadSection(_ start: Int, _ end: Int) throws(HTTPParseError) -> HTTPRequestHead {
        guard let lineEnd = findCRLF(from: start, to: end) else {
            throw fail(.malformedRequestLine, "request line is not terminated")
        }
        // Request line: method SP target SP version.
        var cursor = start
        while cursor < lineEnd && buffer[cursor] != space {
            guard isTokenByte(buffer[cursor]) else {
                throw fail(.malformedRequestLine, "invalid byte in method")
            }
            cursor += 1
        }
        let methodEnd = cursor
        guard methodEnd > start, cursor < lineEnd else {
            throw fail(.malformedRequestLine, "missing method")
        }
        cursor += 1
        let targetStart = cursor
        while cursor < lineEnd && buffer[cursor] != space {
            let byte = buffer[cursor]
            guard byte > 0x20 && byte < 0x7F else {
                throw fail(.invalidCharacter, "invalid byte in request target")
            }
            cursor += 1
        }
        let targetEnd = cursor
        guard targetEnd > targetStart, cursor < lineEnd else {
            throw fail(.malformedRequestLine, "missing request target")
        }
        cursor += 1
        let version = try parseVersion(cursor, lineEnd)
        let method = makeMethod(start, methodEnd)

        // Header lines.
        var headers = HTTPHeaders()
        var contentLength: Int? = nil
        var transferEncodings: [Substring] = []
        var sawTransferEncoding = false
        var hostCount = 0
        var lineStart = lineEnd + 2
        while lineStart < end {
            guard let next = findCRLF(from: lineStart, to: end) else {
                throw fail(.malformedHeader, "header line is not terminated")
            }
            let field = try parseFieldLine(lineStart, next)
            lineStart = next + 2
            if field.name.caseInsensitiveEquals("content-length") {
                let value = try parseContentLength(field.value)
                if let previous = contentLength, previous != value {
                    throw fail(.invalidContentLength, "conflicting Content-Length values")
                }
                contentLength = value
            } else if field.name.caseInsensitiveEquals("transfer-encoding") {
                sawTransferEncoding = true
                for coding in field.value.split(separator: ",") {
                    let trimmed = coding.trimmingSpaces()
                    if !trimmed.isEmpty { transferEncodings.append(trimmed) }
                }
            } else if field.name.caseInsensitiveEquals("host") {
                hostCount += 1
            }
            headers.add(name: field.name, value: field.value)
        }

        // Framing (RFC 9112 §6).
        if sawTransferEncoding {
            if contentLength != nil {
                throw fail(.conflictingFraming, "both Content-Length and Transfer-Encoding")
            }
            if version == .http1_0 {
                throw fail(.conflictingFraming, "Transfer-Encoding on an HTTP/1.0 request")
            }
            for coding in transferEncodings where !coding.caseInsensitiveEquals("chunked") {
                throw fail(.unsupportedTransferCoding, "only the chunked transfer-coding is supported")
            }
            guard transferEncodings.count == 1 else {
                throw fail(.conflictingFraming, "Transfer-Encoding must list chunked exactly once")
            }
            framing = .chunked
        } else if let contentLength, contentLength > 0 {
            framing = .length(contentLength)
        } else {
            framing = .none
        }
        if version == .http1_1 && hostCount != 1 {
            throw fail(.invalidHost, hostCount == 0 ? "missing Host header" : "more than one Host header")
        }
        if hostCount > 1 {
            throw fail(.invalidHost, "more than one Host header")
        }
        guard HTTPMethod.supported.contains(method) else {
            throw fail(.unsupportedMethod, "method not implemented")
        }

        let target = String(decoding: buffer[targetStart..<targetEnd], as: UTF8.self)
        let (path, query) = try decodeTarget(targetStart, targetEnd, method: method)
        return HTTPRequestHead(
            method: method, target: target, path: path, query: query, version: version, headers: headers)
    }

    private func findCRLF(from start: Int, to end: Int) -> Int? {
        var index = start
        while index + 1 < end {
            if buffer[index] == cr && buffer[index + 1] == lf { return index }
            index += 1
        }
        return nil
    }

    private mutating func parseVersion(_ start: Int, _ end: Int) throws(HTTPParseError) -> HTTPVersion {
        let prefix: [UInt8] = [0x48, 0x54, 0x54, 0x50, 0x2F]  // "HTTP/"
        guard end - start == 8,
            buffer[start..<(start + 5)].elementsEqual(prefix),
            isDigit(buffer[start + 5]), buffer[start + 6] == 0x2E, isDigit(buffer[start + 7])
        else {
            throw fail(.malformedRequestLine, "malformed HTTP version")
        }
        let version = HTTPVersion(major: Int(buffer[start + 5] - 0x30), minor: Int(buffer[start + 7] - 0x30))
        guard version == .http1_1 || version == .http1_0 else {
            throw fail(.unsupportedVersion, "HTTP version other than 1.0 or 1.1")
        }
        return version
    }

    private func makeMethod(_ start: Int, _ end: Int) -> HTTPMethod {
        // The common methods reuse static values so parsing them allocates nothing.
        let bytes = buffer[start..<end]
        switch bytes.count {
        case 3:
            if bytes.elementsEqual("GET".utf8) { return .get }
            if bytes.elementsEqual("PUT".utf8) { return .put }
        case 4:
            if bytes.elementsEqual("POST".utf8) { return .post }
            if bytes.elementsEqual("HEAD".utf8) { return .head }
        case 5:
            if bytes.elementsEqual("PATCH".utf8) { return .patch }
        case 6:
            if bytes.elementsEqual("DELETE".utf8) { return .delete }
        case 7:
            if bytes.elementsEqual("OPTIONS".utf8) { return .options }
        default:
            break
        }
        return HTTPMethod(rawValue: String(decoding: bytes, as: UTF8.self))
    }

    /// Parses one `name: value` line in `[start, end)`.
    private mutating func parseFieldLine(_ start: Int, _ end: Int) throws(HTTPParseError) -> (
        name: String, value: String
    ) {
        guard start < end else { throw fail(.malformedHeader, "empty header line") }
        if buffer[start] == space || buffer[start] == tab {
            throw fail(.obsoleteLineFolding, "header line starts with whitespace")
        }
        var cursor = start
        while cursor < end && buffer[cursor] != colon {
            let byte = buffer[cursor]
            guard isTokenByte(byte) else {
                if byte == space || byte == tab {
                    throw fail(.malformedHeader, "whitespace in or after a header name")
                }
                if byte == cr || byte == lf || byte < 0x20 || byte == 0x7F {
                    throw fail(.invalidCharacter, "control character in a header name")
                }
                throw fail(.malformedHeader, "invalid byte in a header name")
            }
            cursor += 1
        }
        guard cursor < end, cursor > start else {
            throw fail(.malformedHeader, cursor == start ? "empty header name" : "header line without a colon")
        }
        let nameEnd = cursor
        cursor += 1
        var valueStart = cursor
        var valueEnd = end
        while valueStart < valueEnd && (buffer[valueStart] == space || buffer[valueStart] == tab) {
            valueStart += 1
        }
        while valueEnd > valueStart && (buffer[valueEnd - 1] == space || buffer[valueEnd - 1] == tab) {
            valueEnd -= 1
        }
        for index in valueStart..<valueEnd {
            let byte = buffer[index]
            if (byte < 0x20 && byte != tab) || byte == 0x7F {
                throw fail(.invalidCharacter, "control character in a header value")
            }
        }
        return (
            String(decoding: buffer[start..<nameEnd], as: UTF8.self),
            String(decoding: buffer[valueStart..<valueEnd], as: UTF8.self)
        )
    }

    private mutating func parseContentLength(_ value: String) throws(HTTPParseError) -> Int {
        var result: Int? = nil
        // A list such as `5, 5` is allowed when every element agrees (RFC 9110 §8.6).
        for element in value.split(separator: ",", omittingEmptySubsequences: false) {
            let digits = element.trimmingSpaces()
            guard !digits.isEmpty, digits.utf8.allSatisfy(isDigit) else {
                throw fail(.invalidContentLength, "Content-Length is not a decimal number")
            }
            var parsed = 0
            for digit in digits.utf8 {
                // Saturate instead of overflowing: any huge length is simply over every limit.
                parsed = parsed > (Int.max - 9) / 10 ? Int.max : parsed * 10 + Int(digit - 0x30)
            }
            if let result, result != parsed {
                throw fail(.invalidContentLength, "conflicting Content-Length values")
            }
            result = parsed
        }
        guard let result else { throw fail(.invalidContentLength, "empty Content-Length") }
        return result
    }

    // MARK: Target

    private mutating func decodeTarget(_ start: Int, _ end: Int, method: HTTPMethod) throws(HTTPParseError) -> (
        String, [(name: String, value: String)]
    ) {
        var pathStart = start
        if buffer[start] == asterisk {
            guard end - start == 1, method == .options else {
                throw fail(.invalidTarget, "asterisk-form is only valid for OPTIONS")
            }
            return ("*", [])
        }
        if buffer[start] != slash {
            // absolute-form: scheme "://" authority path-abempty [ "?" query ]
            guard let afterScheme = absoluteFormPathStart(start, end) else {
                throw fail(.invalidTarget, "request target is not origin-form or absolute-form")
            }
            pathStart = afterScheme
        }
        var queryStart = end
        for index in pathStart..<end {
            if buffer[index] == hash { throw fail(.invalidTarget, "fragment in request target") }
            if buffer[index] == question && queryStart == end { queryStart = index }
        }
        let path: String
        if pathStart == queryStart {
            path = "/"
        } else {
            guard let decoded = percentDecode(pathStart, queryStart, plusAsSpace: false) else {
                throw fail(.invalidPercentEncoding, "malformed percent-encoding in the path")
            }
            path = decoded
        }
        var query: [(name: String, value: String)] = []
        if queryStart < end {
            var pairStart = queryStart + 1
            while pairStart <= end {
                var pairEnd = pairStart
                while pairEnd < end && buffer[pairEnd] != ampersand { pairEnd += 1 }
                if pairEnd > pairStart {
                    var equals = pairStart
                    while equals < pairEnd && buffer[equals] != equalsSign { equals += 1 }
                    guard let name = percentDecode(pairStart, equals, plusAsSpace: true),
                        let value = percentDecode(min(equals + 1, pairEnd), pairEnd, plusAsSpace: true)
                    else {
                        throw fail(.invalidPercentEncoding, "malformed percent-encoding in the query")
                    }
                    query.append((name, value))
                }
                pairStart = pairEnd + 1
            }
        }
        return (path, query)
    }

    private func absoluteFormPathStart(_ start: Int, _ end: Int) -> Int? {
        var index = start
        while index < end && isSchemeByte(buffer[index]) { index += 1 }
        guard index > start, index + 2 < end, buffer[index] == colon, buffer[index + 1] == slash,
            buffer[index + 2] == slash
        else { return nil }
        index += 3
        let authorityStart = index
        while index < end && buffer[index] != slash && buffer[index] != question { index += 1 }
        guard index > authorityStart else { return nil }
        return index
    }

    /// Decodes `%XX` escapes (and `+` as space in a query); nil on a malformed escape, NUL or invalid UTF-8.
    private func percentDecode(_ start: Int, _ end: Int, plusAsSpace: Bool) -> String? {
        PercentDecoding.decode(buffer[start..<end], plusAsSpace: plusAsSpace)
    }

    // MARK: Chunked body

    /// Finds the CR of the CRLF ending the line that starts at `readIndex`, resuming the scan where
    /// the previous call stopped so byte-by-byte input stays linear; nil when the line is incomplete.
    private mutating func findLineEnd(
        maxLength: Int, bareLF: HTTPParseError.Code, tooLong: HTTPParseError.Code, _ tooLongReason: String
    ) throws(HTTPParseError) -> Int? {
        var index = max(scanIndex, readIndex)
        // The LF may sit at `readIndex + maxLength` at most; nothing past it is looked at (see `parseHead`).
        let end = scanLimit(maxLength + 1)
        while index < end {
            if buffer[index] == lf {
                guard index > readIndex, buffer[index - 1] == cr else { throw fail(bareLF, "bare LF") }
                scanIndex = index + 1
                return index - 1
            }
            index += 1
        }
        scanIndex = end
        if buffer.count - readIndex > maxLength { throw fail(tooLong, tooLongReason) }
        return nil
    }

    /// The end of the window a line or head search may look at: `limit` bytes from `readIndex`, or the
    /// end of the buffer when that comes first.
    ///
    /// Every check of the head and of chunked framing lines looks at bytes in order and only inside
    /// this window, and the limit is checked once the window is full, so whichever problem comes first
    /// in the byte stream is the one reported, whatever the packet boundaries.
    private func scanLimit(_ limit: Int) -> Int {
        buffer.count - readIndex > limit ? readIndex + max(0, limit) : buffer.count
    }

    /// Parses `chunk-size [chunk-ext] CRLF`; nil when the line is incomplete.
    private mutating func parseChunkSizeLine() throws(HTTPParseError) -> Int? {
        guard
            let lineEnd = try findLineEnd(
                maxLength: 4096, bareLF: .invalidChunk, tooLong: .invalidChunk, "chunk-size line too long")
        else { return nil }
        var cursor = readIndex
        var size = 0
        while cursor < lineEnd, let digit = PercentDecoding.hexValue(buffer[cursor]) {
            guard cursor - readIndex < 15 else { throw fail(.invalidChunk, "chunk size too large") }
            size = size << 4 | Int(digit)
            cursor += 1
        }
        guard cursor > readIndex else { throw fail(.invalidChunk, "chunk size is not hexadecimal") }
        // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ); extensions are ignored.
        while cursor < lineEnd && (buffer[cursor] == space || buffer[cursor] == tab) { cursor += 1 }
        if cursor < lineEnd {
            guard buffer[cursor] == semicolon else { throw fail(.invalidChunk, "invalid chunk extension") }
            for index in cursor..<lineEnd {
                let byte = buffer[index]
                if (byte < 0x20 && byte != tab) || byte == 0x7F {
                    throw fail(.invalidChunk, "control character in a chunk extension")
                }
            }
        }
        readIndex = lineEnd + 2
        return size
    }

    /// Consumes one trailer line, validating and discarding it: nil when incomplete, true at the
    /// empty line that ends the body.
    private mutating func consumeTrailerLine() throws(HTTPParseError) -> Bool? {
        guard
            let lineEnd = try findLineEnd(
                maxLength: maxHeaderBytes - trailerBytes, bareLF: .invalidCharacter, tooLong: .headerTooLarge,
                "trailer section exceeds \(maxHeaderBytes) bytes")
        else { return nil }
        if lineEnd == readIndex {
            readIndex += 2
            return true
        }
        _ = try parseFieldLine(readIndex, lineEnd)
        trailerBytes += lineEnd + 2 - readIndex
        readIndex = lineEnd + 2
        return false
    }
}

private let cr: UInt8 = 0x0D
private let lf: UInt8 = 0x0A
private let space: UInt8 = 0x20
private let tab: UInt8 = 0x09
private let colon: UInt8 = 0x3A
private let semicolon: UInt8 = 0x3B
private let slash: UInt8 = 0x2F
private let asterisk: UInt8 = 0x2A
private let question: UInt8 = 0x3F
private let hash: UInt8 = 0x23
private let ampersand: UInt8 = 0x26
private let equalsSign: UInt8 = 0x3D

private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

private func isSchemeByte(_ byte: UInt8) -> Bool {
    (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || isDigit(byte) || byte == 0x2B
        || byte == 0x2D || byte == 0x2E
}

/// tchar (RFC 9110 §5.6.2): ALPHA, DIGIT and ``!#$%&'*+-.^_`|~``.
private func isTokenByte(_ byte: UInt8) -> Bool { tokenTable[Int(byte)] }

private let tokenTable: [Bool] = (0..<256).map { value in
    let byte = UInt8(value)
    if (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || isDigit(byte) { return true }
    return "!#$%&'*+-.^_`|~".utf8.contains(byte)
}
