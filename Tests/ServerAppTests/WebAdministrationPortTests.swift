import Foundation
import IdentityCore
import RESTAPI
import Synchronization
import Testing
import WebUI

@testable import ServerApp

/// The admin pages' ports over the REST API's registries port and the providers' health checks.
@Suite struct WebAdministrationPortTests {
    /// A registries port in a fixed state that records the syncs asked for.
    final class Syncs: RegistrySyncing {
        let started = Mutex<[String]>([])
        func states() async throws -> [RegistryState] {
            [
                RegistryState(
                    name: "local", url: "http://127.0.0.1:5000",
                    lastSync: RegistrySyncRecord(
                        finishedAt: Date(timeIntervalSince1970: 1_700_000_000), result: "partial",
                        summary: "1 tags added"), isSyncing: false, eventBacklog: 3),
                RegistryState(
                    name: "mirror", url: "http://127.0.0.1:5001", lastSync: nil, isSyncing: true, eventBacklog: 0),
            ]
        }
        func startSync(of name: String, actor: String) async throws -> RegistrySyncStart {
            switch name {
            case "local":
                started.withLock { $0.append("\(name) by \(actor)") }
                return .started
            case "mirror": return .alreadyRunning
            default: return .unknownRegistry
            }
        }
    }

    struct Probes: APIHealthChecking {
        func database() async -> APIHealthComponent {
            APIHealthComponent(name: "database", isHealthy: true, message: "ok")
        }
        func registries() async -> [APIHealthComponent] {
            [
                APIHealthComponent(name: "local", isHealthy: true, message: "reachable"),
                APIHealthComponent(name: "mirror", isHealthy: false, message: "answered 503"),
            ]
        }
    }

    @Test func theRegistriesPortJoinsTheSyncStateWithTheProbes() async throws {
        let port = WebRegistryPort(sync: Syncs(), health: Probes())
        let statuses = await port.statuses()
        #expect(statuses.map(\.name) == ["local", "mirror"])
        #expect(statuses[0].isReachable && statuses[0].problem == nil)
        #expect(statuses[0].lastResult == "partial" && statuses[0].lastSummary == "1 tags added")
        #expect(statuses[0].lastSync == Date(timeIntervalSince1970: 1_700_000_000) && statuses[0].eventBacklog == 3)
        #expect(!statuses[1].isReachable && statuses[1].problem == "answered 503" && statuses[1].isSyncing)
    }

    @Test func syncNowStartsOneAndSaysWhyWhenItCannot() async throws {
        let syncs = Syncs()
        let port = WebRegistryPort(sync: syncs, health: Probes())
        try await port.syncNow("local", by: "ada")
        #expect(syncs.started.withLock { $0 } == ["local by ada"])
        await #expect(throws: WebOperationError(.syncRunning, "")) { try await port.syncNow("mirror", by: "ada") }
        await #expect(throws: WebOperationError(.registryNotFound, "")) { try await port.syncNow("nope", by: "ada") }
    }

    /// A provider that counts its health checks.
    final class Directory: HealthReporting {
        let id: ProviderID = "corp-ldap"
        let displayName = "Corporate LDAP"
        let checks = Atomic<Int>(0)
        func checkHealth() async -> ProviderHealth {
            checks.add(1, ordering: .relaxed)
            return ProviderHealth(isHealthy: false, message: "unreachable")
        }
    }

    @Test func providerHealthIsAskedOfProvidersThatCanSayAndKeptForAWhile() async throws {
        let directory = Directory()
        let port = WebProviderHealthPort(providers: [directory])
        #expect(await port.health(of: "corp-ldap") == ProviderHealth(isHealthy: false, message: "unreachable"))
        #expect(await port.health(of: "corp-ldap") != nil)
        #expect(directory.checks.load(ordering: .relaxed) == 1)
        #expect(await port.health(of: "local") == nil)
    }
}
