import Foundation
import TestSupport
import Testing

/// `config check` validates what `serve` validates, reports every problem at once with `file:line:column`,
/// and `serve` of the real binary refuses to start on the same problems.
@Suite(.serialized) struct ConfigCheckTests {
    /// A shared secret long enough for the floor.
    static let goodSecret = "0123456789abcdef-events"

    func expectRefused(
        _ result: ProcessResult, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status == 78, "\(result)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(
                result.stderr.contains(fragment), "missing '\(fragment)' in:\n\(result.stderr)",
                sourceLocation: sourceLocation)
        }
    }

    @Test func providersConfigBlocksAreCheckedStrictlyAndEveryProblemIsReportedAtOnce() async throws {
        let sandbox = try Sandbox()
        try sandbox.writeConfig(
            "45-more.yaml",
            """
            providers:
              - id: typo
                type: ldap
                config:
                  url: ldap://127.0.0.1:389
                  startTSL: true
                  user: {baseDN: "ou=people,dc=example,dc=org"}
              - id: inline
                type: ldap
                config:
                  url: ldap://127.0.0.1:389
                  bindDN: cn=svc,dc=example,dc=org
                  bindPassword: hunter2
                  user: {baseDN: "ou=people,dc=example,dc=org"}
              - id: nouser
                type: ldap
                config:
                  url: ldap://127.0.0.1:389
              - id: strange
                type: oauth9
              - id: wrong
                type: local
                config:
                  lockout: {attempts: many}
            """)
        try sandbox.writeConfig(
            "60-registry.yaml",
            """
            registries:
              - name: short
                service: registry.short
                url: http://127.0.0.1:5999
                eventsSecret: {env: SHORT_SECRET}
            """)
        let result = try await sandbox.portcullis(["config", "check"], environment: ["SHORT_SECRET": "too-short"])
        expectRefused(
            result,
            [
                "45-more.yaml:6:7: providers[2].config.startTSL: unknown key; did you mean 'startTLS'?",
                "45-more.yaml:13:21:", "bindPassword",
                "45-more.yaml:18:7:", "user", "45-more.yaml:20:11: providers[", "oauth9",
                "45-more.yaml:24:27:", "attempts",
                "60-registry.yaml:5:19: registries[1].eventsSecret", "9 bytes", "at least 16",
            ])
        #expect(!result.stderr.contains("too-short"), "the secret itself is never shown")
        #expect(!result.stderr.contains("hunter2"))
    }

    @Test func aNonUTF8ByteIsReportedWhereItIs() async throws {
        let sandbox = try Sandbox(shippedConfiguration: false)
        var bytes = Array("log:\n  level: info\n  format: lo".utf8)
        bytes += [0xE9]  // Latin-1 é
        bytes += Array("gfmt\n".utf8)
        try Data(bytes).write(to: sandbox.configDirectory.appendingPathComponent("00-latin1.yaml"))
        let result = try await sandbox.portcullis(["config", "check"])
        expectRefused(result, ["00-latin1.yaml:3:13:", "0xE9", "UTF-8"])
    }

    @Test func aShortEventsSecretGivenOnlyWhereServeRunsStopsServeWithItsKeyPath() async throws {
        let sandbox = try Sandbox()
        let secretFile = sandbox.root.appendingPathComponent("events.secret")
        try Data("short\n".utf8).write(to: secretFile)
        chmod(secretFile.path, 0o600)
        try sandbox.writeConfig(
            "60-registry.yaml",
            """
            registries:
              - name: by-file
                service: registry.file
                url: http://127.0.0.1:5999
                eventsSecret: {file: \(secretFile.path)}
            """)
        let check = try await sandbox.portcullis(["config", "check"])
        expectRefused(check, ["60-registry.yaml:5:19: registries[1].eventsSecret", "5 bytes"])
        // The shipped registry's secret, overridden to come from a variable only the server's environment has.
        try FileManager.default.removeItem(at: sandbox.configDirectory.appendingPathComponent("60-registry.yaml"))
        try sandbox.writeConfig(
            "99-local.yaml",
            "registries:\n  - name: local\n    eventsSecret: {env: PORTCULLIS_REGISTRY_EVENTS_SECRET}\n")
        #expect(try await sandbox.portcullis(["config", "check"]).status == 0)
        let serve = try await sandbox.portcullis(
            ["serve"],
            environment: ["PORTCULLIS_REGISTRY_EVENTS_SECRET": "guessable", "PORTCULLIS_SERVER_LISTEN": "127.0.0.1:0"])
        expectRefused(serve, ["99-local.yaml:3:19: registries[0].eventsSecret", "9 bytes"])
    }

    @Test func looseModesOnTheDatabaseKeysAndSecretsAreRefusedWithTheChmodToRun() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["db", "migrate"]).status == 0)
        let keys = try await sandbox.portcullis(["keys", "generate"])
        #expect(keys.status == 0, "\(keys.stderr)")
        let database = sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path
        let key = sandbox.root.appendingPathComponent("var/keys/signing-key.pem").path
        let secretFile = sandbox.root.appendingPathComponent("events secret").path
        _ = FileManager.default.createFile(atPath: secretFile, contents: Data(Self.goodSecret.utf8))
        for path in [database, key, secretFile] { chmod(path, 0o644) }
        try sandbox.writeConfig(
            "60-registry.yaml",
            """
            registries:
              - name: by-file
                service: registry.file
                url: http://127.0.0.1:5999
                eventsSecret: {file: "\(secretFile)"}
            """)
        let check = try await sandbox.portcullis(["config", "check"])
        expectRefused(
            check,
            [
                "10-storage.yaml:9:11: storage.sqlite.path: var/portcullis.sqlite3 is open to group or others (mode 0644)",
                "20-token.yaml", "token.signingKeys[0].key", "60-registry.yaml:5:19: registries[1].eventsSecret",
                "chmod 600 var/portcullis.sqlite3 var/keys/signing-key.pem '\(secretFile)'",
            ])
        let serve = try await sandbox.portcullis(["serve"], environment: ["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:0"])
        expectRefused(serve, ["chmod 600 var/portcullis.sqlite3 var/keys/signing-key.pem"])
        // The operator may accept loose modes explicitly.
        let allowed = try await sandbox.portcullis(
            ["config", "check"], environment: ["PORTCULLIS_STORAGE_ALLOW_LOOSE_MODES": "true"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        for path in [database, key, secretFile] { chmod(path, 0o600) }
        #expect(try await sandbox.portcullis(["config", "check"]).status == 0)
    }

    @Test func aMissingSigningCertificateIsReportedByCheckAndStopsServe() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["keys", "generate"]).status == 0)
        try FileManager.default.removeItem(at: sandbox.root.appendingPathComponent("var/keys/signing-cert.pem"))
        let check = try await sandbox.portcullis(["config", "check"])
        expectRefused(
            check, ["20-token.yaml", "token.signingKeys[0].certificate", "var/keys/signing-cert.pem is missing"])
        let serve = try await sandbox.portcullis(["serve"], environment: ["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:0"])
        expectRefused(serve, ["token.signingKeys[0].certificate", "var/keys/signing-cert.pem is missing"])
    }

    @Test func aFirstStartStillCreatesTheDatabaseAndKeyOwnerOnlyAndPassesTheCheck() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["config", "check"]).status == 0, "nothing exists yet: nothing to refuse")
        #expect(try await sandbox.portcullis(["db", "migrate"]).status == 0)
        #expect(try await sandbox.portcullis(["keys", "generate"]).status == 0)
        let check = try await sandbox.portcullis(["config", "check"])
        #expect(check.status == 0, "\(check.stderr)")
    }
}

extension ConfigCheckTests {
    @Test func everyProblemInsideOneProvidersBlockIsReported() async throws {
        let sandbox = try Sandbox()
        try sandbox.writeConfig(
            "45-ldap.yaml",
            """
            providers:
              - id: corp
                type: ldap
                config:
                  url: ldap://127.0.0.1:389
                  startTSL: true
                  connectTimeout: soon
                  bindDN: cn=svc,dc=example,dc=org
                  bindPassword: hunter2
                  maxConnections: lots
                  user: {baseDN: "ou=people,dc=example,dc=org", scope: deep}
            """)
        let result = try await sandbox.portcullis(["config", "check"])
        expectRefused(
            result,
            [
                "45-ldap.yaml:6:7: providers[2].config.startTSL: unknown key; did you mean 'startTLS'?",
                "45-ldap.yaml:7:23: providers[2].config.connectTimeout",
                "45-ldap.yaml:9:21: providers[2].config.bindPassword",
                "45-ldap.yaml:10:23: providers[2].config.maxConnections",
                "45-ldap.yaml:11:60: providers[2].config.user.scope",
            ])
        #expect(!result.stderr.contains("hunter2"))
    }
}
