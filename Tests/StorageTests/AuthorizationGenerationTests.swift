import Foundation
import SQLStorage
import Storage
import TestSupport
import Testing

@testable import SQLiteStorage

/// What the generation tests start from: alice with her personal team and namespace, a team `devs`
/// with alice as member, a namespace `shared` owned by `devs`, a second user bob, an application token
/// of alice's, an identity link of alice's and a repository with a tag in `shared`.
private struct Seed: Sendable {
    var alice: User
    var bob: User
    var devs: Team
    var other: Team
    var shared: Namespace
    var token: ApplicationToken
    var link: IdentityLink
    var repository: Repository

    static func make(in store: any Store) async throws -> Seed {
        try await store.write { writer in
            let (alice, _, _) = try createUserWithPersonalNamespace(writer, username: "alice")
            let bob = try writer.createUser(NewUser(username: "bob"))
            let devs = try writer.createTeam(name: "devs")
            let other = try writer.createTeam(name: "other")
            _ = try writer.addTeamMember(team: devs.id, user: alice.id, role: .contributor)
            let shared = try writer.createNamespace(name: "shared", team: devs.id, visibility: .private)
            let token = try writer.createApplicationToken(
                NewApplicationToken(ownerID: alice.id, name: "ci", secretHash: "hash-ci", prefix: "pct_ci"))
            let link = try writer.linkIdentity(providerID: "corp", subject: "alice-corp", to: alice.id)
            let repository = try writer.createRepository(name: "app", in: shared.id, registry: "main")
            _ = try writer.recordTagPush(TagPush(repositoryID: repository.id, name: "v1", digest: "sha256:aa"))
            return Seed(
                alice: alice, bob: bob, devs: devs, other: other, shared: shared, token: token, link: link,
                repository: repository)
        }
    }
}

/// Opens a migrated in-memory store with the seed, runs `body`, closes the store.
private func withSeededStore(_ backend: StoreBackend, _ body: (any Store, Seed) async throws -> Void) async throws {
    try await backend.withStore { store in
        let seed = try await Seed.make(in: store)
        try await body(store, seed)
    }
}

/// Commits `body` and checks whether it moved the store's generation forward (never backwards).
private func expectWrite(
    in store: any Store, advances expected: Bool, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: @escaping @Sendable (any StoreWriting) throws -> Void
) async throws {
    let before = store.authorizationGeneration
    try await store.write(body)
    let after = store.authorizationGeneration
    #expect(after >= before, "the generation went backwards", sourceLocation: sourceLocation)
    #expect(
        (after > before) == expected, "expected the generation to \(expected ? "advance" : "stay at \(before)")",
        sourceLocation: sourceLocation)
}

/// Polls `condition` every 20 ms for up to 120 s; true as soon as it holds.
private func eventually(_ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(120)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

@Suite(.storeBackends("AuthorizationGenerationStoreTests")) struct AuthorizationGenerationStoreTests {
    @Test(arguments: StoreBackend.allCases) func accountChangesAdvanceTheGeneration(_ backend: StoreBackend)
        async throws
    {
        try await withSeededStore(backend) { store, seed in
            try await expectWrite(in: store, advances: true) { _ = try $0.createUser(NewUser(username: "carol")) }
            try await expectWrite(in: store, advances: true) { try $0.setAdmin(true, for: seed.bob.id) }
            try await expectWrite(in: store, advances: true) { try $0.setEnabled(false, for: seed.bob.id) }
            try await expectWrite(in: store, advances: true) {
                try $0.setPasswordHash("$2b$04$changed", for: seed.bob.id)
            }
            let carol = try #require(try await store.read { try $0.user(named: "carol") })
            try await expectWrite(in: store, advances: true) { try $0.deleteUser(carol.id) }
        }
    }

    @Test(arguments: StoreBackend.allCases) func aLockThatStartsOrEndsAdvancesTheGeneration(_ backend: StoreBackend)
        async throws
    {
        try await withSeededStore(backend) { store, seed in
            let until = Date(timeIntervalSince1970: 1_900_000_000)
            try await expectWrite(in: store, advances: true) {
                _ = try $0.recordFailedLogin(of: seed.bob.id, lockedUntil: until)
            }
            // A successful login clears the lock: the lock ends.
            try await expectWrite(in: store, advances: true) {
                try $0.recordSuccessfulLogin(of: seed.bob.id, at: Date())
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func teamMembershipChangesAdvanceTheGeneration(_ backend: StoreBackend)
        async throws
    {
        try await withSeededStore(backend) { store, seed in
            try await expectWrite(in: store, advances: true) {
                _ = try $0.addTeamMember(team: seed.devs.id, user: seed.bob.id, role: .contributor)
            }
            try await expectWrite(in: store, advances: true) {
                try $0.setRole(.owner, team: seed.devs.id, user: seed.bob.id)
            }
            try await expectWrite(in: store, advances: true) {
                try $0.removeTeamMember(team: seed.devs.id, user: seed.bob.id)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func namespaceChangesAdvanceTheGeneration(_ backend: StoreBackend)
        async throws
    {
        try await withSeededStore(backend) { store, seed in
            try await expectWrite(in: store, advances: true) {
                _ = try $0.createNamespace(name: "fresh", team: seed.devs.id, visibility: .public)
            }
            let fresh = try #require(try await store.read { try $0.namespace(named: "fresh") })
            try await expectWrite(in: store, advances: true) { try $0.setVisibility(.private, for: fresh.id) }
            try await expectWrite(in: store, advances: true) { try $0.setTeam(seed.other.id, for: fresh.id) }
            try await expectWrite(in: store, advances: true) { try $0.deleteNamespace(fresh.id) }
        }
    }

    @Test(arguments: StoreBackend.allCases) func identityLinkChangesAdvanceTheGeneration(_ backend: StoreBackend)
        async throws
    {
        try await withSeededStore(backend) { store, seed in
            try await expectWrite(in: store, advances: true) {
                _ = try $0.linkIdentity(providerID: "corp", subject: "bob-corp", to: seed.bob.id)
            }
            try await expectWrite(in: store, advances: true) { try $0.unlinkIdentity(seed.link.id) }
        }
    }

    @Test(arguments: StoreBackend.allCases) func applicationTokenCreationAndRevocationAdvanceTheGeneration(
        _ backend: StoreBackend
    ) async throws {
        try await withSeededStore(backend) { store, seed in
            try await expectWrite(in: store, advances: true) {
                _ = try $0.createApplicationToken(
                    NewApplicationToken(ownerID: seed.bob.id, name: "deploy", secretHash: "hash-d", prefix: "pct_d"))
            }
            try await expectWrite(in: store, advances: true) {
                try $0.revokeApplicationToken(seed.token.id, at: Date())
            }
        }
    }

    @Test func anApplicationTokenExpiryChangeAdvancesTheGeneration() async throws {
        try await withFileStore { store, path in
            let token = try await store.write { writer in
                let owner = try writer.createUser(NewUser(username: "erin"))
                return try writer.createApplicationToken(
                    NewApplicationToken(ownerID: owner.id, name: "ci", secretHash: "hash-e", prefix: "pct_e"))
            }
            let before = store.authorizationGeneration
            // No store method changes an expiry; an operator's SQL (or a later CLI command) could, so the
            // trigger covers it. The store reads the counter after its next commit.
            let raw = try SQLiteConnection(
                SQLiteOpenOptions(
                    path: path, readOnlyQueries: false, busyTimeoutMilliseconds: 5000, createIfMissing: false))
            try raw.run("UPDATE application_tokens SET expires_at = 1 WHERE id = ?", [token.id.sqlValue])
            raw.close()
            try await store.write { _ in }
            #expect(store.authorizationGeneration > before)
        }
    }

    @Test(arguments: StoreBackend.allCases) func bookkeepingAuditAndRegistryWritesLeaveTheGenerationAlone(
        _ backend: StoreBackend
    ) async throws {
        try await withSeededStore(backend) { store, seed in
            try await expectWrite(in: store, advances: false) {
                _ = try $0.appendAuditEvent(NewAuditEvent(action: "x", outcome: .success))
            }
            try await expectWrite(in: store, advances: false) { writer in
                guard
                    case .inserted(let event) = try writer.recordRegistryEvent(
                        eventID: "e1", registry: "main", payload: "{}")
                else {
                    throw DeliberateFailure()
                }
                try writer.setState(.processed, ofRegistryEvent: event.id, error: nil)
            }
            // Neither login has a lock to start or end.
            try await expectWrite(in: store, advances: false) {
                try $0.recordSuccessfulLogin(of: seed.alice.id, at: Date())
            }
            try await expectWrite(in: store, advances: false) {
                _ = try $0.recordFailedLogin(of: seed.alice.id, lockedUntil: nil)
            }
            try await expectWrite(in: store, advances: false) {
                try $0.touchApplicationToken(seed.token.id, at: Date())
            }
            try await expectWrite(in: store, advances: false) { try $0.touchIdentityLink(seed.link.id, at: Date()) }
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aProfileChangeAdvancesTheGenerationBecauseResolvedWebSessionsCarryTheAccount(_ backend: StoreBackend)
        async throws
    {
        try await withSeededStore(backend) { store, seed in
            try await expectWrite(in: store, advances: true) { try $0.setEmail("a@example.test", for: seed.alice.id) }
            try await expectWrite(in: store, advances: true) { try $0.setDisplayName("Alice", for: seed.alice.id) }
        }
    }

    @Test(arguments: StoreBackend.allCases) func aFailedLoginThatKeepsTheSameLockLeavesTheGenerationAlone(
        _ backend: StoreBackend
    ) async throws {
        try await withSeededStore(backend) { store, seed in
            let until = Date(timeIntervalSince1970: 1_900_000_000)
            try await expectWrite(in: store, advances: true) {
                _ = try $0.recordFailedLogin(of: seed.bob.id, lockedUntil: until)
            }
            try await expectWrite(in: store, advances: false) {
                _ = try $0.recordFailedLogin(of: seed.bob.id, lockedUntil: until)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func repositoriesTagsAndStarsLeaveTheGenerationAlone(
        _ backend: StoreBackend
    ) async throws {
        try await withSeededStore(backend) { store, seed in
            try await expectWrite(in: store, advances: false) {
                _ = try $0.createRepository(name: "other", in: seed.shared.id, registry: "main")
            }
            try await expectWrite(in: store, advances: false) {
                _ = try $0.recordTagPush(TagPush(repositoryID: seed.repository.id, name: "v1", digest: "sha256:bb"))
            }
            try await expectWrite(in: store, advances: false) {
                _ = try $0.recordTagPush(TagPush(repositoryID: seed.repository.id, name: "v2", digest: "sha256:cc"))
            }
            try await expectWrite(in: store, advances: false) { _ = try $0.star(seed.repository.id, by: seed.alice.id) }
            try await expectWrite(in: store, advances: false) {
                _ = try $0.unstar(seed.repository.id, by: seed.alice.id)
            }
            let tag = try #require(try await store.read { try $0.tag(named: "v2", in: seed.repository.id) })
            try await expectWrite(in: store, advances: false) { try $0.deleteTag(tag.id) }
            try await expectWrite(in: store, advances: false) { try $0.deleteRepository(seed.repository.id) }
        }
    }

    @Test(arguments: StoreBackend.allCases) func aRolledBackWriteDoesNotAdvanceTheGeneration(_ backend: StoreBackend)
        async throws
    {
        try await withSeededStore(backend) { store, seed in
            let before = store.authorizationGeneration
            await #expect(throws: DeliberateFailure()) {
                try await store.write { writer in
                    try writer.setAdmin(true, for: seed.bob.id)
                    _ = try writer.createUser(NewUser(username: "ghost"))
                    throw DeliberateFailure()
                }
            }
            #expect(store.authorizationGeneration == before)
        }
    }

    @Test func aChangeCommittedByAnotherStoreOnTheSameFileIsSeenWithinThePollInterval() async throws {
        try await withFileStore { store, path in
            let bob = try await store.write { try $0.createUser(NewUser(username: "bob")) }
            let before = store.authorizationGeneration
            // A second store on the same file stands in for the CLI process beside the server.
            let other = try await SQLiteStore.open(
                SQLiteConfiguration(location: .file(path), readerCount: 1, generationPollInterval: nil))
            do {
                try await other.write { try $0.setEnabled(false, for: bob.id) }
            } catch {
                await other.close()
                throw error
            }
            await other.close()
            #expect(try await eventually { store.authorizationGeneration > before })
        }
    }

    @Test func aStoreThatNeverPollsStillSeesItsOwnWritesAtOnce() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteStore.open(
            SQLiteConfiguration(location: .file(directory.path("db.sqlite")), generationPollInterval: nil))
        do {
            _ = try await store.migrate()
            let before = store.authorizationGeneration
            _ = try await store.write { try $0.createUser(NewUser(username: "solo")) }
            #expect(store.authorizationGeneration > before)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}

@Suite struct AuthorizationGenerationTrackerTests {
    @Test func theFirstObservedValueIsTheStartingPointNotAChange() {
        let tracker = AuthorizationGenerationTracker()
        let start = tracker.current
        tracker.observe(databaseValue: 42)
        #expect(tracker.current == start)
    }

    @Test func aSmallerDatabaseValueStillAdvancesTheGeneration() {
        let tracker = AuthorizationGenerationTracker()
        tracker.observe(databaseValue: 5)
        let afterFive = tracker.current
        tracker.observe(databaseValue: 3)
        #expect(tracker.current > afterFive)
    }

    @Test func theSameValueTwiceChangesNothing() {
        let tracker = AuthorizationGenerationTracker()
        tracker.observe(databaseValue: 7)
        tracker.observe(databaseValue: 8)
        let seen = tracker.current
        tracker.observe(databaseValue: 8)
        #expect(tracker.current == seen)
    }

    @Test func advanceMovesForwardWithoutADatabaseValue() {
        let tracker = AuthorizationGenerationTracker()
        let start = tracker.current
        tracker.advance()
        #expect(tracker.current > start)
    }

    @Test func concurrentObservationsNeverMoveTheGenerationBackwards() async {
        let tracker = AuthorizationGenerationTracker()
        await withTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var last = tracker.current
                    for step in 0..<500 {
                        tracker.observe(databaseValue: Int64((task * 7 + step) % 11))
                        let now = tracker.current
                        if now < last { return false }
                        last = now
                    }
                    return true
                }
            }
            for await monotonic in group { #expect(monotonic) }
        }
    }
}

@Suite struct AuthorizationCacheTests {
    @Test func aValueIsReturnedOnlyAtTheGenerationItWasInsertedUnder() {
        let cache = AuthorizationCache<String, Int>(capacity: 4)
        cache.insert(1, for: "a", readAt: AuthorizationGeneration(3))
        #expect(cache.value(for: "a", at: AuthorizationGeneration(3)) == 1)
        #expect(cache.value(for: "a", at: AuthorizationGeneration(4)) == nil)
        #expect(cache.value(for: "a", at: AuthorizationGeneration(2)) == nil)
        #expect(cache.value(for: "b", at: AuthorizationGeneration(3)) == nil)
    }

    @Test func modifyChangesTheValueButKeepsItsGeneration() {
        let cache = AuthorizationCache<String, Int>(capacity: 4)
        cache.insert(1, for: "a", readAt: AuthorizationGeneration(3))
        let returned = cache.modify("a") { value -> String in
            value += 10
            return "changed"
        }
        #expect(returned == "changed")
        #expect(cache.value(for: "a", at: AuthorizationGeneration(3)) == 11)
        #expect(cache.value(for: "a", at: AuthorizationGeneration(4)) == nil)
        #expect(cache.modify("missing") { $0 += 1 } == nil)
    }

    @Test func removeForgetsTheValue() {
        let cache = AuthorizationCache<String, Int>(capacity: 4)
        cache.insert(1, for: "a", readAt: AuthorizationGeneration(3))
        cache.remove("a")
        #expect(cache.value(for: "a", at: AuthorizationGeneration(3)) == nil)
        #expect(cache.count == 0)
        cache.remove("never-there")
    }

    @Test func reinsertingUnderANewGenerationReplacesTheStaleEntry() {
        let cache = AuthorizationCache<String, Int>(capacity: 1)
        cache.insert(1, for: "a", readAt: AuthorizationGeneration(3))
        cache.insert(2, for: "a", readAt: AuthorizationGeneration(5))
        #expect(cache.count == 1)
        #expect(cache.value(for: "a", at: AuthorizationGeneration(5)) == 2)
        #expect(cache.value(for: "a", at: AuthorizationGeneration(3)) == nil)
    }

    @Test func theCacheNeverHoldsMoreThanItsCapacity() {
        let cache = AuthorizationCache<Int, Int>(capacity: 3)
        for key in 0..<20 { cache.insert(key, for: key, readAt: AuthorizationGeneration(1)) }
        #expect(cache.count == 3)
    }
}
