import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing
import Threading

/// `portcullis db copy` with the real binary: a SQLite deployment moved to a real PostgreSQL, then served from
/// there; a non-empty target refused; the URL's password never printed.
@Suite(.enabled(if: PostgresServer.shouldRun), .serialized)
struct DatabaseCopyCommandTests {
    static let pool = BlockingPool(name: "copy-cli-tests", threads: 1)
    static let password = "Sup3r-secret-pw"

    /// `postgresql://postgres:PASSWORD@127.0.0.1:PORT/DB` for a fresh database (the test server trusts loopback
    /// connections, so the password is carried but not checked: what matters is that it is never shown).
    private static func urlWithPassword(_ server: PostgresServer, _ label: String) async throws -> String {
        let conninfo = try await pool.run { try server.createDatabase(label) }
        let database = try #require(conninfo.split(separator: " ").first { $0.hasPrefix("dbname=") }?.dropFirst(7))
        return "postgresql://postgres:\(password)@127.0.0.1:\(server.port)/\(database)"
    }

    @Test func anOperatorMovesASQLiteDeploymentToPostgreSQLAndServesFromIt() async throws {
        let server = try await PostgresServer.start(label: "copy-cli")
        defer { server.remove() }
        let url = try await Self.urlWithPassword(server, "copy")
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        let created = try await sandbox.portcullis(
            ["user", "create", "fay", "--password-stdin"], input: "pw-fay-12345\n")
        #expect(created.status == 0, "\(created.stderr)")
        let path = sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
        try await EveryTableSeed.fill(store, now: Date())
        await store.close()

        let dryRun = try await sandbox.portcullis(["db", "copy", "--to", url, "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.contains("would copy") && dryRun.stdout.contains("postgres:***@"), "\(dryRun.stdout)")
        let copied = try await sandbox.portcullis(["db", "copy", "--to", url])
        #expect(copied.status == 0, "\(copied.stderr)")
        #expect(copied.stdout.contains("every row count and checksum matches"), "\(copied.stdout)")
        #expect(copied.stdout.contains("users") && !copied.stdout.contains("DIFFERS"))
        let again = try await sandbox.portcullis(["db", "copy", "--to", url])
        #expect(again.status == 65 && again.stderr.contains("db_copy.target_not_empty"), "\(again.stderr)")
        for output in [dryRun, copied, again] {
            #expect(!(output.stdout + output.stderr).contains(Self.password))
        }

        // The same deployment on PostgreSQL: fay signs in with her password, new rows get fresh ids.
        try sandbox.selectPostgres()
        let environment = ["TEST_DATABASE_URL": url]
        let newcomer = try await sandbox.portcullis(
            ["user", "create", "newcomer", "--no-password"], environment: environment)
        #expect(newcomer.status == 0, "a new row must not collide with a copied id: \(newcomer.stderr)")
        let listed = try await sandbox.portcullis(["user", "list"], environment: environment)
        #expect(listed.stdout.contains("fay") && listed.stdout.contains(EveryTableSeed.adminName), "\(listed.stdout)")

        let port = try freePort()
        let serve = try BackgroundProcess(
            name: "portcullis", executable: portcullisExecutable.path,
            arguments: ["serve", "--config", sandbox.configDirectory.path],
            environment: environment.merging(["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"]) { $1 },
            removing: ["PORTCULLIS_"], directory: sandbox.root,
            logFile: sandbox.root.appendingPathComponent("serve.log"))
        defer { serve.stop() }
        let ready = try await waitUntil(seconds: 120) {
            guard serve.isRunning else { return false }
            return (try? await httpGet(port: port, path: "/readyz"))?.status == 200
        }
        try #require(ready, "serve never became ready\n\(serve.logTail())")
        let token = { (password: String) async throws -> String in
            try await Processes.run(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "fay:\(password)",
                    "http://127.0.0.1:\(port)/v2/token?service=registry.local&scope=repository:fay/app:pull",
                ]
            ).stdout
        }
        #expect(try await token("pw-fay-12345") == "200")
        #expect(try await token("not-her-password") == "401")
    }

    @Test func aCopyToAnUnreachableDatabaseFailsWithoutShowingThePassword() async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        #expect(try await sandbox.portcullis(["db", "migrate"]).status == 0)
        let result = try await sandbox.portcullis(
            ["db", "copy", "--to", "postgresql://portcullis:\(Self.password)@127.0.0.1:1/db"])
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stderr.contains("cannot connect"), "\(result.stderr)")
        #expect(!(result.stdout + result.stderr).contains(Self.password))
        let unknown = try await sandbox.portcullis(["db", "copy", "--to", "mysql://somewhere/db"])
        #expect(unknown.status == 64, "\(unknown.stderr)")
    }
}
