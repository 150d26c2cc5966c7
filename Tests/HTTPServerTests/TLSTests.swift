import Diagnostics
import Foundation
import HTTPCore
import HTTPServer
import Testing

/// Runs a command to completion and returns its exit status and standard output.
private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

private let tools = ["/usr/bin/openssl", "/usr/bin/curl"]

@Suite(.enabled(if: tools.allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }, "needs openssl and curl"))
struct HTTPServerTLSTests {
    /// Writes a throwaway self-signed P-256 certificate for 127.0.0.1 and returns (directory, cert, key).
    private func makeCertificate() throws -> (URL, String, String) {
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
        let (directory, cert, key) = try makeCertificate()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withServer({ $0.tls = TLSConfiguration(certificatePath: cert, keyPath: key) }) { _, port in
            let result = try await onThread {
                try run(
                    "/usr/bin/curl",
                    [
                        "-sS", "--max-time", "10", "--cacert", cert, "https://127.0.0.1:\(port)/info",
                        "https://127.0.0.1:\(port)/second",
                    ])
            }
            #expect(result.status == 0)
            #expect(result.output == "127.0.0.1 trueGET /second")
        }
    }

    @Test func tlsBelowVersion12IsRefused() async throws {
        let (directory, cert, key) = try makeCertificate()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withServer({ $0.tls = TLSConfiguration(certificatePath: cert, keyPath: key) }) { _, port in
            let result = try await onThread {
                try run(
                    "/usr/bin/curl",
                    [
                        "-sS", "--max-time", "10", "--cacert", cert, "--tlsv1.0", "--tls-max", "1.1",
                        "https://127.0.0.1:\(port)/info",
                    ])
            }
            #expect(result.status != 0)
        }
    }

    @Test func plainHTTPToATLSPortIsDropped() async throws {
        let (directory, cert, key) = try makeCertificate()
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
