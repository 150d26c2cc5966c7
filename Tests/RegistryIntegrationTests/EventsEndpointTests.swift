import Diagnostics
import Foundation
import HTTPCore
import HTTPServer
import RegistryCore
import RegistryIntegration
import SQLiteStorage
import Storage
import Synchronization
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The events endpoint behind a real HTTP server on loopback, over a real SQLite store.
@Suite struct EventsEndpointTests {
    static let secret = "s3cret-for-main"
    static let limit = 64 * 1024

    /// A started server whose router has only the events endpoint; `wakes` counts worker wake-ups.
    final class Fixture: Sendable {
        let port: Int
        let server: HTTPServer

        init(store: any Store, sources: [NotificationSource]) throws {
            var router = Router(logger: Logger(label: "test", level: .error))
            let counter = Box()
            let endpoint = RegistryEventsEndpoint(
                path: "/v2/webhooks/events", maxBodyBytes: EventsEndpointTests.limit, sources: sources, store: store,
                logger: Logger(label: "test", level: .error), onStored: { counter.increment() })
            endpoint.register(on: &router)
            server = HTTPServer(
                configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 2),
                responder: router, logger: Logger(label: "test", level: .error))
            port = try server.start()
            box = counter
        }

        let box: Box

        final class Box: Sendable {
            let value = Atomic<Int>(0)
            func increment() { value.add(1, ordering: .relaxed) }
        }

        func post(_ body: [UInt8], authorization: String?) async throws -> (Int, String) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v2/webhooks/events")!)
            request.httpMethod = "POST"
            request.httpBody = Data(body)
            request.setValue("application/vnd.docker.distribution.events.v1+json", forHTTPHeaderField: "Content-Type")
            if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
            let (data, response) = try await EventsEndpointTests.session.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }
    }

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 100
        configuration.timeoutIntervalForRequest = 60
        return URLSession(configuration: configuration)
    }()

    private static func withEndpoint(
        sources: [NotificationSource] = [
            NotificationSource(registry: "main", secret: secret),
            NotificationSource(registry: "mirror", secret: "other"),
            NotificationSource(registry: "closed", secret: nil),
        ],
        _ body: (Fixture, SQLiteStore) async throws -> Void
    ) async throws {
        try await withMemoryStore { store in
            let fixture = try Fixture(store: store, sources: sources)
            do {
                try await body(fixture, store)
            } catch {
                await fixture.server.shutdown(gracePeriod: .seconds(1))
                throw error
            }
            await fixture.server.shutdown(gracePeriod: .seconds(1))
        }
    }

    private static func storedCount(_ store: any Store) async throws -> Int {
        try await store.read { reader in
            try RegistryEventState.allCases.reduce(0) { $0 + (try reader.registryEvents(in: $1, limit: 100_000).count) }
        }
    }

    @Test(arguments: [
        nil, "", "Bearer", "Bearer wrong", "Basic czNjcmV0LWZvci1tYWlu", "Bearer s3cret-for-mai",
        "Bearer s3cret-for-main-and-more",
    ])
    func aWrongOrMissingSecretIs401AndStoresNothing(_ authorization: String?) async throws {
        try await Self.withEndpoint { fixture, store in
            let (status, body) = try await fixture.post(
                envelope([registryEvent(id: "e1")]), authorization: authorization)
            #expect(status == 401)
            #expect(body.contains(#""code":"UNAUTHORIZED""#))
            #expect(!body.contains(Self.secret))
            #expect(try await Self.storedCount(store) == 0)
        }
    }

    @Test func theBareSecretAndTheBearerFormBothAuthenticateAndPickTheRegistry() async throws {
        try await Self.withEndpoint { fixture, store in
            #expect(try await fixture.post(envelope([registryEvent(id: "a")]), authorization: Self.secret).0 == 200)
            #expect(
                try await fixture.post(envelope([registryEvent(id: "b")]), authorization: "bearer \(Self.secret)").0
                    == 200)
            #expect(try await fixture.post(envelope([registryEvent(id: "a")]), authorization: "Bearer other").0 == 200)
            let events = try await store.read { try $0.registryEvents(in: .pending, limit: 10) }
            #expect(events.map(\.registry) == ["main", "main", "mirror"])
            #expect(events.map(\.eventID) == ["a", "b", "a"])
            #expect(fixture.box.value.load(ordering: .relaxed) == 3)
        }
    }

    @Test func aRegistryWithoutSecretIsRefused() async throws {
        try await Self.withEndpoint(sources: [NotificationSource(registry: "closed", secret: nil)]) {
            (fixture: Fixture, store: SQLiteStore) async throws in
            #expect(try await fixture.post(envelope([registryEvent(id: "a")]), authorization: "Bearer ").0 == 401)
            #expect(try await fixture.post(envelope([registryEvent(id: "a")]), authorization: nil).0 == 401)
            #expect(try await Self.storedCount(store) == 0)
        }
    }

    @Test func anOversizedBodyIs413AndStoresNothing() async throws {
        try await Self.withEndpoint { fixture, store in
            let events = (0..<400).map { registryEvent(id: "event-\($0)") }
            let body = envelope(events)
            #expect(body.count > Self.limit)
            let (status, _) = try await fixture.post(body, authorization: "Bearer \(Self.secret)")
            #expect(status == 413)
            #expect(try await Self.storedCount(store) == 0)
        }
    }

    @Test(arguments: ["{", "[]", #"{"events":"nope"}"#, "\u{0}\u{1}binary", ""])
    func anAuthenticatedBodyThatDoesNotParseIsAcceptedAndStoredFailed(_ text: String) async throws {
        try await Self.withEndpoint { fixture, store in
            let (status, _) = try await fixture.post(Array(text.utf8), authorization: "Bearer \(Self.secret)")
            #expect(status == 200)
            let failed = try await store.read { try $0.registryEvents(in: .failed, limit: 10) }
            #expect(failed.count == 1)
            #expect(failed.first?.lastError?.isEmpty == false)
            #expect(failed.first?.eventID.hasPrefix("unparsable:") == true)
            // The registry's retry of the same body is a duplicate, not a second failure.
            #expect(try await fixture.post(Array(text.utf8), authorization: "Bearer \(Self.secret)").0 == 200)
            #expect(try await Self.storedCount(store) == 1)
            #expect(fixture.box.value.load(ordering: .relaxed) == 0)
        }
    }

    @Test func oneBadEventIsStoredFailedBesideItsGoodSiblings() async throws {
        try await Self.withEndpoint { fixture, store in
            var bad = registryEvent(id: "bad")
            if case .object(var members) = bad {
                members["timestamp"] = .string("noon")
                bad = .object(members)
            }
            let body = envelope([registryEvent(id: "good-1"), bad, .integer(5), registryEvent(id: "good-2")])
            #expect(try await fixture.post(body, authorization: Self.secret).0 == 200)
            let (pending, failed) = try await store.read {
                (try $0.registryEvents(in: .pending, limit: 10), try $0.registryEvents(in: .failed, limit: 10))
            }
            #expect(pending.map(\.eventID) == ["good-1", "good-2"])
            #expect(failed.count == 2)
            #expect(failed.first { $0.eventID == "bad" }?.lastError?.contains("timestamp") == true)
        }
    }

    @Test func aReplayedEventIsStoredOnceAndItsPullCountedOnce() async throws {
        try await Self.withEndpoint { fixture, store in
            let worker = RegistryEventWorker(
                store: store, registries: ["main": FakeRegistry()],
                provisioning: .init(globalNamespaceName: "global"),
                logger: Logger(label: "test", level: .error))
            #expect(try await fixture.post(envelope([registryEvent(id: "push")]), authorization: Self.secret).0 == 200)
            let pull = envelope([registryEvent(id: "pull-1", action: "pull", actor: "bob")])
            #expect(try await fixture.post(pull, authorization: Self.secret).0 == 200)
            try await worker.processPending()
            let (_, replayBody) = try await fixture.post(pull, authorization: Self.secret)
            #expect(replayBody.contains(#""duplicates":1"#))
            try await worker.processPending()
            #expect(try await fixture.post(pull, authorization: Self.secret).0 == 200)
            try await worker.processPending()
            let tags = try await store.read { reader in
                try reader.repositories(ofRegistry: "main").flatMap { try reader.tags(in: $0.id) }
            }
            #expect(tags.map(\.pullCount) == [1])
            #expect(try await Self.storedCount(store) == 2)
        }
    }

    @Test func aThousandEventsPostedConcurrentlyAreEachStoredExactlyOnce() async throws {
        try await Self.withEndpoint { fixture, store in
            let connections = 100
            let perConnection = 10
            // Every event is sent twice (a registry's retry racing the first delivery), in envelopes of two.
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for connection in 0..<connections {
                    group.addTask {
                        var statuses: [Int] = []
                        for request in 0..<perConnection {
                            let id = "event-\(connection)-\(request)"
                            let other = "event-\((connection + 1) % connections)-\(request)"
                            let body = envelope([registryEvent(id: id), registryEvent(id: other)])
                            statuses.append(try await fixture.post(body, authorization: Self.secret).0)
                        }
                        return statuses
                    }
                }
                var all: [Int] = []
                for try await statuses in group { all += statuses }
                return all
            }
            #expect(statuses.count == connections * perConnection)
            #expect(statuses.allSatisfy { $0 == 200 })
            let stored = try await store.read { try $0.registryEvents(in: .pending, limit: 10_000) }
            #expect(stored.count == connections * perConnection)
            #expect(Set(stored.map(\.eventID)).count == connections * perConnection)
        }
    }
}
