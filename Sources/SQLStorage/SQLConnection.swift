import Foundation
import Storage

/// A value bound to a statement parameter.
package enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    /// Bytes (SQLite BLOB, PostgreSQL bytea); only `db copy` moves them, as no table of today's schema has one.
    case blob([UInt8])
}

/// Converts Swift values to bindable SQL values.
package protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension Int64: SQLBindable { package var sqlValue: SQLValue { .integer(self) } }
extension Int: SQLBindable { package var sqlValue: SQLValue { .integer(Int64(self)) } }
// Flags bind as 0/1: SQLite stores them so, and PostgreSQL reads '0'/'1' as a boolean where the column is one.
extension Bool: SQLBindable { package var sqlValue: SQLValue { .integer(self ? 1 : 0) } }
extension String: SQLBindable { package var sqlValue: SQLValue { .text(self) } }
extension Double: SQLBindable { package var sqlValue: SQLValue { .real(self) } }
extension RecordID: SQLBindable { package var sqlValue: SQLValue { .integer(rawValue) } }
extension Date: SQLBindable {
    /// Timestamps are stored as integer milliseconds since 1970 (UTC): exact, compact, comparable in SQL.
    package var sqlValue: SQLValue { .integer(Int64((timeIntervalSince1970 * 1000).rounded())) }
}
extension Optional: SQLBindable where Wrapped: SQLBindable {
    package var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// One result row, valid only inside the row callback of `SQLConnection.scan`.
///
/// Columns are numbered from 0. A reader never fails: a NULL reads as 0, "" or false from the non-optional
/// accessors, which the schema's NOT NULL constraints make unreachable where those are used.
package protocol SQLRow: SendableMetatype {
    /// Whether the column holds SQL NULL.
    func isNull(_ column: Int32) -> Bool
    /// The column as an integer (a flag reads as 0 or 1).
    func int(_ column: Int32) -> Int64
    /// The column as an integer, nil for NULL.
    func optionalInt(_ column: Int32) -> Int64?
    /// The column as a flag.
    func bool(_ column: Int32) -> Bool
    /// The column as text, "" for NULL.
    func text(_ column: Int32) -> String
    /// The column as text, nil for NULL.
    func optionalText(_ column: Int32) -> String?
    /// The column as a timestamp stored in milliseconds since 1970.
    func date(_ column: Int32) -> Date
    /// The column as a timestamp, nil for NULL.
    func optionalDate(_ column: Int32) -> Date?
    /// The column as the value `db copy` moves and checksums: SQLite answers with the value's own storage class,
    /// PostgreSQL's text is read as `kind` says (a boolean as the integer 0 or 1, bytea from its hex form).
    func value(_ column: Int32, as kind: CopyColumnKind) -> SQLValue
}

extension SQLRow {
    /// The column as a record id.
    package func id<Record>(_ column: Int32) -> RecordID<Record> { RecordID(int(column)) }

    /// The column as a record id, nil for NULL.
    package func optionalID<Record>(_ column: Int32) -> RecordID<Record>? { optionalInt(column).map(RecordID.init) }
}

/// One database connection inside an open transaction, as the backend-neutral queries of `SQLTransaction` see
/// it. Statements are written with `?` (or `?N`) placeholders; a backend whose server spells them otherwise
/// translates them. A connection is used by one thread at a time.
///
/// Errors are `StoreError`s: a unique violation is `.conflict`, a missing row a query asked for is not an
/// error (no rows), a lost connection `.unavailable`.
package protocol SQLConnection: AnyObject, SendableMetatype {
    /// The rows this backend hands to `scan`.
    associatedtype Row: SQLRow

    /// The spellings of this backend's SQL where the two differ.
    var dialect: SQLDialect { get }

    /// Runs a query and hands each row to `row` until it answers false.
    func scan(_ sql: String, _ values: [SQLValue], while row: (Row) throws -> Bool) throws

    /// Runs a statement that returns no rows; `changes` then tells how many rows it touched.
    func run(_ sql: String, _ values: [SQLValue]) throws

    /// Rows changed by the last statement `run` ran.
    var changes: Int { get }

    /// Runs an INSERT of one row into a table whose key is `id` and returns the new row's id.
    func insert(_ sql: String, _ values: [SQLValue]) throws -> Int64

    /// Runs an INSERT of `count` rows (one statement) into a table whose key is `id` and returns their ids in
    /// the order of the VALUES lists.
    func insert(_ sql: String, _ values: [SQLValue], rows count: Int) throws -> [Int64]
}

extension SQLConnection {
    /// Runs a statement and calls `row` for each result row.
    package func query(_ sql: String, _ values: [SQLValue] = [], row: (Row) throws -> Void) throws {
        try scan(sql, values) {
            try row($0)
            return true
        }
    }

    /// The first column of the first row as an integer, if any.
    package func queryInt(_ sql: String, _ values: [SQLValue] = []) throws -> Int64? {
        var result: Int64?
        try scan(sql, values) { row in
            result = row.optionalInt(0)
            return false
        }
        return result
    }
}

/// The few places where SQLite's and PostgreSQL's SQL differ, spelt once each so one query text serves both.
package struct SQLDialect: Sendable, Hashable {
    /// Which server speaks this dialect.
    package enum Server: Sendable, Hashable {
        case sqlite
        case postgres
    }

    /// Which server speaks this dialect.
    package let server: Server

    /// SQLite's dialect.
    package static let sqlite = SQLDialect(server: .sqlite)
    /// PostgreSQL's dialect.
    package static let postgres = SQLDialect(server: .postgres)

    /// `column` equals the next parameter, ASCII letters folded (SQLite's NOCASE folds exactly those).
    package func equalsIgnoringCase(_ column: String) -> String {
        switch server {
        case .sqlite: "\(column) = ? COLLATE NOCASE"
        case .postgres: "lower(\(column)) = lower(?)"
        }
    }

    /// The larger of two values (SQLite's two-argument `max`).
    package func greatest(_ first: String, _ second: String) -> String {
        switch server {
        case .sqlite: "max(\(first), \(second))"
        case .postgres: "greatest(\(first), \(second))"
        }
    }

    /// The 1-based position of `needle` in `text`, 0 when absent.
    package func position(of needle: String, in text: String) -> String {
        switch server {
        case .sqlite: "instr(\(text), \(needle))"
        case .postgres: "strpos(\(text), \(needle))"
        }
    }

    /// The literal for true (SQLite stores flags as 1, which its partial indexes name).
    package var `true`: String { server == .sqlite ? "1" : "TRUE" }

    /// The literal for false.
    package var `false`: String { server == .sqlite ? "0" : "FALSE" }

    /// A condition that `table`'s search index (schema migration 9) holds `columns` matching the next
    /// parameter, which is `searchPattern(text)` (once per column for PostgreSQL).
    package func searchMatch(_ table: String, columns: [String]) -> String {
        switch server {
        case .sqlite: return "s.\(table) MATCH ?"
        case .postgres: return "(" + columns.map { "s.\($0) ILIKE ?" }.joined(separator: " OR ") + ")"
        }
    }

    /// The value `searchMatch` compares with: FTS5's quoted phrase, or an ILIKE pattern with `%`, `_` and `\\`
    /// escaped (pg_trgm's GIN index answers it as FTS5's trigram table answers the phrase).
    package func searchPattern(_ text: String) -> String {
        switch server {
        case .sqlite:
            var phrase = "\""
            for character in text.unicodeScalars {
                phrase.unicodeScalars.append(character)
                if character == "\"" { phrase.unicodeScalars.append("\"") }
            }
            return phrase + "\""
        case .postgres:
            var pattern = "%"
            for character in text.unicodeScalars {
                if character == "%" || character == "_" || character == "\\" { pattern.unicodeScalars.append("\\") }
                pattern.unicodeScalars.append(character)
            }
            return pattern + "%"
        }
    }

    /// The search index's key column (FTS5's rowid).
    package var searchKey: String { server == .sqlite ? "rowid" : "id" }

    /// SQLite's hint naming the index a query must use (` INDEXED BY name`); nothing for PostgreSQL, whose
    /// planner chooses by statistics.
    package func indexedBy(_ index: String) -> String { server == .sqlite ? " INDEXED BY \(index)" : "" }

    /// Whether two values differ, NULL counting as a value (SQLite's `IS NOT`, standard `IS DISTINCT FROM`).
    package func isDistinct(_ first: String, _ second: String) -> String {
        server == .sqlite ? "\(first) IS NOT \(second)" : "\(first) IS DISTINCT FROM \(second)"
    }

    /// The locking clause of a query that takes rows of the table aliased `alias` for this transaction while
    /// passing over rows another transaction holds (PostgreSQL's `FOR UPDATE OF alias SKIP LOCKED`); nothing
    /// for SQLite, whose one writer holds the whole database for the transaction anyway.
    package func lockingSkippingLocked(_ alias: String) -> String {
        server == .sqlite ? "" : " FOR UPDATE OF \(alias) SKIP LOCKED"
    }

    /// A join the query planner must keep in the written order (SQLite's CROSS JOIN); a plain join elsewhere.
    package var orderedJoin: String {
        switch server {
        case .sqlite: "CROSS JOIN"
        case .postgres: "JOIN"
        }
    }
}
