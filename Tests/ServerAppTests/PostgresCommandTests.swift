import Foundation
import TestSupport
import Testing
import Threading

/// The real binary on PostgreSQL (`storage.driver: postgres`): `db status` and `db migrate`, the command line's
/// writes, and `serve` answering token requests from the rows the command line wrote.
@Suite(.enabled(if: PostgresServer.shouldRun), .serialized)
struct PostgresCommandTests {
    /// The threads the blocking libpq calls of these tests run on.
    static let pool = BlockingPool(name: "postgres-cli-tests", threads: 1)

    /// A sandbox whose config selects PostgreSQL, the URL given by reference through `TEST_DATABASE_URL`.
    private static func sandbox() throws -> Sandbox {
        let sandbox = try Sandbox()
        try sandbox.selectPostgres()
        return sandbox
    }

    @Test func dbStatusMigrateAndTheUserCommandsWorkOnPostgreSQL() async throws {
        let server = try await PostgresServer.start(label: "cli")
        defer { server.remove() }
        let url = try await Self.pool.run { try server.createDatabase("cli") }
        let sandbox = try Self.sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        let environment = ["TEST_DATABASE_URL": url]

        let empty = try await sandbox.portcullis(["db", "status"], environment: environment)
        #expect(empty.status == 0, "\(empty.stderr)")
        #expect(empty.stdout.contains("driver: postgres"))
        #expect(empty.stdout.contains("schema at version 0"), "\(empty.stdout)")
        let migrated = try await sandbox.portcullis(["db", "migrate"], environment: environment)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stdout.contains("database migrated from schema version 0 to"))
        let again = try await sandbox.portcullis(["db", "migrate"], environment: environment)
        #expect(again.stdout.contains("database is up to date"))
        let status = try await sandbox.portcullis(["db", "status"], environment: environment)
        #expect(status.stdout.contains("up to date"), "\(status.stdout)")

        let created = try await sandbox.portcullis(
            ["user", "create", "Alice-Smith", "--admin", "--no-password"], environment: environment)
        #expect(created.status == 0, "\(created.stderr)")
        let duplicate = try await sandbox.portcullis(
            ["user", "create", "alice-smith", "--no-password"], environment: environment)
        #expect(duplicate.status == 65, "a name differing only in case is taken on PostgreSQL too")
        let listed = try await sandbox.portcullis(["user", "list"], environment: environment)
        #expect(listed.stdout.contains("Alice-Smith") && listed.stdout.contains("admin"), "\(listed.stdout)")
        #expect(
            !FileManager.default.fileExists(atPath: sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path))
    }

    @Test func anUnreachableDatabaseFailsTheCommandClearlyWithoutThePassword() async throws {
        let sandbox = try Self.sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        let result = try await sandbox.portcullis(
            ["db", "status"], environment: ["TEST_DATABASE_URL": "postgresql://portcullis:hunter2@127.0.0.1:1/db"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot open the PostgreSQL database"), "\(result.stderr)")
        #expect(!result.stderr.contains("hunter2"))
    }

    @Test func serveIssuesTokensFromAPostgreSQLDatabase() async throws {
        let server = try await PostgresServer.start(label: "serve")
        defer { server.remove() }
        let url = try await Self.pool.run { try server.createDatabase("serve") }
        let sandbox = try Self.sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        let environment = ["TEST_DATABASE_URL": url]
        #expect(try await sandbox.portcullis(["db", "migrate"], environment: environment).status == 0)
        let created = try await sandbox.portcullis(
            ["user", "create", "fay", "--password-stdin"], input: "pw-fay-12345\n", environment: environment)
        #expect(created.status == 0, "\(created.stderr)")

        let (serve, port) = try await sandbox.serve("postgres", environment: environment)
        defer { serve.stop() }
        let token = { (password: String) async throws -> String in
            try await Processes.run(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "fay:\(password)",
                    "http://127.0.0.1:\(port)/v2/token?service=registry.local&scope=repository:fay/app:pull,push",
                ]
            ).stdout
        }
        #expect(try await token("pw-fay-12345") == "200")
        #expect(try await token("wrong-password") == "401")
        serve.stop()

        let tail = try await sandbox.portcullis(["audit", "tail", "--lines", "5"], environment: environment)
        #expect(tail.stdout.contains("token.issue") && tail.stdout.contains("actor=fay"), "\(tail.stdout)")
        #expect(!tail.stdout.contains("wrong-password"))
    }

    @Test func whileTheDatabaseIsAwayServeAnswers503AndSaysWhy() async throws {
        let server = try await PostgresServer.start(label: "away")
        defer { server.remove() }
        let url = try await Self.pool.run { try server.createDatabase("away") }
        let sandbox = try Self.sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        let environment = ["TEST_DATABASE_URL": url]
        let (serve, port) = try await sandbox.serve("postgres", environment: environment)
        defer { serve.stop() }
        server.remove()  // the database goes away under the running server

        let readiness = try await httpGet(port: port, path: "/readyz")
        #expect(readiness.status == 503, "\(readiness.body)")
        let login = try await Processes.run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "nobody-yet:some-password",
                "http://127.0.0.1:\(port)/v2/token?service=registry.local&scope=repository:x/app:pull",
            ])
        #expect(login.stdout == "503", "a password that cannot be checked is not a wrong password")
        #expect(serve.isRunning, "the server stays up and answers")
    }
}
