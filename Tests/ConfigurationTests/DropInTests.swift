import Diagnostics
import Foundation
import Testing

@testable import Configuration

/// config.d as drop-ins: a later fragment (`99-local.yaml`) overrides earlier ones key by key, lists and
/// scalars replace as a whole, named list entries (`providers`, `registries`) merge by id and name, and
/// `config check --origins` names the fragment and line behind every effective value.
@Suite struct DropInTests {
    /// The shipped fragments (as `config.d/NAME`) followed by `extra`.
    private func shipped(plus extra: [(String, String)]) throws -> [(String, String)] {
        let directory = packageRoot + "/config.d"
        let names = try ConfigurationLoader.fragmentPaths(in: directory).map {
            URL(fileURLWithPath: $0).lastPathComponent
        }
        return try names.map { ($0, try String(contentsOfFile: directory + "/" + $0, encoding: .utf8)) } + extra
    }

    /// The 1-based line of the shipped fragment `name` that starts with `prefix`.
    private func shippedLine(_ name: String, _ prefix: String) throws -> Int {
        let text = try String(contentsOfFile: packageRoot + "/config.d/" + name, encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        return try #require(lines.firstIndex { $0.hasPrefix(prefix) }) + 1
    }

    @Test func aLocalFragmentOverridesOneKeyOfAShippedSectionAndKeepsTheRest() throws {
        let local = "# site settings\nserver:\n  publicURL: https://registry-auth.example.com\n"
        let configuration = try load(shipped(plus: [("99-local.yaml", local)]))
        #expect(configuration.server.publicURL.absoluteString == "https://registry-auth.example.com")
        #expect(configuration.server.listen.description == "127.0.0.1:5080")
        #expect(configuration.server.maxConnections == 4096)
        #expect(configuration.log.level == .info, "the log section of the same shipped fragment is untouched")
        #expect(configuration.origins.origin(of: "server.publicURL") == "config.d/99-local.yaml:3")
        let listen = try shippedLine("00-server.yaml", "  listen:")
        #expect(configuration.origins.origin(of: "server.listen") == "config.d/00-server.yaml:\(listen)")
    }

    @Test func aNestedKeyIsOverriddenAloneAndItsSiblingsStay() throws {
        let configuration = try load(
            shipped(plus: [
                ("99-local.yaml", "storage:\n  sqlite:\n    busyTimeout: 9s\npolicy:\n  delete: {contributors: true}\n")
            ]))
        #expect(configuration.storage.sqlite.busyTimeout == .seconds(9))
        #expect(configuration.storage.sqlite.path == "var/portcullis.sqlite3")
        #expect(configuration.policy.delete.contributors)
        #expect(configuration.policy.delete.enabled)
        #expect(configuration.origins.origin(of: "storage.sqlite.busyTimeout") == "config.d/99-local.yaml:3")
        #expect(configuration.origins.origin(of: "policy.delete.contributors") == "config.d/99-local.yaml:5")
    }

    @Test func theLastOfThreeFragmentsWinsAndTheOriginNamesIt() throws {
        let configuration = try load([
            ("00-a.yaml", "log:\n  level: debug\n  format: json\n"),
            ("50-b.yaml", "log:\n  level: warning\n"),
            ("99-c.yaml", "\nlog:\n  level: error\n"),
        ])
        #expect(configuration.log.level == .error)
        #expect(configuration.log.format == .json)
        #expect(configuration.origins.origin(of: "log.level") == "config.d/99-c.yaml:3")
        #expect(configuration.origins.origin(of: "log.format") == "config.d/00-a.yaml:3")
    }

    @Test func aListReplacesTheEarlierListAsAWhole() throws {
        let local = """
            server:
              trustedProxies: [10.0.0.0/8]
            token:
              signingKeys:
                - {key: /etc/portcullis/new-key.pem, certificate: /etc/portcullis/new-cert.pem}

            """
        let configuration = try load(
            shipped(plus: [("90-proxies.yaml", "server:\n  trustedProxies: [192.0.2.0/24, 198.51.100.0/24]\n")])
                + [("99-local.yaml", local)])
        #expect(configuration.server.trustedProxies == ["10.0.0.0/8"])
        #expect(configuration.token.signingKeys.map(\.key) == ["/etc/portcullis/new-key.pem"])
        #expect(configuration.token.issuer == "portcullis")
        #expect(configuration.origins.origin(of: "token.signingKeys[0].key") == "config.d/99-local.yaml:5")
    }

    @Test func anEmptySectionHeaderAddsNothingRatherThanErasingTheSection() throws {
        let local = "server:\n  # publicURL: https://not-yet.example.com\ntoken:\n"
        let configuration = try load(
            shipped(plus: [("00-server.yaml", "server:\n  eventLoops: 3\n"), ("99-local.yaml", local)]))
        #expect(configuration.server.eventLoops == 3)
        #expect(configuration.token.signingKeys.count == 1)
    }

    @Test func aNullUnsetsAnOptionalValueSetEarlier() throws {
        let configuration = try load([
            ("00-server.yaml", "server:\n  tls: {certificate: /etc/tls/cert.pem, key: /etc/tls/key.pem}\n"),
            ("99-local.yaml", "server:\n  tls: {certificate: null, key: ~}\n"),
        ])
        #expect(!configuration.server.tls.isEnabled)
    }

    @Test func aValueOfTheWrongShapeInALaterFragmentIsReportedWhereItWasWritten() {
        let found = report([
            ("00-server.yaml", "server:\n  listen: 127.0.0.1:5080\n  tls: {certificate: null}\n"),
            ("99-local.yaml", "server:\n  listen: [a, b]\n  tls: off\n"),
        ])
        #expect(
            found == [
                "config.d/99-local.yaml:2:11: server.listen: expected host:port, got a list",
                "config.d/99-local.yaml:3:8: server.tls: expected a mapping, got 'off'",
            ])
    }

    @Test(arguments: [
        (
            "server:\n  listen: 127.0.0.1:5080\n  listen: 127.0.0.1:5081\n",
            "config.d/99-local.yaml:3:3: server.listen: duplicate key 'listen' (first written at config.d/99-local.yaml:2:3)"
        ),
        (
            "server:\n  eventLoops: 2\nlog: {level: debug}\nserver:\n  eventLoops: 4\n",
            "config.d/99-local.yaml:4:1: server: duplicate key 'server' (first written at config.d/99-local.yaml:1:1)"
        ),
        (
            "providers:\n  - {id: corp, type: ldap}\n  - {id: corp, type: oidc}\n",
            "config.d/99-local.yaml:3:10: providers[3].id: duplicate provider id 'corp' (first defined at config.d/99-local.yaml:2:10)"
        ),
    ])
    func aKeyRepeatedInsideOneFragmentStaysAnErrorNamingBothLines(text: String, expected: String) throws {
        let found = issues(try shipped(plus: [("99-local.yaml", text)]))
        #expect(found.map(\.description).contains(expected), "\(found.map(\.description))")
    }

    @Test func aProviderEntryWithAShippedIDOverridesThatProviderKeyByKey() throws {
        let local = """
            providers:
              - id: local
                displayName: Staff accounts
                config:
                  lockout: {attempts: 5}
              - id: app-tokens
                enabled: false

            """
        let configuration = try load(shipped(plus: [("99-local.yaml", local)]))
        #expect(configuration.providers.map(\.id) == ["app-tokens", "local"], "no entry is added or moved")
        let provider = try #require(configuration.providers.first { $0.id == "local" })
        #expect(provider.type == "local")
        #expect(provider.order == 20)
        #expect(provider.displayName == "Staff accounts")
        let lockout = try #require(provider.config["lockout"])
        #expect(lockout["attempts"]?.scalarText == "5")
        #expect(lockout["duration"]?.scalarText == "10m", "the shipped keys beside it stay")
        #expect(provider.config["cache"]?["ttl"]?.scalarText == "5m")
        #expect(configuration.providers.first { $0.id == "app-tokens" }?.enabled == false)
        #expect(configuration.origins.origin(of: "providers[1].config.lockout.attempts") == "config.d/99-local.yaml:5")
        #expect(configuration.origins.origin(of: "providers[1].displayName") == "config.d/99-local.yaml:3")
        let type = try shippedLine("40-providers.yaml", "    type: local")
        #expect(configuration.origins.origin(of: "providers[1].type") == "config.d/40-providers.yaml:\(type)")
    }

    @Test func aProviderEntryWithANewIDIsAddedAfterTheShippedOnes() throws {
        let ldap = "providers:\n  - id: corp-ldap\n    type: ldap\n    order: 15\n"
        let configuration = try load(shipped(plus: [("45-ldap.yaml", ldap)]))
        #expect(configuration.providers.map(\.id) == ["app-tokens", "local", "corp-ldap"])
        #expect(
            configuration.providers[2].location == SourceLocation(file: "config.d/45-ldap.yaml", line: 2, column: 5))
    }

    @Test func aNestedListInsideAProviderReplacesAsAWhole() throws {
        let configuration = try load([
            (
                "40-a.yaml",
                "providers:\n  - id: corp\n    type: ldap\n    config: {servers: [a, b, c], timeout: 5s}\n"
            ),
            ("99-b.yaml", "providers:\n  - id: corp\n    config: {servers: [z]}\n"),
        ])
        let config = configuration.providers[0].config
        #expect(config["servers"]?.items?.compactMap(\.scalarText) == ["z"])
        #expect(config["timeout"]?.scalarText == "5s")
    }

    @Test func aRegistryEntryWithAShippedNameOverridesThatRegistryKeyByKey() throws {
        let local = "registries:\n  - name: local\n    url: http://registry.internal:5000\n"
        let configuration = try load(shipped(plus: [("99-local.yaml", local)]))
        #expect(configuration.registries.count == 1)
        #expect(configuration.registries[0].url.absoluteString == "http://registry.internal:5000")
        #expect(configuration.registries[0].service == "registry.local")
        #expect(configuration.origins.origin(of: "registries[0].url") == "config.d/99-local.yaml:3")
    }

    @Test func theEnvironmentStillWinsOverEveryFragmentAndSecretsByVariableStillWork() throws {
        let local = """
            server:
              publicURL: https://from-the-fragment.example.com
            registries:
              - name: local
                eventsSecret: {env: SITE_EVENTS_SECRET}

            """
        let configuration = try load(
            shipped(plus: [("99-local.yaml", local)]),
            environment: [
                "PORTCULLIS_SERVER_PUBLIC_URL": "https://from-the-environment.example.com",
                "SITE_EVENTS_SECRET": "a-long-enough-shared-secret",
            ])
        #expect(configuration.server.publicURL.absoluteString == "https://from-the-environment.example.com")
        #expect(configuration.origins.origin(of: "server.publicURL") == "$PORTCULLIS_SERVER_PUBLIC_URL")
        let secret = try #require(configuration.registries[0].eventsSecret)
        #expect(secret == Secret(.environment("SITE_EVENTS_SECRET")))
        #expect(try secret.reveal(environment: ["SITE_EVENTS_SECRET": "s3cret-value"]) == "s3cret-value")
        #expect(configuration.origins.origin(of: "registries[0].eventsSecret") == "config.d/99-local.yaml:5")
    }

    @Test(arguments: [
        ("{file: /run/secrets/events}", Secret(.file("/run/secrets/events"))),
        ("{env: SITE_EVENTS_SECRET}", Secret(.environment("SITE_EVENTS_SECRET"))),
    ])
    func aSecretReferenceReplacesTheEarlierOneWhole(reference: String, expected: Secret) throws {
        let configuration = try load([
            ("50-a.yaml", "registries:\n  - {name: r, service: s, url: \"http://r:5000\", eventsSecret: {env: OLD}}\n"),
            ("51-a.yaml", "registries:\n  - {name: r, eventsSecret: {file: /etc/old}}\n"),
            ("99-b.yaml", "registries:\n  - name: r\n    eventsSecret: \(reference)\n"),
        ])
        #expect(configuration.registries[0].eventsSecret == expected)
        #expect(configuration.origins.origin(of: "registries[0].eventsSecret") == "config.d/99-b.yaml:3")
    }

    @Test func hugeHostileFragmentsMergeAndEveryUnknownKeyIsReportedWhereTheLaterOneWroteIt() {
        let count = 5000
        let keys = (0..<count).map { "  k\($0): 1\n" }.joined()
        let providers = (0..<count).map { "  - {id: p\($0), type: local}\n" }.joined()
        let found = issues([
            ("10-a.yaml", "server:\n" + keys + "providers:\n" + providers),
            ("99-b.yaml", "server:\n" + keys + "providers:\n" + providers),
        ])
        let unknown = found.filter { $0.code == .unknownKey }
        #expect(unknown.count == count, "each key once, not once per fragment")
        #expect(unknown.allSatisfy { $0.file == "config.d/99-b.yaml" })
        #expect(!found.contains { $0.code == .duplicateIdentifier }, "ids of an earlier fragment are overridden")
    }

    @Test func theRenderingWithOriginsEndsEveryValueLineWithWhereItWasSet() throws {
        let configuration = try load(
            [
                ("00-server.yaml", "server:\n  listen: 127.0.0.1:5080\n"),
                ("99-local.yaml", "server:\n  publicURL: https://auth.example.com\n"),
            ],
            environment: ["PORTCULLIS_LOG_LEVEL": "debug"])
        let lines = configuration.renderEffectiveWithOrigins().components(separatedBy: "\n")
        #expect(lines.contains("  listen: 127.0.0.1:5080  # config.d/00-server.yaml:2"))
        #expect(lines.contains("  publicURL: https://auth.example.com  # config.d/99-local.yaml:2"))
        #expect(lines.contains("  level: debug  # $PORTCULLIS_LOG_LEVEL"))
        #expect(lines.contains("  format: logfmt  # default"))
        #expect(lines.contains("server:"), "a section's own line carries no origin")
        // Still YAML that loads to the same configuration.
        let again = try load([("effective.yaml", configuration.renderEffectiveWithOrigins())])
        #expect(again.renderEffective() == configuration.renderEffective())
    }
}
