import Testing

@testable import HTTPCore

/// A parsed request: its head and body, as the tests compare them.
private struct Parsed {
    var head: HTTPRequestHead
    var body: [UInt8]
}

/// Feeds `text` to a fresh parser in pieces of `step` bytes and collects every complete request.
private func parse(
    _ text: String, step: Int = Int.max, bodyLimit: Int = 1 << 20, maxHeaderBytes: Int = 16 * 1024
) throws(HTTPParseError) -> [Parsed] {
    try parse(Array(text.utf8), step: step, bodyLimit: bodyLimit, maxHeaderBytes: maxHeaderBytes)
}

private func parse(
    _ bytes: [UInt8], step: Int = Int.max, bodyLimit: Int = 1 << 20, maxHeaderBytes: Int = 16 * 1024
) throws(HTTPParseError) -> [Parsed] {
    var parser = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes)
    var results: [Parsed] = []
    var head: HTTPRequestHead? = nil
    var offset = 0
    repeat {
        let end = min(bytes.count, offset + max(1, min(step, bytes.count)))
        parser.append(bytes[offset..<end])
        offset = end
        while let event = try parser.next() {
            switch event {
            case .head(let parsedHead):
                head = parsedHead
                try parser.beginBody(limit: bodyLimit)
            case .complete(let body):
                results.append(Parsed(head: head!, body: body))
                head = nil
            }
        }
    } while offset < bytes.count
    return results
}

/// The error code parsing `text` fails with, whole and byte by byte (both must agree).
private func failure(
    _ text: String, bodyLimit: Int = 1 << 20, maxHeaderBytes: Int = 16 * 1024
) -> HTTPParseError.Code? {
    failure(Array(text.utf8), bodyLimit: bodyLimit, maxHeaderBytes: maxHeaderBytes)
}

private func failure(
    _ bytes: [UInt8], bodyLimit: Int = 1 << 20, maxHeaderBytes: Int = 16 * 1024
) -> HTTPParseError.Code? {
    var codes: [HTTPParseError.Code?] = []
    for step in [Int.max, 1] {
        do {
            _ = try parse(bytes, step: step, bodyLimit: bodyLimit, maxHeaderBytes: maxHeaderBytes)
            codes.append(nil)
        } catch {
            codes.append(error.code)
        }
    }
    return codes[0] == codes[1] ? codes[0] : nil
}

@Suite struct HTTPRequestParserTests {
    // MARK: Good paths

    @Test(arguments: [Int.max, 1, 7])
    func simpleGetIsParsedWhateverTheSplit(step: Int) throws {
        let requests = try parse(
            "GET /v2/ HTTP/1.1\r\nHost: registry.local\r\nUser-Agent: docker/24\r\nAccept:  */* \r\n\r\n", step: step)
        #expect(requests.count == 1)
        let head = try #require(requests.first).head
        #expect(head.method == .get)
        #expect(head.target == "/v2/")
        #expect(head.path == "/v2/")
        #expect(head.version == .http1_1)
        #expect(head.headers["host"] == "registry.local")
        #expect(head.headers["Accept"] == "*/*")
        #expect(head.headers.fields.count == 3)
        #expect(requests[0].body.isEmpty)
        #expect(head.keepAlive)
    }

    @Test func queryIsPercentDecodedWithPlusAsSpaceAndRepeatedNamesKept() throws {
        let target = "/v2/token?service=registry&scope=repository%3Afoo%2Fbar%3Apull&scope=a+b&flag&&empty="
        let head = try #require(try parse("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n").first).head
        #expect(head.target == target)
        #expect(head.path == "/v2/token")
        #expect(head.query.map(\.name) == ["service", "scope", "scope", "flag", "empty"])
        #expect(head.queryValue("service") == "registry")
        #expect(head.queryValues("scope") == ["repository:foo/bar:pull", "a b"])
        #expect(head.queryValue("flag") == "")
        #expect(head.queryValue("empty") == "")
    }

    @Test func pathIsPercentDecodedButPlusStaysLiteral() throws {
        let head = try #require(try parse("GET /a%20b/c+d/%C3%A9 HTTP/1.1\r\nHost: x\r\n\r\n").first).head
        #expect(head.path == "/a b/c+d/é")
        #expect(head.query.isEmpty)
    }

    @Test(arguments: [Int.max, 1, 3])
    func contentLengthBodyIsCollected(step: Int) throws {
        let requests = try parse(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world", step: step)
        #expect(requests.count == 1)
        #expect(requests[0].head.method == .post)
        #expect(requests[0].body == Array("hello world".utf8))
    }

    @Test(arguments: [Int.max, 1, 5])
    func chunkedBodyWithExtensionsAndTrailersIsDechunked(step: Int) throws {
        let text =
            "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n1 ; ext\r\n \r\nA\r\n0123456789\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
        let requests = try parse(text, step: step)
        #expect(requests.count == 1)
        #expect(requests[0].body == Array("hello 0123456789".utf8))
    }

    @Test func chunkedBodyWithoutTrailersEndsAtTheEmptyLine() throws {
        let requests = try parse(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(requests.first?.body == Array("abc".utf8))
    }

    @Test func http10RequestNeedsNoHostAndClosesByDefault() throws {
        let head = try #require(try parse("GET / HTTP/1.0\r\n\r\n").first).head
        #expect(head.version == .http1_0)
        #expect(!head.keepAlive)
        let keptAlive = try #require(try parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").first).head
        #expect(keptAlive.keepAlive)
    }

    @Test func connectionCloseEndsAnHTTP11Connection() throws {
        let head = try #require(try parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").first).head
        #expect(!head.keepAlive)
    }

    @Test(arguments: [Int.max, 1])
    func pipelinedRequestsAreReturnedInOrderAndLeftoverBytesStayBuffered(step: Int) throws {
        let text =
            "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"
            + "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n"
        let requests = try parse(text, step: step)
        #expect(requests.map(\.head.path) == ["/1", "/2", "/3"])
        #expect(requests[1].body == Array("ok".utf8))

        var parser = HTTPRequestParser()
        parser.append(Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HT".utf8))
        guard case .head = try parser.next() else { Issue.record("expected a head"); return }
        guard case .complete = try parser.next() else { Issue.record("expected completion"); return }
        #expect(try parser.next() == nil)
        #expect(parser.bufferedByteCount == 9)
        #expect(parser.isReadingHead)
        parser.append(Array("TP/1.1\r\nHost: x\r\n\r\n".utf8))
        guard case .head(let second) = try parser.next() else { Issue.record("expected a head"); return }
        #expect(second.path == "/b")
        guard case .complete = try parser.next() else { Issue.record("expected completion"); return }
        #expect(parser.isIdle)
    }

    @Test func emptyLinesBeforeTheRequestLineAreIgnored() throws {
        let requests = try parse("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", step: 1)
        #expect(requests.count == 1)
    }

    @Test func absoluteFormAndAsteriskFormTargetsAreAccepted() throws {
        let absolute = try #require(try parse("GET http://example.com/a/b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n").first)
        #expect(absolute.head.path == "/a/b")
        #expect(absolute.head.queryValue("x") == "1")
        let bare = try #require(try parse("GET https://example.com HTTP/1.1\r\nHost: x\r\n\r\n").first)
        #expect(bare.head.path == "/")
        let asterisk = try #require(try parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").first)
        #expect(asterisk.head.path == "*")
    }

    @Test func repeatedIdenticalContentLengthsAreAccepted() throws {
        let requests = try parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nhi")
        #expect(requests.first?.body == Array("hi".utf8))
    }

    @Test func zeroContentLengthMeansNoBody() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".utf8))
        guard case .head = try parser.next() else { Issue.record("expected a head"); return }
        #expect(parser.framing == .none)
        guard case .complete(let body) = try parser.next() else { Issue.record("expected completion"); return }
        #expect(body.isEmpty)
    }

    @Test func framingIsReportedAfterTheHead() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n".utf8))
        _ = try parser.next()
        #expect(parser.framing == .length(5))
        var chunked = HTTPRequestParser()
        chunked.append(Array("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        _ = try chunked.next()
        #expect(chunked.framing == .chunked)
    }

    @Test func headerValuesMayCarryObsText() throws {
        let bytes = Array("GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf".utf8) + [0xC3, 0xA9] + Array("\r\n\r\n".utf8)
        let head = try #require(try parse(bytes).first).head
        #expect(head.headers["x-name"] == "café")
    }

    @Test func bodyExactlyAtTheLimitIsAccepted() throws {
        let requests = try parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd", bodyLimit: 4)
        #expect(requests.first?.body.count == 4)
    }

    // MARK: Error paths

    @Test func requestLineOverTheLimitIs431() {
        let text = "GET /" + String(repeating: "a", count: 17 * 1024)
        #expect(failure(text) == .headerTooLarge)
        #expect(HTTPParseError(.headerTooLarge, "").status.code == 431)
    }

    @Test func headerSectionOverTheLimitIs431() {
        var text = "GET / HTTP/1.1\r\nHost: x\r\n"
        for index in 0..<400 { text += "X-Filler-\(index): \(String(repeating: "v", count: 40))\r\n" }
        text += "\r\n"
        #expect(failure(text) == .headerTooLarge)
        #expect(failure("GET / HTTP/1.1\r\nHost: x\r\nX: 0123456789\r\n\r\n", maxHeaderBytes: 30) == .headerTooLarge)
    }

    @Test func trailerSectionOverTheLimitIs431() {
        let text =
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
            + "X-Trailer: \(String(repeating: "t", count: 200))\r\n\r\n"
        #expect(failure(text, maxHeaderBytes: 100) == .headerTooLarge)
    }

    @Test func contentLengthOverTheLimitIs413BeforeTheBodyArrives() {
        var parser = HTTPRequestParser()
        parser.append(Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".utf8))
        #expect(throws: HTTPParseError(.bodyTooLarge, "")) {
            guard case .head = try parser.next() else { return }
            try parser.beginBody(limit: 99)
        }
        #expect(HTTPParseError(.bodyTooLarge, "").status.code == 413)
    }

    @Test func hugeContentLengthSaturatesAndIs413() {
        #expect(
            failure("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999999\r\n\r\n") == .bodyTooLarge
        )
    }

    @Test func chunkedBodyOverTheLimitIs413() {
        let text = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n"
        #expect(failure(text, bodyLimit: 6) == .bodyTooLarge)
    }

    @Test func defaultBodyLimitAppliesWhenNoneIsSet() {
        var parser = HTTPRequestParser(defaultBodyLimit: 3)
        parser.append(Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd".utf8))
        #expect(throws: HTTPParseError(.bodyTooLarge, "")) {
            while try parser.next() != nil {}
        }
    }

    @Test(arguments: [
        "GET /\r\n\r\n", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTX/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.10\r\nHost: x\r\n\r\n",
        " GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / http/1.1\r\nHost: x\r\n\r\n", "GET /\r\nHost: x\r\n\r\n",
    ])
    func malformedRequestLineIs400(text: String) {
        #expect(failure(text) == .malformedRequestLine)
        #expect(HTTPParseError(.malformedRequestLine, "").status.code == 400)
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/1.1\r\n: empty\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nHo(st: x\r\n\r\n",
    ])
    func malformedHeaderIs400(text: String) {
        #expect(failure(text) == .malformedHeader)
    }

    @Test func obsoleteLineFoldingIs400() {
        #expect(failure("GET / HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n b\r\n\r\n") == .obsoleteLineFolding)
        #expect(failure("GET / HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n\tb\r\n\r\n") == .obsoleteLineFolding)
    }

    @Test func invalidCharactersAre400() {
        #expect(
            failure(Array("GET / HTTP/1.1\r\nHost: x\r\nX: a".utf8) + [0] + Array("b\r\n\r\n".utf8))
                == .invalidCharacter)
        #expect(failure("GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n") == .invalidCharacter)
        #expect(failure("GET / HTTP/1.1\nHost: x\n\n") == .invalidCharacter)
        #expect(failure("GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n") == .invalidCharacter)
        #expect(failure("\nGET / HTTP/1.1\r\nHost: x\r\n\r\n") == .invalidCharacter)
        #expect(
            failure(Array("GET /a".utf8) + [0x7F] + Array(" HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) == .invalidCharacter)
        #expect(
            failure(Array("GET /a".utf8) + [0xC3, 0xA9] + Array(" HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                == .invalidCharacter)
        #expect(failure(Array("GET / HTTP/1.1\r\nHost: x\r\nX\u{1}Y: z\r\n\r\n".utf8)) == .invalidCharacter)
    }

    @Test(arguments: [
        "zz\r\nab\r\n0\r\n\r\n", "3\r\nabcX\r\n0\r\n\r\n", "3 junk\r\nabc\r\n0\r\n\r\n", "\r\n", "-1\r\n",
        "1234567890abcdef0\r\n", "3;a\u{1}\r\nabc\r\n0\r\n\r\n", "3\nabc\r\n0\r\n\r\n",
    ])
    func badChunkIs400(chunks: String) {
        let text = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
        #expect(failure(text) == .invalidChunk)
    }

    @Test func overlongChunkSizeLineIs400() {
        let text =
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 5000)
        #expect(failure(text) == .invalidChunk)
    }

    @Test func malformedTrailerIs400() {
        let text = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n"
        #expect(failure(text) == .malformedHeader)
    }

    @Test func contentLengthWithTransferEncodingIs400() {
        #expect(
            failure("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
                == .conflictingFraming)
        #expect(failure("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == .conflictingFraming)
        #expect(
            failure("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") == .conflictingFraming)
        #expect(failure("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n") == .conflictingFraming)
    }

    @Test(arguments: [
        "Content-Length: abc", "Content-Length: 5, 6", "Content-Length: 5\r\nContent-Length: 6", "Content-Length: -1",
        "Content-Length: ", "Content-Length: 1 2", "Content-Length: +5", "Content-Length: 5,",
    ])
    func invalidOrConflictingContentLengthIs400(field: String) {
        #expect(failure("POST / HTTP/1.1\r\nHost: x\r\n\(field)\r\n\r\n") == .invalidContentLength)
    }

    @Test func missingOrRepeatedHostIs400() {
        #expect(failure("GET / HTTP/1.1\r\n\r\n") == .invalidHost)
        #expect(failure("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == .invalidHost)
        #expect(failure("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == .invalidHost)
    }

    @Test(arguments: ["foo", "*", "/a#frag", "http:/x", "http://", "?x=1"])
    func invalidTargetIs400(target: String) {
        #expect(failure("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n") == .invalidTarget)
    }

    @Test(arguments: ["/a%zz", "/a%2", "/a%00b", "/a%ff", "/?x=%", "/?x=%C3", "/?%00=1"])
    func invalidPercentEncodingIs400(target: String) {
        #expect(failure("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n") == .invalidPercentEncoding)
    }

    @Test(arguments: ["BREW", "CONNECT", "TRACE", "get", "PROPFIND"])
    func unknownMethodIs501(method: String) {
        #expect(failure("\(method) / HTTP/1.1\r\nHost: x\r\n\r\n") == .unsupportedMethod)
        #expect(HTTPParseError(.unsupportedMethod, "").status.code == 501)
    }

    @Test(arguments: ["gzip", "gzip, chunked", "chunked, gzip", "identity"])
    func unsupportedTransferCodingIs501(codings: String) {
        #expect(
            failure("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \(codings)\r\n\r\n") == .unsupportedTransferCoding
        )
        #expect(HTTPParseError(.unsupportedTransferCoding, "").status.code == 501)
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.1"])
    func otherHTTPVersionsAre505(version: String) {
        #expect(failure("GET / \(version)\r\nHost: x\r\n\r\n") == .unsupportedVersion)
        #expect(HTTPParseError(.unsupportedVersion, "").status.code == 505)
    }

    @Test func anErrorIsStickyAcrossLaterInput() {
        var parser = HTTPRequestParser()
        parser.append(Array("BAD LINE\r\n\r\n".utf8))
        #expect(throws: HTTPParseError(.malformedRequestLine, "")) { try parser.next() }
        parser.append(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(throws: HTTPParseError(.malformedRequestLine, "")) { try parser.next() }
    }

    @Test func everyErrorCodeHasAStableDottedIdentifier() {
        for code in HTTPParseError.Code.allCases {
            #expect(code.rawValue.hasPrefix("http."))
            #expect(HTTPParseError(code, "x").description.hasPrefix(code.rawValue))
        }
    }
}

@Suite struct HTTPResponseSerializerTests {
    private func serialize(
        _ response: HTTPResponse, method: HTTPMethod = .get, version: HTTPVersion = .http1_1, keepAlive: Bool = true
    ) -> String {
        var serializer = HTTPResponseSerializer()
        var buffer: [UInt8] = []
        serializer.serialize(
            response, requestMethod: method, requestVersion: version, keepAlive: keepAlive, epochSeconds: 784_111_777,
            into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    @Test func dateIsFormattedAsIMFFixdate() {
        #expect(HTTPDate.format(epochSeconds: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(epochSeconds: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(epochSeconds: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.format(epochSeconds: 1_798_761_599) == "Thu, 31 Dec 2026 23:59:59 GMT")
    }

    @Test func responseCarriesStatusHeadersDateLengthAndBody() {
        let text = serialize(.text("hello", status: .created))
        #expect(
            text
                == "HTTP/1.1 201 Created\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 5\r\n\r\nhello")
    }

    @Test func serverOwnedHeadersFromTheResponderAreReplaced() {
        let response = HTTPResponse(
            status: .ok,
            headers: ["Content-Length": "99", "Date": "x", "Connection": "keep-alive", "Transfer-Encoding": "chunked"],
            body: Array("ab".utf8))
        #expect(
            serialize(response, keepAlive: false)
                == "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab"
        )
    }

    @Test func headResponseHasLengthButNoBody() {
        let text = serialize(.text("hello"), method: .head)
        #expect(text.hasSuffix("Content-Length: 5\r\n\r\n"))
        let declared = serialize(HTTPResponse(status: .ok, headers: ["Content-Length": "42"]), method: .head)
        #expect(declared.hasSuffix("Content-Length: 42\r\n\r\n"))
    }

    @Test func noContentAndNotModifiedCarryNoBodyAndNoContentLengthFor204() {
        let noContent = serialize(HTTPResponse(status: .noContent, body: Array("x".utf8)))
        #expect(!noContent.contains("Content-Length"))
        #expect(noContent.hasSuffix("\r\n\r\n"))
        let notModified = serialize(HTTPResponse(status: .notModified, body: Array("x".utf8)))
        #expect(notModified.hasSuffix("GMT\r\n\r\n"))
    }

    @Test func http10KeepAliveIsAnnounced() {
        #expect(serialize(.text("a"), version: .http1_0).contains("Connection: keep-alive\r\n"))
        #expect(!serialize(.text("a"), version: .http1_1).contains("Connection:"))
    }

    @Test func controlCharactersInHeaderValuesCannotSplitTheResponse() {
        let response = HTTPResponse(
            status: .ok, headers: ["X-Evil": "a\r\nSet-Cookie: b", "Bad Name": "c", "X-Ok": "d"])
        let text = serialize(response)
        #expect(text.contains("X-Evil: a  Set-Cookie: b\r\n"))
        #expect(!text.contains("Bad Name"))
        #expect(text.contains("X-Ok: d\r\n"))
    }

    @Test func aRequestThatCannotBeParsedGetsTheErrorDocumentAndARequestID() {
        let response = HTTPResponseSerializer.errorResponse(
            for: HTTPParseError(.obsoleteLineFolding, "x"), requestID: "abc123")
        #expect(response.status.code == 400)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.headers["X-Request-Id"] == "abc123")
        #expect(
            String(decoding: response.body, as: UTF8.self)
                == #"{"errors":[{"code":"OBS_FOLD","message":"Folded header lines are not accepted."}]}"#)
        let tooLarge = HTTPResponseSerializer.errorResponse(for: HTTPParseError(.bodyTooLarge, "x"))
        #expect(tooLarge.status.code == 413)
        #expect(String(decoding: tooLarge.body, as: UTF8.self).contains(#""code":"BODY_TOO_LARGE""#))
        #expect(tooLarge.headers["X-Request-Id"]?.count == 24)
    }
}
