import Foundation
import Storage
import TestSupport
import Testing

@testable import SQLiteStorage

/// The per-registry model of issue 4: repositories and events keyed by registry, pulls, tags by digest.
@Suite(.storeBackends("RegistryContentsTests")) struct RegistryContentsTests {
    private static func namespace(_ store: any Store, _ name: String = "team") async throws -> Namespace {
        try await store.write { w in
            let team = try w.createTeam(name: "owners-\(name)")
            return try w.createNamespace(name: name, team: team.id, visibility: .private)
        }
    }

    @Test(arguments: StoreBackend.allCases) func theSameRepositoryNameMayExistOncePerRegistry(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let namespace = try await Self.namespace(store)
            let main = try await store.write {
                try $0.createRepository(name: "app", in: namespace.id, registry: "main")
            }
            let mirror = try await store.write {
                try $0.createRepository(name: "app", in: namespace.id, registry: "mirror")
            }
            await #expect(throws: StoreError.conflict) {
                _ = try await store.write { try $0.createRepository(name: "app", in: namespace.id, registry: "main") }
            }
            #expect(main.registry == "main")
            #expect(
                try await store.read { try $0.repository(named: "app", in: namespace.id, registry: "mirror") } == mirror
            )
            #expect(
                try await store.read { try $0.repository(named: "app", in: namespace.id, registry: "other") } == nil)
            #expect(try await store.read { try $0.repositories(ofRegistry: "main") } == [main])
            #expect(try await store.read { try $0.repositories(ofRegistry: "nowhere") } == [])
            #expect(try await store.read { try $0.repositories(in: namespace.id) } == [main, mirror])
        }
    }

    @Test(arguments: StoreBackend.allCases) func eventIDsAreIdempotentPerRegistryNotAcrossRegistries(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let first = try await store.write {
                try $0.recordRegistryEvent(eventID: "e1", registry: "main", payload: #"{"n":1}"#)
            }
            let replay = try await store.write {
                try $0.recordRegistryEvent(eventID: "e1", registry: "main", payload: #"{"n":2}"#)
            }
            let other = try await store.write {
                try $0.recordRegistryEvent(eventID: "e1", registry: "mirror", payload: #"{"n":3}"#)
            }
            guard case .inserted(let event) = first, case .inserted(let otherEvent) = other else {
                Issue.record("first inserts not reported as new")
                return
            }
            #expect(replay == .duplicate(event))
            #expect(event.registry == "main")
            #expect(otherEvent.payload == #"{"n":3}"#)
            #expect(try await store.read { try $0.registryEvent(eventID: "e1", registry: "mirror") } == otherEvent)
            #expect(try await store.read { try $0.registryEvents(in: .pending, limit: 10).count } == 2)
        }
    }

    @Test(arguments: StoreBackend.allCases) func pruningDeletesOnlyFinishedEventsOlderThanTheCutoff(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let ids = try await store.write { w in
                try ["pending", "processed", "failed", "ignored"].map {
                    try w.recordRegistryEvent(eventID: $0, registry: "main", payload: "{}").event.id
                }
            }
            try await store.write { w in
                try w.setState(.processed, ofRegistryEvent: ids[1], error: nil)
                try w.setState(.failed, ofRegistryEvent: ids[2], error: "bad")
                try w.setState(.ignored, ofRegistryEvent: ids[3], error: nil)
            }
            let past = Date().addingTimeInterval(-3600)
            #expect(try await store.write { try $0.pruneRegistryEvents(finishedBefore: past) } == 0)
            let future = Date().addingTimeInterval(3600)
            #expect(try await store.write { try $0.pruneRegistryEvents(finishedBefore: future) } == 3)
            #expect(try await store.read { try $0.registryEvent(eventID: "pending", registry: "main") } != nil)
            #expect(try await store.read { try $0.registryEvent(eventID: "processed", registry: "main") } == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func manyEventsInOneTransactionAreStoredOnceEach(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let outcomes = try await store.write { w in
                try (0..<50).map { index in
                    try w.recordRegistryEvent(eventID: "e\(index % 25)", registry: "main", payload: "{}")
                }
            }
            let inserted = outcomes.filter { if case .inserted = $0 { true } else { false } }
            #expect(inserted.count == 25)
            #expect(try await store.read { try $0.registryEvents(in: .pending, limit: 100).count } == 25)
        }
    }

    @Test(arguments: StoreBackend.allCases) func pullsCountUpAndTheLastPulledTimeNeverMovesBack(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let namespace = try await Self.namespace(store)
            let tag = try await store.write { w in
                let repository = try w.createRepository(name: "app", in: namespace.id, registry: "main")
                return try w.recordTagPush(TagPush(repositoryID: repository.id, name: "v1", digest: "sha256:aa"))
            }
            #expect(tag.pullCount == 0)
            #expect(tag.lastPulledAt == nil)
            let late = Date(timeIntervalSince1970: 1_700_000_100)
            let early = Date(timeIntervalSince1970: 1_700_000_000)
            try await store.write { try $0.recordPull(ofTag: tag.id, at: late) }
            try await store.write { try $0.recordPull(ofTag: tag.id, at: early) }
            let pulled = try await store.read { try $0.tag(named: "v1", in: tag.repositoryID) }
            #expect(pulled?.pullCount == 2)
            #expect(pulled?.lastPulledAt == late)
            await #expect(throws: StoreError.notFound) {
                try await store.write { try $0.recordPull(ofTag: Tag.ID(9999), at: late) }
            }
        }
    }

    @Test(
        "A repository's content version moves with every change to its tags and their pulls, and only then",
        arguments: StoreBackend.allCases)
    func theContentVersionFollowsTheTags(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let namespace = try await Self.namespace(store)
            let (repository, other) = try await store.write { w in
                (
                    try w.createRepository(name: "app", in: namespace.id, registry: "main"),
                    try w.createRepository(name: "other", in: namespace.id, registry: "main")
                )
            }
            func version(_ id: Repository.ID = repository.id) async throws -> Int {
                try await store.read { try $0.contentVersion(ofRepository: id) }
            }
            var seen = try await version()
            func expectMoved(_ change: String) async throws {
                let now = try await version()
                #expect(now != seen, "\(change) left the content version at \(now)")
                seen = now
            }
            let tag = try await store.write {
                try $0.recordTagPush(TagPush(repositoryID: repository.id, name: "v1", digest: "sha256:aa"))
            }
            try await expectMoved("a new tag")
            _ = try await store.write {
                try $0.recordTagPush(TagPush(repositoryID: repository.id, name: "v1", digest: "sha256:bb"))
            }
            try await expectMoved("a tag pushed again")
            try await store.write { try $0.recordPull(ofTag: tag.id, at: Date(timeIntervalSince1970: 1_700_000_000)) }
            try await expectMoved("a pull")
            let otherBefore = try await version(other.id)
            try await store.write { w in
                let user = try w.createUser(NewUser(username: "stella"))
                _ = try w.star(repository.id, by: user.id)
                try w.setDescription("changed", forRepository: repository.id)
                _ = try w.recordTagPush(TagPush(repositoryID: other.id, name: "v1", digest: "sha256:cc"))
            }
            #expect(try await version() == seen, "a star, a description or another repository's tag moved it")
            #expect(try await version(other.id) != otherBefore)
            try await store.write { try $0.deleteTag(tag.id) }
            try await expectMoved("a deleted tag")
            #expect(try await version(Repository.ID(9999)) == 0)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aMovedTagKeepsItsPullsAndTakesThePushTimeAndPlatforms(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let namespace = try await Self.namespace(store)
            let pushedAt = Date(timeIntervalSince1970: 1_650_000_000)
            let tag = try await store.write { w in
                let repository = try w.createRepository(name: "multi", in: namespace.id, registry: "main")
                return try w.recordTagPush(
                    TagPush(
                        repositoryID: repository.id, name: "latest", digest: "sha256:01",
                        mediaType: "application/vnd.oci.image.index.v1+json", size: 10,
                        platforms: ["linux/amd64", "linux/arm/v7", "odd\"name,with\nbreaks"], pushedAt: pushedAt))
            }
            #expect(tag.platforms == ["linux/amd64", "linux/arm/v7", "odd\"name,with\nbreaks"])
            #expect(tag.createdAt == pushedAt)
            #expect(tag.updatedAt == pushedAt)
            try await store.write { try $0.recordPull(ofTag: tag.id, at: pushedAt) }
            let moved = try await store.write {
                try $0.recordTagPush(TagPush(repositoryID: tag.repositoryID, name: "latest", digest: "sha256:02"))
            }
            #expect(moved.id == tag.id)
            #expect(moved.platforms == [])
            #expect(moved.pullCount == 1)
            #expect(moved.createdAt == pushedAt)
            #expect(moved.updatedAt > pushedAt)
        }
    }

    @Test(arguments: StoreBackend.allCases) func tagsAreFoundByDigestWithinOneRepository(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let namespace = try await Self.namespace(store)
            let (one, two) = try await store.write { w -> (Repository, Repository) in
                let one = try w.createRepository(name: "one", in: namespace.id, registry: "main")
                let two = try w.createRepository(name: "two", in: namespace.id, registry: "main")
                for name in ["b", "a", "c"] {
                    _ = try w.recordTagPush(
                        TagPush(repositoryID: one.id, name: name, digest: name == "c" ? "sha256:cc" : "sha256:ab"))
                }
                _ = try w.recordTagPush(TagPush(repositoryID: two.id, name: "x", digest: "sha256:ab"))
                return (one, two)
            }
            #expect(
                try await store.read { try $0.tags(withDigest: "sha256:ab", in: one.id).map(\.name) } == ["a", "b"])
            #expect(try await store.read { try $0.tags(withDigest: "sha256:ab", in: two.id).map(\.name) } == ["x"])
            #expect(try await store.read { try $0.tags(withDigest: "sha256:zz", in: one.id) } == [])
        }
    }

    @Test func migrationFourKeepsEarlierRepositoriesTagsStarsAndEvents() async throws {
        let connection = try migratedConnection(through: 3)
        defer { connection.close() }
        try connection.exec(
            """
            INSERT INTO users (id, username, created_at, updated_at) VALUES (1, 'ann', 0, 0);
            INSERT INTO teams (id, name, created_at, updated_at) VALUES (1, 't', 0, 0);
            INSERT INTO namespaces (id, name, team_id, visibility, kind, created_at, updated_at)
                VALUES (1, 'ns', 1, 'private', 'regular', 0, 0);
            INSERT INTO repositories (id, namespace_id, name, created_at, updated_at) VALUES (7, 1, 'app', 5, 6);
            INSERT INTO tags (id, repository_id, name, digest, size, pushed_by_id, pushed_by_name, created_at, updated_at)
                VALUES (3, 7, 'v1', 'sha256:aa', 42, 1, 'ann', 5, 6);
            INSERT INTO stars (user_id, repository_id, created_at) VALUES (1, 7, 8);
            INSERT INTO registry_events (id, event_id, payload, received_at, state) VALUES (2, 'old', '{}', 9, 'processed');
            """)
        let report = try SQLiteMigrator(
            connection: connection, migrations: Array(SQLiteSchema.migrations.prefix(4)), now: { Date() }
        ).migrate()
        #expect(report.applied.map(\.version) == [4])
        #expect(
            try connection.queryInt("SELECT count(*) FROM tags WHERE id = 3 AND repository_id = 7 AND size = 42") == 1)
        #expect(try connection.queryInt("SELECT count(*) FROM repositories WHERE id = 7 AND registry = ''") == 1)
        #expect(try connection.queryInt("SELECT count(*) FROM stars WHERE repository_id = 7") == 1)
        #expect(
            try connection.queryInt("SELECT count(*) FROM registry_events WHERE event_id = 'old' AND registry = ''")
                == 1)
        // The rebuilt children still cascade from the rebuilt parent.
        try connection.exec("DELETE FROM repositories WHERE id = 7")
        #expect(try connection.queryInt("SELECT count(*) FROM tags") == 0)
        #expect(try connection.queryInt("SELECT count(*) FROM stars") == 0)
        #expect(try connection.queryInt("SELECT count(*) FROM sqlite_schema WHERE name LIKE '%_v4'") == 0)
    }
}
