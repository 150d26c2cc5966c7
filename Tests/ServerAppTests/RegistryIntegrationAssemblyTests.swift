import Configuration
import Diagnostics
import Foundation
import HTTPCore
import RegistryCore
import RegistryIntegration
import SQLiteStorage
import Storage
import Testing

@testable import ServerApp

/// The composition of the registry events endpoint and worker in `serve`.
@Suite struct RegistryIntegrationAssemblyTests {
    private static func registry(_ name: String, secret: Secret?) -> RegistrySettings {
        var settings = RegistrySettings()
        settings.name = name
        settings.service = "\(name).test"
        settings.url = URL(string: "http://127.0.0.1:1")!
        settings.eventsSecret = secret
        return settings
    }

    private static func post(_ endpoint: RegistryEventsEndpoint, authorization: String, id: String) async -> Int {
        let body = """
            {"events":[{"id":"\(id)","timestamp":"2026-11-22T12:25:18Z","action":"push",
              "target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,
                "digest":"sha256:\(String(repeating: "a", count: 64))","repository":"alice/demo","tag":"v1"},
              "actor":{"name":"alice"}}]}
            """
        let request = HTTPRequest(
            head: HTTPRequestHead(
                method: .post, target: endpoint.path, path: endpoint.path, headers: ["Authorization": authorization]),
            body: Array(body.utf8))
        return await endpoint.handle(request).status.code
    }

    @Test func eachRegistrysSecretIsReadAndAnUnreadableOneRefusesOnlyThatRegistry() async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        _ = try await store.migrate()
        var configuration = PortcullisConfiguration()
        configuration.registries = [
            Self.registry("main", secret: Secret(.environment("MAIN_EVENTS"))),
            Self.registry("unset", secret: Secret(.environment("UNSET_EVENTS"))),
            Self.registry("none", secret: nil),
        ]
        let assembly = RegistryIntegrationAssembly(
            configuration: configuration, store: store, clients: [:], environment: ["MAIN_EVENTS": "main-secret"],
            logger: Logger(label: "test", level: .error))
        #expect(assembly.endpoint.path == "/v2/webhooks/events")
        #expect(await Self.post(assembly.endpoint, authorization: "Bearer main-secret", id: "a") == 200)
        #expect(await Self.post(assembly.endpoint, authorization: "Bearer ", id: "b") == 401)
        #expect(await Self.post(assembly.endpoint, authorization: "UNSET_EVENTS", id: "c") == 401)
        let stored = try await store.read { try $0.registryEvents(in: .pending, limit: 10) }
        #expect(stored.map(\.registry) == ["main"])
        await store.close()
    }

    @Test func theStartedWorkerIsWokenByTheEndpointAndStops() async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        _ = try await store.migrate()
        var configuration = PortcullisConfiguration()
        configuration.registries = [Self.registry("main", secret: Secret(.environment("MAIN_EVENTS")))]
        // A poll interval far beyond the test: only the endpoint's wake-up can get the event processed.
        configuration.notifications.pollInterval = .seconds(3600)
        let assembly = RegistryIntegrationAssembly(
            configuration: configuration, store: store, clients: [:], environment: ["MAIN_EVENTS": "s"],
            logger: Logger(label: "test", level: .error))
        let job = assembly.startWorker()
        try await Task.sleep(for: .milliseconds(100))
        #expect(await Self.post(assembly.endpoint, authorization: "s", id: "e1") == 200)
        var processed = false
        for _ in 0..<200 where !processed {
            processed =
                try await store.read { try $0.registryEvent(eventID: "e1", registry: "main")?.state } == .processed
            if !processed { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(processed)
        await job.stop()
        await store.close()
    }
}
