import CSQLite3
import Foundation
import SQLStorage
import Storage

/// `SQLITE_TRANSIENT` is a cast macro Swift cannot import: it tells SQLite to copy bound text at
/// once, which we need because Swift's temporary C strings die right after the call.
// swift-format-ignore: AlwaysUseLowerCamelCase
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

// Extended result codes are composite macros (`SQLITE_CONSTRAINT | (8<<8)`) Swift does not import.
// swift-format-ignore: AlwaysUseLowerCamelCase
private let SQLITE_CONSTRAINT_UNIQUE: Int32 = SQLITE_CONSTRAINT | (8 << 8)
// swift-format-ignore: AlwaysUseLowerCamelCase
private let SQLITE_CONSTRAINT_PRIMARYKEY: Int32 = SQLITE_CONSTRAINT | (6 << 8)
// swift-format-ignore: AlwaysUseLowerCamelCase
private let SQLITE_CONSTRAINT_FOREIGNKEY: Int32 = SQLITE_CONSTRAINT | (3 << 8)

/// How a connection is opened.
struct SQLiteOpenOptions {
    var path: String
    var readOnlyQueries: Bool
    var busyTimeoutMilliseconds: Int32
    var createIfMissing: Bool
}

/// One SQLite connection opened with `SQLITE_OPEN_NOMUTEX`: it must only be used by one thread at a
/// time, which the store guarantees by confining it to a pool thread (writer) or a checkout (readers).
package final class SQLiteConnection: SQLConnection, @unchecked Sendable {
    private var handle: OpaquePointer?
    /// Prepared statements by SQL text; a statement in use is taken out so nested use prepares afresh.
    private var cache: [String: OpaquePointer] = [:]
    let path: String

    /// Opens and configures a connection; on any failure the handle is closed before throwing.
    init(_ options: SQLiteOpenOptions) throws {
        path = options.path
        var db: OpaquePointer?
        var flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        if options.createIfMissing { flags |= SQLITE_OPEN_CREATE }
        if options.path.hasPrefix("file:") { flags |= SQLITE_OPEN_URI }
        let rc = sqlite3_open_v2(options.path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let reason = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            // The operating system's reason (no such directory, permission, too many open files) is what
            // an operator acts on; SQLite's own message only says it could not open the file.
            let systemErrno = db.map { sqlite3_system_errno($0) } ?? 0
            // A failed open can still hand back a handle that must be closed.
            if let db { sqlite3_close_v2(db) }
            let context =
                systemErrno == 0 ? "open database" : "open database: \(String(cString: strerror(systemErrno)))"
            throw SQLiteConnection.error(code: rc, reason: reason, context: context)
        }
        handle = db
        do {
            sqlite3_extended_result_codes(db, 1)
            sqlite3_busy_timeout(db, options.busyTimeoutMilliseconds)
            // Reading page 1 here turns "file is not a database" into an error at open time.
            let mode = try queryText("PRAGMA journal_mode=WAL")
            if options.path != ":memory:" && !options.path.contains("mode=memory") && mode?.lowercased() != "wal" {
                throw StoreError(
                    .unavailable, "the database could not switch to WAL mode", reason: "journal_mode=\(mode ?? "nil")")
            }
            // In WAL mode, NORMAL syncs the WAL only at checkpoints, not at every commit. A commit is
            // acknowledged once its frames are written to the WAL file with write(2), so they sit in
            // the OS page cache: a crash of *this process* (kill -9, abort) loses nothing, because
            // the kernel still writes those pages back and the next open replays the WAL. Only a
            // power loss or kernel crash can lose the last commits, and even then the database stays
            // consistent (never corrupt), it just rolls back to an earlier commit. That trade is the
            // documented SQLite recommendation for WAL and is what the crash test checks.
            try exec("PRAGMA synchronous=NORMAL")
            try exec("PRAGMA foreign_keys=ON")
            // Zero what a change frees inside a page (no extra I/O): a webhook secret sealed in place of
            // its legacy plain text must not survive in the page's free space.
            try exec("PRAGMA secure_delete=FAST")
            if options.readOnlyQueries { try exec("PRAGMA query_only=ON") }
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Finalizes every cached statement and closes the handle; safe to call twice.
    func close() {
        for statement in cache.values { sqlite3_finalize(statement) }
        cache.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
            self.handle = nil
        }
    }

    var isOpen: Bool { handle != nil }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    package var changes: Int { handle.map { Int(sqlite3_changes($0)) } ?? 0 }

    /// The rowid of the last successful INSERT.
    var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    /// SQLite's spellings.
    package var dialect: SQLDialect { .sqlite }

    /// Runs an INSERT and returns the new row id.
    package func insert(_ sql: String, _ values: [SQLValue]) throws -> Int64 {
        try run(sql, values)
        return lastInsertRowID
    }

    /// Runs a multi-row INSERT and returns the new ids, first row first.
    package func insert(_ sql: String, _ values: [SQLValue], rows count: Int) throws -> [Int64] {
        try run(sql, values)
        // AUTOINCREMENT ids of one statement inside a write transaction are consecutive: each is one above the
        // largest ever used, and nobody else can insert meanwhile.
        let last = lastInsertRowID
        return stride(from: Int64(count - 1), through: 0, by: -1).map { last - $0 }
    }

    /// Runs one or more statements without parameters or results.
    package func exec(_ sql: String) throws {
        guard let handle else { throw StoreError.closed }
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let reason = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw SQLiteConnection.error(code: sqlite3_extended_errcode(handle), reason: reason, context: "execute")
        }
    }

    /// Runs a statement and calls `row` for each result row.
    package func query(_ sql: String, _ values: [SQLValue] = [], row: (SQLiteRow) throws -> Void) throws {
        try scan(sql, values) {
            try row($0); return true
        }
    }

    /// Runs a query and hands each row to `row` until it answers false: the rows after that are never read,
    /// so a scan in index order costs what the caller needed, not what a LIMIT had to guess.
    package func scan(_ sql: String, _ values: [SQLValue] = [], while row: (SQLiteRow) throws -> Bool) throws {
        guard let handle else { throw StoreError.closed }
        let statement = try take(sql, handle: handle)
        defer { giveBack(sql, statement) }
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, position)
            case .integer(let number): rc = sqlite3_bind_int64(statement, position, number)
            case .real(let number): rc = sqlite3_bind_double(statement, position, number)
            case .text(let text):
                // An explicit byte length keeps embedded NULs instead of silently truncating at the first one.
                rc = sqlite3_bind_text(statement, position, text, Int32(clamping: text.utf8.count), SQLITE_TRANSIENT)
            case .blob(let bytes):
                rc = bytes.withUnsafeBytes {
                    // An empty array may have no base address; SQLite takes a zero-length blob from any pointer.
                    sqlite3_bind_blob(
                        statement, position, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                        Int32(clamping: bytes.count), SQLITE_TRANSIENT)
                }
            }
            if rc != SQLITE_OK {
                throw SQLiteConnection.error(code: rc, reason: String(cString: sqlite3_errmsg(handle)), context: "bind")
            }
        }
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_ROW {
                guard try row(SQLiteRow(statement: statement)) else { return }
            } else if rc == SQLITE_DONE {
                return
            } else {
                throw SQLiteConnection.error(
                    code: sqlite3_extended_errcode(handle), reason: String(cString: sqlite3_errmsg(handle)),
                    context: "step")
            }
        }
    }

    /// Runs a statement that returns no rows.
    package func run(_ sql: String, _ values: [SQLValue] = []) throws {
        try query(sql, values) { _ in }
    }

    /// The first column of the first row as text, if any.
    func queryText(_ sql: String, _ values: [SQLValue] = []) throws -> String? {
        var result: String?
        try query(sql, values) { row in if result == nil { result = row.optionalText(0) } }
        return result
    }

    /// The first column of the first row as an integer, if any.
    package func queryInt(_ sql: String, _ values: [SQLValue] = []) throws -> Int64? {
        var result: Int64?
        try query(sql, values) { row in if result == nil { result = row.optionalInt(0) } }
        return result
    }

    private func take(_ sql: String, handle: OpaquePointer) throws -> OpaquePointer {
        if let cached = cache.removeValue(forKey: sql) { return cached }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw SQLiteConnection.error(
                code: sqlite3_extended_errcode(handle), reason: String(cString: sqlite3_errmsg(handle)),
                context: "prepare")
        }
        return statement
    }

    private func giveBack(_ sql: String, _ statement: OpaquePointer) {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        if cache[sql] == nil && cache.count < 256 {
            cache[sql] = statement
        } else {
            sqlite3_finalize(statement)
        }
    }

    /// Maps a SQLite (extended) result code to a `StoreError` with a message safe to show.
    static func error(code: Int32, reason: String, context: String) -> StoreError {
        let primary = code & 0xFF
        switch primary {
        case SQLITE_CONSTRAINT:
            switch code {
            case SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY:
                let subject = uniqueSubject(reason)
                return StoreError(
                    .conflict, "\(subject ?? "a unique value") is already taken", subject: subject, reason: reason)
            case SQLITE_CONSTRAINT_FOREIGNKEY:
                return StoreError(
                    .constraintViolated, "a referenced record is missing or the record is still in use",
                    reason: reason)
            default:
                return StoreError(.constraintViolated, "a value violates a database rule", reason: reason)
            }
        case SQLITE_BUSY, SQLITE_LOCKED:
            return StoreError(.unavailable, "the database is busy; try again", reason: "\(context): \(reason)")
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return StoreError(.corrupt, "the database file is damaged or not a database", reason: reason)
        case SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_FULL, SQLITE_READONLY, SQLITE_PERM, SQLITE_NOMEM,
            SQLITE_AUTH, SQLITE_PROTOCOL:
            return StoreError(.unavailable, "the database cannot be used (\(context) failed)", reason: reason)
        case SQLITE_ERROR where reason.hasPrefix("no such table") || reason.hasPrefix("no such column"):
            return StoreError(
                .schemaMissing, "the database schema is missing or outdated; run `portcullis db migrate`",
                reason: reason)
        case SQLITE_TOOBIG, SQLITE_RANGE, SQLITE_MISMATCH:
            return StoreError(.invalidInput, "a value was rejected by the database", reason: reason)
        default:
            return StoreError(.internal, "unexpected database error (\(context))", reason: "\(code): \(reason)")
        }
    }

    /// `UNIQUE constraint failed: users.username` → `users.username` (column names only, never values).
    private static func uniqueSubject(_ reason: String) -> String? {
        guard let range = reason.range(of: "constraint failed: ") else { return nil }
        let subject = reason[range.upperBound...].trimmingCharacters(in: .whitespaces)
        return subject.isEmpty ? nil : subject
    }
}

/// One result row, valid only inside the `query` row callback.
package struct SQLiteRow: SQLRow {
    fileprivate let statement: OpaquePointer

    package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    package func int(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    package func optionalInt(_ column: Int32) -> Int64? { isNull(column) ? nil : int(column) }

    package func bool(_ column: Int32) -> Bool { int(column) != 0 }

    package func text(_ column: Int32) -> String { optionalText(column) ?? "" }

    package func optionalText(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    package func date(_ column: Int32) -> Date { Date(timeIntervalSince1970: Double(int(column)) / 1000) }

    package func optionalDate(_ column: Int32) -> Date? { isNull(column) ? nil : date(column) }

    /// STRICT tables store exactly their declared type, and the search index's untyped columns hold text, so the
    /// storage class is the value's type; `kind` is not needed to read it.
    package func value(_ column: Int32, as kind: CopyColumnKind) -> SQLValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(int(column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, column))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .text(text(column))
        }
    }
}

/// The SQLite library version string, for diagnostics.
func sqliteLibraryVersion() -> String { String(cString: sqlite3_libversion()) }
