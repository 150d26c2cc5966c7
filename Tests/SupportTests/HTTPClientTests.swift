import Foundation
import HTTPClient
import TestSupport
import Testing
import Threading

/// A pool handed to a client explicitly; never shut down, because a `BlockingPool` must outlive its threads.
private let testPool = BlockingPool(name: "test-http", threads: 4)

/// A python3 child process serving HTTP on a loopback port; `stop()` kills it and waits for it.
private final class LocalServer: @unchecked Sendable {
    let process: ChildProcess
    let port: Int
    let directory: URL

    var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }
    private let scheme: String

    private init(process: ChildProcess, port: Int, directory: URL, scheme: String) {
        self.process = process
        self.port = port
        self.directory = directory
        self.scheme = scheme
    }

    /// The echo/slow/large test server below, optionally over TLS with `certificate` and `key` files.
    static func startScripted(tls: (certificate: String, key: String)? = nil) async throws -> LocalServer {
        let directory = try makeDirectory()
        let portFile = directory.appendingPathComponent("port").path
        var arguments = ["python3", "-c", serverScript, portFile]
        if let tls { arguments += [tls.certificate, tls.key] }
        let process = try launch(arguments, in: directory)
        for _ in 0..<500 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                return LocalServer(
                    process: process, port: port, directory: directory, scheme: tls == nil ? "http" : "https")
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await LocalServer(process: process, port: 0, directory: directory, scheme: "http").stop()
        throw ServerDidNotStart()
    }

    /// `python3 -m http.server` serving `files` from a fresh directory on a free port.
    static func startStatic(files: [String: String], client: CurlHTTPClient) async throws -> LocalServer {
        let directory = try makeDirectory()
        for (name, content) in files {
            try content.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let port = try await freePort()
        let process = try launch(
            ["python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", directory.path],
            in: directory)
        let server = LocalServer(process: process, port: port, directory: directory, scheme: "http")
        for _ in 0..<500 {
            if (try? await client.send(OutboundRequest(url: server.baseURL + "/"))) != nil { return server }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await server.stop()
        throw ServerDidNotStart()
    }

    /// Runs `body` against this server, then stops it whether `body` threw or not.
    func serving(_ body: (LocalServer) async throws -> Void) async throws {
        do {
            try await body(self)
        } catch {
            await stop()
            throw error
        }
        await stop()
    }

    /// Kills the server and waits for it on the test pool, keeping the wait off the cooperative threads.
    func stop() async {
        await testPool.run { self.stopBlocking() }
    }

    private func stopBlocking() {
        // SIGKILL, not terminate(): the child inherits the test thread's signal mask, where SIGTERM
        // may be blocked, and a surviving server would outlive the test run.
        process.signal(SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A loopback port nothing listens on (the OS picked it and it was closed again).
    static func freePort() async throws -> Int { try await testPool.run { try freePortBlocking() } }

    private static func freePortBlocking() throws -> Int {
        let process = try ChildProcess(
            "/usr/bin/env",
            [
                "python3", "-c",
                "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1]); s.close()",
            ], output: .pipe)
        let output = process.output.map(readToEnd) ?? Data()
        process.waitUntilExit()
        guard let port = Int(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw ServerDidNotStart() }
        return port
    }

    static func makeDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("httpclient-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func launch(_ arguments: [String], in directory: URL) throws -> ChildProcess {
        try ChildProcess("/usr/bin/env", arguments, directory: directory.path)
    }

    struct ServerDidNotStart: Error {}

    /// Endpoints: /slow (sleeps 5 s), /large (200 kB with Content-Length), /stream (200 kB, no length),
    /// /redirect (302 to /echo), /status/N, and everything else echoes the request as JSON.
    static let serverScript = #"""
        import http.server, json, os, ssl, sys, time

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, code, body, headers=()):
                self.send_response(code)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def echo(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                info = {
                    "method": self.command, "path": self.path, "body": body.decode("latin-1"),
                    "headers": {k.lower(): v for k, v in self.headers.items()}, "peer": self.client_address[1],
                }
                self.reply(200, json.dumps(info).encode(), [("Content-Type", "application/json"), ("X-Echo", "yes")])

            def do_GET(self):
                if self.path.startswith("/slow"):
                    time.sleep(5)
                    self.reply(200, b"late")
                elif self.path.startswith("/large"):
                    self.reply(200, b"x" * 200000)
                elif self.path.startswith("/stream"):
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for _ in range(200):
                        self.wfile.write(b"y" * 1000)
                    self.close_connection = True
                elif self.path.startswith("/redirect"):
                    self.reply(302, b"", [("Location", "/echo")])
                elif self.path.startswith("/status/"):
                    self.reply(int(self.path[8:]), b"status body")
                else:
                    self.echo()

            do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = echo

        def exit_with_parent(parent=os.getppid()):
            # If the test process dies without stopping us, do not outlive it.
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)

        import threading
        threading.Thread(target=exit_with_parent, daemon=True).start()
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if len(sys.argv) > 3:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[2], sys.argv[3])
            server.socket = context.wrap_socket(server.socket, server_side=True)
        with open(sys.argv[1] + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(sys.argv[1] + ".tmp", sys.argv[1])
        server.serve_forever()
        """#
}

/// The JSON the echo endpoint returns.
private struct Echo: Decodable {
    let method: String
    let path: String
    let body: String
    let headers: [String: String]
    let peer: Int

    init(_ response: InboundResponse) throws { self = try JSONDecoder().decode(Echo.self, from: Data(response.body)) }

    /// The body bytes (the server decodes them as Latin-1, one scalar per byte).
    var bodyBytes: [UInt8] { body.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } }
}

@Suite struct HTTPClientTests {
    @Test func aGetFetchesAFileFromPythonsHTTPServerAndA404IsAResponseNotAnError() async throws {
        let client = CurlHTTPClient(pool: testPool)
        try await LocalServer.startStatic(files: ["hello.txt": "hello, world\n"], client: client).serving { server in
            let response = try await client.send(OutboundRequest(url: server.baseURL + "/hello.txt"))
            #expect(response.status == 200)
            #expect(response.bodyText == "hello, world\n")
            #expect(response.header("content-type")?.hasPrefix("text/plain") == true)

            let missing = try await client.send(OutboundRequest(url: server.baseURL + "/missing.txt"))
            #expect(missing.status == 404)

            let head = try await client.send(OutboundRequest(method: .head, url: server.baseURL + "/hello.txt"))
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.header("Content-Length") == "13")
        }
    }

    @Test func aPostSendsItsBodyAndHeadersVerbatim() async throws {
        let client = CurlHTTPClient()
        try await LocalServer.startScripted().serving { server in
            let body = (0...255).map { UInt8($0) } + Array(String(repeating: "z", count: 5000).utf8)
            let response = try await client.send(
                OutboundRequest(
                    method: .post, url: server.baseURL + "/hook?x=1",
                    headers: [("Content-Type", "application/octet-stream"), ("X-Portcullis-Event", "push")], body: body)
            )
            #expect(response.status == 200)
            #expect(response.header("x-echo") == "yes")
            let echo = try Echo(response)
            #expect(echo.method == "POST")
            #expect(echo.path == "/hook?x=1")
            #expect(echo.bodyBytes == body)
            #expect(echo.headers["x-portcullis-event"] == "push")
            #expect(echo.headers["content-type"] == "application/octet-stream")
            #expect(echo.headers["content-length"] == "\(body.count)")
            #expect(echo.headers["expect"] == nil)
            #expect(echo.headers["user-agent"] == "Portcullis")
        }
    }

    @Test(arguments: [OutboundRequest.Method.put, .patch, .delete])
    func otherMethodsReachTheServerWithTheirBodies(method: OutboundRequest.Method) async throws {
        let client = CurlHTTPClient()
        try await LocalServer.startScripted().serving { server in
            let response = try await client.send(
                OutboundRequest(method: method, url: server.baseURL + "/item", body: Array("{\"a\":1}".utf8)))
            let echo = try Echo(response)
            #expect(echo.method == method.rawValue)
            #expect(echo.body == "{\"a\":1}")
        }
    }

    @Test func aSlowServerTriggersTheTimeout() async throws {
        let client = CurlHTTPClient()
        try await LocalServer.startScripted().serving { server in
            await #expect(throws: HTTPClientError.timeout) {
                try await client.send(OutboundRequest(url: server.baseURL + "/slow", timeout: .milliseconds(300)))
            }
        }
    }

    @Test func aBodyOverTheLimitIsRefusedWithOrWithoutContentLength() async throws {
        let client = CurlHTTPClient()
        try await LocalServer.startScripted().serving { server in
            for path in ["/large", "/stream"] {
                await #expect(throws: HTTPClientError.responseTooLarge, "\(path)") {
                    try await client.send(OutboundRequest(url: server.baseURL + path, maxResponseBytes: 1000))
                }
            }
            // The aborted transfers leave the client usable, and a limit above the size lets the body through.
            let large = try await client.send(
                OutboundRequest(url: server.baseURL + "/large", maxResponseBytes: 300_000))
            #expect(large.body.count == 200_000)
            let streamed = try await client.send(OutboundRequest(url: server.baseURL + "/stream"))
            #expect(streamed.body.count == 200_000)
        }
    }

    @Test func aRefusedConnectionIsConnectionFailed() async throws {
        let client = CurlHTTPClient()
        let port = try await LocalServer.freePort()
        do {
            _ = try await client.send(OutboundRequest(url: "http://127.0.0.1:\(port)/"))
            Issue.record("a request to a closed port succeeded")
        } catch let error as HTTPClientError {
            #expect(error == .connectionFailed)
            #expect(!error.message.isEmpty)
        }
    }

    @Test func redirectsAreNotFollowedUnlessAsked() async throws {
        let client = CurlHTTPClient()
        try await LocalServer.startScripted().serving { server in
            let unfollowed = try await client.send(OutboundRequest(url: server.baseURL + "/redirect"))
            #expect(unfollowed.status == 302)
            #expect(unfollowed.header("Location") == "/echo")
            let followed = try await client.send(
                OutboundRequest(url: server.baseURL + "/redirect", followRedirects: true))
            #expect(followed.status == 200)
            #expect(try Echo(followed).path == "/echo")
            #expect(followed.header("Location") == nil)
        }
    }

    @Test func sequentialRequestsReuseOneKeepAliveConnection() async throws {
        let client = CurlHTTPClient()
        try await LocalServer.startScripted().serving { server in
            var peers: Set<Int> = []
            for _ in 0..<5 {
                peers.insert(try Echo(try await client.send(OutboundRequest(url: server.baseURL + "/"))).peer)
            }
            #expect(peers.count == 1)
        }
    }

    @Test func concurrentRequestsAllSucceed() async throws {
        let client = CurlHTTPClient()
        try await LocalServer.startScripted().serving { server in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<24 {
                    group.addTask {
                        try await client.send(OutboundRequest(url: server.baseURL + "/status/\(200 + index % 3)"))
                            .status
                    }
                }
                var collected: [Int] = []
                for try await status in group { collected.append(status) }
                return collected
            }
            #expect(statuses.sorted() == (0..<24).map { 200 + $0 % 3 }.sorted())
        }
    }

    @Test func malformedRequestsAreRefusedBeforeAnythingIsSent() async throws {
        let client = CurlHTTPClient()
        for url in [
            "ftp://example.test/", "file:///etc/passwd", "http://", "http:///path", "http://a b/", "example.test",
        ] {
            await #expect(throws: HTTPClientError.invalidURL, "\(url)") {
                try await client.send(OutboundRequest(url: url))
            }
        }
        let url = "http://127.0.0.1:9/"
        let bad: [OutboundRequest] = [
            OutboundRequest(url: url, headers: [("X-Evil", "a\r\nInjected: yes")]),
            OutboundRequest(url: url, headers: [("Bad Name", "x")]),
            OutboundRequest(url: url, headers: [("Content-Length", "5")]),
            OutboundRequest(url: url, body: [1]),
            OutboundRequest(method: .init(rawValue: "TRACE"), url: url),
            OutboundRequest(url: url, timeout: .zero),
            OutboundRequest(url: url, maxResponseBytes: 0),
        ]
        for request in bad {
            await #expect(throws: HTTPClientError.invalidRequest) { try await client.send(request) }
        }
    }

    @Test func tlsIsVerifiedByDefaultAndAcceptedWithTheRightCAFile() async throws {
        let directory = try LocalServer.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let status = try await testPool.run {
            let openssl = try LocalServer.launch(
                [
                    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", certificate,
                ], in: directory)
            openssl.waitUntilExit()
            return openssl.terminationStatus
        }
        #expect(status == 0)
        try await LocalServer.startScripted(tls: (certificate, key)).serving { server in
            await #expect(throws: HTTPClientError.tlsFailed) {
                try await CurlHTTPClient().send(OutboundRequest(url: server.baseURL + "/"))
            }
            var configuration = CurlHTTPClient.Configuration()
            configuration.caFile = certificate
            let response = try await CurlHTTPClient(configuration: configuration).send(
                OutboundRequest(url: server.baseURL + "/"))
            #expect(response.status == 200)
        }
    }
}
