import Foundation
import PostgresStorage
import Storage
import TestSupport
import Testing
import Threading

/// Three real `portcullis serve` processes on one PostgreSQL database, each receiving a third of the registry's
/// notifications: every instance's workers drain the shared queues, and every event is applied once and every
/// webhook delivery sent once to a loopback receiver that counts.
@Suite(.enabled(if: PostgresServer.shouldRun), .serialized)
struct QueueInstancesTests {
    static let pool = BlockingPool(name: "queue-instances-tests", threads: 1)
    static let eventsSecret = "the-events-secret-of-this-test"
    /// Repositories whose events re-push one tag, each event with the next digest.
    static let chains = 9
    static let eventsPerChain = 30
    /// Pushes of distinct tags into the namespace with a webhook: one delivery each.
    static let hookedPushes = 30

    static func digest(_ chain: Int, _ position: Int) -> String {
        let hex = String(chain * 1000 + position, radix: 16)
        return "sha256:" + String(repeating: "0", count: 64 - hex.count) + hex
    }

    /// One push notification as registry 2.8 sends it.
    static func push(id: String, repository: String, tag: String, digest: String) -> String {
        """
        {"id":"\(id)","timestamp":"2026-11-22T12:25:18.784Z","action":"push",\
        "target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":401,"length":401,\
        "digest":"\(digest)","repository":"\(repository)","tag":"\(tag)"},\
        "request":{"addr":"10.0.0.7:44218","method":"PUT"},"actor":{}}
        """
    }

    @Test func threeServeProcessesApplyEveryEventAndSendEveryDeliveryExactlyOnce() async throws {
        let server = try await PostgresServer.start(label: "queues")
        defer { server.remove() }
        let url = try await Self.pool.run { try server.createDatabase("queues") }
        let registry = try FakeCatalogRegistry()
        let receiver = try WebhookReceiver()
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        try sandbox.writeConfig(
            "90-queues.yaml",
            """
            storage:
              driver: postgres
              postgres:
                url: {env: TEST_DATABASE_URL}
                poolSize: 2
            registries:
              - name: local
                url: "\(registry.url)"
                eventsSecret: {env: TEST_EVENTS_SECRET}
            catalogSync:
              enabled: false

            """)
        let environment = ["TEST_DATABASE_URL": url, "TEST_EVENTS_SECRET": Self.eventsSecret]
        // One after the other: the first creates the keys and the schema the others find.
        var instances: [(process: BackgroundProcess, port: Int)] = []
        defer { for instance in instances where instance.process.isRunning { instance.process.stop() } }
        for label in ["a", "b", "c"] { instances.append(try await sandbox.serve(label, environment: environment)) }

        let store = try await PostgresStore.open(PostgresConfiguration(url: url, poolSize: 1))
        do {
            try await store.write { writer in
                let team = try writer.createTeam(name: "hook-owners")
                _ = try writer.createNamespace(name: "hooked", team: team.id, visibility: .private)
            }
            let created = try await sandbox.portcullis(
                ["webhook", "create", "hooked", receiver.url, "--events", "push"], environment: environment)
            try #require(created.status == 0, "\(created.stderr)")

            var events: [String] = []
            for position in 0..<Self.eventsPerChain {
                for chain in 0..<Self.chains {
                    events.append(
                        Self.push(
                            id: "chain-\(chain)-\(position)", repository: "team\(chain % 4)/app\(chain)", tag: "latest",
                            digest: Self.digest(chain, position)))
                }
            }
            for index in 0..<Self.hookedPushes {
                events.insert(
                    Self.push(
                        id: "hooked-\(index)", repository: "hooked/app", tag: "v\(index)",
                        digest: Self.digest(99, index)),
                    at: index * 9)
            }
            // Envelopes of ten events, round robin over the instances, in order (as one registry sends them).
            for (number, start) in stride(from: 0, to: events.count, by: 10).enumerated() {
                let body = #"{"events":["# + events[start..<min(start + 10, events.count)].joined(separator: ",") + "]}"
                let port = instances[number % instances.count].port
                let posted = try await Processes.run(
                    "/usr/bin/curl",
                    [
                        "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                        "Authorization: Bearer \(Self.eventsSecret)",
                        "-H", "Content-Type: application/vnd.docker.distribution.events.v1+json", "--data-binary", body,
                        "http://127.0.0.1:\(port)/v2/webhooks/events",
                    ])
                try #require(posted.stdout == "200", "envelope \(number): \(posted.stdout) \(posted.stderr)")
            }

            let total = events.count
            let drained = try await waitUntil(seconds: 300) {
                try await store.read { reader in
                    try reader.registryEvents(in: .pending, limit: 1).isEmpty
                        && reader.nextWebhookDeliveryTime() == nil
                }
            }
            let logs = instances.map { (try? String(contentsOf: $0.process.logFile, encoding: .utf8)) ?? "" }
            try #require(drained, "the queues were not drained\n\(instances.map { $0.process.logTail() })")

            let (processed, audit) = try await store.read { reader in
                (
                    try reader.registryEvents(in: .processed, limit: 5000).count,
                    try reader.auditEvents(limit: 5000, before: nil).filter {
                        $0.action == "tag.push" || $0.action == "tag.repush"
                    }
                )
            }
            #expect(processed == total)
            var applied: [String: Int] = [:]
            for line in audit {
                guard let detail = line.detail,
                    let object = try? JSONSerialization.jsonObject(with: Data(detail.utf8)) as? [String: Any],
                    let event = object["event"] as? String
                else { continue }
                applied[event, default: 0] += 1
            }
            #expect(applied.count == total && applied.values.allSatisfy { $0 == 1 }, "each event applied once")
            let latest = try await store.read { reader in
                try (0..<Self.chains).map { chain -> String? in
                    guard let namespace = try reader.namespace(named: "team\(chain % 4)"),
                        let repository = try reader.repository(
                            named: "app\(chain)", in: namespace.id, registry: "local")
                    else { return nil }
                    return try reader.tag(named: "latest", in: repository.id)?.digest
                }
            }
            #expect(
                latest == (0..<Self.chains).map { Self.digest($0, Self.eventsPerChain - 1) },
                "each repository's last event was applied last")

            let sent = receiver.requests.compactMap { $0.headers["X-Portcullis-Delivery"] }
            #expect(sent.count == Self.hookedPushes && Set(sent).count == Self.hookedPushes, "each delivery sent once")
            // Which instance worked is up to the race; say it, assert nothing about it.
            let workers = logs.map { log in log.split(separator: "\n").count { $0.contains("webhook delivered") } }
            #expect(workers.reduce(0, +) == Self.hookedPushes, "deliveries sent per instance: \(workers)")
        } catch {
            await store.close()
            await receiver.stop()
            await registry.stop()
            throw error
        }
        await store.close()
        await receiver.stop()
        await registry.stop()
    }
}
