import Diagnostics
import Foundation
import HTTPCore
import HTTPServer
import TestSupport
import Testing

/// An actor a responder awaits, so the task leaves its event loop and must come back.
actor Counter {
    private var value = 0
    func next() -> Int {
        value += 1
        return value
    }
}

/// Holds requests until the test opens it, so a test keeps requests in flight without sleeping.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}

/// Answers by path: `/slow?ms=N` sleeps, `/echo` returns the body, `/info` describes the connection,
/// `/hold` waits for `gate`, `/now…` is answered synchronously on the event loop.
struct TestResponder: HTTPResponder {
    var limit = 1024
    var gate = Gate()
    let counter = Counter()

    func bodyLimit(for head: HTTPRequestHead) -> Int { limit }

    func immediateResponse(to request: HTTPRequest) -> HTTPResponse? {
        request.path.hasPrefix("/now") ? .text("now \(request.path)") : nil
    }

    func respond(to request: HTTPRequest) async -> HTTPResponse {
        switch request.path {
        case "/slow":
            let milliseconds = Int(request.head.queryValue("ms") ?? "") ?? 300
            try? await Task.sleep(for: .milliseconds(milliseconds))
            return .text("slow done")
        case "/echo":
            return HTTPResponse(status: .ok, body: request.body)
        case "/hold":
            await gate.wait()
            return .text("held")
        case "/count":
            return .text("count \(await counter.next())")
        case "/bye":
            return HTTPResponse(status: .ok, headers: ["Connection": "close"], body: Array("bye".utf8))
        case "/info":
            return .text("\(request.connection.remoteAddress) \(request.connection.isTLS)")
        default:
            return .text("\(request.method) \(request.path)")
        }
    }
}

/// Starts a server on an ephemeral loopback port, runs `body`, then shuts the server down.
func withServer(
    _ configure: (inout HTTPServerConfiguration) -> Void = { _ in },
    responder: TestResponder = TestResponder(),
    _ body: (HTTPServer, Int) async throws -> Void
) async throws {
    var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1)
    configure(&configuration)
    let server = HTTPServer(
        configuration: configuration, responder: responder, logger: Logger(label: "test", level: .error))
    let port = try server.start()
    do {
        try await body(server, port)
    } catch {
        await server.shutdown(gracePeriod: .seconds(1))
        throw error
    }
    await server.shutdown(gracePeriod: .seconds(1))
}

@Suite struct HTTPServerLoopbackTests {
    @Test func keepAliveConnectionServesSeveralRequests() async throws {
        try await withServer { server, port in
            try await onThread {
                let client = try RawClient(port: port)
                for path in ["/a", "/b", "/c"] {
                    client.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
                    let response = try client.readResponse()
                    #expect(response.status == 200)
                    #expect(response.text == "GET \(path)")
                    #expect(response.header("Connection") == nil)
                    #expect(response.header("Date")?.hasSuffix("GMT") == true)
                }
            }
            #expect(server.metrics.acceptedConnections == 1)
            #expect(server.metrics.requestsHandled == 3)
        }
    }

    @Test(arguments: [ResponderExecution.eventLoop, .cooperativePool])
    func pipelinedRequestsAreAnsweredInOrder(execution: ResponderExecution) async throws {
        try await withServer({ $0.responderExecution = execution }) { _, port in
            try await onThread {
                // Order is the point here, not speed: with responders on the cooperative pool, a CI machine
                // whose two cores are busy with the rest of the suite can delay the first answer for seconds.
                let client = try RawClient(port: port, receiveTimeout: 60)
                client.send(
                    "GET /slow?ms=200 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\npong"
                        + "GET /count HTTP/1.1\r\nHost: x\r\n\r\nGET /third HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try client.readResponse().text == "slow done")
                #expect(try client.readResponse().text == "pong")
                #expect(try client.readResponse().text == "count 1")
                #expect(try client.readResponse().text == "GET /third")
            }
        }
    }

    @Test func floodOfPipelinedRequestsIsAnsweredInOrder() async throws {
        try await withServer { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                let count = 3000
                var burst = ""
                for index in 0..<count { burst += "GET /r\(index) HTTP/1.1\r\nHost: x\r\n\r\n" }
                #expect(client.send(burst))
                for index in 0..<count {
                    let response = try client.readResponse()
                    guard response.text == "GET /r\(index)" else {
                        Issue.record("response \(index) was \(response.text)")
                        return
                    }
                }
            }
        }
    }

    @Test func aLongPipelineOfImmediateAnswersIsAnsweredInOrderWithoutDeepRecursion() async throws {
        try await withServer { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                let count = 5000
                var burst = ""
                for index in 0..<count { burst += "GET /now\(index) HTTP/1.1\r\nHost: x\r\n\r\n" }
                #expect(client.send(burst))
                for index in 0..<count {
                    let response = try client.readResponse()
                    guard response.text == "now /now\(index)" else {
                        Issue.record("response \(index) was \(response.text)")
                        return
                    }
                }
            }
        }
    }

    @Test func immediateAnswersWaitTheirTurnBehindASlowPipelinedRequest() async throws {
        try await withServer { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send(
                    "GET /slow?ms=200 HTTP/1.1\r\nHost: x\r\n\r\nGET /now HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "GET /count HTTP/1.1\r\nHost: x\r\n\r\nHEAD /now HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "GET /last HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try client.readResponse().text == "slow done")
                #expect(try client.readResponse().text == "now /now")
                #expect(try client.readResponse().text == "count 1")
                #expect(try client.readResponse(bodyless: true).text == "")
                #expect(try client.readResponse().text == "GET /last")
            }
        }
    }

    @Test func largeBodyArrivingInManyReadsIsEchoed() async throws {
        try await withServer(responder: TestResponder(limit: 1 << 20)) { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                let body = (0..<900_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
                client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n")
                client.send(body)
                #expect(try client.readResponse().body == body)
            }
        }
    }

    @Test func halfClosedClientStillGetsEveryPipelinedAnswer() async throws {
        try await withServer { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send("GET /slow?ms=100 HTTP/1.1\r\nHost: x\r\n\r\nGET /last HTTP/1.1\r\nHost: x\r\n\r\n")
                client.shutdownWrite()
                #expect(try client.readResponse().text == "slow done")
                #expect(try client.readResponse().text == "GET /last")
                #expect(client.waitForClose())
            }
        }
    }

    @Test func http10ConnectionClosesUnlessKeepAliveIsAsked() async throws {
        try await withServer { _, port in
            try await onThread {
                let plain = try RawClient(port: port)
                plain.send("GET /old HTTP/1.0\r\n\r\n")
                let response = try plain.readResponse()
                #expect(response.text == "GET /old")
                #expect(response.header("Connection") == "close")
                #expect(plain.waitForClose())

                let kept = try RawClient(port: port)
                kept.send("GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                #expect(try kept.readResponse().header("Connection") == "keep-alive")
                kept.send("GET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                #expect(try kept.readResponse().text == "GET /2")
            }
        }
    }

    @Test func connectionCloseIsHonoured() async throws {
        try await withServer { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                #expect(try client.readResponse().header("Connection") == "close")
                #expect(client.waitForClose())
            }
        }
    }

    @Test func responderCanCloseTheConnection() async throws {
        try await withServer { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send("GET /bye HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try client.readResponse()
                #expect(response.text == "bye")
                #expect(response.header("Connection") == "close")
                #expect(client.waitForClose())
            }
        }
    }

    @Test func chunkedRequestBodyIsDechunked() async throws {
        try await withServer { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n")
                Thread.sleep(forTimeInterval: 0.05)
                client.send("6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
                #expect(try client.readResponse().text == "hello world")
            }
        }
    }

    @Test func expectContinueGetsAnInterimResponseBeforeTheBody() async throws {
        try await withServer { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
                let interim = try client.readResponse()
                #expect(interim.status == 100)
                client.send("abc")
                let final = try client.readResponse()
                #expect(final.status == 200)
                #expect(final.text == "abc")
            }
        }
    }

    @Test func expectContinueOverTheLimitGets413AndNoInterimResponse() async throws {
        try await withServer { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
                let response = try client.readResponse()
                #expect(response.status == 413)
                #expect(response.header("Connection") == "close")
                #expect(client.waitForClose())
            }
        }
    }

    @Test func headResponseCarriesLengthButNoBody() async throws {
        try await withServer { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send("HEAD /thing HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
                let head = try client.readResponse(bodyless: true)
                #expect(head.status == 200)
                #expect(head.header("Content-Length") == "11")
                // The next response follows immediately: no body bytes were sent for HEAD.
                #expect(try client.readResponse().text == "GET /after")
            }
        }
    }

    @Test(arguments: [
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 17000))\r\n\r\n", 431),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ])
    func refusedRequestGetsItsStatusAndTheConnectionCloses(request: String, status: Int) async throws {
        try await withServer { server, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send(request)
                let response = try client.readResponse()
                #expect(response.status == status)
                // The error document every refusal uses, and an id to quote, though no route saw the request.
                #expect(response.text.hasPrefix(#"{"errors":[{"code":""#))
                #expect(response.header("Content-Type") == "application/json")
                #expect(response.header("X-Request-Id")?.count == 24)
                #expect(response.header("Connection") == "close")
                #expect(client.waitForClose())
            }
            #expect(server.metrics.malformedRequests == 1)
        }
    }

    @Test func connectionsBeyondTheLimitGet503() async throws {
        try await withServer({ $0.maxConnections = 2 }) { server, port in
            try await onThread {
                let first = try RawClient(port: port)
                let second = try RawClient(port: port)
                for client in [first, second] {
                    client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    #expect(try client.readResponse().status == 200)
                }
                let third = try RawClient(port: port)
                let refused = try third.readResponse()
                #expect(refused.status == 503)
                #expect(third.waitForClose())
            }
            #expect(server.metrics.rejectedConnections == 1)
        }
    }

    @Test func openConnectionsGaugeFollowsClients() async throws {
        try await withServer { server, port in
            let client = try await onThread { () -> Bool in
                let client = try RawClient(port: port)
                client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                _ = try client.readResponse()
                return true
            }
            #expect(client)
            // The client's socket closed when its thread finished; the loop notices the end of stream.
            for _ in 0..<250 where server.openConnections != 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(server.openConnections == 0)
        }
    }

    @Test func idleKeepAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await withServer({ $0.idleTimeout = .milliseconds(300) }) { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try client.readResponse().status == 200)
                #expect(client.waitForClose())
            }
        }
    }

    @Test func slowBodyIsCutOffByTheBodyTimeout() async throws {
        try await withServer({ $0.bodyTimeout = .milliseconds(300) }) { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
                #expect(try client.readResponse().status == 408)
                #expect(client.waitForClose())
            }
        }
    }

    @Test func slowlorisClientIsCutOffByTheHeaderTimeout() async throws {
        try await withServer({
            $0.headerTimeout = .milliseconds(500)
            $0.idleTimeout = .seconds(30)
        }) { _, port in
            let cutOff = try await onThread { () -> Bool in
                let client = try RawClient(port: port)
                let request = Array("GET / HTTP/1.1\r\nHost: x\r\nX-Drip: \(String(repeating: "d", count: 100))".utf8)
                for byte in request {
                    if !client.send([byte]) || client.peerClosedNow() { return true }
                    Thread.sleep(forTimeInterval: 0.1)
                }
                return false
            }
            #expect(cutOff)
        }
    }

    @Test func gracefulShutdownFinishesTheInFlightRequestAndClosesIdleConnections() async throws {
        let responder = TestResponder()
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1),
            responder: responder, logger: Logger(label: "test", level: .error))
        let port = try server.start()
        let idle = try await onThread { () -> RawClient in
            let client = try RawClient(port: port)
            client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try client.readResponse()
            return client
        }
        let held = Task {
            try await onThread { () -> RawResponse in
                let client = try RawClient(port: port, receiveTimeout: 60)
                client.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
                return try client.readResponse()
            }
        }
        // The held request is with the responder, which answers only when the gate opens: no race with a
        // timer, however loaded the machine.
        #expect(try await waitUntil(seconds: 120) { server.metrics.requestsHandled >= 2 })
        let shutdown = Task { await server.shutdown(gracePeriod: .seconds(60)) }
        // The listener closes as the shutdown begins; only then is the held request let go.
        #expect(try await waitUntil(seconds: 120) { (try? RawClient(port: port)) == nil })
        await responder.gate.open()
        await shutdown.value
        let response = try await held.value
        #expect(response.status == 200)
        #expect(response.text == "held")
        #expect(response.header("Connection") == "close")
        #expect(try await onThread { idle.waitForClose() })
        #expect(throws: RawClientError.self) { try RawClient(port: port) }
        #expect(server.openConnections == 0)
    }

    @Test func shutdownClosesWhatIsStillOpenAtTheDeadline() async throws {
        let responder = TestResponder()
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1),
            responder: responder, logger: Logger(label: "test", level: .error))
        let port = try server.start()
        let held = Task {
            try await onThread { () -> Bool in
                let client = try RawClient(port: port, receiveTimeout: 60)
                client.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
                return client.waitForClose()
            }
        }
        // The request stays in flight (its gate is shut) past the grace period, so shutdown must cut it off.
        #expect(try await waitUntil(seconds: 120) { server.metrics.requestsHandled >= 1 })
        await server.shutdown(gracePeriod: .milliseconds(300))
        #expect(try await held.value)
        await responder.gate.open()
    }

    @Test func connectionInfoCarriesThePeerAddress() async throws {
        try await withServer { _, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send("GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try client.readResponse().text == "127.0.0.1 false")
            }
        }
    }

    @Test func severalEventLoopsShareThePort() async throws {
        try await withServer({ $0.eventLoops = 2 }) { server, port in
            try await onThread {
                for index in 0..<8 {
                    let client = try RawClient(port: port)
                    client.send("GET /n\(index) HTTP/1.1\r\nHost: x\r\n\r\n")
                    #expect(try client.readResponse().text == "GET /n\(index)")
                }
            }
            #expect(server.metrics.acceptedConnections == 8)
        }
    }

    @Test(arguments: [1, 2])
    func busyPortIsATypedErrorWhateverTheNumberOfLoops(loops: Int) async throws {
        let first = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: loops),
            responder: TestResponder(), logger: Logger(label: "test", level: .error))
        let port = try first.start()
        // With several loops both servers ask for SO_REUSEPORT; the second must still be refused.
        let second = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: port, eventLoops: loops),
            responder: TestResponder(), logger: Logger(label: "test", level: .error))
        do {
            try second.start()
            Issue.record("a second server started on a port the first one holds")
            await second.shutdown(gracePeriod: .seconds(1))
        } catch {
            #expect(error == HTTPServerError(.addressInUse, ""))
            await second.waitUntilStopped()
        }
        await first.shutdown(gracePeriod: .seconds(1))
    }

    @Test func invalidHostIsATypedError() {
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "not-an-address", port: 0, eventLoops: 1),
            responder: TestResponder(), logger: Logger(label: "test", level: .error))
        #expect(throws: HTTPServerError(.invalidAddress, "")) { try server.start() }
    }

    @Test func startingTwiceIsATypedError() async throws {
        try await withServer { server, _ in
            #expect(throws: HTTPServerError(.alreadyStarted, "")) { try server.start() }
        }
    }
}
