import Foundation
import Storage

/// Applies `Migration` steps to a PostgreSQL database, each step and its `schema_migrations` row in one
/// transaction under a transaction-scoped advisory lock, so that:
/// - several instances (or connections) starting at once on an empty database apply each step exactly once:
///   whoever holds the lock applies the next step, the others wait, then find it recorded and move on;
/// - a failed step rolls back whole and leaves the database at the previous version;
/// - a database whose schema is newer than this binary knows is refused, naming both versions;
/// - it works behind PgBouncer in transaction mode: every lock is `pg_advisory_xact_lock`, released by the
///   transaction's COMMIT or ROLLBACK, never a session lock that would stay with a pooled server connection.
///
/// Threading: every method blocks on libpq; call them on a `BlockingPool` thread, one at a time per connection.
public struct PostgresMigrator: Sendable {
    /// The advisory lock key every Portcullis migrator takes: "portcull" in ASCII, so it names its owner in
    /// `pg_locks` and does not collide with another application's small keys in a shared database.
    public static let lockKey: Int64 = 0x706F_7274_6375_6C6C

    private let connection: PostgresConnection
    private let migrations: [Migration]
    private let now: @Sendable () -> Date

    /// A migrator for `connection` with `migrations` (normally `PostgresSchema.migrations`; tests pass their own
    /// lists) and a clock for the `applied_at` column.
    public init(
        connection: PostgresConnection, migrations: [Migration] = PostgresSchema.migrations,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.connection = connection
        self.migrations = migrations
        self.now = now
    }

    /// The highest version this migrator knows.
    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// The recorded version without creating anything (an empty database stays untouched).
    public func status() throws -> SchemaStatus {
        SchemaStatus(currentVersion: try currentVersion(), latestVersion: latestVersion)
    }

    /// Brings the database to `latestVersion`, one transaction per step.
    ///
    /// - Throws: `StoreError` `.schemaTooNew` when the database is ahead of this binary, `.migrationFailed`
    ///   (naming the step, with PostgreSQL's message) when a step fails and was rolled back, `.unavailable` when
    ///   the connection is lost, `.internal` for a migration list that is not numbered 1, 2, 3, ….
    public func migrate() throws -> MigrationReport {
        try validateList()
        var start: Int?
        var end = 0
        var applied: [AppliedMigration] = []
        while true {
            let step = try locked { current -> AppliedMigration? in
                if start == nil { start = current }
                // Another instance may have applied steps between ours; the last look is the database's version.
                end = current
                guard current < latestVersion else { return nil }
                let migration = migrations[current]
                let time = now()
                do {
                    try connection.execute(migration.sql)
                } catch let error as StoreError where error.code != .unavailable {
                    throw StoreError(
                        .migrationFailed,
                        "migration \(migration.version) (\(migration.name)) failed and was rolled back: "
                            + error.message,
                        subject: String(migration.version), reason: error.reason)
                }
                try connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(migration.version), "
                        + "\(Self.literal(migration.name)), \(Int64((time.timeIntervalSince1970 * 1000).rounded())))")
                return AppliedMigration(version: migration.version, name: migration.name, appliedAt: time)
            }
            guard let step else { break }
            applied.append(step)
        }
        return MigrationReport(fromVersion: start ?? 0, toVersion: end, applied: applied)
    }

    /// Runs `body` with the recorded version inside one transaction holding the migration lock, committing
    /// what it did, or rolling back when it throws. Refuses a database newer than this migrator knows.
    private func locked<T>(_ body: (Int) throws -> T) throws -> T {
        try connection.execute("BEGIN")
        do {
            // `CREATE TABLE IF NOT EXISTS` of the bookkeeping table notices every step that the table exists,
            // which libpq would print on standard error: warnings and worse only, for this transaction.
            try connection.execute("SET LOCAL client_min_messages = warning")
            try connection.execute("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
            try connection.execute(PostgresSchema.bookkeeping)
            let current = try recordedVersion()
            if current > latestVersion {
                throw StoreError(
                    .schemaTooNew,
                    "the database is at schema version \(current), but this binary only knows up to "
                        + "\(latestVersion); upgrade Portcullis or restore a matching backup",
                    subject: String(current))
            }
            let result = try body(current)
            try connection.execute("COMMIT")
            return result
        } catch {
            // A lost connection has nothing to roll back; the server discards the transaction itself.
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    private func recordedVersion() throws -> Int {
        let rows = try connection.query("SELECT coalesce(max(version), 0) FROM schema_migrations")
        return rows.first?.first.flatMap { $0.flatMap { Int($0) } } ?? 0
    }

    /// The recorded version, or 0 while `schema_migrations` does not exist (without creating it).
    private func currentVersion() throws -> Int {
        let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL")
        guard exists.first?.first == "t" else { return 0 }
        return try recordedVersion()
    }

    /// A list with gaps or disorder is a programming error caught by the tests, reported rather than trapped.
    private func validateList() throws {
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw StoreError(
                .internal, "the migration list is not numbered 1, 2, 3, …", subject: String(migration.version))
        }
    }

    /// `text` as an SQL string literal (single quotes doubled; the connection runs with standard strings).
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
