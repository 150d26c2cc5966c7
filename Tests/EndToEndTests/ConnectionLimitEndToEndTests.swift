import Foundation
import TestSupport
import Testing

/// Issue 10 §5 through the real binary: with the shipped per-address cap, one address that opens
/// 4,000 idle connections keeps 256 of them and is refused the rest, while `/healthz` and the token
/// endpoint go on answering other addresses. Needs no registry: the token request names the
/// configured service and no scope.
@Suite(.enabled(if: FileDescriptorLimit.allows(10_000)))
struct ConnectionLimitEndToEndTests {
    @Test func oneAddressHolding4000IdleConnectionsDoesNotStopHealthOrTokenRequestsFromOthers() async throws {
        try FileDescriptorLimit.raise(to: 10_000)  // inherited by the server process
        guard FileManager.default.isExecutableFile(atPath: portcullisExecutable.path) else {
            throw HarnessError("no portcullis binary at \(portcullisExecutable.path); run swift build first")
        }
        let portcullis = try Portcullis(
            port: try freePort(), service: "e2e-registry.test", issuer: "portcullis-e2e",
            registryURL: "http://127.0.0.1:9")
        defer { portcullis.stop() }
        // The shipped server fragment with one change: a header timeout long enough that the held
        // connections are still there when the others ask (the default would close them after 10 s).
        let serverFragment = portcullis.configDirectory.appendingPathComponent("00-server.yaml")
        let shipped = try String(contentsOf: serverFragment, encoding: .utf8)
        #expect(shipped.contains("maxConnectionsPerAddress: 256"))
        try portcullis.writeConfig(
            "00-server.yaml", shipped.replacingOccurrences(of: "headerTimeout: 10s", with: "headerTimeout: 10m"))
        try await portcullis.must(["db", "migrate"])
        try await portcullis.createUser("alice", password: "alice-password-e2e")
        try portcullis.configureSigningKeys([Portcullis.defaultKey])
        try await portcullis.generateKey(.ec)
        try await portcullis.start()

        let port = portcullis.port
        let crowd = try await onThread { try LoopbackCrowd(count: 4000, port: port, from: "127.0.0.2") }
        defer { withExtendedLifetime(crowd) {} }
        let settled = try await waitUntil(seconds: 120) {
            let metrics = try await HTTP.request(portcullis.url + "/metrics").text
            return Self.value(of: "portcullis_http_rejected_connections_per_address", in: metrics) == 4000 - 256
        }
        #expect(settled, "\(portcullis.logTail())")

        let health = try await HTTP.request(portcullis.url + "/healthz")
        #expect(health.status == 200)
        let token = try await portcullis.tokenRequest(user: ("alice", "alice-password-e2e"))
        #expect(token.status == 200, "\(token)")
        #expect(token.json?["token"] is String)

        let fates = try await onThread { try crowd.fates() }
        #expect(fates.count(of: .held) == 256)
        #expect(fates.count(of: .refused) == 4000 - 256)
        // One warning for the flood, not 3,744.
        #expect(portcullis.logTail(1_000_000).components(separatedBy: "refused connections").count - 1 == 1)
    }

    /// The value of an unlabelled metric in Prometheus text.
    private static func value(of name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }
}
