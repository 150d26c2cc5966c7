import Foundation
import SQLStorage
import Storage

/// Applies `Migration` steps to a SQLite connection, each step and its bookkeeping row in one
/// IMMEDIATE transaction, so a failed step leaves the database exactly at the previous version.
struct SQLiteMigrator {
    let connection: SQLiteConnection
    let migrations: [Migration]
    let now: @Sendable () -> Date

    var latestVersion: Int { migrations.last?.version ?? 0 }

    /// The recorded version without creating anything (a fresh file stays untouched).
    func status() throws -> SchemaStatus {
        SchemaStatus(currentVersion: try currentVersion(), latestVersion: latestVersion)
    }

    func migrate() throws -> MigrationReport {
        try validateList()
        try connection.exec(SQLiteSchema.bookkeeping)
        let start = try currentVersion()
        if start > latestVersion {
            throw StoreError(
                .schemaTooNew,
                "the database is at schema version \(start), but this binary only knows up to \(latestVersion); "
                    + "upgrade Portcullis or restore a matching backup",
                subject: String(start))
        }
        var applied: [AppliedMigration] = []
        for migration in migrations where migration.version > start {
            let time = now()
            do {
                try connection.exec("BEGIN IMMEDIATE")
                do {
                    // Another process may have migrated while we waited for the lock.
                    let current = try currentVersion()
                    if current >= migration.version {
                        try connection.exec("ROLLBACK")
                        continue
                    }
                    try connection.exec(migration.sql)
                    try connection.run(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        [.integer(Int64(migration.version)), .text(migration.name), time.sqlValue])
                    // Foreign keys are not re-checked for existing rows by DDL; catch broken data now.
                    var violations = 0
                    try connection.query("PRAGMA foreign_key_check") { _ in violations += 1 }
                    if violations > 0 {
                        throw StoreError(
                            .constraintViolated, "\(violations) row(s) violate foreign keys after this step")
                    }
                    try connection.exec("COMMIT")
                } catch {
                    try? connection.exec("ROLLBACK")
                    throw error
                }
            } catch let error as StoreError where error.code == .unavailable || error.code == .corrupt {
                throw error
            } catch let error as StoreError {
                throw StoreError(
                    .migrationFailed,
                    "migration \(migration.version) (\(migration.name)) failed and was rolled back: \(error.message)",
                    subject: String(migration.version), reason: error.reason)
            }
            applied.append(AppliedMigration(version: migration.version, name: migration.name, appliedAt: time))
        }
        return MigrationReport(fromVersion: start, toVersion: try currentVersion(), applied: applied)
    }

    private func currentVersion() throws -> Int {
        let exists = try connection.queryInt(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'")
        guard exists == 1 else { return 0 }
        return Int(try connection.queryInt("SELECT coalesce(max(version), 0) FROM schema_migrations") ?? 0)
    }

    /// A list with gaps or disorder is a programming error caught by the tests, reported rather than trapped.
    private func validateList() throws {
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw StoreError(
                .internal, "the migration list is not numbered 1, 2, 3, …", subject: String(migration.version))
        }
    }
}
