import Diagnostics
import Foundation
import HTTPCore
import HTTPServer
import Synchronization

/// A registry on our own `HTTPServer` at 127.0.0.1 that holds no repositories and counts the catalog
/// listings it answers: what a catalog sync asks of a registry, so a test sees how often syncs ran.
public final class FakeCatalogRegistry: Sendable {
    private final class Responder: HTTPResponder, Sendable {
        let catalogRequests = Atomic<Int>(0)

        func bodyLimit(for head: HTTPRequestHead) -> Int { 1 << 16 }

        func respond(to request: HTTPRequest) async -> HTTPResponse {
            switch request.path {
            case "/v2/_catalog":
                catalogRequests.add(1, ordering: .relaxed)
                return .json(Array(#"{"repositories":[]}"#.utf8))
            case "/v2/", "/v2":
                return .json(Array("{}".utf8))
            default:
                return .json(Array(#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#.utf8), status: .notFound)
            }
        }
    }

    private let responder = Responder()
    private let server: HTTPServer
    /// The port it listens on.
    public let port: Int

    /// Starts the fake on a free loopback port.
    public init() throws {
        server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1), responder: responder,
            logger: Logger(label: "fake-registry", level: .error))
        port = try server.start()
    }

    /// `http://127.0.0.1:<port>`.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// How many `GET /v2/_catalog` requests it answered (the first page of every sync).
    public var catalogRequests: Int { responder.catalogRequests.load(ordering: .relaxed) }

    /// Stops the server.
    public func stop() async { await server.shutdown(gracePeriod: .milliseconds(200)) }
}
