import Foundation
import PostgresStorage
import Storage
import TestSupport
import Testing

@testable import SQLiteStorage

/// The PostgreSQL schema against the SQLite schema: the same migrations, the same catalog, the same trigger
/// behaviour (a real PostgreSQL, an in-memory SQLite database).
@Suite(.enabled(if: PostgresServer.shouldRun), .postgres("schema"))
struct PostgresSchemaTests {
    @Test func bothBackendsHaveTheSameMigrationsByVersionAndName() {
        #expect(PostgresSchema.migrations.map(\.version) == SQLiteSchema.migrations.map(\.version))
        #expect(PostgresSchema.migrations.map(\.name) == SQLiteSchema.migrations.map(\.name))
    }

    @Test(arguments: CatalogPart.allCases)
    func theCatalogIsTheSQLiteSchemasByName(_ part: CatalogPart) async throws {
        let sqlite = try sqliteCatalog(part)
        let database = try await PostgresFixture.database("catalog_\(part)")
        let postgres = try await PostgresFixture.with(database) { connection in
            _ = try PostgresMigrator(connection: connection).migrate()
            return try connection.query(part.postgresQuery).map { $0[0] ?? "" }
        }
        let postgresSet = Set(postgres).subtracting(part.postgresOnly)
        #expect(
            postgresSet.subtracting(sqlite).sorted() == [], "in PostgreSQL's schema only")
        #expect(sqlite.subtracting(postgresSet).sorted() == [], "in SQLite's schema only")
        #expect(!sqlite.isEmpty)
    }

    @Test func searchFindsSubstringsCaseInsensitivelyThroughTheTrigramIndex() async throws {
        let database = try await PostgresFixture.database("search")
        let (names, plan) = try await PostgresFixture.with(database) { connection in
            _ = try PostgresMigrator(connection: connection).migrate()
            try connection.execute(
                """
                INSERT INTO users (id, username, created_at, updated_at) VALUES (1, 'alice', 0, 0);
                INSERT INTO teams (id, name, created_at, updated_at) VALUES (1, 'Platform', 0, 0);
                INSERT INTO namespaces (id, name, team_id, visibility, kind, created_at, updated_at)
                    VALUES (1, 'backend', 1, 'public', 'regular', 0, 0), (2, 'library', 1, 'public', 'global', 0, 0);
                INSERT INTO repositories (id, namespace_id, name, created_at, updated_at)
                    VALUES (1, 1, 'PaymentService', 0, 0), (2, 2, 'postgres', 0, 0);
                INSERT INTO tags (id, repository_id, name, digest, created_at, updated_at)
                    VALUES (1, 1, 'v1.2', 'd1', 0, 0), (2, 2, '15-bookworm', 'd2', 0, 0);
                """)
            let names = try connection.query(
                """
                SELECT name FROM search_repositories WHERE name ILIKE '%mentser%'
                UNION ALL SELECT name FROM search_tags WHERE name ILIKE '%BOOKW%'
                UNION ALL SELECT name FROM search_teams WHERE name ILIKE '%atfo%'
                """
            ).map { $0[0] ?? "" }
            // With so few rows the planner would scan; forbidding the scan shows the index can answer.
            let plan = try connection.query(
                "SET enable_seqscan = off; EXPLAIN SELECT id FROM search_tags WHERE name ILIKE '%bookw%'"
            ).map { $0[0] ?? "" }.joined(separator: "\n")
            return (names, plan)
        }
        #expect(names == ["backend/PaymentService", "postgres:15-bookworm", "Platform"])
        #expect(plan.contains("search_tags_trigrams"), "\(plan)")
    }

    /// What the catalog comparison reads: `table.column` pairs, trigger names, index names.
    enum CatalogPart: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case columns, triggers, indexes

        var testDescription: String { rawValue }

        var postgresQuery: String {
            switch self {
            case .columns:
                "SELECT table_name || '.' || column_name FROM information_schema.columns "
                    + "WHERE table_schema = current_schema()"
            case .triggers:
                "SELECT DISTINCT trigger_name FROM information_schema.triggers "
                    + "WHERE trigger_schema = current_schema()"
            case .indexes:
                // Indexes behind PRIMARY KEY and UNIQUE constraints are SQLite's automatic ones, not compared.
                """
                SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT IN
                    (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))
                """
            }
        }

        /// What PostgreSQL has that SQLite spells differently: the trigram indexes of the search tables
        /// (SQLite's FTS5 tables index themselves).
        var postgresOnly: Set<String> {
            switch self {
            case .indexes:
                [
                    "search_repositories_trigrams", "search_tags_trigrams", "search_namespaces_trigrams",
                    "search_teams_trigrams",
                ]
            case .columns, .triggers: []
            }
        }
    }

    /// SQLite's catalog at its latest version: the FTS5 tables' shadow tables are left out, and their rowid is
    /// spelt `id`, as in PostgreSQL's search tables.
    private func sqliteCatalog(_ part: CatalogPart) throws -> Set<String> {
        let connection = try migratedConnection(through: SQLiteSchema.migrations.count)
        defer { connection.close() }
        var names: [(name: String, type: String, sql: String)] = []
        try connection.query("SELECT name, type, coalesce(sql, '') FROM sqlite_schema") { row in
            names.append((row.text(0), row.text(1), row.text(2)))
        }
        switch part {
        case .triggers:
            return Set(names.filter { $0.type == "trigger" }.map(\.name))
        case .indexes:
            // Automatic indexes (PRIMARY KEY, UNIQUE) have no SQL.
            return Set(names.filter { $0.type == "index" && !$0.sql.isEmpty }.map(\.name))
        case .columns:
            let virtual = names.filter { $0.sql.hasPrefix("CREATE VIRTUAL TABLE") }.map(\.name)
            let tables = names.filter { table in
                table.type == "table" && !table.name.hasPrefix("sqlite_")
                    && !virtual.contains { table.name.hasPrefix($0 + "_") }
            }
            var columns: Set<String> = []
            for table in tables {
                try connection.query("SELECT name FROM pragma_table_info(?)", [.text(table.name)]) { row in
                    columns.insert("\(table.name).\(row.text(0))")
                }
                if virtual.contains(table.name) { columns.insert("\(table.name).id") }
            }
            return columns
        }
    }
}
