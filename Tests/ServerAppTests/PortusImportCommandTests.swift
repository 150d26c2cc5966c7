import CryptoCore
import Foundation
import PostgresStorage
import SQLiteStorage
import Storage
import TestSupport
import Testing
import Threading

/// Whether slapd is there for the LDAP user's link: required in CI, else the suite is skipped loudly.
enum PortusImportPeers {
    static let slapdRuns: Bool = {
        if !Slapd.isInstalled && !PostgresServer.isCI {
            FileHandle.standardError.write(
                Data("\n*** PortusImportCommandTests SKIPPED: \(Slapd.executable) is missing (slapd).\n\n".utf8))
        }
        return Slapd.isInstalled || PostgresServer.isCI
    }()
}

/// `portcullis import portus` against a real PostgreSQL holding a Portus 2.4 database: the schema from
/// `Fixtures/portus-2.4-schema.sql` (written from Portus's `db/schema.postgresql.rb`) and rows this file
/// writes, covering every table the import maps and its edge cases; its LDAP user is found in a real slapd.
@Suite(.enabled(if: PostgresServer.shouldRun && PortusImportPeers.slapdRuns), .serialized)
struct PortusImportCommandTests {
    /// The threads the blocking libpq calls of these tests run on.
    static let pool = BlockingPool(name: "portus-import-tests", threads: 1)
    /// The password of the reading role, in the URL given to the command: it must never be printed.
    static let urlPassword = "S3cret-Portus-pw"
    /// Alice's Portus password, whose `$2a$` bcrypt hash the Portus database holds.
    static let alicePassword = "alice-old-password"
    /// The Basic password of a Portus webhook, stored there in plain text.
    static let hookPassword = "hook-Pa55word"
    /// The password in the URL of another Portus webhook.
    static let urlHookPassword = "url-Pa55word"

    /// Creates a Portus database on `server`, loads the schema and the rows, and returns a URL (with a
    /// password) for a role that may only read it.
    static func portusDatabase(on server: PostgresServer) async throws -> String {
        let schema = try String(
            contentsOf: packageRoot.appendingPathComponent("Tests/ServerAppTests/Fixtures/portus-2.4-schema.sql"),
            encoding: .utf8)
        // Devise's bcrypt hashes start with $2a$; the same hash under $2b$ is what libxcrypt makes here.
        let made = try PasswordHash.make(password: alicePassword, method: .bcrypt(cost: 4))
        let aliceHash = "$2a$" + made.dropFirst(4)
        let otherHash =
            "$2a$" + (try PasswordHash.make(password: "someone-else-pw", method: .bcrypt(cost: 4))).dropFirst(4)
        let rows = Self.rows(aliceHash: aliceHash, otherHash: otherHash)
        return try await pool.run {
            let conninfo = try server.createDatabase("portus")
            let database = conninfo.split(separator: " ").first { $0.hasPrefix("dbname=") }!.dropFirst(7)
            let connection = try PostgresConnection(conninfo, connectTimeout: .seconds(5))
            defer { connection.close() }
            try connection.execute(schema)
            try connection.execute(rows)
            try connection.execute(
                """
                DO $$ BEGIN
                  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'portus_reader') THEN
                    CREATE ROLE portus_reader LOGIN PASSWORD '\(urlPassword)';
                  END IF;
                END $$;
                GRANT SELECT ON ALL TABLES IN SCHEMA public TO portus_reader;
                """)
            return "postgresql://portus_reader:\(urlPassword)@127.0.0.1:\(server.port)/\(database)"
        }
    }

    /// The Portus rows: the portus user, the global namespace and team, personal namespaces and teams, an
    /// admin, an LDAP user, a disabled user, a bot, a case clash, every role and visibility, a namespace
    /// name only Portus accepts, nested and marked repositories, a tag without digest, stars, webhooks with
    /// headers and a plain-text password, activities (one about a deleted repository), application tokens,
    /// and rows of the tables that are not imported.
    static func rows(aliceHash: String, otherHash: String) -> String {
        """
        INSERT INTO registries (id, name, hostname, use_ssl, created_at, updated_at)
        VALUES (1, 'registry', 'registry.local:5000', false, now(), now());
        INSERT INTO teams (id, name, hidden, description, created_at, updated_at) VALUES
          (1, 'portus_global_team_1', true, NULL, now(), now()),
          (2, 'alice', true, NULL, now(), now()),
          (3, 'bob', true, NULL, now(), now()),
          (4, 'Dev Team', false, 'The developers', now(), now()),
          (5, 'ops', false, NULL, now(), now()),
          (6, 'carol', true, NULL, now(), now()),
          (7, 'dave-smith', true, NULL, now(), now()),
          (8, 'portus', true, NULL, now(), now()),
          (9, 'ops0', true, NULL, now(), now());
        INSERT INTO namespaces (id, name, team_id, registry_id, global, description, visibility, created_at,
                                updated_at) VALUES
          (1, 'portus_global_namespace_1', 1, 1, true, NULL, 2, now(), now()),
          (2, 'alice', 2, 1, false, 'This personal namespace belongs to alice.', 0, now(), now()),
          (3, 'bob', 3, 1, false, NULL, 1, now(), now()),
          (4, 'dave_smith', 7, 1, false, NULL, 0, now(), now()),
          (5, 'backend', 4, 1, false, E'Backend images\\r\\nfor the API', 0, now(), now()),
          (6, 'shared', 5, 1, false, NULL, 1, now(), now()),
          (7, 'releases', 5, 1, false, NULL, 2, now(), now()),
          (8, E'bad\\\\name', 5, 1, false, NULL, 0, now(), now()),
          (9, 'portus', 8, 1, false, NULL, 0, now(), now()),
          (10, 'carol', 6, 1, false, NULL, 0, now(), now()),
          (11, 'ops', 9, 1, false, NULL, 0, now(), now());
        INSERT INTO users (id, username, email, encrypted_password, admin, enabled, namespace_id, display_name,
                           bot, created_at, updated_at) VALUES
          (1, 'portus', 'portus@portus.com', '\(otherHash)', true, true, 9, NULL, false, now(), now()),
          (2, 'alice', 'alice@example.com', '\(aliceHash)', true, true, 2, 'Alice A', false, now(), now()),
          (3, 'bob', NULL, '', false, true, 3, NULL, false, now(), now()),
          (4, 'carol', 'carol@example.com', '\(otherHash)', false, false, 10, NULL, false, now(), now()),
          (5, 'dave-smith', 'dave@example.com', '\(otherHash)', false, true, 4, NULL, false, now(), now()),
          (6, 'ci-bot', 'ci-bot@example.com', '', false, true, NULL, NULL, true, now(), now()),
          (7, 'ALICE', 'other-alice@example.com', '\(otherHash)', false, true, NULL, NULL, false, now(), now()),
          (8, 'ops', 'ops@example.com', '\(otherHash)', false, true, 11, NULL, false, now(), now());
        INSERT INTO team_users (user_id, team_id, role, created_at, updated_at) VALUES
          (1, 1, 2, now(), now()), (2, 1, 2, now(), now()), (2, 2, 2, now(), now()), (3, 3, 2, now(), now()),
          (4, 6, 2, now(), now()), (5, 7, 2, now(), now()), (1, 8, 2, now(), now()),
          (3, 4, 2, now(), now()), (5, 4, 1, now(), now()), (4, 4, 0, now(), now()),
          (2, 5, 0, now(), now()), (6, 5, 1, now(), now()), (8, 9, 2, now(), now());
        INSERT INTO repositories (id, name, namespace_id, marked, description, created_at, updated_at) VALUES
          (1, 'busybox', 1, false, NULL, now(), now()),
          (2, 'app', 5, false, 'The API server', now(), now()),
          (3, 'tools/cli', 6, false, NULL, now(), now()),
          (4, 'web', 2, false, NULL, now(), now()),
          (5, 'old', 5, true, NULL, now(), now()),
          (6, 'thing', 8, false, NULL, now(), now());
        INSERT INTO tags (id, name, repository_id, user_id, username, digest, size, marked, created_at,
                          updated_at) VALUES
          (1, 'latest', 1, 2, 'alice', 'sha256:\(String(repeating: "a", count: 64))', 1234, false,
           '2019-03-04 10:11:12', now()),
          (2, '1.0', 2, 5, 'dave-smith', 'sha256:\(String(repeating: "b", count: 64))', 5678, false, now(), now()),
          (3, 'latest', 2, 5, 'dave-smith', 'sha256:\(String(repeating: "b", count: 64))', 5678, false, now(), now()),
          (4, 'v2', 3, 2, 'alice', NULL, NULL, false, now(), now()),
          (5, 'dev', 4, 2, 'alice', 'sha256:\(String(repeating: "c", count: 64))', 42, false, now(), now()),
          (6, 'x', 5, 2, 'alice', 'sha256:\(String(repeating: "d", count: 64))', 42, true, now(), now());
        INSERT INTO stars (user_id, repository_id, created_at, updated_at) VALUES
          (3, 2, now(), now()), (2, 1, now(), now());
        INSERT INTO webhooks (id, namespace_id, name, url, username, password, request_method, content_type,
                              enabled, created_at, updated_at) VALUES
          (1, 5, 'ci', 'https://ci.example.com/hook', 'hookuser', '\(hookPassword)', 1, 0, true, now(), now()),
          (2, 7, 'notify', 'http://bot:\(urlHookPassword)@notify.example.com/portus', NULL, NULL, 0, 1, false, now(),
           now());
        INSERT INTO webhook_headers (webhook_id, name, value, created_at, updated_at) VALUES
          (1, 'X-Token', 'tok-123', now(), now());
        INSERT INTO activities (id, trackable_type, trackable_id, owner_type, owner_id, key, parameters,
                                recipient_type, recipient_id, created_at, updated_at) VALUES
          (1, 'Namespace', 5, 'User', 3, 'namespace.create', E'---\\n:namespace_name: backend\\n', NULL, NULL,
           '2019-05-06 07:08:09', now()),
          (2, 'Repository', 2, 'User', 5, 'repository.push', NULL, 'Tag', 2, now(), now()),
          (3, 'Team', 4, 'User', 3, 'team.add_member', E'---\\n:role: contributor\\n', 'User', 5, now(), now()),
          (4, 'Namespace', 7, 'User', 2, 'namespace.change_visibility', E'---\\n:visibility: public\\n', NULL, NULL,
           now(), now()),
          (5, 'Namespace', 99, 'User', 2, 'namespace.delete', E'---\\n:repository_name: gone\\n', NULL, NULL, now(),
           now());
        INSERT INTO application_tokens (user_id, application, token_hash, token_salt) VALUES
          (2, 'laptop', 'x', 'y'), (2, 'ci', 'x', 'y'), (6, 'default', 'x', 'y');
        INSERT INTO comments (body, repository_id, user_id, created_at, updated_at) VALUES ('nice', 2, 3, now(), now());
        INSERT INTO vulnerabilities (name, created_at, updated_at) VALUES ('CVE-2019-0001', now(), now());
        INSERT INTO scan_results (tag_id, vulnerability_id, created_at, updated_at) VALUES (2, 1, now(), now());
        INSERT INTO webhook_deliveries (webhook_id, uuid, status, created_at, updated_at)
        VALUES (1, 'u-1', 200, now(), now());
        INSERT INTO registry_events (event_id, status, data, created_at, updated_at) VALUES ('e-1', 0, '{}', now(), now());
        SELECT setval('teams_id_seq', 100), setval('users_id_seq', 100), setval('namespaces_id_seq', 100);
        """
    }

    @Test func aPortusDatabaseIsImportedOnceWithPasswordsThatStillSignIn() async throws {
        let server = try await PostgresServer.start(label: "portus")
        defer { server.remove() }
        let url = try await Self.portusDatabase(on: server)
        let slapd = try await Slapd.start(label: "portus")
        defer { slapd.remove() }
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        try sandbox.writeConfig(
            "45-ldap.yaml", slapd.providerFragment(bindPassword: "{env: LDAP_BIND_PASSWORD}", mapping: ""))
        let environment = ["LDAP_BIND_PASSWORD": Slapd.servicePassword]
        let databasePath = sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path
        var outputs: [String] = []

        // A dry run prints the plan and writes nothing.
        let dry = try await sandbox.portcullis(
            ["import", "portus", "--database", url, "--dry-run"], environment: environment)
        outputs.append(dry.stdout + dry.stderr)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("Portus import (Portus schema 20190109112643), dry run: nothing was written"))
        #expect(dry.stdout.contains("user alice: password kept (bcrypt); administrator"), "\(dry.stdout)")
        #expect(try await Self.counts(databasePath).users == 0)

        // --strict refuses the whole import: this database has rows Portcullis's rules refuse.
        let strict = try await sandbox.portcullis(
            ["import", "portus", "--database", url, "--strict"], environment: environment)
        outputs.append(strict.stdout + strict.stderr)
        #expect(strict.status == 65, "\(strict.stdout)\(strict.stderr)")
        #expect(strict.stderr.contains("portus.refused_rows"), "\(strict.stderr)")
        #expect(try await Self.counts(databasePath).users == 0)

        let first = try await sandbox.portcullis(["import", "portus", "--database", url], environment: environment)
        outputs.append(first.stdout + first.stderr)
        #expect(first.status == 0, "\(first.stderr)")
        for line in [
            "user portus: Portus's internal API user", "user ALICE: differs from Portus user 'alice' only in case",
            "team Dev Team → dev_team: renamed", "namespace bad", "tag shared/tools/cli:v2: Portus never learnt",
            "repository backend/old: Portus was deleting it", "alice: 2 token(s): ci, laptop",
            "ci-bot: 1 token(s): default", "comments: 1 row(s)", "scan_results: 1 row(s)",
            "user bob: no local password (an LDAP account); linked to its corp-ldap identity",
        ] {
            #expect(first.stdout.contains(line), "missing '\(line)' in\n\(first.stdout)")
        }
        try await Self.checkImported(databasePath)
        let afterFirst = try await Self.counts(databasePath)

        // A second run changes nothing and says so.
        let second = try await sandbox.portcullis(["import", "portus", "--database", url], environment: environment)
        outputs.append(second.stdout + second.stderr)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("nothing to import"), "\(second.stdout)")
        #expect(try await Self.counts(databasePath) == afterFirst)

        for output in outputs {
            #expect(!output.contains(Self.urlPassword), "the URL's password was printed")
            #expect(!output.contains(Self.urlHookPassword), "a webhook URL's password was printed")
        }
        for file in [databasePath, databasePath + "-wal"] {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
            for password in [Self.hookPassword, Self.urlHookPassword] {
                #expect(bytes.range(of: Data(password.utf8)) == nil, "a webhook password is stored in \(file)")
            }
        }

        // Alice signs in at the token endpoint with her Portus password; disabled carol does not.
        let (serve, port) = try await sandbox.serve("portus", environment: environment)
        defer { serve.stop() }
        let token = { (user: String, password: String) async throws -> String in
            try await Processes.run(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "\(user):\(password)",
                    "http://127.0.0.1:\(port)/v2/token?service=registry.local&scope=repository:backend/app:pull",
                ]
            ).stdout
        }
        #expect(try await token("alice", Self.alicePassword) == "200")
        #expect(try await token("bob", Slapd.bob.password) == "200", "the LDAP user logs in as the imported account")
        #expect(try await token("alice", "not-her-password") == "401")
        #expect(try await token("carol", "someone-else-pw") == "401")
    }

    @Test func aPostgreSQLStoreImportsOnceAndOtherDatabasesAreRefusedWithoutThePassword() async throws {
        let server = try await PostgresServer.start(label: "portus-pg")
        defer { server.remove() }
        let url = try await Self.portusDatabase(on: server)
        let (storeURL, emptyURL) = try await Self.pool.run {
            (try server.createDatabase("store"), try server.createDatabase("empty"))
        }
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        try sandbox.selectPostgres()
        let environment = ["TEST_DATABASE_URL": storeURL]
        let users = { () async throws -> String in
            try await sandbox.portcullis(["user", "list"], environment: environment).stdout
        }

        let dry = try await sandbox.portcullis(
            ["import", "portus", "--database", url, "--dry-run"], environment: environment)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("33 record(s) would be imported"), "\(dry.stdout)")
        #expect(!(try await users()).contains("alice"), "a dry run on PostgreSQL rolls everything back")

        let first = try await sandbox.portcullis(["import", "portus", "--database", url], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("33 record(s) imported"), "\(first.stdout)")
        #expect(first.stdout.contains("user bob: no local password (an LDAP account); not linked"), "\(first.stdout)")
        let listed = try await users()
        #expect(listed.contains("alice") && listed.contains("dave-smith") && !listed.contains("portus"), "\(listed)")
        let second = try await sandbox.portcullis(["import", "portus", "--database", url], environment: environment)
        #expect(second.stdout.contains("nothing to import"), "\(second.stdout)")
        let audit = try await sandbox.portcullis(
            ["audit", "search", "--action", "portus.*", "--limit", "50"], environment: environment)
        #expect(audit.stdout.contains("portus.repository.push"), "\(audit.stdout)")

        let notPortus = try await sandbox.portcullis(
            ["import", "portus", "--database", emptyURL], environment: environment)
        #expect(notPortus.status == 65, "\(notPortus.stderr)")
        #expect(notPortus.stderr.contains("portus.not_a_portus_database"), "\(notPortus.stderr)")
        let unreachable = try await sandbox.portcullis(
            ["import", "portus", "--database", "postgresql://portus:\(Self.urlPassword)@127.0.0.1:1/portus"],
            environment: environment)
        #expect(unreachable.status == 69, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("cannot read the Portus database"), "\(unreachable.stderr)")
        #expect(!(unreachable.stdout + unreachable.stderr).contains(Self.urlPassword))
    }

    /// What the import must have stored, read through the store.
    static func checkImported(_ path: String) async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
        defer { Task { await store.close() } }
        try await store.read { reader in
            #expect(try reader.user(named: "portus") == nil)
            let alice = try #require(try reader.user(named: "alice"))
            #expect(alice.isAdmin && alice.isEnabled && alice.email == "alice@example.com")
            #expect(alice.displayName == "Alice A" && alice.passwordHash?.hasPrefix("$2a$") == true)
            let bob = try #require(try reader.user(named: "bob"))
            #expect(bob.passwordHash == nil)
            #expect(try reader.identityLinks(of: bob.id).map(\.providerID) == ["corp-ldap"])
            #expect(try reader.personalNamespace(of: bob.id)?.visibility == .protected)
            #expect(try reader.user(named: "carol")?.isEnabled == false)
            let dave = try #require(try reader.user(named: "dave-smith"))
            #expect(try reader.personalNamespace(of: dave.id)?.name == "dave_smith", "Portus's image paths are kept")
            #expect(try reader.countUsers() == 6)
            let opsUser = try #require(try reader.user(named: "ops"))
            let opsPersonal = try #require(try reader.personalNamespace(of: opsUser.id))
            #expect(opsPersonal.name == "ops", "a team named like a personal namespace leaves the namespace its name")
            #expect(try reader.team(id: opsPersonal.teamID)?.name == "ops0")

            let dev = try #require(try reader.team(named: "dev_team"))
            #expect(!dev.isHidden && dev.description == "The developers")
            let devRoles = Dictionary(
                uniqueKeysWithValues: try reader.members(of: dev.id).map { ($0.username, $0.role) })
            #expect(devRoles == ["bob": .owner, "dave-smith": .contributor, "carol": .viewer])
            let ops = try #require(try reader.team(named: "ops"))
            let opsRoles = Dictionary(
                uniqueKeysWithValues: try reader.members(of: ops.id).map { ($0.username, $0.role) })
            #expect(opsRoles == ["alice": .owner, "ci-bot": .contributor], "an administrator member is an owner")

            let backend = try #require(try reader.namespace(named: "backend"))
            #expect(backend.visibility == .private && backend.teamID == dev.id)
            #expect(backend.description == "Backend images\nfor the API")
            #expect(try reader.namespace(named: "shared")?.visibility == .protected)
            #expect(try reader.namespace(named: "releases")?.visibility == .public)
            #expect(try reader.allNamespaces().allSatisfy { !$0.name.contains("\\") })

            let global = try #require(try reader.globalNamespace())
            let busybox = try #require(try reader.repository(named: "busybox", in: global.id, registry: "local"))
            let latest = try #require(try reader.tag(named: "latest", in: busybox.id))
            #expect(latest.digest == "sha256:" + String(repeating: "a", count: 64) && latest.size == 1234)
            #expect(latest.pushedByID == alice.id && latest.pushedByName == "alice")
            #expect(latest.createdAt == Date(timeIntervalSince1970: 1_551_694_272))
            let app = try #require(try reader.repository(named: "app", in: backend.id, registry: "local"))
            #expect(app.description == "The API server")
            #expect(try reader.tags(in: app.id).map(\.name) == ["1.0", "latest"])
            #expect(try reader.hasStarred(bob.id, app.id))
            let shared = try #require(try reader.namespace(named: "shared"))
            let cli = try #require(try reader.repository(named: "tools/cli", in: shared.id, registry: "local"))
            #expect(try reader.tags(in: cli.id).isEmpty)
            #expect(try reader.repository(named: "old", in: backend.id, registry: "local") == nil)

            let hook = try #require(try reader.webhooks(in: backend.id).first)
            #expect(hook.url == "https://ci.example.com/hook" && hook.isEnabled)
            #expect(hook.headers.map(\.name) == ["X-Token", "Authorization"])
            #expect(hook.headers.allSatisfy { $0.value.hasPrefix("sealed:v1:") } && hook.secret.hasPrefix("sealed:v1:"))
            let releases = try #require(try reader.namespace(named: "releases"))
            let notify = try #require(try reader.webhooks(in: releases.id).first)
            #expect(notify.url == "http://notify.example.com/portus" && !notify.isEnabled)
            #expect(notify.headers.map(\.name) == ["Authorization"], "the URL's credentials moved to a sealed header")

            let imported = try reader.auditEvents(matching: AuditEventFilter(action: "portus.*"), offset: 0, limit: 50)
            #expect(imported.total == 5)
            let created = try #require(imported.events.first { $0.action == "portus.namespace.create" })
            #expect(created.actorName == "bob" && created.actorID == bob.id && created.target == "namespace:backend")
            #expect(created.time == Date(timeIntervalSince1970: 1_557_126_489))
            #expect(created.detail?.contains("\"imported_from\":\"portus\"") == true)
            let push = try #require(imported.events.first { $0.action == "portus.repository.push" })
            #expect(push.target == "repository:backend/app" && push.detail?.contains("tag:backend/app:1.0") == true)
            #expect(imported.events.contains { $0.target == "portus:Namespace#99" })
        }
    }

    /// Row counts that an import changes.
    struct Counts: Equatable {
        var users = 0, teams = 0, namespaces = 0, audit = 0, webhooks = 0
    }

    static func counts(_ path: String) async throws -> Counts {
        guard FileManager.default.fileExists(atPath: path) else { return Counts() }
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
        defer { Task { await store.close() } }
        return try await store.read { reader in
            Counts(
                users: try reader.countUsers(), teams: try reader.allTeams(includingHidden: true).count,
                namespaces: try reader.allNamespaces().count,
                audit: try reader.auditEvents(matching: AuditEventFilter(), offset: 0, limit: 1).total,
                webhooks: try reader.allWebhooks().count)
        }
    }
}
