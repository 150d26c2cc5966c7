import Foundation

/// One versioned step of a backend's schema, applied in its own transaction.
public struct Migration: Sendable, Hashable {
    /// The schema version this step produces; versions start at 1 and increase by one.
    public let version: Int
    /// A short name shown in reports (`initial schema`).
    public let name: String
    /// The statements to run, in the backend's SQL dialect.
    public let sql: String

    /// Declares a migration step.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// What `Store.migrate()` did.
public struct MigrationReport: Sendable, Hashable {
    /// The version the database had before.
    public let fromVersion: Int
    /// The version it has now.
    public let toVersion: Int
    /// The steps applied now, in order (empty when already up to date).
    public let applied: [AppliedMigration]

    /// Creates a report.
    public init(fromVersion: Int, toVersion: Int, applied: [AppliedMigration]) {
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.applied = applied
    }

    /// Whether nothing had to be done.
    public var wasUpToDate: Bool { applied.isEmpty }
}

/// One migration step as recorded in the database.
public struct AppliedMigration: Sendable, Hashable {
    /// The version.
    public let version: Int
    /// The step's name.
    public let name: String
    /// When it was applied.
    public let appliedAt: Date

    /// Creates a record.
    public init(version: Int, name: String, appliedAt: Date) {
        self.version = version
        self.name = name
        self.appliedAt = appliedAt
    }
}

/// The database schema compared with what this binary expects (used by `/readyz` and `db status`).
public struct SchemaStatus: Sendable, Hashable {
    /// The highest migration version recorded in the database (0 for an empty database).
    public let currentVersion: Int
    /// The highest migration version this binary knows.
    public let latestVersion: Int

    /// Creates a status.
    public init(currentVersion: Int, latestVersion: Int) {
        self.currentVersion = currentVersion
        self.latestVersion = latestVersion
    }

    /// Whether the schema is exactly what this binary expects, so the server may serve.
    public var isReady: Bool { currentVersion == latestVersion }
    /// How many migrations still have to run (0 when ready or when the database is newer).
    public var pendingCount: Int { max(0, latestVersion - currentVersion) }
    /// Whether a newer binary migrated this database; this binary must not write to it.
    public var isNewerThanBinary: Bool { currentVersion > latestVersion }

    /// One sentence for `/readyz` and the CLI.
    public var summary: String {
        if isReady { return "schema at version \(currentVersion), up to date" }
        if isNewerThanBinary {
            return "schema at version \(currentVersion) is newer than this binary (knows up to \(latestVersion))"
        }
        return "schema at version \(currentVersion), \(pendingCount) migration(s) pending (latest \(latestVersion))"
    }
}
