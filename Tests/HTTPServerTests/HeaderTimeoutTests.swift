import Foundation
import HTTPServer
import TestSupport
import Testing

/// The header timeout runs from the accept on a new connection (not the idle timeout), and from
/// the first byte of a later request on a kept-alive one. Every server here has a header timeout far
/// shorter than its idle timeout, so a connection closed early was closed by the header timeout; the
/// receive timeouts only bound a broken run.
@Suite struct HeaderTimeoutTests {
    /// For a client that sends nothing: 1 s keeps the test short, and nothing it does can be late.
    private static func silent(_ configuration: inout HTTPServerConfiguration) {
        configuration.headerTimeout = .seconds(1)
        configuration.idleTimeout = .seconds(600)
    }

    /// For a client that must send something first: its header deadline runs from the accept, so it
    /// is long enough that a test thread held up on a loaded machine still sends in time.
    private static func sending(_ configuration: inout HTTPServerConfiguration) {
        configuration.headerTimeout = .seconds(10)
        configuration.idleTimeout = .seconds(600)
    }

    @Test func aConnectionThatSendsNothingIsClosedWithoutAResponseAfterTheHeaderTimeout() async throws {
        try await withServer(Self.silent) { server, port in
            let received = try await onThread { () -> [UInt8]? in
                let client = try RawClient(port: port, receiveTimeout: 60)
                return client.readUntilClose()
            }
            #expect(
                received == [],
                "the server sent \(received.map { String(decoding: $0, as: UTF8.self) } ?? "nothing and kept the connection open")"
            )
            #expect(server.metrics.timedOutConnections == 1)
        }
    }

    @Test(arguments: [
        (served: 0, partial: "G"), (0, "GET / HTTP/1.1\r\n"), (0, "GET / HTTP/1.1\r\nHost: x\r\n"),
        (1, "GET /second HTTP/1.1\r\nHo"),
    ])
    func aPartialHeadGets408AndTheConnectionCloses(served: Int, partial: String) async throws {
        try await withServer(Self.sending) { server, port in
            try await onThread {
                let client = try RawClient(port: port, receiveTimeout: 60)
                for index in 0..<served {
                    client.send("GET /\(index) HTTP/1.1\r\nHost: x\r\n\r\n")
                    #expect(try client.readResponse().status == 200)
                }
                client.send(partial)
                let response = try client.readResponse()
                #expect(response.status == 408)
                #expect(response.header("Connection") == "close")
                #expect(client.waitForClose())
            }
            #expect(server.metrics.timedOutConnections == 1)
        }
    }

    @Test func aKeptAliveConnectionBetweenRequestsWaitsTheIdleTimeoutNotTheHeaderTimeout() async throws {
        try await withServer(Self.sending) { server, port in
            try await onThread {
                let kept = try RawClient(port: port, receiveTimeout: 60)
                kept.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try kept.readResponse().text == "GET /first")
                // A silent connection opened after the first response is closed by the header timeout;
                // once it is, at least a header timeout has passed while `kept` sat idle.
                let witness = try RawClient(port: port, receiveTimeout: 60)
                #expect(witness.readUntilClose() == [])
                #expect(!kept.peerClosedNow())
                kept.send("GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try kept.readResponse().text == "GET /second")
            }
            #expect(server.metrics.timedOutConnections == 1)
        }
    }

    @Test func aConnectionThatSendsItsRequestInTimeIsAnswered() async throws {
        try await withServer(Self.sending) { _, port in
            try await onThread {
                let client = try RawClient(port: port, receiveTimeout: 60)
                client.send("GET /prompt HTTP/1.1\r\n")
                client.send("Host: x\r\n\r\n")
                #expect(try client.readResponse().text == "GET /prompt")
            }
        }
    }
}
