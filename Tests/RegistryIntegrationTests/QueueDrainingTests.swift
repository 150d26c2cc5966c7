import CryptoCore
import Diagnostics
import Foundation
import HTTPClient
import RegistryCore
import RegistryIntegration
import Storage
import TestSupport
import Testing
import Threading
import Webhooks

/// Both queues drained by every instance at once: three store handles on one database (one SQLite file, one
/// PostgreSQL database) stand for three instances, each with its own registry event worker and webhook worker,
/// all running together until both queues are empty. Every event must be applied exactly once and in order per
/// repository, and every delivery sent exactly once to a loopback receiver that counts.
@Suite(.storeBackends("QueueDrainingTests")) struct QueueDrainingTests {
    static let instances = 3
    /// Repositories whose events re-push one tag, each event with the next digest of a chain.
    static let chainedRepositories = 30
    static let eventsPerChain = 30
    /// Pushes of distinct tags into the namespace with a webhook: one delivery each.
    static let hookedPushes = 100

    private static let pool = BlockingPool(name: "queue-draining", threads: 4)
    private static let client: CurlHTTPClient = {
        var configuration = CurlHTTPClient.Configuration()
        configuration.connectTimeout = .seconds(5)
        configuration.timeout = .seconds(20)
        return CurlHTTPClient(configuration: configuration, pool: pool)
    }()

    /// The `index`th digest of a chain: distinct for every repository and position.
    static func digest(_ repository: Int, _ position: Int) -> String {
        let hex = String(repository * 1000 + position, radix: 16)
        return "sha256:" + String(repeating: "0", count: 64 - hex.count) + hex
    }

    @Test(arguments: StoreBackend.allCases)
    func everyEventIsAppliedAndEveryDeliverySentExactlyOnceWithAllInstancesDraining(
        _ backend: StoreBackend
    ) async throws {
        let receiver = try WebhookReceiver()
        do {
            try await drain(backend, into: receiver)
        } catch {
            await receiver.stop()
            throw error
        }
        await receiver.stop()
    }

    private func drain(_ backend: StoreBackend, into receiver: WebhookReceiver) async throws {
        try await backend.withStores(Self.instances, poolSize: 2) { stores in
            let sealer = WebhookSecretSealer(key: try AEADKey(bytes: Array(0..<32)))
            try await stores[0].write { writer in
                let team = try writer.createTeam(name: "hook-owners")
                let hooked = try writer.createNamespace(name: "hooked", team: team.id, visibility: .private)
                _ = try writer.createWebhook(
                    NewWebhook(
                        namespaceID: hooked.id, url: receiver.url, format: .json, events: [.push], secret: "s3cret"))
            }
            try await sealer.sealLegacyValues(in: stores[0])

            // 1,000 events, the repositories interleaved as a registry sends them.
            var events: [JSONValue] = []
            for position in 0..<Self.eventsPerChain {
                for repository in 0..<Self.chainedRepositories {
                    events.append(
                        registryEvent(
                            id: "chain-\(repository)-\(position)", repository: "team\(repository % 7)/app\(repository)",
                            tag: "latest", digest: Self.digest(repository, position), actor: nil))
                }
            }
            for index in 0..<Self.hookedPushes {
                events.insert(
                    registryEvent(
                        id: "hooked-\(index)", repository: "hooked/app", tag: "v\(index)",
                        digest: Self.digest(999, index), actor: nil),
                    at: index * 10)
            }
            #expect(events.count == 1000)
            try await storeEvents(events, in: stores[0])

            let logger = Logger(label: "test", level: .error)
            let workers = stores.enumerated().map { index, store in
                (
                    events: RegistryEventWorker(
                        store: store, registries: [:], observer: WebhookDispatcher(),
                        provisioning: RegistryEventWorker.Provisioning(globalNamespaceName: "portcullis-global"),
                        logger: logger, batchSize: 25, holder: "events-\(index)"),
                    webhooks: WebhookWorker(
                        store: store, client: Self.client, sealer: sealer, logger: logger, holder: "webhooks-\(index)")
                )
            }
            let deadline = ContinuousClock.now + .seconds(600)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, worker) in workers.enumerated() {
                    let store = stores[index]
                    group.addTask {
                        while try await !Self.queuesAreEmpty(store) {
                            guard ContinuousClock.now < deadline else { throw QueueNotDrained() }
                            try await worker.events.processPending()
                            try await worker.webhooks.deliverDue()
                            // What is left is held by another instance: look again shortly.
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
                try await group.waitForAll()
            }

            // Every event applied once: one tag.push/tag.repush audit line per event id, and all processed.
            let (processed, pending, audit) = try await stores[1].read { reader in
                (
                    try reader.registryEvents(in: .processed, limit: 5000).count,
                    try reader.registryEvents(in: .pending, limit: 5000).count,
                    try reader.auditEvents(limit: 5000, before: nil).filter {
                        $0.action == "tag.push" || $0.action == "tag.repush"
                    }
                )
            }
            #expect(processed == 1000 && pending == 0)
            var applied: [String: Int] = [:]
            var previous: [String: String] = [:]
            for line in audit {
                guard case .object(let detail)? = try? JSONValue(parsing: Array((line.detail ?? "").utf8)),
                    case .string(let event)? = detail["event"]
                else { continue }
                applied[event, default: 0] += 1
                if case .string(let digest)? = detail["previousDigest"] { previous[event] = digest }
            }
            #expect(applied.count == 1000, "every event applied")
            #expect(applied.values.allSatisfy { $0 == 1 }, "no event applied twice")
            // In order per repository: each re-push replaced exactly the digest of the event before it.
            var outOfOrder: [String] = []
            for repository in 0..<Self.chainedRepositories {
                for position in 1..<Self.eventsPerChain
                where previous["chain-\(repository)-\(position)"] != Self.digest(repository, position - 1) {
                    outOfOrder.append("chain-\(repository)-\(position)")
                }
            }
            #expect(outOfOrder.isEmpty, "events applied out of order")

            // Every delivery sent once and recorded once.
            let sent = receiver.requests.compactMap { $0.headers[WebhookSignature.deliveryHeaderName] }
            #expect(sent.count == Self.hookedPushes, "one request per delivery")
            #expect(Set(sent).count == Self.hookedPushes, "no delivery sent twice")
            let deliveries = try await stores[2].read { reader in
                try reader.allWebhooks().flatMap { try reader.webhookDeliveries(of: $0.id, limit: 5000) }
            }
            #expect(deliveries.count == Self.hookedPushes)
            #expect(deliveries.allSatisfy { $0.state == .delivered && $0.attempts == 1 })
        }
    }

    /// No event pending and no delivery outstanding.
    private static func queuesAreEmpty(_ store: any Store) async throws -> Bool {
        try await store.read { reader in
            guard try reader.registryEvents(in: .pending, limit: 1).isEmpty else { return false }
            return try reader.nextWebhookDeliveryTime() == nil
        }
    }
}

/// The queues were not empty by the deadline.
private struct QueueNotDrained: Error {}
