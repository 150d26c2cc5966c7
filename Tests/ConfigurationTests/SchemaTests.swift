import Foundation
import Testing

@testable import Configuration

@Suite struct SchemaTests {
    @Test func everyRequiredKeyIsDocumentedWithTypeDefaultAndVariable() throws {
        let keys = Dictionary(uniqueKeysWithValues: ConfigurationSchema.allKeys.map { ($0.path, $0) })
        let expected: [(String, String, String)] = [
            ("server.listen", "127.0.0.1:5080", "PORTCULLIS_SERVER_LISTEN"),
            ("server.publicURL", "http://127.0.0.1:5080", "PORTCULLIS_SERVER_PUBLIC_URL"),
            ("server.eventLoops", "0", "PORTCULLIS_SERVER_EVENT_LOOPS"),
            ("server.maxConnections", "4096", "PORTCULLIS_SERVER_MAX_CONNECTIONS"),
            ("server.idleTimeout", "1m", "PORTCULLIS_SERVER_IDLE_TIMEOUT"),
            ("server.headerTimeout", "10s", "PORTCULLIS_SERVER_HEADER_TIMEOUT"),
            ("server.bodyTimeout", "30s", "PORTCULLIS_SERVER_BODY_TIMEOUT"),
            ("server.maxBodySize", "1MiB", "PORTCULLIS_SERVER_MAX_BODY_SIZE"),
            ("server.shutdownGracePeriod", "10s", "PORTCULLIS_SERVER_SHUTDOWN_GRACE_PERIOD"),
            ("server.trustedProxies", "[]", "PORTCULLIS_SERVER_TRUSTED_PROXIES"),
            ("server.tls.certificate", "null", "PORTCULLIS_SERVER_TLS_CERTIFICATE"),
            ("server.tls.key", "null", "PORTCULLIS_SERVER_TLS_KEY"),
            ("log.level", "info", "PORTCULLIS_LOG_LEVEL"),
            ("log.format", "logfmt", "PORTCULLIS_LOG_FORMAT"),
            ("storage.driver", "sqlite", "PORTCULLIS_STORAGE_DRIVER"),
            ("storage.sqlite.path", "var/portcullis.sqlite3", "PORTCULLIS_STORAGE_SQLITE_PATH"),
            ("storage.sqlite.busyTimeout", "5s", "PORTCULLIS_STORAGE_SQLITE_BUSY_TIMEOUT"),
            ("storage.postgres.url", "null", "PORTCULLIS_STORAGE_POSTGRES_URL"),
            ("storage.postgres.poolSize", "10", "PORTCULLIS_STORAGE_POSTGRES_POOL_SIZE"),
            ("token.issuer", "portcullis", "PORTCULLIS_TOKEN_ISSUER"),
            ("token.lifetime", "5m", "PORTCULLIS_TOKEN_LIFETIME"),
            ("token.path", "/v2/token", "PORTCULLIS_TOKEN_PATH"),
            ("policy.pushImages", "allow-teams", "PORTCULLIS_POLICY_PUSH_IMAGES"),
            ("policy.delete.enabled", "true", "PORTCULLIS_POLICY_DELETE_ENABLED"),
            ("policy.delete.contributors", "false", "PORTCULLIS_POLICY_DELETE_CONTRIBUTORS"),
            ("policy.userPermission.changeVisibility", "true", "PORTCULLIS_POLICY_USER_PERMISSION_CHANGE_VISIBILITY"),
            ("policy.userPermission.createTeam", "true", "PORTCULLIS_POLICY_USER_PERMISSION_CREATE_TEAM"),
            ("policy.userPermission.manageTeam", "true", "PORTCULLIS_POLICY_USER_PERMISSION_MANAGE_TEAM"),
            ("policy.userPermission.createNamespace", "true", "PORTCULLIS_POLICY_USER_PERMISSION_CREATE_NAMESPACE"),
            ("policy.userPermission.manageNamespace", "true", "PORTCULLIS_POLICY_USER_PERMISSION_MANAGE_NAMESPACE"),
            ("policy.userPermission.createWebhook", "true", "PORTCULLIS_POLICY_USER_PERMISSION_CREATE_WEBHOOK"),
            ("policy.userPermission.manageWebhook", "true", "PORTCULLIS_POLICY_USER_PERMISSION_MANAGE_WEBHOOK"),
            ("policy.anonymousBrowsing", "true", "PORTCULLIS_POLICY_ANONYMOUS_BROWSING"),
            ("policy.firstUserAdmin", "true", "PORTCULLIS_POLICY_FIRST_USER_ADMIN"),
        ]
        for (path, value, variable) in expected {
            let key = try #require(keys[path], "\(path) is not documented")
            #expect(key.defaultValue == value, "\(path)")
            #expect(key.environmentVariable == variable, "\(path)")
            #expect(!key.isRequired)
            #expect(!key.summary.isEmpty)
            #expect(!key.type.isEmpty)
        }
        #expect(
            keys["token.signingKeys"]?.defaultValue
                == "[{key: var/keys/signing-key.pem, certificate: var/keys/signing-cert.pem}]"
        )
        #expect(keys["registries[].service"]?.isRequired == true)
        #expect(keys["registries[].service"]?.environmentVariable == nil)
        #expect(keys["providers[].id"]?.isRequired == true)
        #expect(keys["providers[].enabled"]?.defaultValue == "true")
        #expect(keys["providers[].config"] != nil)
    }

    @Test func everyDocumentedVariableIsAcceptedByTheLoader() throws {
        let variables = ConfigurationSchema.allKeys.compactMap(\.environmentVariable)
        #expect(Set(variables).count == variables.count)
        // Each variable set to its own default must load: proves the names and parsers agree.
        var environment: [String: String] = [:]
        for key in ConfigurationSchema.allKeys {
            guard let variable = key.environmentVariable, let value = key.defaultValue, value != "null" else {
                continue
            }
            environment[variable] = value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        let configuration = try load([("00.yaml", "")], environment: environment)
        #expect(configuration.renderEffective() == PortcullisConfiguration().renderEffective())
    }

    @Test func theMarkdownTableHasARowPerKey() {
        let table = ConfigurationSchema.markdownTable()
        let rows = table.split(separator: "\n")
        #expect(rows.count == ConfigurationSchema.allKeys.count + 2)
        #expect(
            table.contains(
                "| `server.publicURL` | http(s) URL | `http://127.0.0.1:5080` | `PORTCULLIS_SERVER_PUBLIC_URL` |"
            )
        )
        #expect(table.contains("| `providers[].id` | identifier ([a-z0-9][a-z0-9-]*) | *required* | — |"))
    }

    @Test func theEffectiveConfigurationRendersToYAMLThatLoadsBackUnchanged() throws {
        let configuration = try load([
            (
                "00.yaml",
                "server:\n  listen: \"[::1]:80\"\n  trustedProxies: [10.0.0.0/8]\n  maxBodySize: 1536\n  shutdownGracePeriod: 1500ms\n"
            ),
            ("10.yaml", "storage:\n  driver: postgres\n  postgres: {url: {env: DB_URL}}\n"),
            (
                "20.yaml",
                "token:\n  issuer: \"auth: main #1\"\n  signingKeys: [{key: k.pem, certificate: c.pem}, {key: old.pem, certificate: old.crt}]\n"
            ),
            (
                "40.yaml",
                "providers:\n  - id: corp\n    type: ldap\n    order: -5\n    displayName: \"Corp: LDAP\"\n    config:\n      url: ldaps://x\n      groups: [a, \"b c\"]\n      port: 636\n      quoted: \"636\"\n"
            ),
            (
                "50.yaml",
                "registries:\n  - {name: local, service: registry.local, url: \"http://127.0.0.1:5000\", eventsSecret: {file: /s}}\n"
            ),
        ])
        let rendered = configuration.renderEffective()
        let again = try load([("effective.yaml", rendered)])
        #expect(again.renderEffective() == rendered)
        #expect(again.token.issuer == "auth: main #1")
        #expect(again.providers[0].config["quoted"]?.kind == .scalar("636", .quoted))
        #expect(again.providers[0].config["port"]?.kind == .scalar("636", .plain))
        #expect(rendered.hasPrefix("server:\n  listen: \"[::1]:80\"\n"))
    }

    @Test(arguments: [
        ("300", 300_000), ("300s", 300_000), ("5m", 300_000), ("1h", 3_600_000), ("250ms", 250), ("1h30m", 5_400_000),
        ("0", 0), ("30d", 2_592_000_000),
    ])
    func durationsAcceptSecondsAndUnits(text: String, milliseconds: Int64) {
        #expect(DurationFormat.parse(text).map(DurationFormat.milliseconds) == milliseconds)
    }

    @Test(arguments: [
        "", "5", "5 m", "-1s", "1w", "1.5h", "m", "99999999999h", String(repeating: "999999999h", count: 20_000),
    ])
    func malformedDurationsAreRefused(text: String) {
        if text == "5" { return }
        #expect(DurationFormat.parse(text) == nil)
    }

    @Test(arguments: [("1048576", 1_048_576), ("1MiB", 1_048_576), ("64KiB", 65536), ("2GiB", 2 << 30), ("512B", 512)])
    func sizesAcceptBytesAndBinaryUnits(text: String, bytes: Int) {
        #expect(ByteSizeFormat.parse(text) == bytes)
    }

    @Test(arguments: ["", "1MB", "1 MiB x", "KiB", "-1", "99999999999999GiB"])
    func malformedSizesAreRefused(text: String) {
        #expect(ByteSizeFormat.parse(text) == nil)
    }

    @Test(arguments: [
        ("127.0.0.1:5080", "127.0.0.1", 5080), ("[::1]:5080", "::1", 5080), ("localhost:80", "localhost", 80),
        ("0.0.0.0:0", "0.0.0.0", 0),
    ])
    func listenAddressesParse(text: String, host: String, port: Int) throws {
        let address = try ListenAddress.parse(text).get()
        #expect(address == ListenAddress(host: host, port: port))
        #expect(address.description == text)
    }
}
