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
