import Diagnostics
import Foundation
import Testing

@testable import Configuration

@Suite struct LoaderTests {
    @Test func theShippedConfigDirectoryLoadsCleanly() throws {
        let directory = packageRoot + "/config.d"
        let configuration: PortcullisConfiguration
        do {
            configuration = try ConfigurationLoader.load(directory: directory, environment: [:])
        } catch {
            Issue.record("config.d does not load:\n\(error)")
            return
        }
        #expect(
            configuration.fragments.map { URL(fileURLWithPath: $0).lastPathComponent } == [
                "00-server.yaml", "10-storage.yaml", "20-token.yaml", "30-policy.yaml", "40-providers.yaml",
                "50-registries.yaml", "60-audit.yaml", "60-webhooks.yaml", "70-ui.yaml",
            ]
        )
        #expect(configuration.webhooks == WebhookSettings(), "the shipped webhooks fragment states the defaults")
        #expect(configuration.token.refresh == RefreshTokenSettings(), "and so does the refresh block")
        #expect(configuration.server.listen == ListenAddress(host: "127.0.0.1", port: 5080))
        #expect(configuration.providers.map(\.id) == ["app-tokens", "local"])
        #expect(configuration.providers.map(\.type) == ["application-tokens", "local"])
        #expect(configuration.registries.count == 1)
        #expect(configuration.registries.first?.service == "registry.local")
        #expect(
            configuration.registries.first?.eventsSecret == Secret(.file("var/keys/registry-events.secret")),
            "a file serve generates on first start, so a fresh clone's registry can deliver notifications"
        )
    }

    @Test func theShippedFilesRestateTheDefaults() throws {
        var shipped = try ConfigurationLoader.load(directory: packageRoot + "/config.d", environment: [:])
        shipped.registries = []
        shipped.providers = []
        shipped.fragments = []
        #expect(shipped.renderEffective() == PortcullisConfiguration().renderEffective())
    }

    @Test func everyDefaultMatchesTheDocumentedOne() throws {
        let configuration = try load([("00.yaml", "")])
        #expect(configuration.server.listen.description == "127.0.0.1:5080")
        #expect(configuration.server.publicURL.absoluteString == "http://127.0.0.1:5080")
        #expect(configuration.server.eventLoops == 0)
        #expect(configuration.server.maxConnections == 4096)
        #expect(configuration.server.idleTimeout == .seconds(60))
        #expect(configuration.server.headerTimeout == .seconds(10))
        #expect(configuration.server.bodyTimeout == .seconds(30))
        #expect(configuration.server.maxBodySize == 1_048_576)
        #expect(configuration.server.shutdownGracePeriod == .seconds(10))
        #expect(configuration.server.trustedProxies.isEmpty)
        #expect(!configuration.server.tls.isEnabled)
        #expect(configuration.log.level == .info)
        #expect(configuration.log.format == .logfmt)
        #expect(configuration.storage.driver == .sqlite)
        #expect(configuration.storage.sqlite.path == "var/portcullis.sqlite3")
        #expect(configuration.storage.sqlite.busyTimeout == .seconds(5))
        #expect(configuration.token.issuer == "portcullis")
        #expect(configuration.token.lifetime == .seconds(300))
        #expect(configuration.token.path == "/v2/token")
        #expect(
            configuration.token.signingKeys == [
                SigningKeySettings(key: "var/keys/signing-key.pem", certificate: "var/keys/signing-cert.pem")
            ]
        )
        #expect(configuration.policy.pushImages == .allowTeams)
        #expect(configuration.policy.delete.enabled)
        #expect(!configuration.policy.delete.contributors)
        #expect(configuration.policy.userPermission == UserPermissions())
        #expect(configuration.policy.userPermission.createTeam)
        #expect(configuration.policy.anonymousBrowsing)
        #expect(configuration.policy.firstUserAdmin)
    }

    @Test func valuesOfEveryKindAreRead() throws {
        let configuration = try load([
            (
                "00-server.yaml",
                """
                server:
                  listen: "[::1]:8443"
                  publicURL: https://auth.example.com/
                  shutdownGracePeriod: 250ms
                  headerTimeout: 5
                  bodyTimeout: 1h
                  maxBodySize: 64KiB
                  trustedProxies: [10.0.0.0/8, "fd00::/8", 192.168.1.1]
                  tls: {certificate: /etc/tls/cert.pem, key: /etc/tls/key.pem}
                log: {level: debug, format: json}
                storage:
                  driver: postgres
                  postgres: {url: {file: /run/secrets/db}, poolSize: 4}
                """
            )
        ])
        #expect(configuration.server.listen == ListenAddress(host: "::1", port: 8443))
        #expect(configuration.server.publicURL.absoluteString == "https://auth.example.com")
        #expect(configuration.server.shutdownGracePeriod == .milliseconds(250))
        #expect(configuration.server.headerTimeout == .seconds(5))
        #expect(configuration.server.bodyTimeout == .seconds(3600))
        #expect(configuration.server.maxBodySize == 65536)
        #expect(configuration.server.trustedProxies == ["10.0.0.0/8", "fd00::/8", "192.168.1.1"])
        #expect(configuration.server.tls.isEnabled)
        #expect(configuration.log.level == .debug)
        #expect(configuration.log.format == .json)
        #expect(configuration.storage.driver == .postgres)
        #expect(configuration.storage.postgres.url == Secret(.file("/run/secrets/db")))
        #expect(configuration.storage.postgres.poolSize == 4)
    }

    @Test func anUnknownKeyNamesItsPositionAndSuggestsTheClosestKey() {
        #expect(
            report([("00-server.yaml", "# comment\nserver:\n    publcURL: http://x\n")]) == [
                "config.d/00-server.yaml:3:5: server.publcURL: unknown key; did you mean 'publicURL'?"
            ]
        )
        #expect(
            report([("00.yaml", "server:\n  public_url: http://x\n")]) == [
                "config.d/00.yaml:2:3: server.public_url: unknown key; did you mean 'publicURL'?"
            ]
        )
        #expect(
            report([("00.yaml", "servre: {}\n")]) == [
                "config.d/00.yaml:1:1: servre: unknown key; did you mean 'server'?"
            ]
        )
        #expect(
            report([("00.yaml", "server:\n  zzzzzzzz: 1\n")]) == ["config.d/00.yaml:2:3: server.zzzzzzzz: unknown key"]
        )
    }

    @Test(arguments: [
        (
            "server:\n  maxConnections: many\n",
            "config.d/f.yaml:2:19: server.maxConnections: expected an integer, got 'many'"
        ),
        (
            "server:\n  maxConnections: \"12\"\n",
            "config.d/f.yaml:2:19: server.maxConnections: expected an integer, got the string \"12\""
        ),
        (
            "policy:\n  anonymousBrowsing: yes\n",
            "config.d/f.yaml:2:22: policy.anonymousBrowsing: expected a boolean (true or false), got 'yes'"
        ),
        (
            "policy:\n  anonymousBrowsing: \"true\"\n",
            "config.d/f.yaml:2:22: policy.anonymousBrowsing: expected a boolean (true or false), got the string \"true\"; remove the quotes"
        ),
        ("server: [1]\n", "config.d/f.yaml:1:9: server: expected a mapping, got a list"),
        ("server:\n  tls: on\n", "config.d/f.yaml:2:8: server.tls: expected a mapping, got 'on'"),
        (
            "server:\n  trustedProxies: 10.0.0.0/8\n",
            "config.d/f.yaml:2:19: server.trustedProxies: expected a list, got '10.0.0.0/8'"
        ),
        ("token:\n  issuer:\n", "config.d/f.yaml:2:10: token.issuer: expected string, got null"),
        ("providers: {id: x}\n", "config.d/f.yaml:1:12: providers: expected a list, got a mapping"),
        ("- a\n", "config.d/f.yaml:1:1: a fragment must be a mapping of sections, got a list"),
    ])
    func aValueOfTheWrongTypeIsReportedAtTheValue(text: String, expected: String) {
        let found = issues([("f.yaml", text)])
        #expect(found.map(\.description) == [expected])
        #expect(found.first?.code == .wrongType)
    }

    @Test(arguments: [
        (
            "server:\n  listen: 127.0.0.1:70000\n",
            "config.d/f.yaml:2:11: server.listen: port 70000 is out of range 0...65535"
        ),
        (
            "server:\n  listen: ::1:80\n",
            "config.d/f.yaml:2:11: server.listen: '::1:80': write an IPv6 host in brackets, as [::1]:5080"
        ),
        (
            "server:\n  listen: \"bad host:80\"\n",
            "config.d/f.yaml:2:11: server.listen: 'bad host' is not an IP address or host name"
        ),
        (
            "server:\n  publicURL: ftp://x\n",
            "config.d/f.yaml:2:14: server.publicURL: 'ftp://x' is not an absolute http or https URL"
        ),
        (
            "server:\n  publicURL: http://u:p@x\n",
            "config.d/f.yaml:2:14: server.publicURL: credentials do not belong in a URL here; use a secret reference"
        ),
        (
            "server:\n  maxConnections: 0\n",
            "config.d/f.yaml:2:19: server.maxConnections: 0 is out of range 1...1000000"
        ),
        (
            "server:\n  idleTimeout: 5 minutes\n",
            "config.d/f.yaml:2:16: server.idleTimeout: '5 minutes' is not a duration; write seconds (300) or a number with ms, s, m or h (\"5m\")"
        ),
        ("token:\n  lifetime: 2h\n", "config.d/f.yaml:2:13: token.lifetime: 2h is out of range 1m...1h"),
        (
            "token:\n  path: v2/token\n",
            "config.d/f.yaml:2:9: token.path: 'v2/token' is not an absolute URL path (it must start with '/', without query or fragment)"
        ),
        (
            "server:\n  maxBodySize: 1MB\n",
            "config.d/f.yaml:2:16: server.maxBodySize: '1MB' is not a size; write bytes (1048576) or a number with KiB, MiB or GiB (\"64KiB\")"
        ),
        (
            "log:\n  level: warn\n",
            "config.d/f.yaml:2:10: log.level: unknown value 'warn'; expected one of debug, info, notice, warning, error; did you mean 'warning'?"
        ),
        (
            "policy:\n  pushImages: allow_teams\n",
            "config.d/f.yaml:2:15: policy.pushImages: unknown value 'allow_teams'; expected one of allow-teams, allow-personal, admin-only; did you mean 'allow-teams'?"
        ),
        (
            "server:\n  trustedProxies: [10.0.0.0/33]\n",
            "config.d/f.yaml:2:20: server.trustedProxies[0]: '10.0.0.0/33' is not an address or CIDR block (10.0.0.0/8, fd00::/8)"
        ),
    ])
    func anInvalidValueIsReportedAtTheValue(text: String, expected: String) {
        let found = issues([("f.yaml", text)])
        #expect(found.map(\.description) == [expected])
        #expect(found.first?.code == .invalidValue)
    }

    @Test func missingRequiredKeysAreReportedAtTheirEntry() {
        let found = issues([("50.yaml", "registries:\n  - name: local\n    url: http://r\n  - {}\n")])
        #expect(
            found.map(\.description) == [
                "config.d/50.yaml:2:5: registries[0].service: missing required key 'service'",
                "config.d/50.yaml:4:5: registries[1].name: missing required key 'name'",
                "config.d/50.yaml:4:5: registries[1].service: missing required key 'service'",
                "config.d/50.yaml:4:5: registries[1].url: missing required key 'url'",
            ]
        )
        #expect(found.allSatisfy { $0.code == .missingKey })
    }

    @Test func everyProblemIsReportedInOneRun() {
        let found = issues([
            ("00-server.yaml", "server:\n  listen: nowhere\n  publcURL: http://x\nlog:\n  level: loud\n"),
            ("10-storage.yaml", "storage:\n  driver: mysql\n  sqlite: {busyTimeout: -1}\n"),
            ("20-bad.yaml", "token: [\n"),
        ])
        #expect(
            found.map(\.description) == [
                "config.d/00-server.yaml:2:11: server.listen: 'nowhere' is not host:port (for example 127.0.0.1:5080)",
                "config.d/00-server.yaml:3:3: server.publcURL: unknown key; did you mean 'publicURL'?",
                "config.d/00-server.yaml:5:10: log.level: unknown value 'loud'; expected one of debug, info, notice, warning, error",
                "config.d/10-storage.yaml:2:11: storage.driver: unknown value 'mysql'; expected one of sqlite, postgres",
                "config.d/10-storage.yaml:3:25: storage.sqlite.busyTimeout: '-1' is not a duration; write seconds (300) or a number with ms, s, m or h (\"5m\")",
                "config.d/20-bad.yaml:2:1: YAML syntax error: did not find expected node content while parsing a flow node",
            ]
        )
    }

    @Test func aSectionInTwoFragmentsMergesWithTheLaterOneWinning() throws {
        let configuration = try load([
            ("00-server.yaml", "server:\n  eventLoops: 2\n  maxConnections: 10\n"),
            ("90-local.yaml", "# override\nserver:\n  eventLoops: 4\n"),
        ])
        #expect(configuration.server.eventLoops == 4)
        #expect(configuration.server.maxConnections == 10)
    }

    @Test func providerListsConcatenateInLexicalOrder() throws {
        let configuration = try load([
            ("41-b.yaml", "providers:\n  - {id: second, type: ldap}\n"),
            ("40-a.yaml", "providers:\n  - {id: first, type: local, order: 5, displayName: Local}\n"),
            ("40-A.yaml", "providers:\n  - {id: zeroth, type: local, enabled: false}\n"),
        ])
        #expect(configuration.providers.map(\.id) == ["zeroth", "first", "second"])
        #expect(configuration.providers[0].enabled == false)
        #expect(configuration.providers[1].order == 5)
        #expect(configuration.providers[1].displayName == "Local")
        #expect(configuration.providers[2].displayName == nil)
        #expect(configuration.providers[2].location == SourceLocation(file: "config.d/41-b.yaml", line: 2, column: 5))
        #expect(configuration.fragments == ["config.d/40-A.yaml", "config.d/40-a.yaml", "config.d/41-b.yaml"])
    }

    @Test func aDuplicateProviderIDInOneFragmentNamesBothPlaces() {
        let found = issues([
            ("40-a.yaml", "providers:\n  - id: corp\n    type: ldap\n"),
            ("41-b.yaml", "providers:\n  - id: other\n    type: oidc\n  - id: other\n    type: oidc\n"),
        ])
        #expect(
            found.map(\.description) == [
                "config.d/41-b.yaml:4:9: providers[2].id: duplicate provider id 'other' (first defined at config.d/41-b.yaml:2:9)"
            ]
        )
        #expect(found.first?.code == .duplicateIdentifier)
    }

    @Test func aDuplicateRegistryNameInOneFragmentNamesBothPlaces() {
        let found = issues([
            (
                "50-a.yaml",
                "registries:\n  - {name: local, service: a, url: \"http://r:5000\"}\n"
                    + "  - {name: local, service: b, url: \"http://r:5000\"}\n"
            )
        ])
        #expect(
            found.map(\.description) == [
                "config.d/50-a.yaml:3:12: registries[1].name: duplicate registry name 'local' (first defined at config.d/50-a.yaml:2:12)"
            ]
        )
    }

    @Test func aRegistryServiceClaimedByTwoNamesAcrossFragmentsNamesBothPlaces() {
        let found = issues([
            ("50-a.yaml", "registries:\n  - {name: one, service: shared, url: \"http://r:5000\"}\n"),
            ("51-b.yaml", "registries:\n  - {name: two, service: shared, url: \"http://r:5001\"}\n"),
        ])
        #expect(
            found.map(\.description) == [
                "config.d/51-b.yaml:2:26: registries[1].service: duplicate registry service 'shared' (first defined at config.d/50-a.yaml:2:26)"
            ]
        )
    }

    @Test(arguments: ["Corp", "-corp", "corp_ldap", ""])
    func providerIDsMustBeLowercaseIdentifiers(id: String) {
        let found = issues([("40.yaml", "providers:\n  - {id: \"\(id)\", type: ldap}\n")])
        #expect(found.count == 1)
        #expect(found.first?.keyPath == "providers[0].id")
        #expect(found.first?.code == .invalidValue)
    }

    @Test func providerConfigIsKeptAsANodeWithPositions() throws {
        let configuration = try load([
            (
                "40.yaml",
                "providers:\n  - id: corp\n    type: ldap\n    config:\n      url: ldaps://x\n      port: 636\n"
            )
        ])
        let config = configuration.providers[0].config
        #expect(config["url"]?.scalarText == "ldaps://x")
        #expect(config["port"]?.location == SourceLocation(file: "config.d/40.yaml", line: 6, column: 13))
        let bare = try load([("40.yaml", "providers:\n  - {id: corp, type: local}\n")])
        #expect(bare.providers[0].config.entries?.isEmpty == true)
    }

    @Test func crossFieldRulesAreChecked() {
        #expect(
            report([("00.yaml", "server:\n  tls:\n    certificate: /c.pem\n")]) == [
                "config.d/00.yaml:3:18: server.tls.key: server.tls.certificate is set, so server.tls.key is required too (set both or neither)"
            ]
        )
        #expect(
            report([("10.yaml", "storage:\n  driver: postgres\n")]) == [
                "config.d/10.yaml:2:11: storage.postgres.url: the postgres driver needs storage.postgres.url ({file: PATH} or {env: NAME})"
            ]
        )
    }

    @Test func aDirectoryLoadsYAMLAndYMLInByteOrderAndIgnoresExamples() throws {
        let directory = try temporaryDirectory([
            "10-b.yml": "providers:\n  - {id: b, type: local}\n",
            "05-a.yaml": "providers:\n  - {id: a, type: local}\n",
            "40-providers.yaml.example": "providers: [ this is not loaded\n",
            ".00-hidden.yaml": "server: nonsense\n",
            "README.md": "not yaml: [\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = try ConfigurationLoader.load(directory: directory, environment: [:])
        #expect(configuration.providers.map(\.id) == ["a", "b"])
        #expect(configuration.fragments == [directory + "/05-a.yaml", directory + "/10-b.yml"])
    }

    @Test func aMissingOrEmptyDirectoryIsAnError() throws {
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(directory: "/nonexistent/portcullis", environment: [:])
        }
        let empty = try temporaryDirectory([:])
        defer { try? FileManager.default.removeItem(atPath: empty) }
        do {
            _ = try ConfigurationLoader.load(directory: empty, environment: [:])
            Issue.record("an empty directory loaded")
        } catch {
            #expect(error.issues.first?.message == "no *.yaml fragments in the configuration directory")
        }
    }

    @Test func theDirectoryComesFromTheFlagThenTheEnvironmentThenTheDefault() {
        #expect(
            ConfigurationLoader.directory(commandLineValue: "/etc/p", environment: ["PORTCULLIS_CONFIG": "/x"])
                == "/etc/p"
        )
        #expect(ConfigurationLoader.directory(commandLineValue: nil, environment: ["PORTCULLIS_CONFIG": "/x"]) == "/x")
        #expect(ConfigurationLoader.directory(commandLineValue: nil, environment: [:]) == "config.d")
    }
}
