import CryptoCore
import Foundation
import TestSupport
import Testing

/// Outgoing webhooks end to end: a skopeo push into docker-registry 2.8 notifies a live `portcullis serve`,
/// whose event worker records the tag and, in the same transaction, queues a delivery that the webhook
/// worker POSTs, signed, to a receiver (a small python3 server writing what it got to a file).
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct WebhookEndToEndTests {
    @Test func aPushReachesASubscribedWebhookSignedInCloudEventsFormat() async throws {
        let stack = try await RegistryEventsTests.EventsStack.start()
        defer { stack.stop() }
        let (receiver, port, received) = try WebhookReceiverScript.start(in: stack.scratch)
        defer { receiver.stop() }

        let created = try await stack.portcullis.must([
            "webhook", "create", "alice", "http://127.0.0.1:\(port)/hook", "--format", "cloudevents", "--events",
            "push",
        ])
        let secret = try #require(
            created.stdout.split(separator: "\n").last.map { String($0.dropFirst("secret: ".count)) })

        let alice = try await stack.alice()
        let image = try await OCIImage.build(in: stack.scratch.path("image"))
        try await stack.push(alice, image.reference, "alice/hooked:v1")

        var lines: [String] = []
        let arrived = try await waitUntil(seconds: 120) {
            lines = ((try? String(contentsOf: received, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            return !lines.isEmpty
        }
        #expect(arrived, "no delivery arrived\n\(stack.logs())\n\(receiver.logTail())")
        let request = try #require(
            try lines.first.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let headers = try #require(request["headers"] as? [String: String])
        let body = try #require(request["body"] as? String)
        #expect(headers["Content-Type"] == "application/cloudevents+json")
        #expect(headers["X-Portcullis-Event"] == "push")
        #expect(
            headers["X-Portcullis-Signature"] == "sha256="
                + Hex.encode(HMAC.sha256(key: Array(secret.utf8), message: Array(body.utf8))))
        let event = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(event["type"] as? String == "io.portcullis.repository.push")
        #expect(event["source"] as? String == "/registries/e2e")
        let data = try #require(event["data"] as? [String: Any])
        #expect(data["repository"] as? String == "alice/hooked")
        #expect(data["namespace"] as? String == "alice")
        #expect(data["tags"] as? [String] == ["v1"])
        #expect(data["digest"] as? String == image.manifestDigest)
        #expect(data["actor"] as? String == "alice")

        let log = try await stack.portcullis.must(["webhook", "deliveries", "1"])
        #expect(log.stdout.contains("delivered"))
        #expect(!stack.portcullis.logTail(100_000).contains(secret))
    }
}
