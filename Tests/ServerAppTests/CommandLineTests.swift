import Foundation
import TestSupport
import Testing

/// Drives the built `portcullis` executable as an operator would, on a temporary config and database.
@Suite(.serialized) struct CommandLineTests {
    @Test func configCheckPrintsTheEffectiveConfigurationWithSecretsMasked() async throws {
        let sandbox = try Sandbox()
        try sandbox.writeConfig(
            "60-registry.yaml",
            """
            registries:
              - name: test
                service: registry.test
                url: http://127.0.0.1:5999
                eventsSecret: {env: TEST_EVENTS_SECRET}
            """)
        let result = try await sandbox.portcullis(
            ["config", "check"], environment: ["TEST_EVENTS_SECRET": "hunter2-secret-of-length"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("registry.test"))
        #expect(!result.stdout.contains("hunter2-secret"))
        #expect(!result.stderr.contains("hunter2-secret"))
    }

    @Test func configCheckReportsEveryProblemWithItsPositionAndExits78() async throws {
        let sandbox = try Sandbox(shippedConfiguration: false)
        try sandbox.writeConfig("70-bad.yaml", "log:\n  levle: debug\n  format: xml\n")
        let result = try await sandbox.portcullis(["config", "check"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("70-bad.yaml:2:3"))
        #expect(result.stderr.contains("levle"))
        #expect(result.stderr.contains("70-bad.yaml:3:11"))
    }

    @Test func unknownCommandsAndOptionsAreUsageErrors() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["frobnicate"]).status == 64)
        #expect(try await sandbox.portcullis(["user", "list", "--bogus"]).status == 64)
        #expect(try await sandbox.portcullis(["user"]).status == 64)
        let help = try await sandbox.portcullis(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("keys generate"))
    }

    @Test func usersAreCreatedWithAPasswordFromStandardInputAndListed() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["db", "migrate"]).status == 0)
        let created = try await sandbox.portcullis(
            ["user", "create", "Alice-Smith", "--email", "alice@example.com", "--admin", "--password-stdin"],
            input: "correct horse battery staple\n")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("alice-smith"), "the personal namespace keeps the dash")
        let duplicate = try await sandbox.portcullis(
            ["user", "create", "Alice-Smith", "--password-stdin"], input: "another password\n")
        #expect(duplicate.status == 65)
        let listed = try await sandbox.portcullis(["user", "list"])
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("Alice-Smith"))
        #expect(listed.stdout.contains("admin"))
        #expect(!listed.stdout.contains("correct horse"))
        let lastAdmin = try await sandbox.portcullis(["user", "disable", "Alice-Smith"])
        #expect(lastAdmin.status == 65, "the last enabled administrator cannot be disabled")
        #expect(lastAdmin.stderr.contains("last enabled administrator"))
        #expect(try await sandbox.portcullis(["user", "create", "bob", "--no-password"]).status == 0)
        #expect(try await sandbox.portcullis(["user", "make-admin", "bob"]).status == 0)
        #expect(try await sandbox.portcullis(["user", "disable", "Alice-Smith"]).status == 0)
        #expect(try await sandbox.portcullis(["user", "list"]).stdout.contains("disabled"))
        #expect(try await sandbox.portcullis(["user", "make-admin", "nobody"]).status == 65)
    }

    @Test func passwordsAreNeverAcceptedAsArguments() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.portcullis(["user", "create", "bob", "--password", "secret123"])
        #expect(result.status == 64)
        #expect(!result.stderr.contains("secret123"))
    }

    @Test func teamsAndNamespacesAreManagedFromTheCommandLine() async throws {
        let sandbox = try Sandbox()
        #expect(
            try await sandbox.portcullis(["user", "create", "carol", "--password-stdin"], input: "pw-carol-123\n")
                .status == 0
        )
        let team = try await sandbox.portcullis([
            "team", "create", "qa", "--owner", "carol", "--description", "Quality",
        ])
        #expect(team.status == 0, "\(team.stderr)")
        #expect(try await sandbox.portcullis(["user", "create", "dave", "--no-password"]).status == 0)
        #expect(try await sandbox.portcullis(["team", "add-member", "qa", "dave", "--role", "viewer"]).status == 0)
        #expect(try await sandbox.portcullis(["team", "add-member", "qa", "dave", "--role", "boss"]).status == 64)
        let namespace = try await sandbox.portcullis(["namespace", "create", "qa-images", "--team", "qa"])
        #expect(namespace.status == 0, "\(namespace.stderr)")
        #expect(try await sandbox.portcullis(["namespace", "set-visibility", "qa-images", "public"]).status == 0)
        #expect(try await sandbox.portcullis(["namespace", "create", "Bad Name", "--team", "qa"]).status == 65)
        #expect(try await sandbox.portcullis(["namespace", "create", "other", "--team", "missing"]).status == 65)
    }

    @Test func keysGenerateWritesAPrivateKeyWithMode0600AndAMatchingCertificate() async throws {
        let sandbox = try Sandbox()
        let key = sandbox.root.appendingPathComponent("out/key.pem").path
        let certificate = sandbox.root.appendingPathComponent("out/cert.pem").path
        for type in ["ec", "rsa"] {
            let result = try await sandbox.portcullis(
                ["keys", "generate", "--type", type, "--key", key, "--certificate", certificate, "--force"])
            #expect(result.status == 0, "\(result.stderr)")
            let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let keyModulus = try await Processes.run("/usr/bin/openssl", ["pkey", "-in", key, "-pubout"]).stdout
            let certKey = try await Processes.run(
                "/usr/bin/openssl", ["x509", "-in", certificate, "-noout", "-pubkey"]
            ).stdout
            #expect(!keyModulus.isEmpty && keyModulus == certKey)
        }
        let refused = try await sandbox.portcullis(["keys", "generate", "--key", key, "--certificate", certificate])
        #expect(refused.status == 73, "an existing key is never overwritten without --force")
        #expect(
            try await sandbox.portcullis([
                "keys", "generate", "--type", "rsa", "--bits", "1024", "--key", key,
                "--certificate", certificate, "--force",
            ]).status == 64)
    }

    @Test func applicationTokensAreShownOnceListedWithoutTheirSecretAndRevoked() async throws {
        let sandbox = try Sandbox()
        #expect(
            try await sandbox.portcullis(["user", "create", "erin", "--password-stdin"], input: "pw-erin-1234\n").status
                == 0)
        let created = try await sandbox.portcullis(
            ["token", "create", "erin", "ci", "--namespace", "erin", "--action", "pull", "--expires-in", "7d"])
        #expect(created.status == 0, "\(created.stderr)")
        let token = try #require(created.stdout.split(separator: "\n").last.map(String.init))
        #expect(token.hasPrefix("pct_") && token.count > 40)
        let listed = try await sandbox.portcullis(["token", "list", "erin"])
        #expect(listed.stdout.contains("ci") && listed.stdout.contains("pull"))
        #expect(!listed.stdout.contains(token))
        #expect(
            try await sandbox.portcullis(["token", "create", "erin", "ci"]).status == 65, "names are unique per owner")
        #expect(try await sandbox.portcullis(["token", "create", "erin", "x", "--action", "admin"]).status == 64)
        let api = try await sandbox.portcullis(
            ["token", "create", "erin", "dashboard", "--action", "api:read", "--action", "api:write"])
        #expect(api.status == 0, "\(api.stderr)")
        #expect(try await sandbox.portcullis(["token", "list", "erin"]).stdout.contains("api:read"))
        #expect(try await sandbox.portcullis(["token", "revoke", "erin", "ci"]).status == 0)
        #expect(try await sandbox.portcullis(["token", "list", "erin"]).stdout.contains("revoked"))
        #expect(try await sandbox.portcullis(["token", "revoke", "nobody", "ci"]).status == 65)
    }

    @Test func aRotatedKeyIsPublishedInTheBundleAndJWKSBeforeItSigns() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["keys", "generate"]).status == 0)
        let rotated = try await sandbox.portcullis(
            [
                "keys", "rotate", "--activate-in", "1h", "--key", "var/keys/next.pem", "--certificate",
                "var/keys/next-cert.pem",
            ])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.stdout.contains("signs tokens from"))
        // The token section may be defined once: replace the shipped fragment with one listing both keys.
        try FileManager.default.removeItem(at: sandbox.configDirectory.appendingPathComponent("20-token.yaml"))
        try sandbox.writeConfig(
            "20-token.yaml",
            """
            token:
              signingKeys:
                - {key: var/keys/signing-key.pem, certificate: var/keys/signing-cert.pem}
                - {key: var/keys/next.pem, certificate: var/keys/next-cert.pem}
            """)
        let bundle = try await sandbox.portcullis(["keys", "bundle"])
        #expect(bundle.status == 0, "\(bundle.stderr)")
        #expect(bundle.stdout.components(separatedBy: "BEGIN CERTIFICATE").count == 3)
        let jwks = try await sandbox.portcullis(["keys", "jwks", "--output", "jwks.json"])
        #expect(jwks.status == 0, "\(jwks.stderr)")
        let text = try String(contentsOf: sandbox.root.appendingPathComponent("jwks.json"), encoding: .utf8)
        #expect(text.components(separatedBy: "\"kid\"").count == 3)
    }

    @Test func tokenRequestsAreAuditedAndTheLogIsShownAndExported() async throws {
        let sandbox = try Sandbox()
        #expect(
            try await sandbox.portcullis(["user", "create", "fay", "--password-stdin"], input: "pw-fay-12345\n").status
                == 0)
        let port = try freePort()
        let server = try sandbox.start(["serve"], environment: ["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"])
        _ = try await waitForHTTP(port: port, path: "/healthz")
        let denied = try await Processes.run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "fay:wrong-password",
                "http://127.0.0.1:\(port)/v2/token?service=registry.local&scope=repository:fay/app:pull",
            ])
        #expect(denied.stdout == "401")
        kill(server.pid, SIGTERM)
        #expect(await waitForExit(server, seconds: 20))

        let tail = try await sandbox.portcullis(["audit", "tail", "--lines", "5"])
        #expect(tail.status == 0, "\(tail.stderr)")
        #expect(tail.stdout.contains("token.issue") && tail.stdout.contains("actor=fay"))
        #expect(!tail.stdout.contains("wrong-password"))
        let export = try await sandbox.portcullis(["audit", "export", "--csv"])
        #expect(export.status == 0)
        let lines = export.stdout.split(separator: "\r\n")
        #expect(lines.first == "id,time,actor,action,target,outcome,client_ip,detail,count,last_time")
        #expect(lines.contains { $0.contains("token.issue") && $0.contains("fay") && $0.contains("denied") })
    }

    @Test func serveAnswersHealthReadinessAndMetricsThenStopsCleanlyOnSIGTERM() async throws {
        let sandbox = try Sandbox()
        let port = try freePort()
        let server = try sandbox.start(["serve"], environment: ["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"])
        defer { if server.isRunning { server.terminate() } }
        let health = try await waitForHTTP(port: port, path: "/healthz")
        #expect(health.status == 200)
        let ready = try await httpGet(port: port, path: "/readyz")
        #expect(ready.status == 200, "\(ready.body)")
        let metrics = try await httpGet(port: port, path: "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("portcullis_http_requests_total"))
        #expect(metrics.body.contains("portcullis_http_open_connections"))
        #expect(
            FileManager.default.fileExists(
                atPath: sandbox.root.appendingPathComponent("var/keys/signing-key.pem").path),
            "the first start generates a signing key")
        #expect(
            FileManager.default.fileExists(atPath: sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path))
        kill(server.pid, SIGTERM)
        let exited = await waitForExit(server, seconds: 20)
        #expect(exited)
        #expect(server.terminationStatus == 0)
    }

    @Test func serveRefusesAnInvalidConfigurationWithoutStarting() async throws {
        let sandbox = try Sandbox()
        try sandbox.writeConfig("70-typo.yaml", "polcy:\n  pushImages: admin-only\n")
        let result = try await sandbox.portcullis(["serve"], environment: ["PORTCULLIS_SERVER_LISTEN": "nowhere"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("PORTCULLIS_SERVER_LISTEN"), "\(result.stderr)")
        #expect(result.stderr.contains("70-typo.yaml:1:1"), "every problem is reported at once")
        #expect(result.stderr.contains("policy"), "an unknown key gets a suggestion")
        #expect(
            !FileManager.default.fileExists(atPath: sandbox.root.appendingPathComponent("var").path),
            "nothing is created before the configuration is valid")
    }
}

// MARK: - Helpers

/// A temporary working directory with a copy of the shipped config.d, where `var/` is created.
struct Sandbox {
    let root: URL
    let configDirectory: URL

    /// Creates the directory with the shipped config.d, or with an empty one.
    init(shippedConfiguration: Bool = true) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-cli-\(UUID().uuidString)")
        configDirectory = root.appendingPathComponent("config.d")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        if shippedConfiguration {
            try FileManager.default.copyItem(at: packageRoot.appendingPathComponent("config.d"), to: configDirectory)
        } else {
            try FileManager.default.createDirectory(at: configDirectory, withIntermediateDirectories: true)
        }
    }

    func writeConfig(_ name: String, _ text: String) throws {
        try text.write(to: configDirectory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// Selects PostgreSQL (`90-postgres.yaml`), the URL given by reference through `TEST_DATABASE_URL` in the
    /// environment of each command.
    func selectPostgres() throws {
        try writeConfig(
            "90-postgres.yaml",
            """
            storage:
              driver: postgres
              postgres:
                url: {env: TEST_DATABASE_URL}
                poolSize: 2
                statementTimeout: 10s

            """)
    }

    func portcullis(_ arguments: [String], input: String? = nil, environment: [String: String] = [:])
        async throws -> ProcessResult
    {
        try await Processes.run(
            portcullisExecutable.path, arguments + ["--config", configDirectory.path], input: input,
            environment: environment, removing: ["PORTCULLIS_"], directory: root)
    }

    /// Starts `serve` on a free loopback port with `environment` (logging to `serve-LABEL.log`) and waits, at most
    /// 120 s, until `/readyz` answers 200; stops it and fails the test when it never does.
    func serve(_ label: String, environment: [String: String] = [:]) async throws
        -> (process: BackgroundProcess, port: Int)
    {
        let port = try freePort()
        let process = try BackgroundProcess(
            name: "portcullis-\(label)", executable: portcullisExecutable.path,
            arguments: ["serve", "--config", configDirectory.path],
            environment: environment.merging(["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"]) { $1 },
            removing: ["PORTCULLIS_"], directory: root, logFile: root.appendingPathComponent("serve-\(label).log"))
        let ready = try await waitUntil(seconds: 120) {
            guard process.isRunning else { return false }
            return (try? await httpGet(port: port, path: "/readyz"))?.status == 200
        }
        if !ready { process.stop() }
        try #require(ready, "serve (\(label)) never became ready\n\(process.logTail())")
        return (process, port)
    }

    func start(_ arguments: [String], environment: [String: String] = [:]) throws -> ChildProcess {
        try ChildProcess(
            portcullisExecutable.path, arguments + ["--config", configDirectory.path],
            environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
            directory: root.path)
    }
}

struct SimpleResponse {
    var status: Int
    var body: String
}

/// A minimal blocking HTTP/1.1 GET over a fresh loopback connection (`Connection: close`).
func httpGet(port: Int, path: String) async throws -> SimpleResponse {
    let result = try await Processes.run(
        "/usr/bin/curl", ["-s", "-m", "60", "-o", "-", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"])
    guard result.status == 0, let newline = result.stdout.lastIndex(of: "\n") else {
        throw POSIXError(.ECONNREFUSED)
    }
    return SimpleResponse(
        status: Int(result.stdout[result.stdout.index(after: newline)...]) ?? 0,
        body: String(result.stdout[..<newline]))
}

func waitForHTTP(port: Int, path: String, seconds: Double = 120) async throws -> SimpleResponse {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if let response = try? await httpGet(port: port, path: path) { return response }
        if Date() > deadline { throw POSIXError(.ETIMEDOUT) }
        try await Task.sleep(for: .milliseconds(100))
    }
}

func waitForExit(_ process: ChildProcess, seconds: Double) async -> Bool {
    await process.exited(within: seconds)
}
