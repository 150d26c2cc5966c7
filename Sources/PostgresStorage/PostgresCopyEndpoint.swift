import Foundation
import SQLStorage
import Storage

/// A PostgreSQL database as `db copy`'s source or target (see `CopyEndpoint`), on a connection of its own: the
/// tables of the connection's current schema (the first of `search_path`, where the migrations created them).
package final class PostgresCopyEndpoint: CopyEndpoint {
    /// The connection rows go through.
    package let connection: PostgresConnection
    /// Each table's column filled from a sequence (identity or serial), as `tables()` found them.
    private var generatedKeys: [String: String] = [:]
    /// The tables whose key is an identity column, which an INSERT keeping its ids must override.
    private var identityTables: Set<String> = []

    /// Connects with `url` (a `postgresql://` URL or conninfo; never shown) and libpq `options`.
    package init(url: String, options: [(keyword: String, value: String)] = []) throws {
        connection = try PostgresConnection(url, connectTimeout: .seconds(10), options: options)
    }

    /// The version `schema_migrations` records (0 without the table; nothing is created).
    package func schemaVersion() throws -> Int {
        try PostgresMigrator(connection: connection).status().currentVersion
    }

    /// `PostgresMigrator`: each pending step in its own transaction under the migration lock.
    package func migrate() throws {
        _ = try PostgresMigrator(connection: connection).migrate()
    }

    /// The base tables of the current schema with their columns, primary keys and referenced tables, and which
    /// column of each a sequence fills (kept for `insertPrefix` and the identity methods).
    package func tables() throws -> [CopyTable] {
        var names: [String] = []
        try connection.query(
            """
            SELECT table_name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
            ORDER BY table_name
            """, []
        ) { names.append($0.text(0)) }
        var columns: [String: [CopyColumn]] = [:]
        var failure: (any Error)?
        generatedKeys = [:]
        identityTables = []
        try connection.query(
            """
            SELECT table_name, column_name, data_type, is_identity, coalesce(column_default, ''), is_generated
            FROM information_schema.columns WHERE table_schema = current_schema()
            ORDER BY table_name, ordinal_position
            """, []
        ) { row in
            let (table, column) = (row.text(0), row.text(1))
            // A generated column is computed by the server and cannot be written.
            guard row.text(5) != "ALWAYS" else { return }
            if row.text(3) == "YES" {
                generatedKeys[table] = column
                identityTables.insert(table)
            } else if row.text(4).hasPrefix("nextval(") {
                generatedKeys[table] = column
            }
            guard let kind = Self.kind(row.text(2)) else {
                failure =
                    failure
                    ?? StoreError(
                        .internal, "column \(table).\(column) has type \(row.text(2)), which db copy cannot move")
                return
            }
            columns[table, default: []].append(CopyColumn(name: column, spelling: sqlIdentifier(column), kind: kind))
        }
        if let failure { throw failure }
        var keys: [String: [String]] = [:]
        try connection.query(
            """
            SELECT c.relname, a.attname
            FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k (attnum, position)
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
            WHERE i.indisprimary AND c.relnamespace = current_schema()::regnamespace
            ORDER BY c.relname, k.position
            """, []
        ) { keys[$0.text(0), default: []].append($0.text(1)) }
        var parents: [String: Set<String>] = [:]
        try connection.query(
            """
            SELECT c.relname, p.relname FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
            WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace
            """, []
        ) { row in
            if row.text(0) != row.text(1) { parents[row.text(0), default: []].insert(row.text(1)) }
        }
        return names.map {
            CopyTable(name: $0, columns: columns[$0] ?? [], primaryKey: keys[$0] ?? [], parents: parents[$0] ?? [])
        }
    }

    /// A `data_type` of `information_schema.columns` as a kind; nil for a type the copy does not know.
    private static func kind(_ type: String) -> CopyColumnKind? {
        switch type {
        case "bigint", "integer", "smallint": .integer
        case "boolean": .boolean
        case "double precision", "real": .real
        case "text", "character varying", "character": .text
        case "bytea": .blob
        default: nil
        }
    }

    /// `REPEATABLE READ READ ONLY`: every statement of the copy sees the database as of its first one, whatever
    /// the instances still serving commit meanwhile.
    package func beginSnapshot() throws {
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    /// Holds the writers' lock every Portcullis instance takes (a serving instance's writes wait for the copy),
    /// and gives up on a table lock after 30 s rather than waiting for ever.
    package func beginWrite() throws {
        try connection.execute(
            "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL client_min_messages = warning; "
                + "SET LOCAL lock_timeout = '30s'; SELECT pg_advisory_xact_lock(\(PostgresStore.writerLockKey))")
    }

    /// Commits the open transaction.
    package func commit() throws {
        try connection.execute("COMMIT")
    }

    /// Rolls back the open transaction (a lost connection has none left to roll back).
    package func rollback() {
        try? connection.execute("ROLLBACK")
    }

    /// `DISABLE TRIGGER USER`: the schema's own triggers, not the ones that check foreign keys. Needs the tables'
    /// owner (who ran the migrations); transactional, like all DDL here.
    package func suspendTriggers(of tables: [CopyTable]) throws {
        for table in tables { try connection.execute("ALTER TABLE \(sqlIdentifier(table.name)) DISABLE TRIGGER USER") }
    }

    /// `ENABLE TRIGGER USER` on every table, in the same transaction.
    package func resumeTriggers(of tables: [CopyTable]) throws {
        for table in tables { try connection.execute("ALTER TABLE \(sqlIdentifier(table.name)) ENABLE TRIGGER USER") }
    }

    /// The last value each table's sequence handed out (none for a sequence never used).
    package func identityHighWaters() throws -> [String: Int64] {
        var highWaters: [String: Int64] = [:]
        for (table, column) in generatedKeys {
            guard let sequence = try sequence(of: table, column) else { continue }
            let rows = try connection.query("SELECT CASE WHEN is_called THEN last_value END FROM \(sequence)")
            if let value = rows.first?.first.flatMap({ $0 }).flatMap({ Int64($0) }) { highWaters[table] = value }
        }
        return highWaters
    }

    /// `setval` past the largest copied id and the source's high-water mark (an empty table's sequence starts
    /// at 1 again).
    package func advanceIdentities(past highWaters: [String: Int64]) throws {
        for (table, column) in generatedKeys.sorted(by: { $0.key < $1.key }) {
            guard let sequence = try sequence(of: table, column) else { continue }
            let largest =
                try connection.queryInt(
                    "SELECT coalesce(max(\(sqlIdentifier(column))), 0) FROM \(sqlIdentifier(table))", []) ?? 0
            let value = max(largest, highWaters[table] ?? 0)
            let literal = PostgresMigrator.literal(sequence)
            try connection.execute(
                value > 0 ? "SELECT setval(\(literal), \(value), true)" : "SELECT setval(\(literal), 1, false)")
        }
    }

    /// The sequence behind `table.column`, as a quoted name.
    private func sequence(of table: String, _ column: String) throws -> String? {
        let rows = try connection.query(
            "SELECT pg_get_serial_sequence(\(PostgresMigrator.literal(sqlIdentifier(table))), "
                + "\(PostgresMigrator.literal(column)))")
        return rows.first?.first ?? nil
    }

    /// Text by its bytes (the "C" collation), as SQLite's BINARY sorts it, whatever the database's locale.
    package func orderingTerm(_ column: CopyColumn) -> String {
        column.kind == .text ? "\(column.spelling) COLLATE \"C\"" : column.spelling
    }

    /// `INSERT INTO t (columns)`, with `OVERRIDING SYSTEM VALUE` for a table with an identity column: a
    /// `GENERATED ALWAYS` one would refuse the given id (the schema's `BY DEFAULT` ones take it either way).
    package func insertPrefix(_ table: CopyTable) -> String {
        let columns = table.columns.map(\.spelling).joined(separator: ", ")
        let overriding = identityTables.contains(table.name) ? " OVERRIDING SYSTEM VALUE" : ""
        return "INSERT INTO \(sqlIdentifier(table.name)) (\(columns))\(overriding)"
    }

    /// A cursor inside the open transaction, fetched `size` rows at a time: libpq would otherwise hold the whole
    /// result (the audit log, say) in memory at once.
    package func forEachBatch(
        _ select: String, columns: [CopyColumn], size: Int, _ body: ([[SQLValue]]) throws -> Void
    ) throws {
        try connection.execute("DECLARE portcullis_copy NO SCROLL CURSOR FOR \(select)")
        while true {
            var batch: [[SQLValue]] = []
            batch.reserveCapacity(size)
            try connection.query("FETCH FORWARD \(size) FROM portcullis_copy", []) { row in
                batch.append(columns.indices.map { row.value(Int32($0), as: columns[$0].kind) })
            }
            if batch.isEmpty { break }
            try body(batch)
            if batch.count < size { break }
        }
        try connection.execute("CLOSE portcullis_copy")
    }

    /// This backend process and when it started: unique on its server.
    package func sessionMark() throws -> String {
        let rows = try connection.query(
            "SELECT pid, extract(epoch FROM backend_start)::text FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        guard let row = rows.first, let pid = row[0], let start = row[1] else {
            throw StoreError(.internal, "PostgreSQL did not list this session in pg_stat_activity")
        }
        return "postgres:\(pid):\(start)"
    }

    /// Whether the session `mark` names is connected to this server and this database.
    package func holdsSession(_ mark: String) throws -> Bool {
        let parts = mark.split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "postgres", let pid = Int32(parts[1]) else { return false }
        let rows = try connection.query(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid) AND datname = current_database() "
                + "AND extract(epoch FROM backend_start)::text = \(PostgresMigrator.literal(parts[2]))")
        return rows.first?.first == "1"
    }

    /// Closes the connection.
    package func close() {
        connection.close()
    }
}
