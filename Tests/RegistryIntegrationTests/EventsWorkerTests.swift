import Diagnostics
import Foundation
import RegistryCore
import RegistryIntegration
import SQLiteStorage
import Storage
import TestSupport
import Testing

@Suite(.storeBackends("EventsWorkerTests")) struct EventsWorkerTests {
    private static let provisioning = RegistryEventWorker.Provisioning(globalNamespaceName: "portcullis-global")

    private static func worker(
        _ store: any Store, registry: FakeRegistry, observer: RecordingObserver? = nil
    ) -> RegistryEventWorker {
        RegistryEventWorker(
            store: store, registries: ["main": registry], observer: observer, provisioning: provisioning,
            logger: Logger(label: "test", level: .error))
    }

    private static func tag(_ name: String, of repository: String, namespace: String, in store: any Store) async throws
        -> Storage.Tag?
    {
        try await store.read { reader in
            guard let namespace = try reader.namespace(named: namespace),
                let repository = try reader.repository(named: repository, in: namespace.id, registry: "main")
            else { return nil }
            return try reader.tag(named: name, in: repository.id)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aPushIntoAnUnknownNamespaceCreatesItPrivateForTheAdminsWithTheTag(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let registry = FakeRegistry()
            registry.serve(fakeDigest("a"), mediaType: ManifestMediaType.ociManifest, body: imageManifest(size: 5000))
            let observer = RecordingObserver()
            try await storeEvents([registryEvent(id: "e1")], in: store)
            let report = try await Self.worker(store, registry: registry, observer: observer).processPending()
            #expect(report.processed == 1)

            let tag = try #require(try await Self.tag("v1", of: "demo", namespace: "alice", in: store))
            #expect(tag.digest == fakeDigest("a"))
            #expect(tag.size == 5000)
            #expect(tag.mediaType == ManifestMediaType.ociManifest)
            #expect(tag.pushedByName == "alice")
            #expect(tag.pushedByID == nil)  // no such user: the name is kept
            // The push time is the event's, as stored (to the millisecond), not the time of processing.
            let pushedAt = try #require(RFC3339.date(from: "2026-11-22T12:25:18.784000378Z"))
            #expect(abs(tag.updatedAt.timeIntervalSince(pushedAt)) < 0.001)
            let (namespace, team, audit) = try await store.read { reader in
                let namespace = try #require(try reader.namespace(named: "alice"))
                return (
                    namespace, try reader.team(id: namespace.teamID), try reader.auditEvents(limit: 10, before: nil)
                )
            }
            #expect(namespace.visibility == .private)
            #expect(team?.name == "portcullis-global")
            #expect(team?.isHidden == true)
            #expect(Set(audit.map(\.action)) == ["namespace.create", "tag.push"])
            #expect(audit.first { $0.action == "tag.push" }?.clientIP == "10.0.0.7")
            #expect(observer.recorded.map(\.action) == [.push])
            #expect(observer.recorded.first?.repository == "alice/demo")
            #expect(observer.recorded.first?.tags == ["v1"])
            #expect(observer.recorded.first?.size == 5000)
            #expect(observer.recorded.first?.id == "e1")
        }
    }

    @Test(arguments: StoreBackend.allCases) func aRepushMovesTheDigestAndAuditsBoth(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let registry = FakeRegistry()
            registry.serve(fakeDigest("a"), mediaType: ManifestMediaType.ociManifest, body: imageManifest(size: 1000))
            registry.serve(fakeDigest("b"), mediaType: ManifestMediaType.ociManifest, body: imageManifest(size: 2000))
            let worker = Self.worker(store, registry: registry)
            try await storeEvents([registryEvent(id: "e1")], in: store)
            try await worker.processPending()
            let first = try #require(try await Self.tag("v1", of: "demo", namespace: "alice", in: store))
            try await storeEvents([registryEvent(id: "e2", digest: fakeDigest("b"))], in: store)
            try await worker.processPending()
            let moved = try #require(try await Self.tag("v1", of: "demo", namespace: "alice", in: store))
            #expect(moved.id == first.id)
            #expect(moved.digest == fakeDigest("b"))
            #expect(moved.size == 2000)
            let repush = try await store.read { try $0.auditEvents(limit: 10, before: nil) }.first {
                $0.action == "tag.repush"
            }
            #expect(repush?.detail?.contains(fakeDigest("a")) == true)
            #expect(repush?.detail?.contains(fakeDigest("b")) == true)
        }
    }

    @Test(arguments: StoreBackend.allCases) func anIndexPushRecordsItsPlatformsAndTheSumOfItsImages(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let registry = FakeRegistry()
            registry.serve(
                fakeDigest("d"), mediaType: ManifestMediaType.ociIndex,
                body: indexManifest([(fakeDigest("1"), "linux/amd64"), (fakeDigest("2"), "linux/arm64/v8")]))
            registry.serve(fakeDigest("1"), mediaType: ManifestMediaType.ociManifest, body: imageManifest(size: 300))
            registry.serve(fakeDigest("2"), mediaType: ManifestMediaType.ociManifest, body: imageManifest(size: 700))
            try await storeEvents(
                [registryEvent(id: "e1", digest: fakeDigest("d"), mediaType: ManifestMediaType.ociIndex)], in: store)
            try await Self.worker(store, registry: registry).processPending()
            let tag = try #require(try await Self.tag("v1", of: "demo", namespace: "alice", in: store))
            #expect(tag.platforms == ["linux/amd64", "linux/arm64/v8"])
            #expect(tag.size == 1000)
            #expect(tag.mediaType == ManifestMediaType.ociIndex)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aPushWhoseManifestCannotBeFetchedIsStillRecordedWithSizeUnknown(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let registry = FakeRegistry()
            registry.setFailing(true)
            try await storeEvents([registryEvent(id: "e1")], in: store)
            let report = try await Self.worker(store, registry: registry).processPending()
            #expect(report.processed == 1)
            let tag = try #require(try await Self.tag("v1", of: "demo", namespace: "alice", in: store))
            #expect(tag.digest == fakeDigest("a"))
            #expect(tag.size == nil)
            #expect(tag.mediaType == ManifestMediaType.ociManifest)
            let event = try await store.read { try $0.registryEvent(eventID: "e1", registry: "main") }
            #expect(event?.state == .processed)
            #expect(event?.lastError?.contains("size unknown") == true)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aKnownPusherIsLinkedAndAGlobalPushLandsInTheGlobalNamespace(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let admin = try await store.write { try $0.createUser(NewUser(username: "root", isAdmin: true)) }
            let registry = FakeRegistry()
            try await storeEvents([registryEvent(id: "e1", repository: "busybox", actor: "root")], in: store)
            try await Self.worker(store, registry: registry).processPending()
            let tag = try await store.read { reader -> Storage.Tag? in
                let global = try #require(try reader.globalNamespace())
                #expect(global.name == "portcullis-global")
                #expect(global.visibility == .public)
                let repository = try reader.repository(named: "busybox", in: global.id, registry: "main")
                return try repository.flatMap { try reader.tag(named: "v1", in: $0.id) }
            }
            #expect(tag?.pushedByID == admin.id)
        }
    }

    @Test(arguments: StoreBackend.allCases) func pullsAreCountedButNotPortcullissOwnOrByDigestOrOfUnknownTags(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let registry = FakeRegistry()
            let worker = Self.worker(store, registry: registry)
            try await storeEvents([registryEvent(id: "push")], in: store)
            try await worker.processPending()
            try await storeEvents(
                [
                    registryEvent(id: "p1", action: "pull", actor: "bob", timestamp: "2026-11-23T00:00:00Z"),
                    registryEvent(id: "p2", action: "pull", actor: nil, timestamp: "2026-11-23T01:00:00Z"),
                    registryEvent(id: "p3", action: "pull", actor: RegistryClientIdentity.subject),
                    registryEvent(id: "p4", action: "pull", tag: nil),
                    registryEvent(id: "p5", action: "pull", tag: "nope"),
                    registryEvent(id: "p6", action: "pull", tag: nil, mediaType: "application/octet-stream"),
                ], in: store)
            let report = try await worker.processPending()
            #expect(report.processed == 2)
            #expect(report.ignored == 4)
            let tag = try #require(try await Self.tag("v1", of: "demo", namespace: "alice", in: store))
            #expect(tag.pullCount == 2)
            #expect(tag.lastPulledAt == RFC3339.date(from: "2026-11-23T01:00:00Z"))
        }
    }

    @Test(arguments: StoreBackend.allCases) func aDeleteByDigestRemovesEveryTagWithItAndTheEmptyRepository(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let registry = FakeRegistry()
            let observer = RecordingObserver()
            let worker = Self.worker(store, registry: registry, observer: observer)
            try await storeEvents(
                [
                    registryEvent(id: "e1", tag: "v1"), registryEvent(id: "e2", tag: "latest"),
                    registryEvent(id: "e3", tag: "old", digest: fakeDigest("b")),
                ], in: store)
            try await worker.processPending()
            try await storeEvents(
                [
                    registryEvent(id: "d1", action: "delete", tag: nil, mediaType: nil),
                    registryEvent(id: "d2", action: "delete", tag: "v1", digest: nil, mediaType: nil),
                ], in: store)
            try await worker.processPending()
            #expect(try await Self.tag("v1", of: "demo", namespace: "alice", in: store) == nil)
            #expect(try await Self.tag("latest", of: "demo", namespace: "alice", in: store) == nil)
            #expect(try await Self.tag("old", of: "demo", namespace: "alice", in: store) != nil)
            let deletes = observer.recorded.filter { $0.action == .delete }
            #expect(deletes.count == 1)
            #expect(deletes.first?.tags == ["latest", "v1"])

            // The untag event of the last tag empties the repository, which goes too.
            try await storeEvents(
                [registryEvent(id: "d3", action: "delete", tag: "old", digest: nil, mediaType: nil)], in: store)
            try await worker.processPending()
            let repositories = try await store.read { try $0.repositories(ofRegistry: "main") }
            #expect(repositories.isEmpty)
            #expect(observer.recorded.filter { $0.action == .delete }.last?.digest == fakeDigest("b"))
        }
    }

    @Test(arguments: StoreBackend.allCases) func blobsMountsAndMalformedEventsDoNotStopTheWorker(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let registry = FakeRegistry()
            try await store.write { writer in
                _ = try writer.recordRegistryEvent(eventID: "junk", registry: "main", payload: "{not json")
                _ = try writer.recordRegistryEvent(
                    eventID: "weird", registry: "main",
                    payload: registryEvent(id: "weird", action: "teleport").jsonText)
            }
            try await storeEvents(
                [
                    registryEvent(id: "blob", tag: nil, mediaType: "application/octet-stream"),
                    registryEvent(id: "mount", action: "mount", tag: nil, mediaType: "application/octet-stream"),
                    registryEvent(id: "bydigest", tag: nil),
                    registryEvent(id: "good"),
                ], in: store)
            let report = try await Self.worker(store, registry: registry).processPending()
            #expect(report.failed == 2)
            #expect(report.ignored == 3)
            #expect(report.processed == 1)
            let states = try await store.read { reader in
                try ["junk", "weird", "blob", "good"].map { try reader.registryEvent(eventID: $0, registry: "main") }
            }
            #expect(states.map { $0?.state } == [.failed, .failed, .ignored, .processed])
            #expect(states[1]?.lastError?.contains("teleport") == true)
            #expect(try await Self.tag("v1", of: "demo", namespace: "alice", in: store) != nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aThousandStoredPullsAreEachCountedOnceEvenWithConcurrentPasses(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let worker = Self.worker(store, registry: FakeRegistry())
            try await storeEvents([registryEvent(id: "push")], in: store)
            try await worker.processPending()
            try await storeEvents(
                (0..<1_000).map { registryEvent(id: "pull-\($0)", action: "pull", actor: "bob") }, in: store)
            // A woken loop and a direct caller may overlap; passes take turns, so nothing counts twice.
            async let first = worker.processPending()
            async let second = worker.processPending()
            let reports = try await [first, second]
            #expect(reports.map(\.processed).reduce(0, +) == 1_000)
            let tag = try #require(try await Self.tag("v1", of: "demo", namespace: "alice", in: store))
            #expect(tag.pullCount == 1_000)
        }
    }

    @Test(arguments: StoreBackend.allCases) func theRunningLoopIsWokenByANewEventAndStopsWhenCancelled(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let registry = FakeRegistry()
            let worker = Self.worker(store, registry: registry)
            let loop = Task { await worker.run(pollInterval: .seconds(3600)) }
            try await Task.sleep(for: .milliseconds(50))
            try await storeEvents([registryEvent(id: "e1")], in: store)
            worker.wake()
            var found = false
            for _ in 0..<200 where !found {
                found = try await Self.tag("v1", of: "demo", namespace: "alice", in: store) != nil
                if !found { try await Task.sleep(for: .milliseconds(25)) }
            }
            #expect(found)
            loop.cancel()
            await loop.value
        }
    }
}
