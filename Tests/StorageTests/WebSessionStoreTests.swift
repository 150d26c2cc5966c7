import Foundation
import Storage
import TestSupport
import Testing

@testable import SQLiteStorage

/// A clock the store reads and a test moves (no sleeps).
private final class StoreClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    var now: Date { lock.withLock { current } }
    func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }
}

@Suite(.storeBackends("WebSessionStoreTests")) struct WebSessionStoreTests {
    private static func hash(_ n: Int) -> String { String(repeating: String(n % 10), count: 64) }

    @Test(arguments: StoreBackend.allCases) func aSessionIsFoundByItsHashAndListedNewestFirstUntilRevoked(
        _ backend: StoreBackend
    ) async throws {
        let clock = StoreClock()
        try await backend.withStore(now: { clock.now }) { store in
            let user = try await store.write { try $0.createUser(NewUser(username: "sam")) }
            let end = clock.now.addingTimeInterval(3600)
            let first = try await store.write {
                try $0.createWebSession(
                    userID: user.id, secretHash: Self.hash(1), csrfToken: "c1", expiresAt: end, client: "Firefox",
                    address: "127.0.0.1")
            }
            clock.advance(by: 10)
            let second = try await store.write {
                try $0.createWebSession(
                    userID: user.id, secretHash: Self.hash(2), csrfToken: "c2", expiresAt: end, client: nil,
                    address: nil)
            }
            #expect(first.createdAt == first.lastSeenAt)
            #expect(first.client == "Firefox" && first.address == "127.0.0.1" && first.revokedAt == nil)
            let found = try await store.read { try $0.webSession(secretHash: Self.hash(1)) }
            #expect(found == first)
            #expect(try await store.read { try $0.webSession(secretHash: Self.hash(3)) } == nil)
            #expect(try await store.read { try $0.webSessions(of: user.id) }.map(\.id) == [second.id, first.id])

            try await store.write { try $0.revokeWebSession(first.id, at: clock.now) }
            try await store.write { try $0.revokeWebSession(first.id, at: clock.now.addingTimeInterval(50)) }
            #expect(try await store.read { try $0.webSessions(of: user.id) }.map(\.id) == [second.id])
            // Revoking again keeps the first revocation time; the revoked session is still found by hash.
            #expect(try await store.read { try $0.webSession(secretHash: Self.hash(1)) }?.revokedAt == clock.now)
        }
    }

    @Test(arguments: StoreBackend.allCases) func twoSessionsCannotShareAHash(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let user = try await store.write { try $0.createUser(NewUser(username: "sam")) }
            let create: @Sendable (any StoreWriting) throws -> WebSession = {
                try $0.createWebSession(
                    userID: user.id, secretHash: Self.hash(1), csrfToken: "c", expiresAt: Date(), client: nil,
                    address: nil)
            }
            _ = try await store.write(create)
            await #expect(throws: StoreError.conflict) { _ = try await store.write(create) }
        }
    }

    @Test(arguments: StoreBackend.allCases) func touchingNeverMovesTheLastSeenTimeBackwards(_ backend: StoreBackend)
        async throws
    {
        let clock = StoreClock()
        try await backend.withStore(now: { clock.now }) { store in
            let session = try await store.write { writer in
                let user = try writer.createUser(NewUser(username: "sam"))
                return try writer.createWebSession(
                    userID: user.id, secretHash: Self.hash(1), csrfToken: "c", expiresAt: clock.now, client: nil,
                    address: nil)
            }
            let later = session.createdAt.addingTimeInterval(120)
            try await store.write { try $0.touchWebSession(session.id, at: later) }
            try await store.write { try $0.touchWebSession(session.id, at: session.createdAt) }
            #expect(try await store.read { try $0.webSession(secretHash: Self.hash(1)) }?.lastSeenAt == later)
            await #expect(throws: StoreError.notFound) {
                try await store.write { try $0.touchWebSession(WebSession.ID(999), at: later) }
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func endingEverySessionOfAUserKeepsTheOneNamedAndOtherUsers(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let (sam, kim, sessions) = try await store.write { writer in
                let sam = try writer.createUser(NewUser(username: "sam"))
                let kim = try writer.createUser(NewUser(username: "kim"))
                let sessions = try (1...4).map { n in
                    try writer.createWebSession(
                        userID: n == 4 ? kim.id : sam.id, secretHash: Self.hash(n), csrfToken: "c", expiresAt: Date(),
                        client: nil, address: nil)
                }
                return (sam, kim, sessions)
            }
            let ended = try await store.write {
                try $0.revokeWebSessions(of: sam.id, except: sessions[1].id, at: Date())
            }
            #expect(ended == 2)
            #expect(try await store.read { try $0.webSessions(of: sam.id) }.map(\.id) == [sessions[1].id])
            #expect(try await store.read { try $0.webSessions(of: kim.id) }.count == 1)
            #expect(try await store.write { try $0.revokeWebSessions(of: sam.id, except: nil, at: Date()) } == 1)
            #expect(try await store.read { try $0.webSessions(of: sam.id) }.isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases) func pruningDeletesRevokedExpiredAndIdleSessionsOnly(
        _ backend: StoreBackend
    ) async throws {
        let clock = StoreClock()
        try await backend.withStore(now: { clock.now }) { store in
            let start = clock.now
            let user = try await store.write { try $0.createUser(NewUser(username: "sam")) }
            func create(_ n: Int, end: TimeInterval) async throws -> WebSession {
                try await store.write {
                    try $0.createWebSession(
                        userID: user.id, secretHash: Self.hash(n), csrfToken: "c",
                        expiresAt: start.addingTimeInterval(end), client: nil, address: nil)
                }
            }
            let revoked = try await create(1, end: 1000)
            _ = try await create(2, end: 50)  // past its absolute end at 100
            let idle = try await create(3, end: 1000)
            let live = try await create(4, end: 1000)
            try await store.write { try $0.revokeWebSession(revoked.id, at: start) }
            try await store.write { try $0.touchWebSession(live.id, at: start.addingTimeInterval(90)) }
            let now = start.addingTimeInterval(100)
            #expect(try await store.write { try $0.pruneWebSessions(before: now) } == 2)
            #expect(
                try await store.write {
                    try $0.pruneWebSessions(before: now, lastSeenBefore: start.addingTimeInterval(60))
                }
                    == 1)
            #expect(try await store.read { try $0.webSessions(of: user.id) }.map(\.id) == [live.id])
            #expect(try await store.read { try $0.webSession(secretHash: Self.hash(3)) } == nil)
            _ = idle
        }
    }

    @Test(arguments: StoreBackend.allCases) func deletingAUserDeletesTheirSessions(_ backend: StoreBackend) async throws
    {
        try await backend.withStore { store in
            try await store.write { writer in
                let user = try writer.createUser(NewUser(username: "sam"))
                _ = try writer.createWebSession(
                    userID: user.id, secretHash: Self.hash(1), csrfToken: "c", expiresAt: Date(), client: nil,
                    address: nil)
                try writer.deleteUser(user.id)
                #expect(try writer.webSession(secretHash: Self.hash(1)) == nil)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func setupCodesAreStoredOnceEachAndDeletedTogether(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            try await store.write { writer in
                try writer.addSetupCode(hash: Self.hash(1), at: Date())
                try writer.addSetupCode(hash: Self.hash(1), at: Date())
                try writer.addSetupCode(hash: Self.hash(2), at: Date())
            }
            #expect(try await store.read { try $0.setupCodeExists(hash: Self.hash(1)) })
            #expect(try await store.read { try $0.setupCodeExists(hash: Self.hash(2)) })
            #expect(try await !store.read { try $0.setupCodeExists(hash: Self.hash(3)) })
            try await store.write { try $0.deleteSetupCodes() }
            #expect(try await !store.read { try $0.setupCodeExists(hash: Self.hash(1)) })
        }
    }
}

@Suite(.storeBackends("DailyPullTests")) struct DailyPullTests {
    /// 2027-01-15 00:00:00 UTC.
    static let dayOne = Date(
        timeIntervalSince1970: 1_800_000_000 - 1_800_000_000.truncatingRemainder(dividingBy: 86_400))

    @Test(arguments: StoreBackend.allCases) func pullsAreCountedPerUTCDayPerTagAndSummedPerRepository(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let day = 86_400.0
            let one = Self.dayOne
            let (repository, other, latest, stable) = try await store.write { writer in
                let team = try writer.createTeam(name: "t")
                let namespace = try writer.createNamespace(name: "lib", team: team.id, visibility: .public)
                let repository = try writer.createRepository(name: "app", in: namespace.id, registry: "")
                let other = try writer.createRepository(name: "other", in: namespace.id, registry: "")
                let latest = try writer.recordTagPush(
                    TagPush(repositoryID: repository.id, name: "latest", digest: "sha256:a"))
                let stable = try writer.recordTagPush(
                    TagPush(repositoryID: repository.id, name: "stable", digest: "sha256:b"))
                let elsewhere = try writer.recordTagPush(
                    TagPush(repositoryID: other.id, name: "v1", digest: "sha256:c"))
                // Day one: first and last millisecond; day two; day four (out of order).
                for time in [one, one.addingTimeInterval(day - 0.001), one.addingTimeInterval(day)] {
                    try writer.recordPull(ofTag: latest.id, at: time)
                }
                try writer.recordPull(ofTag: stable.id, at: one.addingTimeInterval(3 * day + 5))
                try writer.recordPull(ofTag: stable.id, at: one.addingTimeInterval(12 * 3600))
                try writer.recordPull(ofTag: elsewhere.id, at: one)
                return (repository, other, latest, stable)
            }
            let perRepository = try await store.read { try $0.dailyPulls(ofRepository: repository.id, since: one) }
            #expect(
                perRepository == [
                    DailyPulls(day: one, count: 3), DailyPulls(day: one.addingTimeInterval(day), count: 1),
                    DailyPulls(day: one.addingTimeInterval(3 * day), count: 1),
                ])
            #expect(
                try await store.read { try $0.dailyPulls(ofTag: latest.id, since: one) } == [
                    DailyPulls(day: one, count: 2), DailyPulls(day: one.addingTimeInterval(day), count: 1),
                ])
            // `since` in the middle of a day includes that whole day.
            #expect(
                try await store.read {
                    try $0.dailyPulls(ofTag: stable.id, since: one.addingTimeInterval(3 * day + 3600))
                }
                    == [DailyPulls(day: one.addingTimeInterval(3 * day), count: 1)])
            #expect(try await store.read { try $0.dailyPulls(ofRepository: other.id, since: one) }.map(\.count) == [1])
            // The totals on the tags agree with the days.
            let tags = try await store.read { try $0.tags(in: repository.id) }
            #expect(tags.map(\.pullCount) == [3, 2])

            try await store.write { try $0.deleteTag(latest.id) }
            #expect(try await store.read { try $0.dailyPulls(ofTag: latest.id, since: one) }.isEmpty)
            // The repository's history keeps the deleted tag's pulls: they happened in this repository.
            #expect(
                try await store.read { try $0.dailyPulls(ofRepository: repository.id, since: one) } == perRepository)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aPullOfAMissingTagCountsNothing(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            await #expect(throws: StoreError.notFound) {
                try await store.write { try $0.recordPull(ofTag: Tag.ID(42), at: Date()) }
            }
            let days = try await store.read { try $0.dailyPulls(ofTag: Tag.ID(42), since: .distantPast) }
            #expect(days.isEmpty)
        }
    }
}

@Suite struct WebSessionMigrationTests {
    @Test func migration13KeepsEarlierPullTotalsAndItsTablesGoWithTheirUserAndTag() throws {
        let connection = try migratedConnection(through: 12)
        defer { connection.close() }
        try connection.exec(
            """
            INSERT INTO users (id, username, created_at, updated_at) VALUES (1, 'ann', 0, 0);
            INSERT INTO teams (id, name, created_at, updated_at) VALUES (1, 't', 0, 0);
            INSERT INTO namespaces (id, name, team_id, visibility, kind, created_at, updated_at)
                VALUES (1, 'one', 1, 'public', 'regular', 0, 0);
            INSERT INTO repositories (id, namespace_id, name, created_at, updated_at) VALUES (7, 1, 'app', 0, 0);
            INSERT INTO tags (id, repository_id, name, digest, pull_count, created_at, updated_at)
                VALUES (1, 7, 'a', 'sha256:a', 5, 0, 0);
            """)
        let report = try SQLiteMigrator(connection: connection, migrations: SQLiteSchema.migrations, now: { Date() })
            .migrate()
        #expect(report.applied.map(\.version).contains(13))
        #expect(try connection.queryInt("SELECT pull_count FROM tags WHERE id = 1") == 5)
        #expect(try connection.queryInt("SELECT count(*) FROM tag_pulls_daily") == 0)
        try connection.exec(
            """
            INSERT INTO web_sessions (user_id, secret_hash, csrf_token, created_at, last_seen_at, expires_at)
                VALUES (1, 'h', 'c', 0, 0, 1);
            INSERT INTO tag_pulls_daily (tag_id, day, count) VALUES (1, 0, 3);
            DELETE FROM users WHERE id = 1;
            DELETE FROM tags WHERE id = 1;
            """)
        #expect(try connection.queryInt("SELECT count(*) FROM web_sessions") == 0)
        #expect(try connection.queryInt("SELECT count(*) FROM tag_pulls_daily") == 0)
    }
}
