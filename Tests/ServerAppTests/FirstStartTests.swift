import Foundation
import TestSupport
import Testing

/// What `make run` does on a fresh clone: the real binary serving the shipped config.d from an empty
/// working directory creates what is missing and logs no error; `registry config` prints the block the
/// registry needs, with the secret serve uses.
@Suite(.serialized) struct FirstStartTests {
    /// The registry events secret the shipped 50-registries.yaml names, relative to the working directory.
    static let shippedSecretFile = "var/keys/registry-events.secret"

    /// Starts `serve` in `sandbox` on a free port and waits until it has started its worker (the last
    /// thing it does at start) and answers /readyz; the log is `serve-N.log` in the sandbox.
    private func serve(_ sandbox: Sandbox, run: Int) async throws -> (BackgroundProcess, Int) {
        let port = try freePort()
        let server = try BackgroundProcess(
            name: "portcullis", executable: portcullisExecutable.path,
            arguments: ["serve", "--config", sandbox.configDirectory.path],
            environment: ["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"], removing: ["PORTCULLIS_"],
            directory: sandbox.root, logFile: sandbox.root.appendingPathComponent("serve-\(run).log"))
        let started = try await waitUntil(seconds: 120) {
            guard server.isRunning else { return false }
            let log = (try? String(contentsOf: server.logFile, encoding: .utf8)) ?? ""
            guard log.contains("registry event worker started") else { return false }
            return (try? await httpGet(port: port, path: "/readyz"))?.status == 200
        }
        if !started { server.stop() }
        try #require(started, "serve never became ready\n\(server.logTail())")
        return (server, port)
    }

    @Test func theFirstStartOfTheShippedConfigurationCreatesTheEventsSecretAndLogsNoErrorOrWarning() async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        let (server, _) = try await serve(sandbox, run: 1)
        server.stop()
        let log = try String(contentsOf: server.logFile, encoding: .utf8)
        let complaints = log.split(separator: "\n").filter {
            $0.contains("level=error") || $0.contains("level=warning")
        }
        #expect(complaints.isEmpty, "\(log)")

        let secretPath = sandbox.root.appendingPathComponent(Self.shippedSecretFile).path
        let secret = try String(contentsOfFile: secretPath, encoding: .utf8)
        #expect(secret.count == 65 && secret.hasSuffix("\n"), "64 hex digits and a newline")
        #expect(secret.dropLast().allSatisfy { $0.isHexDigit })
        let attributes = try FileManager.default.attributesOfItem(atPath: secretPath)
        let mode = try #require(attributes[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(log.contains("generated the registry's events secret"), "the first start says what it made")
        #expect(log.contains("file=\(Self.shippedSecretFile)"))
        #expect(!log.contains(String(secret.dropLast())), "the secret itself is never logged")

        // A second start keeps the secret (the registry holds a copy) and says nothing about it.
        let (again, _) = try await serve(sandbox, run: 2)
        again.stop()
        let secondLog = try String(contentsOf: again.logFile, encoding: .utf8)
        #expect(try String(contentsOfFile: secretPath, encoding: .utf8) == secret)
        #expect(!secondLog.contains("generated"))
        #expect(!secondLog.contains("level=error"), "\(secondLog)")
    }

    @Test func registryConfigPrintsTheBlockForTheRegistryWithTheSecretServeUses() async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        let environment = [
            "PORTCULLIS_SERVER_PUBLIC_URL": "https://auth.example.com/", "PORTCULLIS_TOKEN_ISSUER": "example-issuer",
        ]
        let result = try await sandbox.portcullis(["registry", "config"], environment: environment)
        #expect(result.status == 0, "\(result)")
        let secret = try String(
            contentsOfFile: sandbox.root.appendingPathComponent(Self.shippedSecretFile).path, encoding: .utf8
        ).trimmingCharacters(in: .newlines)
        let certificate = sandbox.root.appendingPathComponent("var/keys/signing-cert.pem").path
        let lines = result.stdout.components(separatedBy: "\n")
        for expected in [
            "auth:", "  token:", "    realm: \"https://auth.example.com/v2/token\"", "    service: \"registry.local\"",
            "    issuer: \"example-issuer\"", "    rootcertbundle: \"\(certificate)\"", "notifications:",
            "      url: \"https://auth.example.com/v2/webhooks/events\"",
            "        Authorization: [\"Bearer \(secret)\"]",
        ] {
            #expect(lines.contains(expected), "missing \(expected) in:\n\(result.stdout)")
        }
        #expect(FileManager.default.fileExists(atPath: certificate), "run before the first start, it makes the key")
        #expect(result.stderr.contains("generated the events secret of registry 'local'"))

        let again = try await sandbox.portcullis(["registry", "config"], environment: environment)
        #expect(again.stdout == result.stdout, "the same block every time: nothing is regenerated")
        #expect(!again.stderr.contains("generated"))
    }

    @Test func registryConfigWritesOneBundleWhenSeveralKeysSignAndSaysSoWhenOneIsNeeded() async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        try await #require(sandbox.portcullis(["keys", "generate"]).succeeded)
        try await #require(
            sandbox.portcullis([
                "keys", "generate", "--key", "var/keys/next-key.pem", "--certificate", "var/keys/next-cert.pem",
            ]).succeeded)
        try sandbox.writeConfig(
            "99-local.yaml",
            """
            token:
              signingKeys:
                - {key: var/keys/signing-key.pem, certificate: var/keys/signing-cert.pem}
                - {key: var/keys/next-key.pem, certificate: var/keys/next-cert.pem}

            """)
        let refused = try await sandbox.portcullis(["registry", "config"])
        #expect(refused.status == 64, "\(refused)")
        #expect(refused.stderr.contains("--bundle"))

        let bundle = sandbox.root.appendingPathComponent("bundle.pem").path
        let result = try await sandbox.portcullis(["registry", "config", "--bundle", "bundle.pem"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("    rootcertbundle: \"\(bundle)\""))
        let pem = try String(contentsOfFile: bundle, encoding: .utf8)
        #expect(pem.components(separatedBy: "-----BEGIN CERTIFICATE-----").count == 3)
    }

    @Test(arguments: [
        (
            "registries:\n  - {name: other, service: s, url: \"http://127.0.0.1:5001\"}\n", ["registry", "config"], 64,
            "choose one with --registry"
        ),
        ("", ["registry", "config", "--registry", "nope"], 65, "no registry named 'nope'"),
        (
            "registries:\n  - {name: local, eventsSecret: {env: UNSET_EVENTS_SECRET}}\n", ["registry", "config"], 78,
            "cannot be read here"
        ),
    ])
    func registryConfigRefusesWhatItCannotAnswerExactly(
        fragment: String, arguments: [String], status: Int32, says: String
    )
        async throws
    {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        if !fragment.isEmpty { try sandbox.writeConfig("99-local.yaml", fragment) }
        let result = try await sandbox.portcullis(arguments)
        #expect(result.status == status, "\(result)")
        #expect(result.stderr.contains(says), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func aRegistryWithoutAnEventsSecretGetsTheAuthSectionAndAWarningAboutNotifications() async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        try sandbox.writeConfig("99-local.yaml", "registries:\n  - {name: local, eventsSecret: null}\n")
        let result = try await sandbox.portcullis(["registry", "config"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("auth:"))
        #expect(!result.stdout.contains("notifications:"))
        #expect(result.stderr.contains("no eventsSecret"))
    }
}
