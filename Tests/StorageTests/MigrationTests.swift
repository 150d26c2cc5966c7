import Foundation
import Storage
import Testing

@testable import SQLiteStorage

@Suite struct MigrationTests {
    @Test func aFreshDatabaseReportsEveryMigrationPendingBeforeMigrating() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(directory.path("db.sqlite"))))
        let before = try await store.schemaStatus()
        #expect(before.currentVersion == 0)
        #expect(before.latestVersion == SQLiteStore.latestSchemaVersion)
        #expect(!before.isReady)
        #expect(before.pendingCount == SQLiteStore.latestSchemaVersion)
        await store.close()
    }

    @Test func migratingAppliesEveryStepAndRerunningIsANoOp() async throws {
        try await withFileStore { store, path in
            let status = try await store.schemaStatus()
            #expect(status.isReady)
            #expect(status.currentVersion == SQLiteStore.latestSchemaVersion)

            let again = try await store.migrate()
            #expect(again.wasUpToDate)
            #expect(again.fromVersion == again.toVersion)

            // A second process (a `db migrate` while serving) opening the same file also finds nothing to do.
            let other = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
            let report = try await other.migrate()
            #expect(report.applied.isEmpty)
            await other.close()
        }
    }

    @Test func theFirstMigrationReportsWhatItApplied() async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        let report = try await store.migrate()
        #expect(report.fromVersion == 0)
        #expect(report.toVersion == SQLiteStore.latestSchemaVersion)
        #expect(report.applied.map(\.version) == Array(1...SQLiteStore.latestSchemaVersion))
        await store.close()
    }

    @Test func aDatabaseMigratedByANewerBinaryIsRefusedClearly() async throws {
        try await withFileStore { store, path in
            await store.close()
            let raw = try SQLiteConnection(
                SQLiteOpenOptions(
                    path: path, readOnlyQueries: false, busyTimeoutMilliseconds: 1000, createIfMissing: false))
            try raw.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 0)")
            raw.close()

            let newer = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
            let status = try await newer.schemaStatus()
            #expect(status.isNewerThanBinary)
            #expect(!status.isReady)
            await #expect(throws: StoreError.schemaTooNew) { try await newer.migrate() }
            await newer.close()
        }
    }

    @Test func aFailingMigrationStepLeavesNoTraceAndReportsItsVersion() throws {
        let connection = try SQLiteConnection(
            SQLiteOpenOptions(
                path: ":memory:", readOnlyQueries: false, busyTimeoutMilliseconds: 1000, createIfMissing: true))
        defer { connection.close() }
        let steps = [
            Migration(version: 1, name: "good", sql: "CREATE TABLE a (x INTEGER) STRICT;"),
            Migration(
                version: 2, name: "bad", sql: "CREATE TABLE b (y INTEGER) STRICT; INSERT INTO nowhere VALUES (1);"),
        ]
        let migrator = SQLiteMigrator(connection: connection, migrations: steps, now: { Date() })
        do {
            _ = try migrator.migrate()
            Issue.record("the broken step should have failed")
        } catch let error as StoreError {
            #expect(error.code == .migrationFailed)
            #expect(error.subject == "2")
        }
        #expect(try migrator.status().currentVersion == 1)
        #expect(try connection.queryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'b'") == 0)
        #expect(try connection.queryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'a'") == 1)
    }

    @Test func usingAnUnmigratedDatabaseSaysToMigrate() async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        await #expect(throws: StoreError.schemaMissing) { try await store.read { try $0.allUsers() } }
        await store.close()
    }

    @Test func migrationVersionsAreNumberedWithoutGaps() {
        #expect(SQLiteSchema.migrations.map(\.version) == Array(1...SQLiteSchema.migrations.count))
    }

    @Test func theDatabaseRunsInWALModeWithForeignKeysOn() async throws {
        try await withFileStore { store, path in
            try await store.write { _ in }
            let raw = try SQLiteConnection(
                SQLiteOpenOptions(
                    path: path, readOnlyQueries: true, busyTimeoutMilliseconds: 1000, createIfMissing: false))
            defer { raw.close() }
            #expect(try raw.queryText("PRAGMA journal_mode") == "wal")
            #expect(try raw.queryInt("PRAGMA foreign_keys") == 1)
            #expect(try raw.queryInt("PRAGMA synchronous") == 1)  // NORMAL
        }
    }

    @Test func aFileThatIsNotADatabaseIsReportedCorrupt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("garbage.sqlite")
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        await #expect(throws: StoreError.corrupt) {
            _ = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
        }
    }

    @Test func aDatabaseInAMissingDirectoryIsUnavailableAndTheMessageSaysWhatTheSystemAnswered() async throws {
        let error = await #expect(throws: StoreError.unavailable) {
            _ = try await SQLiteStore.open(
                SQLiteConfiguration(location: .file("/nonexistent-portcullis-dir/sub/db.sqlite")))
        }
        #expect(error?.message.contains("No such file or directory") == true, "\(String(describing: error))")
    }
}
