import Diagnostics
import Foundation
import Testing

@testable import Configuration

@Suite struct EnvironmentTests {
    @Test(arguments: [
        ("server.publicURL", "PORTCULLIS_SERVER_PUBLIC_URL"),
        ("storage.sqlite.path", "PORTCULLIS_STORAGE_SQLITE_PATH"),
        ("policy.userPermission.createTeam", "PORTCULLIS_POLICY_USER_PERMISSION_CREATE_TEAM"),
        ("server.maxBodySize", "PORTCULLIS_SERVER_MAX_BODY_SIZE"),
        ("token.signingKeys", "PORTCULLIS_TOKEN_SIGNING_KEYS"),
        ("a.jwksURLPath", "PORTCULLIS_A_JWKS_URL_PATH"),
    ])
    func variableNamesAreTheUpperSnakeCaseKeyPath(path: String, variable: String) {
        #expect(ConfigurationSchema.environmentVariable(for: path) == variable)
    }

    @Test func theEnvironmentWinsOverFragmentsAndDefaults() throws {
        let configuration = try load(
            [("00.yaml", "server:\n  publicURL: http://from-file\n  maxConnections: 10\n")],
            environment: [
                "PORTCULLIS_SERVER_PUBLIC_URL": "https://from-env.example",
                "PORTCULLIS_SERVER_IDLE_TIMEOUT": "2m",
                "PORTCULLIS_SERVER_MAX_BODY_SIZE": "64KiB",
                "PORTCULLIS_SERVER_LISTEN": "[::]:9000",
                "PORTCULLIS_SERVER_TRUSTED_PROXIES": "10.0.0.0/8, 172.16.0.0/12",
                "PORTCULLIS_STORAGE_SQLITE_PATH": "/data/p.sqlite3",
                "PORTCULLIS_POLICY_USER_PERMISSION_CREATE_TEAM": "false",
                "PORTCULLIS_TOKEN_LIFETIME": "600",
                "PORTCULLIS_LOG_LEVEL": "debug",
            ]
        )
        #expect(configuration.server.publicURL.absoluteString == "https://from-env.example")
        #expect(configuration.server.maxConnections == 10)
        #expect(configuration.server.idleTimeout == .seconds(120))
        #expect(configuration.server.maxBodySize == 65536)
        #expect(configuration.server.listen == ListenAddress(host: "::", port: 9000))
        #expect(configuration.server.trustedProxies == ["10.0.0.0/8", "172.16.0.0/12"])
        #expect(configuration.storage.sqlite.path == "/data/p.sqlite3")
        #expect(configuration.policy.userPermission.createTeam == false)
        #expect(configuration.token.lifetime == .seconds(600))
        #expect(configuration.log.level == .debug)
    }

    @Test func structuredValuesAreReadAsYAMLFromTheEnvironment() throws {
        let configuration = try load(
            [("10.yaml", "storage:\n  driver: postgres\n")],
            environment: [
                "PORTCULLIS_STORAGE_POSTGRES_URL": "{env: DATABASE_URL}",
                "PORTCULLIS_SERVER_TRUSTED_PROXIES": "[\"::1/128\"]",
            ]
        )
        #expect(configuration.storage.postgres.url == Secret(.environment("DATABASE_URL")))
        #expect(configuration.server.trustedProxies == ["::1/128"])
    }

    @Test func aBadEnvironmentValueNamesTheVariable() {
        let found = issues(
            [("00.yaml", "")],
            environment: [
                "PORTCULLIS_SERVER_MAX_CONNECTIONS": "lots",
                "PORTCULLIS_POLICY_ANONYMOUS_BROWSING": "yes",
                "PORTCULLIS_SERVER_LISTEN": "0.0.0.0:99999",
                "PORTCULLIS_STORAGE_POSTGRES_URL": "postgres://u:hunter2@db/p",
            ]
        )
        #expect(
            Set(found.map(\.description)) == [
                "$PORTCULLIS_SERVER_MAX_CONNECTIONS: server.maxConnections: expected an integer, got 'lots'",
                "$PORTCULLIS_POLICY_ANONYMOUS_BROWSING: policy.anonymousBrowsing: expected a boolean (true or false), got 'yes'",
                "$PORTCULLIS_SERVER_LISTEN: server.listen: port 99999 is out of range 0...65535",
                "$PORTCULLIS_STORAGE_POSTGRES_URL: storage.postgres.url: secrets must be given by reference: {file: /run/secrets/NAME} or {env: VARIABLE}",
            ]
        )
        #expect(!found.map(\.description).joined().contains("hunter2"))
    }

    @Test func anUnknownConfigLikeVariableIsAnErrorWithASuggestion() {
        let found = issues(
            [("00.yaml", "")],
            environment: [
                "PORTCULLIS_SERVER_PUBLICURL": "http://x",
                "PORTCULLIS_LOG_LEVL": "debug",
                "PORTCULLIS_PROVIDERS_0_ID": "x",
                "PORTCULLIS_TOKEN_SIGNING_KEYS": "[]",
            ]
        )
        #expect(
            found.map(\.description) == [
                "$PORTCULLIS_LOG_LEVL: no configuration key has this variable; did you mean 'PORTCULLIS_LOG_LEVEL'?",
                "$PORTCULLIS_PROVIDERS_0_ID: this variable names a list, which cannot be set from the environment; edit a fragment",
                "$PORTCULLIS_SERVER_PUBLICURL: no configuration key has this variable; did you mean 'PORTCULLIS_SERVER_PUBLIC_URL'?",
                "$PORTCULLIS_TOKEN_SIGNING_KEYS: this variable names a list, which cannot be set from the environment; edit a fragment",
            ]
        )
        #expect(found.allSatisfy { $0.code == .unknownEnvironmentVariable })
    }

    @Test func unrelatedAndReferencedVariablesAreLeftAlone() throws {
        _ = try load(
            [
                (
                    "50.yaml",
                    "registries:\n  - {name: r, service: s, url: \"http://r\", eventsSecret: {env: PORTCULLIS_SERVER_EVENTS}}\n"
                )
            ],
            environment: [
                "PORTCULLIS_CONFIG": "/etc/portcullis",
                "PORTCULLIS_REGISTRY_EVENTS_SECRET": "s3cret",
                "PORTCULLIS_SERVER_EVENTS": "referenced by a secret, so not a key",
                "PORTCULLIS_FUZZ": "1",
                "HOME": "/root",
            ]
        )
    }

    @Test func anEmptyOptionalVariableUnsetsTheKey() throws {
        let configuration = try load(
            [("00.yaml", "server:\n  tls: {certificate: /c, key: /k}\n")],
            environment: ["PORTCULLIS_SERVER_TLS_CERTIFICATE": "", "PORTCULLIS_SERVER_TLS_KEY": ""]
        )
        #expect(!configuration.server.tls.isEnabled)
    }

    @Test func crossFieldIssuesPointAtTheVariableThatCausedThem() {
        #expect(
            report([("00.yaml", "")], environment: ["PORTCULLIS_SERVER_TLS_KEY": "/k.pem"]) == [
                "$PORTCULLIS_SERVER_TLS_KEY: server.tls.certificate: server.tls.key is set, so server.tls.certificate is required too (set both or neither)"
            ]
        )
    }
}
