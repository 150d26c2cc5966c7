import Foundation
import PostgresStorage
import Storage
import TestSupport
import Testing

/// `PostgresMigrator` against a real PostgreSQL: a database per test.
@Suite(.enabled(if: PostgresServer.shouldRun), .postgres("migrator"))
struct PostgresMigratorTests {
    @Test func theWholeSchemaAppliesToAnEmptyDatabaseAndRecordsEveryVersion() async throws {
        let database = try await PostgresFixture.database("empty")
        let (report, recorded) = try await PostgresFixture.with(database) { connection in
            let report = try PostgresMigrator(
                connection: connection, now: { Date(timeIntervalSince1970: 1_700_000_000) }
            )
            .migrate()
            let recorded = try connection.query(
                "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
            return (report, recorded)
        }
        #expect(report.fromVersion == 0)
        #expect(report.toVersion == PostgresSchema.latestVersion)
        #expect(report.applied.map(\.version) == Array(1...PostgresSchema.latestVersion))
        #expect(recorded.map { $0[0] } == (1...PostgresSchema.latestVersion).map { String($0) })
        #expect(recorded.map { $0[1] } == PostgresSchema.migrations.map(\.name))
        #expect(recorded.allSatisfy { $0[2] == "1700000000000" })
    }

    @Test func migratingAnUpToDateDatabaseAppliesNothing() async throws {
        let database = try await PostgresFixture.database("again")
        let (first, second, status) = try await PostgresFixture.with(database) { connection in
            let migrator = PostgresMigrator(connection: connection)
            return (try migrator.migrate(), try migrator.migrate(), try migrator.status())
        }
        #expect(first.applied.count == PostgresSchema.latestVersion)
        #expect(second.wasUpToDate)
        #expect(second.fromVersion == PostgresSchema.latestVersion && second.toVersion == PostgresSchema.latestVersion)
        #expect(status.isReady)
    }

    @Test func theStatusOfAnEmptyDatabaseIsVersionZeroAndCreatesNothing() async throws {
        let database = try await PostgresFixture.database("status")
        let (status, tables) = try await PostgresFixture.with(database) { connection in
            let status = try PostgresMigrator(connection: connection).status()
            let tables = try connection.query(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()")
            return (status, tables)
        }
        #expect(status.currentVersion == 0)
        #expect(status.pendingCount == PostgresSchema.latestVersion)
        #expect(tables == [["0"]])
    }

    @Test func threeConnectionsMigratingAnEmptyDatabaseAtOnceApplyEachMigrationOnce() async throws {
        let database = try await PostgresFixture.database("concurrent")
        let reports = try await withThrowingTaskGroup(of: MigrationReport.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await PostgresFixture.with(database) { try PostgresMigrator(connection: $0).migrate() }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let applied = reports.flatMap(\.applied).map(\.version).sorted()
        #expect(applied == Array(1...PostgresSchema.latestVersion))
        #expect(reports.allSatisfy { $0.toVersion == PostgresSchema.latestVersion })
        let (recorded, generation) = try await PostgresFixture.with(database) { connection in
            (
                try connection.query("SELECT count(*), count(DISTINCT version) FROM schema_migrations"),
                try connection.query(PostgresSchema.authorizationGenerationQuery)
            )
        }
        #expect(recorded == [[String(PostgresSchema.latestVersion), String(PostgresSchema.latestVersion)]])
        // Migration 2's seed row was inserted once: a second run of it would have failed on the primary key.
        #expect(generation == [["1"]])
    }

    @Test func noAdvisoryLockOutlivesTheMigrationsTransactions() async throws {
        let database = try await PostgresFixture.database("locks")
        let locks = try await PostgresFixture.with(database) { connection in
            _ = try PostgresMigrator(connection: connection).migrate()
            // Behind PgBouncer in transaction mode a session lock would stay with a pooled server connection.
            return try connection.query(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        }
        #expect(locks == [["0"]])
    }

    @Test func aDatabaseWithANewerSchemaIsRefusedNamingBothVersions() async throws {
        let database = try await PostgresFixture.database("newer")
        let latest = PostgresSchema.latestVersion
        let outcome = try await PostgresFixture.with(database) { connection -> (StoreError?, [[String?]]) in
            _ = try PostgresMigrator(connection: connection).migrate()
            try connection.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(latest + 5), 'from the future', 0)"
            )
            do {
                _ = try PostgresMigrator(connection: connection).migrate()
                return (nil, [])
            } catch let error as StoreError {
                return (error, try connection.query("SELECT max(version) FROM schema_migrations"))
            }
        }
        let error = try #require(outcome.0)
        #expect(error.code == .schemaTooNew)
        #expect(error.message.contains("version \(latest + 5)"))
        #expect(error.message.contains("up to \(latest)"))
        #expect(outcome.1 == [[String(latest + 5)]])
        let status = try await PostgresFixture.with(database) { try PostgresMigrator(connection: $0).status() }
        #expect(status.isNewerThanBinary)
    }

    @Test func aMigratorWhoseConnectionIsLostWhileWaitingForTheLockReportsUnavailableAndWritesNothing() async throws {
        let database = try await PostgresFixture.database("lost")
        let holder = try await PostgresFixture.pool.run { try PostgresConnection(database) }
        defer { holder.close() }
        try await PostgresFixture.pool.run {
            try holder.execute("BEGIN; SELECT pg_advisory_xact_lock(\(PostgresMigrator.lockKey))")
        }
        let waiting = Task {
            try await PostgresFixture.with(database) { try PostgresMigrator(connection: $0).migrate() }
        }
        // The condition: the migrator's backend waits for the lock the holder took.
        var waiter: String?
        let found = try await waitUntil(seconds: 30) {
            waiter = try await PostgresFixture.pool.run {
                try holder.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").first?[0]
                    ?? nil
            }
            return waiter != nil
        }
        try #require(found, "the migrator never waited for the lock")
        let pid = try #require(waiter)
        try await PostgresFixture.pool.run {
            _ = try holder.query("SELECT pg_terminate_backend(\(pid))")
            try holder.execute("ROLLBACK")
        }
        await #expect(throws: StoreError.unavailable) { try await waiting.value }
        let status = try await PostgresFixture.with(database) { try PostgresMigrator(connection: $0).status() }
        #expect(status.currentVersion == 0)
    }

    /// A test-only list whose third step creates a table and then fails.
    static let brokenList = [
        Migration(version: 1, name: "first", sql: "CREATE TABLE first_table (id BIGINT PRIMARY KEY);"),
        Migration(version: 2, name: "second", sql: "ALTER TABLE first_table ADD COLUMN note TEXT;"),
        Migration(
            version: 3, name: "broken",
            sql: "CREATE TABLE half_made (id BIGINT); INSERT INTO first_table (id) VALUES (1); SELECT 1 / 0;"),
    ]

    @Test func aFailedMigrationLeavesTheDatabaseAtThePreviousVersion() async throws {
        let database = try await PostgresFixture.database("broken")
        let outcome = try await PostgresFixture.with(database) { connection -> (StoreError?, [[String?]]) in
            var failure: StoreError?
            do {
                _ = try PostgresMigrator(connection: connection, migrations: Self.brokenList).migrate()
            } catch let error as StoreError {
                failure = error
            }
            let state = try connection.query(
                """
                SELECT (SELECT max(version) FROM schema_migrations), to_regclass('half_made') IS NULL,
                       (SELECT count(*) FROM first_table)
                """)
            return (failure, state)
        }
        let error = try #require(outcome.0)
        #expect(error.code == .migrationFailed)
        #expect(error.message.contains("migration 3 (broken) failed and was rolled back"))
        #expect(error.message.contains("division by zero"))
        #expect(outcome.1 == [["2", "t", "0"]])
        // The connection is usable afterwards, and a fixed list carries on from version 2.
        var fixed = Self.brokenList
        fixed[2] = Migration(version: 3, name: "fixed", sql: "CREATE TABLE half_made (id BIGINT);")
        let fixedList = fixed
        let report = try await PostgresFixture.with(database) {
            try PostgresMigrator(connection: $0, migrations: fixedList).migrate()
        }
        #expect(report.fromVersion == 2 && report.toVersion == 3)
    }

    @Test func aMigrationListWithAGapIsRefusedBeforeTouchingTheDatabase() async throws {
        let database = try await PostgresFixture.database("gap")
        let list = [Self.brokenList[0], Self.brokenList[2]]
        let outcome = try await PostgresFixture.with(database) { connection -> (StoreError?, [[String?]]) in
            do {
                _ = try PostgresMigrator(connection: connection, migrations: list).migrate()
                return (nil, [])
            } catch let error as StoreError {
                return (error, try connection.query("SELECT to_regclass('schema_migrations') IS NULL"))
            }
        }
        #expect(outcome.0?.code == .internal)
        #expect(outcome.1 == [["t"]])
    }
}
