import CryptoCore
import Foundation
import TestSupport
import Testing

/// Webhook secrets at rest and refresh tokens, driven through the real `portcullis` binary.
@Suite(.serialized) struct SecretsAtRestCommandTests {
    private func sandboxWithNamespace() async throws -> Sandbox {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["team", "create", "owners"]).status == 0)
        #expect(try await sandbox.portcullis(["namespace", "create", "alpha", "--team", "owners"]).status == 0)
        return sandbox
    }

    /// The database's bytes as they are on disk: the main file and any WAL.
    private func databaseBytes(_ sandbox: Sandbox) -> [UInt8] {
        let path = sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path
        return [path, path + "-wal"].compactMap { FileManager.default.contents(atPath: $0) }.flatMap { [UInt8]($0) }
    }

    private func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let bytes = Array(needle.utf8)
        guard haystack.count >= bytes.count else { return false }
        return (0...(haystack.count - bytes.count)).contains { haystack[$0..<($0 + bytes.count)].elementsEqual(bytes) }
    }

    private func sqlite(_ sandbox: Sandbox, _ sql: String) async throws -> ProcessResult {
        try await Processes.run(
            "/usr/bin/sqlite3", [sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path, sql])
    }

    @Test func webhookCreateGeneratesTheKeyAndStoresNeitherSecretNorHeaderValueInTheFile() async throws {
        let sandbox = try await sandboxWithNamespace()
        let created = try await sandbox.portcullis([
            "webhook", "create", "alpha", "https://hooks.example/in", "--header", "Authorization: Bearer hidden-4711",
        ])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stderr.contains("generated the webhook secrets key var/keys/secrets.key"), "\(created.stderr)")
        let secret = try #require(created.stdout.split(separator: "\n").last.map { String($0.dropFirst(8)) })
        #expect(secret.count == 64)

        let keyPath = sandbox.root.appendingPathComponent("var/keys/secrets.key").path
        let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let keyText = try String(contentsOfFile: keyPath, encoding: .utf8)
        #expect(try AEADKey(base64: keyText).description == "AEADKey(***)")

        let bytes = databaseBytes(sandbox)
        #expect(contains(bytes, "hooks.example/in"), "the search works on this file")
        #expect(!contains(bytes, secret))
        #expect(!contains(bytes, "hidden-4711"))
        let stored = try await sqlite(sandbox, "SELECT secret FROM webhooks; SELECT value FROM webhook_headers;")
        #expect(stored.stdout.split(separator: "\n").count == 2)
        #expect(stored.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("sealed:v1:") }, "\(stored.stdout)")

        let listed = try await sandbox.portcullis(["webhook", "list"])
        #expect(listed.stdout.contains("Authorization: ***"), "\(listed.stdout)")
        #expect(!listed.stdout.contains("hidden-4711") && !listed.stdout.contains(secret))

        let again = try await sandbox.portcullis(["webhook", "create", "alpha", "https://hooks.example/two"])
        #expect(again.status == 0)
        #expect(!again.stderr.contains("generated the webhook secrets key"), "the key is made once")
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == keyText)
    }

    @Test func serveSealsAPlainTextRowWrittenBeforeEncryption() async throws {
        let sandbox = try await sandboxWithNamespace()
        let inserted = try await sqlite(
            sandbox,
            """
            INSERT INTO webhooks (namespace_id, url, format, events, is_enabled, secret, created_at, updated_at)
            VALUES ((SELECT id FROM namespaces WHERE name = 'alpha'), 'https://legacy.example/', 'json', 'push', 1,
                    'legacy-plain-secret-0815', 0, 0);
            INSERT INTO webhook_headers (webhook_id, position, name, value)
            VALUES (last_insert_rowid(), 0, 'X-Token', 'legacy-plain-header-0815');
            """)
        #expect(inserted.status == 0, "\(inserted.stderr)")
        #expect(contains(databaseBytes(sandbox), "legacy-plain-secret-0815"))

        let (server, _) = try await sandbox.serve()
        defer { if server.isRunning { server.terminate() } }
        kill(server.pid, SIGTERM)
        #expect(await waitForExit(server, seconds: 20))

        let stored = try await sqlite(sandbox, "SELECT secret FROM webhooks; SELECT value FROM webhook_headers;")
        #expect(stored.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("sealed:v1:") }, "\(stored.stdout)")
        let bytes = databaseBytes(sandbox)
        #expect(!contains(bytes, "legacy-plain-secret-0815"))
        #expect(!contains(bytes, "legacy-plain-header-0815"))
    }

    @Test func aKeyFileThatIsNotAKeyIsAConfigurationError() async throws {
        let sandbox = try await sandboxWithNamespace()
        let keys = sandbox.root.appendingPathComponent("var/keys")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        try "not a key\n".write(to: keys.appendingPathComponent("secrets.key"), atomically: true, encoding: .utf8)
        let created = try await sandbox.portcullis(["webhook", "create", "alpha", "https://hooks.example/in"])
        #expect(created.status == 78)
        #expect(created.stderr.contains("webhooks.secretsKey"), "\(created.stderr)")
        #expect(!created.stderr.contains("not a key"), "the key file's content is never echoed")
        #expect(try await sqlite(sandbox, "SELECT count(*) FROM webhooks;").stdout == "0\n")
    }

    @Test func refreshTokensAreListedWithoutSecretsAndRevokedOneByOne() async throws {
        let sandbox = try Sandbox()
        let fay = try await sandbox.portcullis(["user", "create", "fay", "--password-stdin"], input: "pw-fay-12345\n")
        #expect(fay.status == 0, "\(fay.stderr)")
        let (server, port) = try await sandbox.serve()
        defer { if server.isRunning { server.terminate() } }
        let base = "http://127.0.0.1:\(port)/v2/token"

        var tokens: [String] = []
        // The second agent carries a C1 CSI (U+009B), which HTTP lets through as obs-text.
        for agent in ["docker/27.1 (linux)", "podman/5.0\u{9B}2J"] {
            let login = try await Processes.run(
                "/usr/bin/curl",
                ["-s", "-u", "fay:pw-fay-12345", "-A", agent, "\(base)?service=registry.local&offline_token=true"])
            let object = try JSONSerialization.jsonObject(with: Data(login.stdout.utf8)) as? [String: Any]
            tokens.append(try #require(object?["refresh_token"] as? String, "\(login.stdout)"))
        }

        let listed = try await sandbox.portcullis(["token", "refresh", "list", "fay"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("ID") == true && lines.first?.contains("LAST USED") == true)
        #expect(lines.count == 3, "\(listed.stdout)")
        #expect(listed.stdout.contains("docker/27.1 (linux)"))
        #expect(
            !listed.stdout.contains("\u{9B}") && listed.stdout.contains(#"podman/5.0\x9b2J"#), "escapes are defused")
        for token in tokens {
            #expect(!listed.stdout.contains(token))
            #expect(!listed.stdout.contains(Hex.encode(Digest.sha256(token))))
            #expect(!listed.stdout.contains(String(token.dropFirst(4).prefix(12))))
        }

        let revoked = try await sandbox.portcullis(["token", "refresh", "revoke", "fay", "1"])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(try await sandbox.portcullis(["token", "refresh", "revoke", "fay", "1"]).status == 65)
        #expect(try await sandbox.portcullis(["token", "refresh", "revoke", "fay", "one"]).status == 64)
        #expect(try await sandbox.portcullis(["token", "refresh", "list", "nobody"]).status == 65)
        #expect(try await sandbox.portcullis(["token", "refresh", "forget", "fay"]).status == 64)
        #expect(
            try await sandbox.portcullis(["token", "refresh", "list", "fay"]).stdout.split(separator: "\n").count == 2)

        var answers: [String] = []
        for token in tokens {
            let exchange = try await Processes.run(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-d", "grant_type=refresh_token", "-d",
                    "refresh_token=\(token)", "-d", "service=registry.local", "-d", "client_id=docker", base,
                ])
            answers.append(exchange.stdout)
        }
        #expect(answers == ["400", "200"], "the revoked token is refused at once, the other still works")
        kill(server.pid, SIGTERM)
        #expect(await waitForExit(server, seconds: 20))
        let audit = try await sandbox.portcullis(["audit", "tail", "--lines", "20"])
        #expect(audit.stdout.contains("refresh_token.revoke"))
    }
}

extension Sandbox {
    /// Starts `serve` on a free loopback port and waits until it answers `/healthz`.
    func serve() async throws -> (process: ChildProcess, port: Int) {
        let port = try freePort()
        let server = try start(["serve"], environment: ["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"])
        _ = try await waitForHTTP(port: port, path: "/healthz")
        return (server, port)
    }
}
