import Foundation
import SQLStorage
import Storage
import Synchronization
import TestSupport
import Testing

@testable import PostgresStorage

/// What the PostgreSQL store guarantees beyond the conformance suite: writes serialized across instances, clear
/// `.unavailable` errors while the server is away or busy, reconnection, and the authorization generation
/// shared between instances. Several stores on one database stand for several Portcullis instances.
@Suite(.enabled(if: PostgresServer.shouldRun), .postgres("store"))
struct PostgresStoreTests {
    /// Opens a migrated store on `url`, runs `body`, closes it.
    private static func withStore(
        _ url: String, statementTimeout: Duration = .seconds(30), prepared: Bool = true, poll: Duration? = nil,
        _ body: (PostgresStore) async throws -> Void
    ) async throws {
        let store = try await PostgresStore.open(
            PostgresConfiguration(
                url: url, poolSize: 3, statementTimeout: statementTimeout, preparedStatements: prepared,
                generationPollInterval: poll))
        do {
            _ = try await store.migrate()
            try await body(store)
            await store.close()
        } catch {
            await store.close()
            throw error
        }
    }

    @Test func writesFromTwoInstancesAreSerializedSoNoIncrementIsLost() async throws {
        let url = try await PostgresFixture.database("serialized")
        try await Self.withStore(url) { first in
            try await Self.withStore(url) { second in
                let user = try await first.write { try $0.createUser(NewUser(username: "counter")) }
                try await incrementConcurrently(user.id, times: 24, alternating: [first, second])
                let final = try await second.read { try $0.user(id: user.id) }
                #expect(final?.failedLoginCount == 24)
                #expect(final?.displayName == "24")
            }
        }
    }

    @Test func aReadSeesOneSnapshotWhileAnotherInstanceWrites() async throws {
        let url = try await PostgresFixture.database("snapshot")
        try await Self.withStore(url) { store in
            try await Self.withStore(url) { other in
                _ = try await store.write { try $0.createUser(NewUser(username: "before")) }
                let counts = try await store.read { reader -> (Int, Int) in
                    let first = try reader.allUsers().count
                    // Another instance commits while this read is open (on its own connection, synchronously).
                    let connection = try PostgresConnection(url)
                    defer { connection.close() }
                    try connection.execute(
                        "INSERT INTO users (username, created_at, updated_at) VALUES ('during', 0, 0)")
                    return (first, try reader.allUsers().count)
                }
                #expect(counts.0 == 1 && counts.1 == 1, "a read transaction is one snapshot")
                #expect(try await other.read { try $0.allUsers().count } == 2)
            }
        }
    }

    @Test func aUniqueClashIsAConflictNamingTheColumnAndLeavesNoHalfWrite() async throws {
        let url = try await PostgresFixture.database("conflict")
        try await Self.withStore(url) { store in
            _ = try await store.write { try $0.createUser(NewUser(username: "quokka")) }
            do {
                _ = try await store.write { writer in
                    _ = try writer.createTeam(name: "half", description: nil, isHidden: false)
                    _ = try writer.createUser(NewUser(username: "quokka"))
                }
                Issue.record("a duplicate username was stored")
            } catch let error as StoreError {
                #expect(error.code == .conflict)
                #expect(error.subject == "users.username")
                #expect(
                    !error.message.contains("quokka") && !error.reason.contains("quokka"),
                    "values never reach the error")
            }
            #expect(try await store.read { try $0.team(named: "half") } == nil)
            // The connection is usable again after the rollback.
            #expect(
                try await store.write { try $0.createTeam(name: "whole", description: nil, isHidden: false) }.name
                    == "whole")
        }
    }

    @Test func aConnectionTheServerDroppedIsReplacedBeforeTheNextTransaction() async throws {
        let url = try await PostgresFixture.database("dropped")
        try await Self.withStore(url) { store in
            _ = try await store.write { try $0.createUser(NewUser(username: "kept")) }
            // The server ends every session of this database (as a restart or failover would).
            try await PostgresFixture.with(url) { admin in
                _ = try admin.query(
                    """
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid()
                    """)
            }
            #expect(try await store.read { try $0.user(named: "kept")?.username } == "kept")
            _ = try await store.write { try $0.createUser(NewUser(username: "after")) }
            #expect(try await store.read { try $0.allUsers().count } == 2)
        }
    }

    @Test func aConnectionLostInsideAWriteIsUnavailableAndNothingOfTheWriteIsKept() async throws {
        let url = try await PostgresFixture.database("lost")
        try await Self.withStore(url) { store in
            do {
                _ = try await store.write { writer in
                    _ = try writer.createUser(NewUser(username: "lost"))
                    let transaction = try #require(writer as? SQLTransaction<PostgresConnection>)
                    let pid = try #require(try transaction.connection.queryInt("SELECT pg_backend_pid()"))
                    let admin = try PostgresConnection(url)
                    defer { admin.close() }
                    _ = try admin.query("SELECT pg_terminate_backend(\(pid))")
                    _ = try writer.createUser(NewUser(username: "lost-too"))
                }
                Issue.record("a write on a terminated connection succeeded")
            } catch let error as StoreError {
                #expect(error.code == .unavailable)
            }
            #expect(try await store.read { try $0.allUsers().count } == 0)
        }
    }

    @Test func aWriteWaitingBeyondTheStatementTimeoutIsUnavailable() async throws {
        let url = try await PostgresFixture.database("timeout")
        try await Self.withStore(url, statementTimeout: .milliseconds(300)) { store in
            // Another instance holds the writers' lock in an open transaction.
            let holder = try await PostgresFixture.pool.run { try PostgresConnection(url) }
            defer { holder.close() }
            try await PostgresFixture.pool.run {
                try holder.execute("BEGIN; SELECT pg_advisory_xact_lock(\(PostgresStore.writerLockKey))")
            }
            await #expect(throws: StoreError.unavailable) {
                _ = try await store.write { try $0.createUser(NewUser(username: "waiting")) }
            }
            // Reads never wait for the writers' lock.
            #expect(try await store.read { try $0.allUsers().count } == 0)
            try await PostgresFixture.pool.run { try holder.execute("ROLLBACK") }
            _ = try await store.write { try $0.createUser(NewUser(username: "later")) }
        }
    }

    @Test func withoutPreparedStatementsTheSameQueriesAnswerTheSameForAPoolerInTransactionMode() async throws {
        let url = try await PostgresFixture.database("unprepared")
        try await Self.withStore(url, prepared: false) { store in
            let (user, _, namespace) = try await store.write {
                try createUserWithPersonalNamespace($0, username: "pat")
            }
            _ = try await store.write { try $0.createRepository(name: "web-app", in: namespace.id, registry: "") }
            let (found, hits) = try await store.read { reader in
                (
                    try reader.user(named: "PAT")?.id,
                    try reader.search(SearchRequest(text: "web", kind: .repository, viewer: .administrator)).hits
                        .map(\.name)
                )
            }
            #expect(found == user.id)
            #expect(hits == ["pat/web-app"])
            await #expect(throws: StoreError.conflict) {
                _ = try await store.write { try $0.createUser(NewUser(username: "pat")) }
            }
        }
    }

    @Test func aServerRestartUnderLoadLosesNoAcknowledgedWriteAndTheStoreCarriesOn() async throws {
        // A server of its own: the restart must not cut the other tests of the suite off.
        let server = try await PostgresServer.start(label: "restart")
        defer { server.remove() }
        let url = try await PostgresFixture.pool.run { try server.createDatabase("restart") }
        try await Self.withStore(url, statementTimeout: .seconds(10)) { store in
            let load = Load()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<3 {
                    group.addTask {
                        var attempt = 0
                        while !load.done.withLock({ $0 }) {
                            attempt += 1
                            let name = "team-\(writer)-\(attempt)"
                            do {
                                _ = try await store.write {
                                    try $0.createTeam(name: name, description: nil, isHidden: false)
                                }
                                load.acknowledged.withLock { $0.append(name) }
                            } catch let error as StoreError where error.code == .unavailable {
                                // The server is away: not acknowledged, so it may or may not be stored. Back off
                                // a little before the next attempt rather than spin on a closed port.
                                load.refused.withLock { $0 += 1 }
                                try await Task.sleep(for: .milliseconds(50))
                            }
                        }
                    }
                }
                let count = { load.acknowledged.withLock { $0.count } }
                #expect(try await waitUntil(seconds: 60) { count() >= 30 })
                try await server.restart()
                let atRestart = count()
                #expect(try await waitUntil(seconds: 60) { count() >= atRestart + 30 }, "writes go on after it")
                load.done.withLock { $0 = true }
                try await group.waitForAll()
            }
            let stored = Set(try await store.read { try $0.allTeams(includingHidden: true).map(\.name) })
            let lost = load.acknowledged.withLock { $0 }.filter { !stored.contains($0) }
            #expect(lost.isEmpty, "acknowledged writes lost across the restart: \(lost)")
        }
    }

    @Test func aServerThatIsNotThereIsUnavailableWithoutThePassword() async throws {
        do {
            _ = try await PostgresStore.open(
                PostgresConfiguration(url: "postgresql://portcullis:hunter2@127.0.0.1:1/portcullis"))
            Issue.record("a store opened on a closed port")
        } catch let error as StoreError {
            #expect(error.code == .unavailable)
            #expect(!error.message.contains("hunter2") && !error.reason.contains("hunter2"))
        }
    }

    @Test func aChangeOnOneInstanceAdvancesTheOthersAuthorizationGeneration() async throws {
        let url = try await PostgresFixture.database("generation")
        try await Self.withStore(url, poll: .milliseconds(50)) { first in
            try await Self.withStore(url, poll: .milliseconds(50)) { second in
                let user = try await first.write { try $0.createUser(NewUser(username: "gen")) }
                let before = second.authorizationGeneration
                try await first.write { try $0.setAdmin(true, for: user.id) }
                #expect(first.authorizationGeneration > before, "the writer sees its own change at once")
                // The other instance notices by polling: wait for it, bounded (no fixed sleep).
                let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                while second.authorizationGeneration <= before && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(second.authorizationGeneration > before)
            }
        }
    }

    @Test(arguments: [
        ("SELECT ?", "SELECT $1"), ("a = ? AND b = ?", "a = $1 AND b = $2"),
        ("x < ?1 THEN ?1 WHERE id = ?2", "x < $1 THEN $1 WHERE id = $2"),
        ("'?' = ? AND \"q?\" = ?", "'?' = $1 AND \"q?\" = $2"), ("no parameters", "no parameters"),
    ])
    func placeholdersAreNumberedOutsideQuotes(_ sql: String, _ expected: String) {
        #expect(PostgresConnection.numberedPlaceholders(sql) == expected)
    }
}

/// What the writers of the restart test share.
private final class Load: Sendable {
    /// The names whose write returned (acknowledged).
    let acknowledged = Mutex<[String]>([])
    /// Writes refused while the server was away.
    let refused = Mutex(0)
    /// Set when the writers should stop.
    let done = Mutex(false)
}

/// Runs `times` write transactions at once, alternating between `stores`, each reading the user's failed-login
/// count and writing it back one higher (as the display name and through `recordFailedLogin`): unless writes are
/// serialized, two of them read the same value and an increment is lost.
func incrementConcurrently(_ userID: User.ID, times: Int, alternating stores: [any Store]) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<times {
            let store = stores[index % stores.count]
            group.addTask {
                try await store.write { writer in
                    let count = try #require(try writer.user(id: userID)).failedLoginCount
                    try writer.setDisplayName(String(count + 1), for: userID)
                    _ = try writer.recordFailedLogin(of: userID, lockedUntil: nil)
                }
            }
        }
        try await group.waitForAll()
    }
}
