import Diagnostics

/// Why `db copy` refused to copy, or found the copy unequal to its source.
public enum DatabaseCopyErrorCode: String, Sendable, Hashable, CaseIterable {
    /// The source's schema version is not this binary's: older needs `db migrate` first, newer a newer binary.
    case sourceSchemaMismatch = "db_copy.source_schema_mismatch"
    /// The target was migrated by a newer Portcullis than this binary.
    case targetSchemaTooNew = "db_copy.target_schema_too_new"
    /// The target already holds rows and `--replace` was not given.
    case targetNotEmpty = "db_copy.target_not_empty"
    /// The two databases' tables or columns differ (a table, a column or a column's type on one side only).
    case schemasDiffer = "db_copy.schemas_differ"
    /// The source and the target are the same database.
    case sameDatabase = "db_copy.same_database"
    /// A table's rows read back from the target differ from the source's (count or checksum); the copy was
    /// rolled back.
    case verificationFailed = "db_copy.verification_failed"
}

/// Why `db copy` refused to copy, or found the copy unequal to its source.
public typealias DatabaseCopyError = CodedFailure<DatabaseCopyErrorCode>
