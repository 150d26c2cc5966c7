import Diagnostics
import HTTPCore
import Synchronization

/// Builders shared by the routing, middleware and error tests.
enum RoutingFixtures {
    static func request(
        _ method: HTTPMethod, _ path: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
        remoteAddress: String = "192.0.2.10", isTLS: Bool = false
    ) -> HTTPRequest {
        HTTPRequest(
            head: HTTPRequestHead(method: method, target: path, path: path, headers: headers), body: body,
            connection: HTTPConnectionInfo(remoteAddress: remoteAddress, remotePort: 40000, isTLS: isTLS))
    }

    static func body(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }
}

/// A log sink that keeps the lines for assertions.
final class RoutingTestLogSink: LogSink {
    private let stored = Mutex<[String]>([])

    func write(line: String) { stored.withLock { $0.append(line) } }

    var lines: [String] { stored.withLock { $0 } }

    func logger(_ label: String = "test") -> Logger { Logger(label: label, level: .debug, sink: self) }
}
