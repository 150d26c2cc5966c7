import Diagnostics
import Foundation
import HTTPCore
import HTTPServer
import TestSupport
import Testing

/// Runs a command to completion and returns its exit status and standard output.
private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = try ChildProcess(executable, arguments, output: .pipe)
    let data = process.output.map(readToEnd) ?? Data()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

private let tools = ["/usr/bin/openssl", "/usr/bin/curl"]

@Suite(.enabled(if: tools.allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }, "needs openssl and curl"))
struct HTTPServerTLSTests {
    /// Writes a throwaway self-signed P-256 certificate for 127.0.0.1 and returns (directory, cert, key).
    private func makeCertificate() async throws -> (URL, String, String) {
        try await onThread { try makeCertificateBlocking() }
    }

    private func makeCertificateBlocking() throws -> (URL, String, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "portcullis-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let cert = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let result = try run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key,
                "-out", cert,
            ])
        try #require(result.status == 0, "openssl could not create a test certificate")
        return (directory, cert, key)
    }

    @Test func requestOverTLSIsAnsweredAndMarkedSecure() async throws {
        let (directory, cert, key) = try await makeCertificate()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withServer({ $0.tls = TLSConfiguration(certificatePath: cert, keyPath: key) }) { _, port in
            let result = try await onThread {
                try run(
                    "/usr/bin/curl",
                    [
                        "-sS", "--max-time", "60", "--cacert", cert, "https://127.0.0.1:\(port)/info",
                        "https://127.0.0.1:\(port)/second",
                    ])
            }
            #expect(result.status == 0)
            #expect(result.output == "127.0.0.1 trueGET /second")
        }
    }

    @Test func largeBodyRoundTripsOverTLS() async throws {
        let (directory, cert, key) = try await makeCertificate()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bodyFile = directory.appendingPathComponent("body.bin")
        let body = Data((0..<900_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try body.write(to: bodyFile)
        let echoed = directory.appendingPathComponent("echoed.bin").path
        try await withServer(
            { $0.tls = TLSConfiguration(certificatePath: cert, keyPath: key) }, responder: TestResponder(limit: 1 << 20)
        ) { _, port in
            let result = try await onThread {
                try run(
                    "/usr/bin/curl",
                    [
                        "-sS", "--max-time", "60", "--cacert", cert, "-H", "Expect: 100-continue",
                        "--data-binary", "@\(bodyFile.path)", "-o", echoed, "https://127.0.0.1:\(port)/echo",
                    ])
            }
            #expect(result.status == 0)
            #expect(FileManager.default.contents(atPath: echoed) == body)
        }
    }

    @Test func tlsBelowVersion12IsRefusedByTheServer() async throws {
        let (directory, cert, key) = try await makeCertificate()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withServer({ $0.tls = TLSConfiguration(certificatePath: cert, keyPath: key) }) { _, port in
            // SECLEVEL=0 lets the client offer TLS 1.1, so only the server's minimum can refuse it.
            @Sendable func handshake(_ version: String) throws -> Int32 {
                try run(
                    "/usr/bin/openssl",
                    [
                        "s_client", "-connect", "127.0.0.1:\(port)", version, "-cipher", "DEFAULT:@SECLEVEL=0",
                        "-CAfile", cert,
                    ]
                ).status
            }
            let (old, current) = try await onThread { (try handshake("-tls1_1"), try handshake("-tls1_2")) }
            #expect(old != 0)
            #expect(current == 0)
        }
    }

    @Test func aTLSConnectionThatSendsNoRequestAfterItsHandshakeIsClosedByTheHeaderTimeout() async throws {
        let (directory, cert, key) = try await makeCertificate()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withServer({
            $0.tls = TLSConfiguration(certificatePath: cert, keyPath: key)
            // Long enough for the handshake on a loaded machine (it is due within it too).
            $0.headerTimeout = .seconds(10)
            $0.idleTimeout = .seconds(600)
        }) { server, port in
            // s_client completes the handshake, then waits on a standard input that never ends; it
            // exits when the server closes the connection. The 60 s only bounds a broken run.
            let (exited, diagnostics) = try await onThread { () -> (Bool, String) in
                let process = try ChildProcess(
                    "/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", cert, "-quiet"],
                    input: .pipe, errors: .pipe)
                let deadline = Date().addingTimeInterval(60)
                while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
                let exited = !process.isRunning
                if !exited { process.terminate() }
                process.waitUntilExit()
                try process.input?.close()
                return (exited, String(decoding: process.errors.map(readToEnd) ?? Data(), as: UTF8.self))
            }
            #expect(exited, "the server kept a silent TLS connection open")
            #expect(diagnostics.contains("verify return:1"), "the handshake did not complete: \(diagnostics)")
            #expect(server.metrics.timedOutConnections == 1)
            #expect(server.metrics.requestsHandled == 0)
        }
    }

    @Test func plainHTTPToATLSPortIsDropped() async throws {
        let (directory, cert, key) = try await makeCertificate()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withServer({ $0.tls = TLSConfiguration(certificatePath: cert, keyPath: key) }) { server, port in
            try await onThread {
                let client = try RawClient(port: port)
                client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(client.waitForClose())
            }
            #expect(server.metrics.requestsHandled == 0)
        }
    }

    @Test func missingCertificateIsATypedError() {
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(
                port: 0, eventLoops: 1,
                tls: TLSConfiguration(certificatePath: "/nonexistent/cert.pem", keyPath: "/nonexistent/key.pem")),
            responder: TestResponder(), logger: Logger(label: "test", level: .error))
        #expect(throws: HTTPServerError(.tlsConfiguration, "")) { try server.start() }
    }
}
