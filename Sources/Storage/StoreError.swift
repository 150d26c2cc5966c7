import Diagnostics

/// Why a store operation failed: a stable code, a message safe to show to users and operators,
/// and a private reason for logs.
///
/// Equality compares only the code, so tests and callers write
/// `#expect(throws: StoreError.conflict) { … }` or `catch let error as StoreError where error.code == .notFound`.
public struct StoreError: CodedError, Sendable, Hashable {
    /// The stable kinds of failure.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// A unique constraint clashed; `subject` names what (for example `users.username`).
        case conflict = "store.conflict"
        /// The record to change or read does not exist.
        case notFound = "store.not_found"
        /// A referenced record is missing or a record is still referenced (foreign key), or a check failed.
        case constraintViolated = "store.constraint_violated"
        /// A value was rejected before reaching the database (empty name, out of range).
        case invalidInput = "store.invalid_input"
        /// The database cannot be reached or is busy/locked beyond the timeout, or the disk failed.
        case unavailable = "store.unavailable"
        /// The database file is damaged or not a database.
        case corrupt = "store.corrupt"
        /// A schema migration failed and was rolled back.
        case migrationFailed = "store.migration_failed"
        /// The database was migrated by a newer Portcullis than this binary.
        case schemaTooNew = "store.schema_too_new"
        /// The database lacks tables or columns this binary needs: it was not migrated yet.
        case schemaMissing = "store.schema_missing"
        /// The store was closed.
        case closed = "store.closed"
        /// An unexpected internal error (a bug); the reason says more.
        case `internal` = "store.internal"
    }

    /// The stable failure kind.
    public let code: Code
    /// A short message naming what went wrong, safe to show (no values, no SQL, no secrets).
    public let message: String
    /// What clashed or was missing, as `table.column` or a record kind, when known.
    public let subject: String?
    /// The low-level reason (a SQLite or libpq message) for logs, empty when there is none; may name
    /// tables, never bound values.
    public let reason: String
    /// Where the error was raised.
    public let file: String
    /// The line where the error was raised.
    public let line: Int

    /// Creates an error.
    public init(
        _ code: Code, _ message: String, subject: String? = nil, reason: String? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.subject = subject
        self.reason = reason ?? ""
        self.file = file
        self.line = line
    }

    /// `code: message`, for logs and CLI output.
    public var description: String { "\(code.rawValue): \(message)" }

    /// A unique value clashed (pattern for `#expect(throws:)`).
    public static let conflict = StoreError(.conflict, "already exists")
    /// A record was not found (pattern for `#expect(throws:)`).
    public static let notFound = StoreError(.notFound, "not found")
    /// A reference or check constraint failed (pattern for `#expect(throws:)`).
    public static let constraintViolated = StoreError(.constraintViolated, "constraint violated")
    /// A value was rejected (pattern for `#expect(throws:)`).
    public static let invalidInput = StoreError(.invalidInput, "invalid input")
    /// The database is unreachable or busy (pattern for `#expect(throws:)`).
    public static let unavailable = StoreError(.unavailable, "database unavailable")
    /// The database is corrupt (pattern for `#expect(throws:)`).
    public static let corrupt = StoreError(.corrupt, "database corrupt")
    /// A migration failed (pattern for `#expect(throws:)`).
    public static let migrationFailed = StoreError(.migrationFailed, "migration failed")
    /// The schema is newer than this binary (pattern for `#expect(throws:)`).
    public static let schemaTooNew = StoreError(.schemaTooNew, "database schema is newer than this binary")
    /// The schema is not migrated (pattern for `#expect(throws:)`).
    public static let schemaMissing = StoreError(.schemaMissing, "database schema is not migrated")
    /// The store was closed (pattern for `#expect(throws:)`).
    public static let closed = StoreError(.closed, "store is closed")
}
