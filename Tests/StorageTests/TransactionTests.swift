import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing

/// A one-shot signal a pool thread can raise and an async test can await, without blocking a task.
final class Signal: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }

    func raise() { continuation.yield() }

    func wait() async {
        for await _ in stream { return }
    }
}

@Suite(.storeBackends("TransactionTests")) struct TransactionTests {
    @Test(arguments: StoreBackend.allCases)
    func aThrowInsideWriteRollsBackEverythingAndRethrowsTheSameError(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            await #expect(throws: DeliberateFailure()) {
                try await store.write { w in
                    _ = try createUserWithPersonalNamespace(w, username: "half")
                    throw DeliberateFailure()
                }
            }
            let leftovers = try await store.read { r in
                (try r.user(named: "half"), try r.team(named: "half-personal"), try r.namespace(named: "half"))
            }
            #expect(leftovers.0 == nil)
            #expect(leftovers.1 == nil)
            #expect(leftovers.2 == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aConflictLateInATransactionUndoesItsEarlierInserts(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.write { try $0.createTeam(name: "taken") }
            await #expect(throws: StoreError.conflict) {
                try await store.write { w in
                    _ = try w.createUser(NewUser(username: "newcomer"))
                    _ = try w.createTeam(name: "taken")
                }
            }
            #expect(try await store.read { try $0.user(named: "newcomer") } == nil)
            // The store keeps working after a failed transaction.
            _ = try await store.write { try $0.createUser(NewUser(username: "newcomer")) }
        }
    }

    @Test func readsProceedWhileAWriteTransactionIsOpenAndSeeOnlyCommittedData() async throws {
        try await withFileStore(readers: 3) { store, _ in
            _ = try await store.write { try $0.createUser(NewUser(username: "existing")) }
            let inside = Signal()
            let release = DispatchSemaphore(value: 0)
            let writer = Task {
                try await store.write { w in
                    _ = try w.createUser(NewUser(username: "uncommitted"))
                    inside.raise()
                    // Blocks the writer's own pool thread (never a task) until the reads are done; bounded only so a
                    // bug cannot hang the suite. The bound must not stand in for the reads' duration: on a loaded CI
                    // machine 24 reads took over 20 s once, the write committed under them and the test failed.
                    _ = release.wait(timeout: .now() + 600)
                }
            }
            await inside.wait()
            let results = try await withThrowingTaskGroup(of: (Bool, Int).self) { group in
                for _ in 0..<24 {
                    group.addTask {
                        try await store.read { r in (try r.user(named: "uncommitted") == nil, try r.allUsers().count) }
                    }
                }
                return try await group.reduce(into: [(Bool, Int)]()) { $0.append($1) }
            }
            release.signal()
            try await writer.value
            #expect(results.count == 24)
            #expect(results.allSatisfy { $0.0 && $0.1 == 1 })
            #expect(try await store.read { try $0.user(named: "uncommitted") } != nil)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func concurrentWritesAreSerialized(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        // Read-modify-write: only correct if no other write interleaves.
                        _ = try await store.write { w in
                            try w.createUser(NewUser(username: "user-\(try w.allUsers().count)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let names = try await store.read { try Set($0.allUsers().map(\.username)) }
            #expect(names == Set((0..<40).map { "user-\($0)" }))
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func foreignKeysAreEnforced(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let team = try await store.write { try $0.createTeam(name: "t") }
            await #expect(throws: StoreError.constraintViolated) {
                _ = try await store.write { try $0.addTeamMember(team: team.id, user: User.ID(999), role: .viewer) }
            }
            await #expect(throws: StoreError.constraintViolated) {
                _ = try await store.write { try $0.createNamespace(name: "n", team: Team.ID(999), visibility: .public) }
            }
            await #expect(throws: StoreError.constraintViolated) {
                _ = try await store.write {
                    try $0.createRepository(name: "r", in: Namespace.ID(999), registry: "main")
                }
            }
        }
    }

    @Test(
        arguments: StoreBackend.allCases,
        [
            "x'); DROP TABLE users; --", "' OR '1'='1", "robert\"; DELETE FROM teams; --", "a\u{0}b", "名前-ü-🚢", "%_*",
        ])
    func hostileStringsAreStoredAndMatchedLiterally(_ backend: StoreBackend, _ hostile: String) async throws {
        // A NUL on PostgreSQL is refused (the test above); every other hostile string is stored on both.
        guard backend == .sqlite || !hostile.utf8.contains(0) else { return }
        try await backend.withStore { store in
            _ = try await store.write { try $0.createUser(NewUser(username: "victim")) }
            let created = try await store.write { try $0.createUser(NewUser(username: hostile, displayName: hostile)) }
            #expect(created.username == hostile)
            let (found, victim, count, wildcard) = try await store.read { r in
                (
                    try r.user(named: hostile), try r.user(named: "victim"), try r.allUsers().count,
                    try r.user(named: "%")
                )
            }
            #expect(found?.displayName == hostile)
            #expect(victim != nil)
            #expect(count == 2)
            #expect(wildcard == nil)
        }
    }

    /// SQLite keeps a NUL; PostgreSQL text cannot hold one, and its store refuses the value rather than cut it
    /// (libpq would read "a\0b" as "a", and a lookup of "a\0b" would find "a"). Never truncated, on either.
    @Test(arguments: StoreBackend.allCases)
    func aStringWithAnEmbeddedNULIsKeptWholeOrRefusedNeverTruncated(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.write { try $0.createUser(NewUser(username: "a")) }
            switch backend {
            case .sqlite:
                _ = try await store.write { try $0.createUser(NewUser(username: "a\u{0}b")) }
                #expect(try await store.read { try $0.allUsers().map(\.username) } == ["a", "a\u{0}b"])
            case .postgres:
                await #expect(throws: StoreError.invalidInput) {
                    _ = try await store.write { try $0.createUser(NewUser(username: "a\u{0}b")) }
                }
                await #expect(throws: StoreError.invalidInput) {
                    _ = try await store.read { try $0.user(named: "a\u{0}b") }
                }
                #expect(try await store.read { try $0.allUsers().map(\.username) } == ["a"])
            }
        }
    }

    @Test func aReadClosureCannotWriteEvenByDowncasting() async throws {
        try await withFileStore { store, _ in
            await #expect(throws: StoreError(.internal, "")) {
                try await store.read { r in
                    _ = try (r as? any StoreWriting)?.createUser(NewUser(username: "sneaky"))
                }
            }
        }
        for backend in StoreBackend.allCases {
            try await backend.withStore { store in
                await #expect(throws: StoreError(.internal, "")) {
                    try await store.read { r in
                        _ = try (r as? any StoreWriting)?.createUser(NewUser(username: "sneaky"))
                    }
                }
                let sneaky = try await store.read { try $0.user(named: "sneaky") }
                #expect(sneaky == nil)
            }
        }
    }

    @Test func aWriterBlockedByAnotherProcessFailsAsUnavailableAfterTheBusyTimeout() async throws {
        try await withFileStore { store, path in
            // A second store on the same file plays the other process.
            let other = try await SQLiteStore.open(
                SQLiteConfiguration(location: .file(path), busyTimeout: .milliseconds(200), readerCount: 1))
            let inside = Signal()
            let release = DispatchSemaphore(value: 0)
            let holder = Task {
                try await store.write { _ in
                    inside.raise()
                    _ = release.wait(timeout: .now() + 20)
                }
            }
            await inside.wait()
            await #expect(throws: StoreError.unavailable) {
                _ = try await other.write { try $0.createUser(NewUser(username: "blocked")) }
            }
            // Reads in the other process are not blocked by the write lock (WAL).
            #expect(try await other.read { try $0.allUsers().count } == 0)
            release.signal()
            try await holder.value
            _ = try await other.write { try $0.createUser(NewUser(username: "later")) }
            await other.close()
        }
    }

    @Test func aClosedStoreRefusesWorkAndClosingTwiceIsHarmless() async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        _ = try await store.migrate()
        await store.close()
        await store.close()
        await #expect(throws: StoreError.closed) { try await store.read { try $0.allUsers() } }
        await #expect(throws: StoreError.closed) { try await store.write { try $0.countAdmins() } }
        await #expect(throws: StoreError.closed) { _ = try await store.schemaStatus() }
    }

    @Test func callsRacingWithCloseEitherCompleteOrFailAsClosed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(directory.path("db.sqlite"))))
        _ = try await store.migrate()
        let outcomes = await withTaskGroup(of: String.self) { group in
            for index in 0..<200 {
                group.addTask {
                    do {
                        if index.isMultiple(of: 2) {
                            _ = try await store.write { try $0.createUser(NewUser(username: "r\(index)")) }
                        } else {
                            _ = try await store.read { try $0.allUsers() }
                        }
                        return "ok"
                    } catch let error as StoreError {
                        return error.code.rawValue
                    } catch {
                        return "unexpected"
                    }
                }
                if index == 100 {
                    group.addTask {
                        await store.close()
                        return "ok"
                    }
                }
            }
            return await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(outcomes.isSubset(of: ["ok", StoreError.Code.closed.rawValue]))
    }

    @Test func workQueuedBeforeCloseStillCompletes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(directory.path("db.sqlite"))))
        _ = try await store.migrate()
        let writes = (0..<10).map { index in
            Task { try await store.write { try $0.createUser(NewUser(username: "u\(index)")) } }
        }
        for write in writes { _ = try await write.value }
        await store.close()
        let reopened = try await SQLiteStore.open(SQLiteConfiguration(location: .file(directory.path("db.sqlite"))))
        #expect(try await reopened.read { try $0.allUsers().count } == 10)
        #expect(try await reopened.integrityCheck() == ["ok"])
        await reopened.close()
    }
}
