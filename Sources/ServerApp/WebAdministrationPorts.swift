import Administration
import Foundation
import IdentityCore
import RESTAPI
import Synchronization
import WebUI

/// The admin pages' registries port over what the REST API's `registries` resource uses: the catalog sync
/// (`RegistrySyncPort`, states from the store, syncs under the per-registry `ExclusiveLease`) and the `/v2/` probes of
/// `ServerHealth` (cached for its probe interval), so the page and `GET /api/v1/registries` agree.
struct WebRegistryPort: WebRegistryOperations {
    let sync: any RegistrySyncing
    let health: any APIHealthChecking

    func statuses() async -> [WebRegistryStatus] {
        async let probes = health.registries()
        let states: [RegistryState]
        var problem: String?
        do {
            states = try await sync.states()
        } catch {
            states = []
            problem = "the database could not be read"
        }
        let reachability = Dictionary(await probes.map { ($0.name, $0) }) { first, _ in first }
        return states.map { state in
            let probe = reachability[state.name]
            return WebRegistryStatus(
                name: state.name, url: state.url, isReachable: probe?.isHealthy ?? false,
                lastSync: state.lastSync?.finishedAt,
                problem: probe.flatMap { $0.isHealthy ? nil : $0.message } ?? problem,
                isSyncing: state.isSyncing, lastResult: state.lastSync?.result, lastSummary: state.lastSync?.summary,
                eventBacklog: state.eventBacklog)
        }
    }

    func syncNow(_ name: String, by actor: String) async throws {
        switch try await sync.startSync(of: name, actor: actor) {
        case .started: return
        case .alreadyRunning:
            throw WebOperationError(.syncRunning, "a catalog sync of \(name) is running already; try again later")
        case .unknownRegistry:
            throw WebOperationError(.registryNotFound, "no registry is configured as '\(name)'")
        }
    }
}

/// The providers page's health port: asks the providers that can say (`HealthReporting`: LDAP), keeping each
/// answer for ten seconds so a reloading page does not become a stream of binds.
final class WebProviderHealthPort: WebProviderHealthChecking {
    static let cacheLifetime: Duration = .seconds(10)

    private let providers: [String: any HealthReporting]
    private let cache = Mutex<[String: (at: ContinuousClock.Instant, report: ProviderHealth)]>([:])

    init(providers: [any IdentityProvider]) {
        var reporting: [String: any HealthReporting] = [:]
        for provider in providers {
            if let checked = provider as? any HealthReporting { reporting[provider.id.rawValue] = checked }
        }
        self.providers = reporting
    }

    func health(of id: String) async -> ProviderHealth? {
        guard let provider = providers[id] else { return nil }
        let now = ContinuousClock.now
        if let kept = cache.withLock({ $0[id] }), now - kept.at < Self.cacheLifetime { return kept.report }
        let report = await provider.checkHealth()
        cache.withLock { $0[id] = (now, report) }
        return report
    }
}
