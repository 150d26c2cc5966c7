import Foundation
import SQLStorage
import Storage

/// One table of a copy: what the source held and what the target holds after the copy.
package struct TableCopy: Sendable, Hashable {
    /// The table's name.
    package var name: String
    /// The source's rows.
    package var rows: Int
    /// The source's checksum (64 hexadecimal digits).
    package var checksum: String
    /// The target's rows, read back; nil for a dry run.
    package var targetRows: Int?
    /// The target's checksum, read back; nil for a dry run.
    package var targetChecksum: String?

    /// Whether the target's rows equal the source's (false for a dry run, which copies nothing).
    package var matches: Bool { targetRows == rows && targetChecksum == checksum }
}

/// What a copy did.
package struct CopyReport: Sendable {
    /// The schema version both databases are at.
    package var schemaVersion: Int
    /// Every copied table, in the order they were copied (parents before the tables referencing them).
    package var tables: [TableCopy]
    /// Whether this was a dry run (nothing written).
    package var isDryRun: Bool
    /// Whether the copy was committed: every table matched.
    package var isCommitted: Bool

    /// The tables whose copy differs from the source.
    package var mismatchedTables: [String] { isDryRun ? [] : tables.filter { !$0.matches }.map(\.name) }
}

/// One table as the source's catalog and the target's describe it, their columns in the same order.
struct TablePair {
    /// The source's table.
    var source: CopyTable
    /// The target's table.
    var target: CopyTable
}

/// Copies every table of one Portcullis database into another (SQLite or PostgreSQL, either way), verified.
///
/// - The source is read in one snapshot (a read transaction), so the copy is one point in time of a database
///   that may still be serving; what is written after that point is not in the copy.
/// - The target is migrated to this binary's schema first, then written in one transaction: its tables are
///   emptied, the rows copied in foreign-key order in batches with their ids, the key generators moved past the
///   copied ids, and every table read back in primary-key order. Its row count and checksum must equal the
///   source's, or everything is rolled back: a target is either a verified copy or left as it was.
/// - The tables come from the schema's catalog on both sides, never from a list here, so tables a migration
///   adds are copied without a change to this code; the two catalogs must agree (same tables, same columns).
///
/// Contract: `copy` blocks; run it on a `BlockingPool` thread, with endpoints opened on that thread.
package struct DatabaseCopier {
    /// The schema version this binary knows: the source must be at it, and the target is migrated to it.
    package var schemaVersion: Int
    /// The rows a freshly migrated database holds per table (see `SQLiteCopyEndpoint.freshlyMigratedRowCounts`):
    /// a target holding no more holds no data.
    package var freshRowCounts: [String: Int]
    /// Whether a target holding data is emptied (in the copy's transaction) rather than refused.
    package var replacesData: Bool
    /// Whether only the source is read (counts and checksums) and the checks made, writing nothing.
    package var isDryRun: Bool
    /// Rows per batch read and per INSERT (fewer for wide tables, so one INSERT binds at most 16,000 values).
    package var batchSize: Int

    /// A copier for this binary's schema.
    package init(
        schemaVersion: Int, freshRowCounts: [String: Int], replacesData: Bool = false, isDryRun: Bool = false,
        batchSize: Int = 500
    ) {
        self.schemaVersion = schemaVersion
        self.freshRowCounts = freshRowCounts
        self.replacesData = replacesData
        self.isDryRun = isDryRun
        self.batchSize = max(1, batchSize)
    }

    /// Copies `source` into `target` and verifies it; a report with `isCommitted` false names the tables that
    /// differed, and the target was left as it was.
    ///
    /// - Throws: `DatabaseCopyError` for a refusal (schema versions, a target holding data, one database twice),
    ///   made before anything is written; for different schemas, found once the target is migrated (its catalog
    ///   is only comparable then), before any row is; `StoreError` when a database fails (a row the target
    ///   refuses, a lost connection), after which the target's rows are as they were.
    package func copy(from source: some CopyEndpoint, to target: some CopyEndpoint) throws -> CopyReport {
        if try target.holdsSession(source.sessionMark()) {
            throw DatabaseCopyError(.sameDatabase, "the source and the target are the same database")
        }
        let sourceVersion = try source.schemaVersion()
        guard sourceVersion == schemaVersion else {
            throw DatabaseCopyError(
                .sourceSchemaMismatch,
                sourceVersion < schemaVersion
                    ? "the source is at schema version \(sourceVersion), this binary at \(schemaVersion): run "
                        + "`portcullis db migrate` on the source first"
                    : "the source is at schema version \(sourceVersion), newer than this binary's \(schemaVersion): "
                        + "copy with the Portcullis that migrated it")
        }
        let targetVersion = try target.schemaVersion()
        guard targetVersion <= schemaVersion else {
            throw DatabaseCopyError(
                .targetSchemaTooNew,
                "the target is at schema version \(targetVersion), newer than this binary's \(schemaVersion); "
                    + "nothing was changed")
        }
        // Before migrating it: a refused target is left exactly as it was.
        if !replacesData { try refuseData(in: target, tables: target.tables()) }
        if isDryRun { return try survey(source) }
        try target.migrate()

        try source.beginSnapshot()
        defer { source.rollback() }
        let tables = try compare(source.tables(), target.tables())
        try target.beginWrite()
        do {
            let report = try write(tables, from: source, to: target)
            if report.isCommitted { try target.commit() } else { target.rollback() }
            return report
        } catch {
            target.rollback()
            throw error
        }
    }

    /// Everything inside the target's transaction: re-checked emptiness, then the rows, then the check.
    private func write(_ pairs: [TablePair], from source: some CopyEndpoint, to target: some CopyEndpoint) throws
        -> CopyReport
    {
        let tables = pairs.map(\.target)
        // Again inside the transaction: nothing may have been written between the first look and now.
        if !replacesData { try refuseData(in: target, tables: tables) }
        try target.suspendTriggers(of: tables)
        // Children first, so no foreign key is left pointing at a deleted row. The rows a migration inserted
        // (the authorization generation) go too: the source's take their place.
        for table in tables.reversed() {
            try target.connection.run("DELETE FROM \(sqlIdentifier(table.name))", [])
        }
        var copies: [TableCopy] = []
        for pair in pairs {
            var checksum = TableChecksum()
            let size = rowsPerBatch(pair.source)
            let insert = target.insertPrefix(pair.target) + " VALUES "
            let placeholders =
                "(" + Array(repeating: "?", count: pair.target.columns.count).joined(separator: ", ") + ")"
            try source.forEachBatch(select(pair.source, on: source), columns: pair.source.columns, size: size) { rows in
                let sql = insert + Array(repeating: placeholders, count: rows.count).joined(separator: ", ")
                try target.connection.run(sql, rows.flatMap { $0 })
                for row in rows { checksum.add(row) }
            }
            copies.append(TableCopy(name: pair.target.name, rows: checksum.rows, checksum: checksum.finish()))
        }
        try target.resumeTriggers(of: tables)
        try target.advanceIdentities(past: source.identityHighWaters())
        for index in copies.indices {
            let (rows, checksum) = try sum(tables[index], on: target)
            copies[index].targetRows = rows
            copies[index].targetChecksum = checksum
        }
        return CopyReport(
            schemaVersion: schemaVersion, tables: copies, isDryRun: false, isCommitted: copies.allSatisfy(\.matches))
    }

    /// A dry run: the source's counts and checksums in one snapshot, nothing written anywhere.
    private func survey(_ source: some CopyEndpoint) throws -> CopyReport {
        try source.beginSnapshot()
        defer { source.rollback() }
        let tables = try Self.foreignKeyOrder(source.tables())
        let copies = try tables.map { table in
            let (rows, checksum) = try sum(table, on: source)
            return TableCopy(name: table.name, rows: rows, checksum: checksum)
        }
        return CopyReport(schemaVersion: schemaVersion, tables: copies, isDryRun: true, isCommitted: false)
    }

    /// Reads `table` back in primary-key order and sums it.
    private func sum(_ table: CopyTable, on endpoint: some CopyEndpoint) throws -> (rows: Int, checksum: String) {
        var checksum = TableChecksum()
        try endpoint.forEachBatch(select(table, on: endpoint), columns: table.columns, size: rowsPerBatch(table)) {
            for row in $0 { checksum.add(row) }
        }
        return (checksum.rows, checksum.finish())
    }

    /// Every column of `table` in the order both catalogs agreed on, sorted by its primary key.
    private func select(_ table: CopyTable, on endpoint: some CopyEndpoint) -> String {
        let order = table.primaryKey.compactMap(table.column).map(endpoint.orderingTerm)
        return "SELECT \(table.columns.map(\.spelling).joined(separator: ", ")) FROM \(sqlIdentifier(table.name)) "
            + "ORDER BY \(order.joined(separator: ", "))"
    }

    private func rowsPerBatch(_ table: CopyTable) -> Int {
        max(1, min(batchSize, 16_000 / max(1, table.columns.count)))
    }

    /// Refuses a target with more rows in any table than a freshly migrated database has, naming them.
    private func refuseData(in target: some CopyEndpoint, tables: [CopyTable]) throws {
        var holding: [String] = []
        for table in tables {
            let rows = try target.connection.queryInt("SELECT count(*) FROM \(sqlIdentifier(table.name))", []) ?? 0
            if rows > freshRowCounts[table.name] ?? 0 { holding.append("\(table.name) (\(rows))") }
        }
        guard holding.isEmpty else {
            throw DatabaseCopyError(
                .targetNotEmpty,
                "the target already holds data: \(holding.joined(separator: ", ")); give --replace to empty it "
                    + "in the copy's transaction; nothing was changed")
        }
    }

    /// Each table of both sides, with the same columns in the same order, in foreign-key order, once the two
    /// catalogs agree: the same tables, each with the same columns of compatible kinds, so every value has a
    /// place and compares equal.
    private func compare(_ source: [CopyTable], _ target: [CopyTable]) throws -> [TablePair] {
        let targets = Dictionary(target.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [String] = []
        let missing = Set(targets.keys).subtracting(source.map(\.name)).sorted()
        if !missing.isEmpty { problems.append("only the target has \(missing.joined(separator: ", "))") }
        var agreed: [String: TablePair] = [:]
        for table in source {
            guard var other = targets[table.name] else {
                problems.append("only the source has \(table.name)")
                continue
            }
            var columns: [CopyColumn] = []
            for column in table.columns {
                guard let counterpart = other.column(column.name) else {
                    problems.append("only the source has \(table.name).\(column.name)")
                    continue
                }
                if !column.kind.isCompatible(with: counterpart.kind) {
                    problems.append("\(table.name).\(column.name) is \(column.kind) and \(counterpart.kind)")
                }
                columns.append(counterpart)
            }
            for column in other.columns where table.column(column.name) == nil {
                problems.append("only the target has \(table.name).\(column.name)")
            }
            other.columns = columns
            agreed[table.name] = TablePair(source: table, target: other)
        }
        guard problems.isEmpty else {
            throw DatabaseCopyError(
                .schemasDiffer, "the two schemas differ: \(problems.joined(separator: "; ")); nothing was copied")
        }
        return Self.foreignKeyOrder(agreed.values.map(\.target)).compactMap { agreed[$0.name] }
    }

    /// `tables` with every table after the tables its foreign keys reference (by name among equals, so the
    /// order is the same every time); a cycle, which the schema does not have, keeps its tables in name order
    /// at the end.
    static func foreignKeyOrder(_ tables: [CopyTable]) -> [CopyTable] {
        let names = Set(tables.map(\.name))
        var remaining = tables.sorted { $0.name < $1.name }
        var placed: Set<String> = []
        var ordered: [CopyTable] = []
        while !remaining.isEmpty {
            guard
                let next = remaining.firstIndex(where: {
                    $0.parents.intersection(names).isSubset(of: placed)
                })
            else {
                ordered += remaining
                break
            }
            let table = remaining.remove(at: next)
            placed.insert(table.name)
            ordered.append(table)
        }
        return ordered
    }
}
