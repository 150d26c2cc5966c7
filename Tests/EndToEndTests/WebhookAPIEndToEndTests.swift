import CryptoCore
import Foundation
import TestSupport
import Testing

/// Webhooks through the REST API on the real `portcullis serve`: created with an application token, fed by a
/// skopeo push into Debian's docker-registry, the delivery listed through the API and redelivered (same bytes,
/// same signature) to a loopback receiver.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct WebhookAPIEndToEndTests {
    @Test func aWebhookMadeThroughTheAPIIsDeliveredListedAndRedelivered() async throws {
        let stack = try await RegistryEventsTests.EventsStack.start()
        defer { stack.stop() }
        let (receiver, port, received) = try WebhookReceiverScript.start(in: stack.scratch)
        defer { receiver.stop() }
        let token = try await stack.portcullis.createApplicationToken(user: "alice", name: "hooks")
        let auth = "Authorization: Bearer \(token)"
        let base = stack.portcullis.url + "/api/v1/namespaces/alice/webhooks"

        let created = try await HTTP.request(
            base, method: "POST", headers: [auth, "Content-Type: application/json"],
            body: #"{"url":"http://127.0.0.1:\#(port)/hook","events":["push"]}"#)
        #expect(created.status == 201, "\(created)")
        let secret = try #require(created.json?["secret"] as? String)
        let id = try #require((created.json?["webhook"] as? [String: Any])?["id"] as? Int)

        let alice = try await stack.alice()
        let image = try await OCIImage.build(in: stack.scratch.path("image"))
        try await stack.push(alice, image.reference, "alice/api-hooked:v1")

        func lines() -> [String] {
            ((try? String(contentsOf: received, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        let arrived = try await waitUntil(seconds: 30) { !lines().isEmpty }
        #expect(arrived, "no delivery arrived\n\(stack.logs())\n\(receiver.logTail())")

        var deliveries: [[String: Any]] = []
        let delivered = try await waitUntil(seconds: 30) {
            let answer = try? await HTTP.request(base + "/\(id)/deliveries", headers: [auth])
            deliveries =
                ((try? answer.map { try JSONSerialization.jsonObject(with: $0.body) }) as? [[String: Any]]) ?? []
            return deliveries.first?["state"] as? String == "delivered"
        }
        #expect(delivered, "\(deliveries)")
        let deliveryID = try #require(deliveries.first?["id"] as? Int)

        let redelivered = try await HTTP.request(
            base + "/\(id)/deliveries/\(deliveryID)/redeliver", method: "POST", headers: [auth])
        #expect(redelivered.status == 202, "\(redelivered)")
        let again = try await waitUntil(seconds: 30) { lines().count >= 2 }
        #expect(again, "the redelivery did not arrive\n\(receiver.logTail())")
        let requests = try lines().prefix(2).map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let bodies = requests.map { $0["body"] as? String ?? "" }
        #expect(bodies.count == 2 && bodies[0] == bodies[1])
        let headers = requests.last?["headers"] as? [String: String] ?? [:]
        #expect(
            headers["X-Portcullis-Signature"] == "sha256="
                + Hex.encode(HMAC.sha256(key: Array(secret.utf8), message: Array(bodies[1].utf8))))
        let listed = try await HTTP.request(base + "/\(id)/deliveries", headers: [auth])
        #expect(listed.header("X-Total-Count") == "2", "\(listed)")
        let shown = try await HTTP.request(base + "/\(id)", headers: [auth])
        #expect(!shown.text.contains(secret))
        #expect(!stack.portcullis.logTail(100_000).contains(secret))
    }
}

/// Registries through the REST API on the real `portcullis serve`: an administrator starts a catalog sync of
/// Debian's docker-registry holding a pushed image, and sees its result as `last_sync`; a user is refused.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct RegistryAPIEndToEndTests {
    @Test func anAdministratorStartsASyncAndSeesItsResult() async throws {
        let stack = try await RegistryEventsTests.EventsStack.start()
        defer { stack.stop() }
        let alice = try await stack.alice()
        let image = try await OCIImage.build(in: stack.scratch.path("image"))
        try await stack.push(alice, image.reference, "alice/synced:v1")
        let admin =
            "Authorization: Bearer " + (try await stack.portcullis.createApplicationToken(user: "admin", name: "ops"))
        let user =
            "Authorization: Bearer " + (try await stack.portcullis.createApplicationToken(user: "alice", name: "x"))
        let url = stack.portcullis.url + "/api/v1/registries"

        #expect(try await HTTP.request(url, headers: [user]).status == 403)
        #expect(try await HTTP.request(url + "/e2e/sync", method: "POST", headers: [user]).status == 403)
        let started = try await HTTP.request(url + "/e2e/sync", method: "POST", headers: [admin])
        #expect(started.status == 202, "\(started)")
        #expect(started.header("Location") == "/api/v1/registries/e2e")

        var state: [String: Any] = [:]
        let finished = try await waitUntil(seconds: 30) {
            state = (try? await HTTP.request(url + "/e2e", headers: [admin]).json) ?? [:]
            return state["last_sync"] is [String: Any]
        }
        #expect(finished, "\(state)\n\(stack.logs())")
        let last = state["last_sync"] as? [String: Any] ?? [:]
        #expect(last["result"] as? String == "succeeded", "\(state)")
        #expect(state["reachable"] as? Bool == true)
        #expect(state["event_backlog"] is Int)
        let audit = try await HTTP.request(
            stack.portcullis.url + "/api/v1/audit-events?action=registry.sync", headers: [admin])
        #expect(audit.header("X-Total-Count") == "1", "\(audit)")
    }
}

/// The webhook receiver of the end-to-end tests: appends each POST (headers and body) to a file, answers 204.
enum WebhookReceiverScript {
    /// Starts the receiver on a free loopback port in `scratch`: the process, its port, and the file it writes.
    static func start(in scratch: TemporaryDirectory) throws -> (BackgroundProcess, Int, URL) {
        let port = try freePort()
        let received = scratch.path("received.jsonl")
        let receiver = try BackgroundProcess(
            name: "receiver", executable: "/usr/bin/env",
            arguments: ["python3", "-c", script, "\(port)", received.path],
            environment: [:], removing: [], directory: scratch.url, logFile: scratch.path("receiver.log"))
        return (receiver, port, received)
    }

    static let script = """
        import http.server, json, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                with open(sys.argv[2], 'a') as out:
                    out.write(json.dumps({'headers': dict(self.headers), 'body': body.decode()}) + '\\n')
                self.send_response(204)
                self.end_headers()
            def log_message(self, *args):
                pass
        http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()
        """
}
