import Diagnostics
import HTTPCore
import HTTPServer
import Synchronization

/// One request a receiver got.
public struct ReceivedRequest: Sendable {
    /// The request's path.
    public var path: String
    /// Its headers.
    public var headers: HTTPHeaders
    /// Its body.
    public var body: [UInt8]
}

/// A webhook receiver on our own HTTPServer at 127.0.0.1: records requests and answers with the scripted
/// statuses in turn (then 200).
public final class WebhookReceiver: HTTPResponder, Sendable {
    private struct State {
        var requests: [ReceivedRequest] = []
        var script: [(status: Int, body: String)] = []
    }

    private let state = Mutex(State())
    private let server: HTTPServer
    /// The loopback port it listens on.
    public let port: Int

    /// The URL to point a webhook at.
    public var url: String { "http://127.0.0.1:\(port)/hook" }
    /// Every request received so far, in order.
    public var requests: [ReceivedRequest] { state.withLock { $0.requests } }

    /// Listens on `port` (0: any free one) and answers `answers` in turn, then 200.
    public init(port: Int = 0, answers: [(status: Int, body: String)] = []) throws {
        let box = ResponderBox()
        server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: port, eventLoops: 1),
            responder: box, logger: Logger(label: "receiver", level: .error))
        self.port = try server.start()
        state.withLock { $0.script = answers }
        box.target.withLock { $0 = self }
    }

    /// Bodies up to 1 MiB.
    public func bodyLimit(for head: HTTPRequestHead) -> Int { 1 << 20 }

    /// Records the request and gives the next scripted answer.
    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        let answer = state.withLock { state -> (status: Int, body: String) in
            state.requests.append(ReceivedRequest(path: request.path, headers: request.headers, body: request.body))
            return state.script.isEmpty ? (200, "thanks") : state.script.removeFirst()
        }
        return HTTPResponse(status: HTTPStatus(code: answer.status), body: Array(answer.body.utf8))
    }

    /// Stops listening.
    public func stop() async { await server.shutdown(gracePeriod: .milliseconds(100)) }

    /// A loopback port nothing listens on (a receiver that is down), free to listen on later.
    public static func downPort() async throws -> Int {
        let receiver = try WebhookReceiver()
        await receiver.stop()
        return receiver.port
    }
}

/// Lets the server hold a responder created after it (the receiver owns the server).
private final class ResponderBox: HTTPResponder, Sendable {
    let target = Mutex<WebhookReceiver?>(nil)
    func bodyLimit(for head: HTTPRequestHead) -> Int { 1 << 20 }
    func respond(to request: HTTPRequest) async -> HTTPResponse {
        guard let receiver = target.withLock({ $0 }) else { return HTTPResponse(status: HTTPStatus(code: 503)) }
        return await receiver.respond(to: request)
    }
}
