import Configuration
import Diagnostics
import Foundation
import RESTAPI
import RegistryCore
import RegistryIntegration
import Storage
import Synchronization

/// The API's registries port over the catalog sync (`Reconciler`): states read from the store, syncs started
/// in the background under the same per-registry `ExclusiveLease` as `serve`'s periodic job and `registry sync`.
///
/// Every finished sync appends a `registry.sync` audit event (target `registry/<name>`, result and counts in
/// its detail); the last one is what `states` shows, so every instance on the database sees the same.
final class RegistrySyncPort: RegistrySyncing {
    static let auditAction = "registry.sync"

    private let configuration: PortcullisConfiguration
    private let wiring: RegistryWiring
    private let store: any Store
    private let logger: Logger
    private let running = Mutex<Set<String>>([])

    init(
        configuration: PortcullisConfiguration, clients: [String: any RegistryAPI], store: any Store, logger: Logger
    ) {
        self.configuration = configuration
        self.wiring = RegistryWiring(configuration: configuration, clients: clients, logger: logger)
        self.store = store
        self.logger = logger.named("sync")
    }

    func states() async throws -> [RegistryState] {
        let registries = configuration.registries
        let busy = running.withLock { $0 }
        return try await store.read { reader in
            // The backlog is counted from a bounded read: a backlog past 10,000 shows as 10,000.
            let pending = try reader.registryEvents(in: .pending, limit: 10_000)
            return try registries.map { registry in
                let last = try reader.auditEvents(
                    matching: AuditEventFilter(action: Self.auditAction, target: "registry/\(registry.name)"),
                    offset: 0, limit: 1
                ).events.first
                return RegistryState(
                    name: registry.name, url: registry.url.absoluteString,
                    lastSync: last.map { Self.record($0) }, isSyncing: busy.contains(registry.name),
                    eventBacklog: pending.count { $0.registry == registry.name })
            }
        }
    }

    func startSync(of name: String, actor: String) async throws -> RegistrySyncStart {
        guard let registry = configuration.registries.first(where: { $0.name == name }) else { return .unknownRegistry }
        // Taken now, so a second request sees 409 at once rather than a background failure.
        let claimed = running.withLock { busy in busy.insert(name).inserted }
        guard claimed else { return .alreadyRunning }
        let lease: Lease?
        do { lease = try await ExclusiveLease.take(ExclusiveLease.catalogSync(name), store: store) } catch {
            _ = running.withLock { $0.remove(name) }
            throw error
        }
        guard let lease else {
            _ = running.withLock { $0.remove(name) }
            return .alreadyRunning
        }
        let reconciler = wiring.reconciler(for: registry, store: store)
        Task { [self] in
            defer { _ = running.withLock { $0.remove(name) } }
            let event: NewAuditEvent
            do {
                let report = try await ExclusiveLease.run(holding: lease, store: store) { fence in
                    try await reconciler.run(fence: fence)
                }
                let plan = report.plan
                let summary =
                    "\(plan.repositoriesToCreate.count) repositories created, \(plan.tagsToAdd.count) tags added, "
                    + "\(plan.tagsToMove.count) moved, \(plan.tagsToRemove.count) removed, "
                    + "\(plan.repositoriesToRemove.count) repositories removed"
                event = Self.event(name, actor, result: report.catalogCount == nil ? "partial" : "succeeded", summary)
            } catch {
                logger.warning("catalog sync failed", ["registry": name, "error": "\(error)"])
                event = Self.event(name, actor, result: "failed", "the sync failed; the server log says why")
            }
            do { _ = try await store.write { try $0.appendAuditEvent(event) } } catch {
                logger.error("catalog sync result not recorded", ["registry": name, "error": "\(error)"])
            }
        }
        return .started
    }

    private static func event(_ registry: String, _ actor: String, result: String, _ summary: String) -> NewAuditEvent {
        NewAuditEvent(
            action: auditAction, outcome: result == "failed" ? .failure : .success, actorName: actor,
            target: "registry/\(registry)",
            detail: JSONText.object([("result", JSONText.quoted(result)), ("summary", JSONText.quoted(summary))]))
    }

    private static func record(_ event: AuditEvent) -> RegistrySyncRecord {
        let detail = (event.detail.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }) as? [String: Any]
        return RegistrySyncRecord(
            finishedAt: event.time, result: detail?["result"] as? String ?? "failed",
            summary: detail?["summary"] as? String ?? "")
    }
}
