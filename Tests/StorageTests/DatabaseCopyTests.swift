import DatabaseCopy
import Foundation
import PostgresStorage
import SQLStorage
import SQLiteStorage
import Storage
import TestSupport
import Testing
import Threading

/// `DatabaseCopier` between a real SQLite file and a real PostgreSQL 15, both ways: every table of the schema
/// copied and verified, the refusals, and a failure half-way leaving the target as it was.
@Suite(.storeBackends("copy"), .serialized)
struct DatabaseCopyTests {
    /// The thread the copier's blocking calls run on.
    static let pool = BlockingPool(name: "copy-tests", threads: 1)
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A SQLite file with a row in every table, in `directory`.
    private static func seededSQLite(in directory: TemporaryDirectory) async throws -> String {
        let path = directory.path("source.sqlite3")
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
        _ = try await store.migrate()
        try await EveryTableSeed.fill(store, now: now, passwordHash: "$2b$04$not.a.real.hash")
        await store.close()
        return path
    }

    /// Runs one copy on the test pool.
    private static func copy(
        from source: @escaping @Sendable () throws -> any CopyEndpoint,
        to target: @escaping @Sendable () throws -> any CopyEndpoint, replacing: Bool = false
    ) async throws -> CopyReport {
        try await pool.run {
            let copier = DatabaseCopier(
                schemaVersion: SQLiteStore.latestSchemaVersion,
                freshRowCounts: try SQLiteCopyEndpoint.freshlyMigratedRowCounts(), replacesData: replacing,
                batchSize: 2)
            let from = try source()
            defer { from.close() }
            let into = try target()
            defer { into.close() }
            return try copier.copy(from: from, to: into)
        }
    }

    private static func sqlite(_ path: String, target: Bool = false) -> @Sendable () throws -> any CopyEndpoint {
        { try SQLiteCopyEndpoint(path: path, createIfMissing: target, readOnly: !target) }
    }

    private static func postgres(_ url: String) -> @Sendable () throws -> any CopyEndpoint {
        { try PostgresCopyEndpoint(url: url) }
    }

    /// Rows per table of a database, read through its own catalog.
    private static func counts(_ endpoint: @escaping @Sendable () throws -> any CopyEndpoint) async throws
        -> [String: Int]
    {
        try await pool.run {
            let database = try endpoint()
            defer { database.close() }
            return try Self.rowCounts(database)
        }
    }

    private static func rowCounts(_ database: some CopyEndpoint) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in try database.tables() {
            counts[table.name] = Int(
                try database.connection.queryInt("SELECT count(*) FROM \(sqlIdentifier(table.name))", []) ?? 0)
        }
        return counts
    }

    @Test func aSeededSQLiteDatabaseCopiedToPostgreSQLAndBackHasTheSameRowsAndChecksumsInEveryTable() async throws {
        guard let url = try await StoreBackend.emptyPostgresDatabase("sqlite_to_pg") else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try await Self.seededSQLite(in: directory)

        let report = try await Self.copy(from: Self.sqlite(source), to: Self.postgres(url))
        #expect(report.isCommitted && report.mismatchedTables.isEmpty)
        // Every table of the schema (from the catalog, not a list) holds a row and was copied.
        let sourceCounts = try await Self.counts(Self.sqlite(source))
        #expect(Set(report.tables.map(\.name)) == Set(sourceCounts.keys))
        #expect(Set(try await Self.counts(Self.postgres(url)).keys) == Set(sourceCounts.keys))
        let empty = sourceCounts.filter { $0.value == 0 }.map(\.key).sorted()
        #expect(empty.isEmpty, "EveryTableSeed writes no row into \(empty): extend it for the new tables")
        for table in report.tables {
            #expect(table.rows == sourceCounts[table.name] && table.targetRows == table.rows, "\(table.name)")
        }

        // PostgreSQL → SQLite: the same rows, the same checksums.
        let back = directory.path("back.sqlite3")
        let roundTrip = try await Self.copy(from: Self.postgres(url), to: Self.sqlite(back, target: true))
        #expect(roundTrip.isCommitted)
        let firstSums = Dictionary(uniqueKeysWithValues: report.tables.map { ($0.name, $0.checksum) })
        let differing = roundTrip.tables.filter { firstSums[$0.name] != $0.checksum }.map(\.name)
        #expect(roundTrip.tables.count == report.tables.count && differing.isEmpty, "\(differing)")

        // The target serves the copied rows, and new rows get fresh ids.
        let original = try await SQLiteStore.open(SQLiteConfiguration(location: .file(source)))
        let expected = try await original.read { try $0.user(named: EveryTableSeed.adminName) }
        let lastAudit = try await original.read { try $0.auditEvents(limit: 1, before: nil).first?.id }
        await original.close()
        let store = try await PostgresStore.open(PostgresConfiguration(url: url, poolSize: 1))
        let copied = try await store.read { try $0.user(named: EveryTableSeed.adminName) }
        #expect(copied != nil && copied == expected)
        #expect(copied?.displayName == "Zoë \"Admin\" 🚢" && copied?.isAdmin == true)
        let (user, event) = try await store.write { writer in
            (
                try writer.createUser(NewUser(username: "after-the-copy")),
                try writer.appendAuditEvent(NewAuditEvent(action: "user.create", outcome: .success))
            )
        }
        let largestUser = try #require(try await store.read { try $0.allUsers().map(\.id.rawValue).max() })
        #expect(user.id.rawValue == largestUser && user.id.rawValue > (expected?.id.rawValue ?? 0))
        #expect(event.id.rawValue > (lastAudit?.rawValue ?? .max))
        // The search index came along.
        let found = try await store.read {
            try $0.search(SearchRequest(text: "platform/app", kind: .repository, viewer: .administrator))
        }
        await store.close()
        #expect(found.total == 1)
    }

    @Test func aTargetHoldingDataIsRefusedAndLeftAsItWasUnlessReplaceIsGiven() async throws {
        guard let url = try await StoreBackend.emptyPostgresDatabase("holding") else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try await Self.seededSQLite(in: directory)
        let store = try await PostgresStore.open(PostgresConfiguration(url: url, poolSize: 1))
        _ = try await store.migrate()
        _ = try await store.write { try $0.createUser(NewUser(username: "already-here")) }
        await store.close()
        let before = try await Self.counts(Self.postgres(url))

        await #expect(throws: DatabaseCopyError(.targetNotEmpty, "")) {
            _ = try await Self.copy(from: Self.sqlite(source), to: Self.postgres(url))
        }
        #expect(try await Self.counts(Self.postgres(url)) == before)

        let report = try await Self.copy(from: Self.sqlite(source), to: Self.postgres(url), replacing: true)
        #expect(report.isCommitted)
        #expect(try await Self.counts(Self.postgres(url)) == Self.counts(Self.sqlite(source)))
    }

    @Test func aTargetWithANewerSchemaIsRefusedUntouched() async throws {
        guard let url = try await StoreBackend.emptyPostgresDatabase("newer") else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try await Self.seededSQLite(in: directory)
        let future = SQLiteStore.latestSchemaVersion + 1
        try await Self.pool.run {
            let connection = try PostgresConnection(url)
            defer { connection.close() }
            _ = try PostgresMigrator(connection: connection).migrate()
            try connection.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(future), 'from the future', 0)")
        }
        await #expect(throws: DatabaseCopyError(.targetSchemaTooNew, "")) {
            _ = try await Self.copy(from: Self.sqlite(source), to: Self.postgres(url), replacing: true)
        }
        let version = try await Self.pool.run { try PostgresCopyEndpoint(url: url).schemaVersion() }
        #expect(version == future)
    }

    @Test func aCopyThatFailsHalfwayLeavesTheTargetAsItWas() async throws {
        guard let url = try await StoreBackend.emptyPostgresDatabase("halfway") else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try await Self.seededSQLite(in: directory)
        // An operator's extra rule on the target that the seeded failed attempt (status 500) breaks: the copy has
        // written most tables when webhook_attempts comes, late in foreign-key order.
        try await Self.pool.run {
            let connection = try PostgresConnection(url)
            defer { connection.close() }
            _ = try PostgresMigrator(connection: connection).migrate()
            try connection.execute(
                "ALTER TABLE webhook_attempts ADD CONSTRAINT no_server_errors CHECK (status IS NULL OR status < 500)")
        }
        let before = try await Self.counts(Self.postgres(url))
        await #expect(throws: StoreError.self) {
            _ = try await Self.copy(from: Self.sqlite(source), to: Self.postgres(url))
        }
        #expect(try await Self.counts(Self.postgres(url)) == before)
        #expect(before["users"] == 0)

        // The triggers the copy switched off are on again: a new team reaches the search index.
        let store = try await PostgresStore.open(PostgresConfiguration(url: url, poolSize: 1))
        _ = try await store.write { try $0.createTeam(name: "after-the-failure") }
        await store.close()
        #expect(try await Self.counts(Self.postgres(url))["search_teams"] == 1)
    }

    @Test func aTargetThatChangesValuesFailsTheVerificationAndIsRolledBack() async throws {
        guard let url = try await StoreBackend.emptyPostgresDatabase("changing") else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try await Self.seededSQLite(in: directory)
        // character(n) pads what it stores with spaces: every value is accepted, and reads back longer.
        try await Self.pool.run {
            let connection = try PostgresConnection(url)
            defer { connection.close() }
            _ = try PostgresMigrator(connection: connection).migrate()
            try connection.execute("ALTER TABLE refresh_tokens ALTER COLUMN client TYPE character(80)")
        }
        let before = try await Self.counts(Self.postgres(url))
        let report = try await Self.copy(from: Self.sqlite(source), to: Self.postgres(url))
        #expect(!report.isCommitted && report.mismatchedTables == ["refresh_tokens"])
        let tokens = try #require(report.tables.first { $0.name == "refresh_tokens" })
        #expect(tokens.targetRows == tokens.rows && tokens.targetChecksum != tokens.checksum)
        #expect(try await Self.counts(Self.postgres(url)) == before)
    }

    @Test func bytesAndFloatingPointNumbersSurviveBothWaysExactly() async throws {
        guard let url = try await StoreBackend.emptyPostgresDatabase("bytes") else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try await Self.seededSQLite(in: directory)
        // Today's schema has no BLOB or REAL column; a table of both on each side stands for a future one.
        let bytes = (0...255).map { UInt8($0) } + [0, 0]
        try await Self.pool.run {
            let sqlite = try SQLiteCopyEndpoint(path: source, createIfMissing: false, readOnly: false)
            defer { sqlite.close() }
            try sqlite.connection.exec("CREATE TABLE extra_values (id INTEGER PRIMARY KEY, data BLOB, ratio REAL)")
            try sqlite.connection.run(
                "INSERT INTO extra_values (id, data, ratio) VALUES (1, ?, ?), (2, ?, NULL), (3, NULL, ?)",
                [.blob(bytes), .real(0.1), .blob([]), .real(-1.5e-300)])
            let connection = try PostgresConnection(url)
            defer { connection.close() }
            try connection.execute(
                "CREATE TABLE extra_values (id BIGINT PRIMARY KEY, data BYTEA, ratio DOUBLE PRECISION)")
        }
        let there = try await Self.copy(from: Self.sqlite(source), to: Self.postgres(url))
        #expect(there.isCommitted, "\(there.mismatchedTables)")
        let back = directory.path("back.sqlite3")
        try await Self.pool.run {
            let sqlite = try SQLiteCopyEndpoint(path: back, createIfMissing: true, readOnly: false)
            defer { sqlite.close() }
            try sqlite.connection.exec("CREATE TABLE extra_values (id INTEGER PRIMARY KEY, data BLOB, ratio REAL)")
        }
        let again = try await Self.copy(from: Self.postgres(url), to: Self.sqlite(back, target: true))
        let sums = { (report: CopyReport) in report.tables.first { $0.name == "extra_values" }?.checksum }
        #expect(again.isCommitted && sums(again) != nil && sums(again) == sums(there))
        let stored = try await Self.pool.run { () -> [SQLValue] in
            let copy = try SQLiteCopyEndpoint(path: back, createIfMissing: false, readOnly: true)
            defer { copy.close() }
            var values: [SQLValue] = []
            try copy.connection.query("SELECT data, ratio FROM extra_values WHERE id = 1") { row in
                values = [row.value(0, as: .blob), row.value(1, as: .real)]
            }
            return values
        }
        #expect(stored == [.blob(bytes), .real(0.1)])
    }

    @Test func aDatabaseIsNotCopiedOntoItself() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try await Self.seededSQLite(in: directory)
        await #expect(throws: DatabaseCopyError(.sameDatabase, "")) {
            _ = try await Self.copy(from: Self.sqlite(source), to: Self.sqlite(source, target: true), replacing: true)
        }
    }
}
