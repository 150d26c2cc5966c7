import Foundation
import SQLStorage
import Storage

/// A SQLite database file as `db copy`'s source or target (see `CopyEndpoint`), on a connection of its own.
package final class SQLiteCopyEndpoint: CopyEndpoint {
    /// The connection rows go through.
    package let connection: SQLiteConnection
    private let path: String
    /// The triggers `suspendTriggers` dropped, to be created again from their own SQL.
    private var droppedTriggers: [String] = []

    /// Opens `path`; a source must exist (`createIfMissing` false) and is opened for queries only.
    package init(path: String, createIfMissing: Bool, readOnly: Bool) throws {
        if !createIfMissing && path != ":memory:" && !FileManager.default.fileExists(atPath: path) {
            throw StoreError(.unavailable, "there is no SQLite database at \(path)")
        }
        if createIfMissing && path != ":memory:" && !FileManager.default.fileExists(atPath: path) {
            // The database will hold password hashes: owner-only from the start, as `serve` creates it.
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        connection = try SQLiteConnection(
            SQLiteOpenOptions(
                path: path, readOnlyQueries: readOnly, busyTimeoutMilliseconds: 5000, createIfMissing: createIfMissing))
        self.path = path
    }

    /// How many rows each table of a freshly migrated database holds (the rows the migrations themselves insert,
    /// such as the authorization generation's one row): a target holding no more than these holds no data.
    package static func freshlyMigratedRowCounts() throws -> [String: Int] {
        let fresh = try SQLiteCopyEndpoint(path: ":memory:", createIfMissing: true, readOnly: false)
        defer { fresh.close() }
        try fresh.migrate()
        var counts: [String: Int] = [:]
        for table in try fresh.tables() {
            counts[table.name] = Int(
                try fresh.connection.queryInt("SELECT count(*) FROM \(sqlIdentifier(table.name))") ?? 0)
        }
        return counts
    }

    /// The version `schema_migrations` records (0 without the table; nothing is created).
    package func schemaVersion() throws -> Int {
        try migrator.status().currentVersion
    }

    /// `SQLiteMigrator`: each pending step in its own IMMEDIATE transaction.
    package func migrate() throws {
        _ = try migrator.migrate()
    }

    private var migrator: SQLiteMigrator {
        SQLiteMigrator(connection: connection, migrations: SQLiteSchema.migrations, now: { Date() })
    }

    /// The catalog's tables and their virtual (full-text) tables; the full-text tables' shadow tables are the
    /// index itself, rebuilt by FTS5 from the rows inserted into the virtual table, so they are not copied.
    package func tables() throws -> [CopyTable] {
        var entries: [(name: String, isVirtual: Bool)] = []
        try connection.query(
            """
            SELECT name, type FROM pragma_table_list
            WHERE schema = 'main' AND type IN ('table', 'virtual') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                AND name <> 'schema_migrations'
            ORDER BY name
            """
        ) { entries.append(($0.text(0), $0.text(1) == "virtual")) }
        return try entries.map { entry in
            // The full-text tables' key is their rowid, which PostgreSQL's plain tables call `id`.
            var columns = entry.isVirtual ? [CopyColumn(name: "id", spelling: "rowid", kind: .integer)] : []
            var key: [(position: Int64, name: String)] = entry.isVirtual ? [(1, "id")] : []
            try connection.query(
                "SELECT name, type, pk FROM pragma_table_xinfo(?) WHERE hidden = 0 ORDER BY cid", [.text(entry.name)]
            ) { row in
                let name = row.text(0)
                columns.append(CopyColumn(name: name, spelling: sqlIdentifier(name), kind: Self.kind(row.text(1))))
                if row.int(2) > 0 { key.append((row.int(2), name)) }
            }
            var parents: Set<String> = []
            try connection.query("SELECT \"table\" FROM pragma_foreign_key_list(?)", [.text(entry.name)]) { row in
                if row.text(0) != entry.name { parents.insert(row.text(0)) }
            }
            return CopyTable(
                name: entry.name, columns: columns, primaryKey: key.sorted { $0.position < $1.position }.map(\.name),
                parents: parents)
        }
    }

    /// A declared type's kind, by SQLite's affinity rules (STRICT tables allow only these spellings).
    private static func kind(_ declared: String) -> CopyColumnKind {
        let type = declared.uppercased()
        if type.contains("INT") { return .integer }
        if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") { return .text }
        if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") { return .real }
        if type.contains("BLOB") { return .blob }
        return .any
    }

    /// A deferred read transaction, its snapshot fixed by the read that follows at once: in WAL mode the
    /// writers go on, and this transaction keeps seeing the database as it was.
    package func beginSnapshot() throws {
        try connection.exec("BEGIN")
        _ = try connection.queryInt("SELECT count(*) FROM sqlite_schema")
    }

    /// `BEGIN IMMEDIATE`: the write lock from the start.
    package func beginWrite() throws {
        try connection.exec("BEGIN IMMEDIATE")
    }

    /// Commits the open transaction.
    package func commit() throws {
        try connection.exec("COMMIT")
    }

    /// Rolls back, forgetting triggers dropped in the transaction (the rollback brings them back).
    package func rollback() {
        try? connection.exec("ROLLBACK")
        droppedTriggers.removeAll()
    }

    /// SQLite cannot switch a trigger off: each is dropped, and created again from its own SQL by
    /// `resumeTriggers`, inside the same transaction, so a failed copy rolls back to the triggers as they were.
    package func suspendTriggers(of tables: [CopyTable]) throws {
        var triggers: [(name: String, sql: String)] = []
        try connection.query("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name") {
            triggers.append(($0.text(0), $0.text(1)))
        }
        for trigger in triggers {
            try connection.exec("DROP TRIGGER \(sqlIdentifier(trigger.name))")
            droppedTriggers.append(trigger.sql)
        }
    }

    /// Creates the dropped triggers again from their saved SQL.
    package func resumeTriggers(of tables: [CopyTable]) throws {
        for sql in droppedTriggers { try connection.exec(sql) }
        droppedTriggers.removeAll()
    }

    /// `sqlite_sequence`: the AUTOINCREMENT tables' largest id ever handed out (the audit log's).
    package func identityHighWaters() throws -> [String: Int64] {
        var highWaters: [String: Int64] = [:]
        guard try hasSequenceTable() else { return highWaters }
        try connection.query("SELECT name, seq FROM sqlite_sequence") { highWaters[$0.text(0)] = $0.int(1) }
        return highWaters
    }

    /// Only AUTOINCREMENT tables remember a high-water mark; SQLite gives every other table its largest rowid
    /// plus one by itself.
    package func advanceIdentities(past highWaters: [String: Int64]) throws {
        var tables: [String] = []
        try connection.query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%' ORDER BY name"
        ) { tables.append($0.text(0)) }
        for table in tables {
            let largest = try connection.queryInt("SELECT coalesce(max(rowid), 0) FROM \(sqlIdentifier(table))") ?? 0
            let value = max(largest, highWaters[table] ?? 0)
            guard value > 0, try hasSequenceTable() else { continue }
            try connection.run(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", [.integer(value), .text(table)])
            if connection.changes == 0 {
                try connection.run(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", [.text(table), .integer(value)])
            }
        }
    }

    private func hasSequenceTable() throws -> Bool {
        try connection.queryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_sequence'") == 1
    }

    /// Text in byte order (BINARY), whatever collation the column declares, as PostgreSQL's "C" sorts it.
    package func orderingTerm(_ column: CopyColumn) -> String {
        column.kind == .text || column.kind == .any ? "\(column.spelling) COLLATE BINARY" : column.spelling
    }

    /// `INSERT INTO t (columns)`: SQLite takes a given rowid as it is.
    package func insertPrefix(_ table: CopyTable) -> String {
        "INSERT INTO \(sqlIdentifier(table.name)) (\(table.columns.map(\.spelling).joined(separator: ", ")))"
    }

    /// SQLite steps through the result row by row, so the batches are cut from one running statement.
    package func forEachBatch(
        _ select: String, columns: [CopyColumn], size: Int, _ body: ([[SQLValue]]) throws -> Void
    ) throws {
        var batch: [[SQLValue]] = []
        batch.reserveCapacity(size)
        try connection.scan(select, []) { row in
            batch.append(columns.indices.map { row.value(Int32($0), as: columns[$0].kind) })
            if batch.count >= size {
                try body(batch)
                batch.removeAll(keepingCapacity: true)
            }
            return true
        }
        if !batch.isEmpty { try body(batch) }
    }

    /// The file's resolved path: two spellings of one file are one database.
    package func sessionMark() throws -> String {
        "sqlite:" + URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
    }

    /// Whether `mark` names this file.
    package func holdsSession(_ mark: String) throws -> Bool {
        try mark == sessionMark()
    }

    /// Closes the connection.
    package func close() {
        connection.close()
    }
}
