import Foundation
import PostgresStorage
import Storage
import TestSupport
import Testing

@testable import SQLiteStorage

/// PostgreSQL's triggers do what SQLite's do: each scenario runs the same SQL on a migrated SQLite database and a
/// migrated PostgreSQL database, then reads the counters both keep, which must agree (and match the figures
/// written here, so that the two cannot agree on a wrong answer).
@Suite(.enabled(if: PostgresServer.shouldRun), .postgres("triggers"))
struct PostgresTriggerTests {
    /// One scenario: statements run in order after `fixture`, then `expected` lines from `Snapshot`.
    struct Scenario: Sendable, CustomTestStringConvertible {
        let name: String
        let statements: [String]
        let expected: [String: [String]]

        var testDescription: String { name }
    }

    /// Two namespaces (1: `ns`, regular; 2: `lib`, global), two repositories in `ns`, one user and one team.
    static let fixture = [
        "INSERT INTO users (id, username, created_at, updated_at) VALUES (1, 'alice', 0, 0)",
        "INSERT INTO teams (id, name, created_at, updated_at) VALUES (1, 'team', 0, 0)",
        """
        INSERT INTO namespaces (id, name, team_id, visibility, kind, created_at, updated_at)
            VALUES (1, 'ns', 1, 'public', 'regular', 0, 0), (2, 'lib', 1, 'public', 'global', 0, 0)
        """,
        """
        INSERT INTO repositories (id, namespace_id, name, created_at, updated_at)
            VALUES (1, 1, 'app', 0, 0), (2, 1, 'db', 0, 0)
        """,
    ]

    static let scenarios = [
        Scenario(
            name: "tags added in one statement count each tag once and each digest once",
            statements: [
                """
                INSERT INTO tags (id, repository_id, name, digest, created_at, updated_at) VALUES
                    (1, 1, 'v1', 'sha256:a', 0, 0), (2, 1, 'latest', 'sha256:a', 0, 0),
                    (3, 1, 'v2', 'sha256:b', 0, 0), (4, 2, 'v1', 'sha256:a', 0, 0)
                """
            ],
            expected: ["repositories": ["1:3:2:0:3", "2:1:1:0:1"]]),
        Scenario(
            name: "deleting every tag of a digest in one statement counts the digest gone once",
            statements: [
                """
                INSERT INTO tags (id, repository_id, name, digest, created_at, updated_at) VALUES
                    (1, 1, 'v1', 'sha256:a', 0, 0), (2, 1, 'latest', 'sha256:a', 0, 0),
                    (3, 1, 'v2', 'sha256:b', 0, 0)
                """,
                "DELETE FROM tags WHERE repository_id = 1 AND digest = 'sha256:a'",
            ],
            expected: ["repositories": ["1:1:1:0:5", "2:0:0:0:0"]]),
        Scenario(
            name: "moving a tag to another digest or repository moves the digest counts",
            statements: [
                """
                INSERT INTO tags (id, repository_id, name, digest, created_at, updated_at) VALUES
                    (1, 1, 'v1', 'sha256:a', 0, 0), (2, 1, 'latest', 'sha256:a', 0, 0)
                """,
                "UPDATE tags SET digest = 'sha256:b', updated_at = 1 WHERE id = 2",
                "UPDATE tags SET repository_id = 2 WHERE id = 1",
                "UPDATE tags SET digest = 'sha256:b' WHERE repository_id = 1 OR repository_id = 2",
            ],
            expected: ["repositories": ["1:1:1:0:5", "2:1:1:0:2"]]),
        Scenario(
            name: "a pull moves the content version and the daily pulls but no count",
            statements: [
                "INSERT INTO tags (id, repository_id, name, digest, created_at, updated_at) VALUES (1, 1, 'v1', 'd', 0, 0)",
                "UPDATE tags SET pull_count = pull_count + 1, last_pulled_at = 5 WHERE id = 1",
                "INSERT INTO tag_pulls_daily (tag_id, day, count) VALUES (1, 0, 1)",
                "UPDATE tag_pulls_daily SET count = count + 2 WHERE tag_id = 1 AND day = 0",
                "INSERT INTO tag_pulls_daily (tag_id, day, count) VALUES (1, 86400000, 4)",
            ],
            expected: ["repositories": ["1:1:1:0:2", "2:0:0:0:0"], "pulls": ["1:0:3", "1:86400000:4"]]),
        Scenario(
            name: "stars and repositories moved between namespaces keep every count",
            statements: [
                "INSERT INTO stars (user_id, repository_id, created_at) VALUES (1, 1, 0)",
                "UPDATE stars SET repository_id = 2 WHERE repository_id = 1",
                "UPDATE repositories SET namespace_id = 2 WHERE id = 1",
                "UPDATE repositories SET name = 'db2' WHERE id = 2",
            ],
            expected: [
                "repositories": ["1:0:0:0:0", "2:0:0:1:0"], "namespaces": ["1:1:4", "2:1:1"],
            ]),
        Scenario(
            name: "deleting a repository takes its tags, counts and search rows with it",
            statements: [
                "INSERT INTO tags (id, repository_id, name, digest, created_at, updated_at) VALUES (1, 1, 'v1', 'd', 0, 0)",
                "INSERT INTO tags (id, repository_id, name, digest, created_at, updated_at) VALUES (2, 2, 'v1', 'd', 0, 0)",
                "DELETE FROM repositories WHERE id = 1",
            ],
            expected: [
                "repositories": ["2:1:1:0:1"], "namespaces": ["1:1:3", "2:0:0"], "search": ["2:ns/db:v1"],
            ]),
        Scenario(
            name: "renaming a namespace or moving a repository renames the search rows below it",
            statements: [
                "INSERT INTO tags (id, repository_id, name, digest, created_at, updated_at) VALUES (1, 1, 'v1', 'd', 0, 0)",
                "UPDATE namespaces SET name = 'team' WHERE id = 1",
                "UPDATE repositories SET namespace_id = 2 WHERE id = 2",
                "UPDATE tags SET name = 'v9' WHERE id = 1",
            ],
            expected: ["search": ["1:team/app:v9"], "searchRepositories": ["1:team/app", "2:db"]]),
        Scenario(
            name: "the authorization generation moves for authorization changes only",
            statements: [
                // The fixture's user and two namespaces advanced it 1 → 4; then locking (+1), the same lock again
                // (nothing), the email (+1), a membership (+1), an address lock set (+1) and deleted (+1).
                "UPDATE users SET last_login_at = 10, failed_login_count = 1 WHERE id = 1",
                "UPDATE users SET locked_until = 50 WHERE id = 1",
                "UPDATE users SET locked_until = 50 WHERE id = 1",
                "UPDATE users SET email = 'a@example.test' WHERE id = 1",
                "INSERT INTO team_members (team_id, user_id, role, created_at) VALUES (1, 1, 'owner', 0)",
                "UPDATE repositories SET description = 'no effect' WHERE id = 1",
                """
                INSERT INTO login_address_states (user_id, client_address, failed_count) VALUES (1, '192.0.2.1', 1),
                    (1, '192.0.2.2', 1)
                """,
                "UPDATE login_address_states SET locked_until = 99 WHERE client_address = '192.0.2.1'",
                "DELETE FROM login_address_states",
            ],
            expected: ["generation": ["9"]]),
    ]

    /// What both databases are asked after a scenario: one line per row, fields joined by `:`.
    static let snapshot: [(name: String, sqlite: String, postgres: String)] = [
        (
            "repositories",
            "SELECT id || ':' || tag_count || ':' || digest_count || ':' || star_count || ':' || content_version "
                + "FROM repositories ORDER BY id",
            "SELECT id || ':' || tag_count || ':' || digest_count || ':' || star_count || ':' || content_version "
                + "FROM repositories ORDER BY id"
        ),
        (
            "namespaces",
            "SELECT id || ':' || repository_count || ':' || listing_generation FROM namespaces ORDER BY id",
            "SELECT id || ':' || repository_count || ':' || listing_generation FROM namespaces ORDER BY id"
        ),
        ("generation", SQLiteSchema.authorizationGenerationQuery, PostgresSchema.authorizationGenerationQuery),
        (
            "pulls", "SELECT repository_id || ':' || day || ':' || count FROM repository_pulls_daily ORDER BY 1",
            "SELECT repository_id || ':' || day || ':' || count FROM repository_pulls_daily ORDER BY 1"
        ),
        (
            "search", "SELECT rowid || ':' || name FROM search_tags ORDER BY rowid",
            "SELECT id || ':' || name FROM search_tags ORDER BY id"
        ),
        (
            "searchRepositories", "SELECT rowid || ':' || name FROM search_repositories ORDER BY rowid",
            "SELECT id || ':' || name FROM search_repositories ORDER BY id"
        ),
    ]

    @Test(arguments: scenarios)
    func theTriggersAgreeWithSQLites(_ scenario: Scenario) async throws {
        let statements = Self.fixture + scenario.statements
        let sqlite = try Self.sqliteSnapshot(statements)
        let database = try await PostgresFixture.database("triggers")
        let postgres = try await PostgresFixture.with(database) { connection in
            _ = try PostgresMigrator(connection: connection).migrate()
            // One statement per call, as the SQLite side runs them: each is its own statement for the triggers.
            for statement in statements { try connection.execute(statement) }
            return try Self.snapshot.reduce(into: [String: [String]]()) { lines, query in
                lines[query.name] = try connection.query(query.postgres).map { $0[0] ?? "NULL" }
            }
        }
        for (name, _, _) in Self.snapshot {
            #expect(postgres[name] == sqlite[name], "\(name): PostgreSQL and SQLite disagree")
        }
        for (name, lines) in scenario.expected {
            #expect(sqlite[name] == lines, "\(name) in SQLite")
            #expect(postgres[name] == lines, "\(name) in PostgreSQL")
        }
    }

    private static func sqliteSnapshot(_ statements: [String]) throws -> [String: [String]] {
        let connection = try migratedConnection(through: SQLiteSchema.migrations.count)
        defer { connection.close() }
        for statement in statements { try connection.exec(statement) }
        var lines: [String: [String]] = [:]
        for query in snapshot {
            var rows: [String] = []
            try connection.query(query.sqlite) { rows.append($0.optionalText(0) ?? "NULL") }
            lines[query.name] = rows
        }
        return lines
    }
}
