import Foundation
import Storage

/// What a column holds, as `db copy` reads, writes and checksums it. SQLite's flags are INTEGER 0/1 where
/// PostgreSQL has BOOLEAN: both read as the integer 0 or 1, so the two compare equal.
package enum CopyColumnKind: Sendable, Hashable {
    /// An integer (timestamps are integer milliseconds on both backends).
    case integer
    /// A PostgreSQL boolean, read as 0 or 1.
    case boolean
    /// A floating-point number.
    case real
    /// Text.
    case text
    /// Bytes.
    case blob
    /// SQLite's untyped columns (the search index): the value's own storage class.
    case any

    /// Whether values of `self` and `other` compare equal when they are equal: a flag is an integer, and an
    /// untyped column takes what the other side has.
    package func isCompatible(with other: CopyColumnKind) -> Bool {
        switch (self, other) {
        case (.any, _), (_, .any): true
        case (.integer, .boolean), (.boolean, .integer): true
        default: self == other
        }
    }
}

/// One copied column.
package struct CopyColumn: Sendable, Hashable {
    /// The name both backends agree on (`id` for the search index's key).
    package var name: String
    /// How this backend's SQL names it (SQLite's full-text tables call their key `rowid`).
    package var spelling: String
    /// What it holds.
    package var kind: CopyColumnKind

    /// A column spelt as it is named.
    package init(name: String, spelling: String? = nil, kind: CopyColumnKind) {
        self.name = name
        self.spelling = spelling ?? name
        self.kind = kind
    }
}

/// One copied table, as a backend's catalog describes it.
package struct CopyTable: Sendable, Hashable {
    /// The table's name.
    package var name: String
    /// Its columns by name (generated and hidden columns left out: they cannot be written). Not the catalog's
    /// order, which differs between the backends where a migration rebuilt a table in SQLite and added a column
    /// in place in PostgreSQL: a row's checksum must not depend on it.
    package var columns: [CopyColumn]
    /// The names of its primary-key columns in key order; every column when it has no primary key.
    package var primaryKey: [String]
    /// The tables its foreign keys reference (itself left out).
    package var parents: Set<String>

    /// A table; `primaryKey` empty means every column (in name order) orders its rows.
    package init(name: String, columns: [CopyColumn], primaryKey: [String], parents: Set<String>) {
        self.name = name
        self.columns = columns.sorted { $0.name < $1.name }
        self.primaryKey = primaryKey.isEmpty ? self.columns.map(\.name) : primaryKey
        self.parents = parents
    }

    /// The column named `name`.
    package func column(_ name: String) -> CopyColumn? { columns.first { $0.name == name } }
}

/// One database `db copy` reads from or writes to, over one connection of its own: the catalog, the
/// transactions and the few things the two backends spell differently. Everything else (the order, the
/// batches, the rows, the checksums) is `DatabaseCopier`'s, written once.
///
/// Contract: every method blocks; call them on one `BlockingPool` thread, never on the cooperative pool.
package protocol CopyEndpoint: AnyObject {
    /// The endpoint's connection.
    associatedtype Connection: SQLConnection

    /// The connection rows are read and written through.
    var connection: Connection { get }

    /// The recorded schema version, 0 when nothing was ever migrated; changes nothing.
    func schemaVersion() throws -> Int

    /// Applies this binary's pending migrations, each in its own transaction (before the copy's own).
    ///
    /// - Throws: `StoreError` `.schemaTooNew` when the database is ahead of this binary.
    func migrate() throws

    /// The tables of the schema as the catalog has them: every table the migrations made, including the search
    /// index, without the bookkeeping the backend keeps for itself (`schema_migrations`, SQLite's `sqlite_*`
    /// tables and the index's shadow tables, which the index rebuilds from what is inserted into it).
    func tables() throws -> [CopyTable]

    /// Begins a read-only transaction over one consistent snapshot.
    func beginSnapshot() throws

    /// Begins the transaction the whole copy is written in, taking what keeps other writers out.
    func beginWrite() throws

    /// Commits the open transaction.
    func commit() throws

    /// Rolls the open transaction back (nothing to do when none is open).
    func rollback()

    /// Stops the schema's triggers from firing inside the open write transaction: the copied rows already hold
    /// what the triggers derive (search index rows, counters, the authorization generation), which would
    /// otherwise be counted twice. Foreign keys stay checked.
    func suspendTriggers(of tables: [CopyTable]) throws

    /// Puts back what `suspendTriggers` stopped, in the same transaction.
    func resumeTriggers(of tables: [CopyTable]) throws

    /// The highest id each table's key generator handed out, by table (SQLite's AUTOINCREMENT counters,
    /// PostgreSQL's identity sequences): higher than the largest id left when the newest rows were deleted.
    func identityHighWaters() throws -> [String: Int64]

    /// Moves every key generator past its table's largest id and past `highWaters`, so a new row never reuses
    /// a copied or an earlier id.
    func advanceIdentities(past highWaters: [String: Int64]) throws

    /// A term of an ORDER BY that sorts `column` as both backends do (text by its bytes).
    func orderingTerm(_ column: CopyColumn) -> String

    /// The start of an INSERT into `table` that keeps the ids it is given.
    func insertPrefix(_ table: CopyTable) -> String

    /// Runs `select` and hands its rows to `body` in batches of at most `size`, without holding the whole
    /// result in memory.
    func forEachBatch(
        _ select: String, columns: [CopyColumn], size: Int, _ body: ([[SQLValue]]) throws -> Void
    ) throws

    /// A mark of this endpoint's session another endpoint can look for (see `holdsSession`).
    func sessionMark() throws -> String

    /// Whether `mark`, from another endpoint, names this very database (the same file, or a session on the
    /// same PostgreSQL database): a database cannot be copied onto itself.
    func holdsSession(_ mark: String) throws -> Bool

    /// Closes the connection.
    func close()
}

/// `name` as a quoted SQL identifier, which both backends read the same way.
package func sqlIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
