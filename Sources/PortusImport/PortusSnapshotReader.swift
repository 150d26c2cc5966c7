import Diagnostics
import Foundation

/// Runs read-only SQL against a Portus PostgreSQL database and returns its rows as text (`nil` for NULL).
///
/// The composition root adapts the project's libpq connection to it, so this target never sees libpq.
/// Contract: synchronous and blocking (call it on a blocking thread); throws when the database fails.
public protocol PortusRowSource {
    /// The rows `sql` returns, each column as PostgreSQL's text form.
    func query(_ sql: String) throws -> [[String?]]
}

/// Why a Portus import stopped: a database that is not Portus's, a row Portus would not write, or (under
/// `--strict`) rows the import refused.
public typealias PortusImportError = CodedFailure<PortusImportErrorCode>

/// The stable codes of `PortusImportError`.
public enum PortusImportErrorCode: String, Sendable, Hashable, CaseIterable {
    /// The database lacks a table a Portus 2.4 database has.
    case notPortus = "portus.not_a_portus_database"
    /// A value is not what Portus writes there (a non-number id, a NULL name).
    case malformedRow = "portus.malformed_row"
    /// `--strict`: some Portus rows were refused, so nothing was imported.
    case refusedRows = "portus.refused_rows"
}

extension PortusSnapshot {
    /// Reads every table the import uses from `source`, which should run inside one read-only, repeatable-read
    /// transaction so the rows agree with each other.
    ///
    /// - Throws: `PortusImportError.notPortus` when a Portus table is missing, `.malformedRow` for a value
    ///   Portus would not write; the source's own errors pass through.
    public static func read(from source: any PortusRowSource) throws -> PortusSnapshot {
        let reader = SnapshotReader(source: source)
        try reader.requireTables([
            "users", "teams", "team_users", "namespaces", "repositories", "tags", "stars", "webhooks",
            "webhook_headers", "activities", "application_tokens",
        ])
        var snapshot = PortusSnapshot()
        snapshot.users = try reader.rows(
            """
            SELECT id, username, email, encrypted_password, admin, enabled, namespace_id, display_name, bot
            FROM users ORDER BY id
            """
        ) { row in
            PortusUser(
                id: try row.int(0), username: try row.text(1), email: row.optional(2),
                encryptedPassword: row.optional(3) ?? "", isAdmin: row.bool(4) ?? false, isEnabled: row.bool(5) ?? true,
                namespaceID: try row.optionalInt(6), displayName: row.optional(7), isBot: row.bool(8) ?? false)
        }
        snapshot.teams = try reader.rows("SELECT id, name, hidden, description FROM teams ORDER BY id") { row in
            PortusTeam(
                id: try row.int(0), name: row.optional(1) ?? "", isHidden: row.bool(2) ?? false,
                description: row.optional(3))
        }
        snapshot.teamMembers = try reader.rows(
            "SELECT team_id, user_id, role FROM team_users WHERE team_id IS NOT NULL AND user_id IS NOT NULL ORDER BY id"
        ) { row in
            PortusTeamMember(teamID: try row.int(0), userID: try row.int(1), role: try row.optionalInt(2) ?? 0)
        }
        snapshot.namespaces = try reader.rows(
            "SELECT id, name, team_id, global, description, visibility FROM namespaces ORDER BY id"
        ) { row in
            PortusNamespace(
                id: try row.int(0), name: row.optional(1) ?? "", teamID: try row.optionalInt(2),
                isGlobal: row.bool(3) ?? false, description: row.optional(4), visibility: try row.optionalInt(5))
        }
        snapshot.repositories = try reader.rows(
            "SELECT id, name, namespace_id, marked, description FROM repositories ORDER BY id"
        ) { row in
            PortusRepository(
                id: try row.int(0), name: try row.text(1), namespaceID: try row.optionalInt(2),
                isMarked: row.bool(3) ?? false, description: row.optional(4))
        }
        // Portus 2.4 has no tags.pulled_at (2.5 added it): read it only where it exists.
        let pulledAt =
            try reader.hasColumn("tags", "pulled_at") ? "EXTRACT(EPOCH FROM pulled_at)" : "NULL::numeric"
        snapshot.tags = try reader.rows(
            """
            SELECT id, name, repository_id, user_id, username, digest, size, marked, EXTRACT(EPOCH FROM created_at),
                   \(pulledAt) FROM tags ORDER BY id
            """
        ) { row in
            PortusTag(
                id: try row.int(0), name: try row.text(1), repositoryID: try row.int(2), userID: try row.optionalInt(3),
                username: row.optional(4), digest: row.optional(5), size: try row.optionalInt(6).map(Int64.init),
                isMarked: row.bool(7) ?? false, createdAt: try row.date(8), pulledAt: try row.date(9))
        }
        snapshot.stars = try reader.rows(
            "SELECT user_id, repository_id FROM stars WHERE user_id IS NOT NULL AND repository_id IS NOT NULL ORDER BY id"
        ) { row in
            PortusStar(userID: try row.int(0), repositoryID: try row.int(1))
        }
        let headers = try reader.rows(
            "SELECT webhook_id, name, value FROM webhook_headers WHERE webhook_id IS NOT NULL ORDER BY id"
        ) { row in
            (
                webhook: try row.int(0),
                header: PortusWebhookHeader(name: row.optional(1) ?? "", value: row.optional(2) ?? "")
            )
        }
        let headersByWebhook = Dictionary(grouping: headers, by: \.webhook).mapValues { $0.map(\.header) }
        snapshot.webhooks = try reader.rows(
            """
            SELECT id, namespace_id, name, url, username, password, request_method, content_type, enabled
            FROM webhooks ORDER BY id
            """
        ) { row in
            let id = try row.int(0)
            return PortusWebhook(
                id: id, namespaceID: try row.optionalInt(1), name: row.optional(2) ?? "", url: row.optional(3) ?? "",
                username: row.optional(4), password: row.optional(5), requestMethod: try row.optionalInt(6),
                contentType: try row.optionalInt(7), isEnabled: row.bool(8) ?? false,
                headers: headersByWebhook[id] ?? [])
        }
        snapshot.activities = try reader.rows(
            """
            SELECT id, trackable_type, trackable_id, owner_type, owner_id, key, parameters, recipient_type, recipient_id,
                   EXTRACT(EPOCH FROM created_at) FROM activities ORDER BY id
            """
        ) { row in
            PortusActivity(
                id: try row.int(0), trackableType: row.optional(1), trackableID: try row.optionalInt(2),
                ownerType: row.optional(3), ownerID: try row.optionalInt(4), key: row.optional(5),
                parameters: row.optional(6), recipientType: row.optional(7), recipientID: try row.optionalInt(8),
                createdAt: try row.date(9))
        }
        snapshot.applicationTokens = try reader.rows(
            "SELECT user_id, application FROM application_tokens ORDER BY user_id, application"
        ) { row in
            PortusApplicationToken(userID: try row.int(0), application: row.optional(1) ?? "")
        }
        for table in ["comments", "vulnerabilities", "scan_results", "webhook_deliveries", "registry_events"]
        where try reader.hasTable(table) {
            let count = try reader.rows("SELECT count(*) FROM \(table)") { try $0.int(0) }.first ?? 0
            snapshot.notImported.append((table, count))
        }
        if try reader.hasTable("schema_migrations") {
            snapshot.schemaVersion =
                try reader.rows("SELECT max(version) FROM schema_migrations") { $0.optional(0) }
                .first ?? nil
        }
        return snapshot
    }
}

/// The queries' plumbing: table checks and typed columns.
private struct SnapshotReader {
    let source: any PortusRowSource

    func hasTable(_ name: String) throws -> Bool {
        try source.query("SELECT to_regclass('public.\(name)') IS NOT NULL").first?.first == "t"
    }

    func hasColumn(_ table: String, _ column: String) throws -> Bool {
        try !source.query(
            """
            SELECT 1 FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = '\(table)' AND column_name = '\(column)'
            """
        ).isEmpty
    }

    func requireTables(_ names: [String]) throws {
        let missing = try names.filter { try !hasTable($0) }
        guard missing.isEmpty else {
            throw PortusImportError(
                .notPortus,
                "the database has no \(missing.joined(separator: ", ")) table\(missing.count == 1 ? "" : "s"): "
                    + "it is not a Portus 2.4 database")
        }
    }

    func rows<T>(_ sql: String, _ make: (Row) throws -> T) throws -> [T] {
        try source.query(sql).map { try make(Row(values: $0, sql: sql)) }
    }
}

/// One row's columns, typed as the import needs them.
private struct Row {
    let values: [String?]
    let sql: String

    func optional(_ index: Int) -> String? { index < values.count ? values[index] : nil }

    func text(_ index: Int) throws -> String {
        guard let value = optional(index) else { throw malformed(index, "is NULL") }
        return value
    }

    func int(_ index: Int) throws -> Int {
        guard let value = try optionalInt(index) else { throw malformed(index, "is NULL") }
        return value
    }

    func optionalInt(_ index: Int) throws -> Int? {
        guard let text = optional(index) else { return nil }
        guard let value = Int(text) else { throw malformed(index, "is not a whole number") }
        return value
    }

    func bool(_ index: Int) -> Bool? { optional(index).map { $0 == "t" } }

    /// A `timestamp without time zone` read as `EXTRACT(EPOCH …)`: Rails writes them in UTC.
    func date(_ index: Int) throws -> Date? {
        guard let text = optional(index) else { return nil }
        guard let seconds = Double(text) else { throw malformed(index, "is not a time") }
        return Date(timeIntervalSince1970: seconds)
    }

    private func malformed(_ index: Int, _ problem: String) -> PortusImportError {
        let table = sql.components(separatedBy: " FROM ").dropFirst().first?.split(separator: " ").first ?? "?"
        return PortusImportError(.malformedRow, "column \(index + 1) of a row of \(table) \(problem)")
    }
}
