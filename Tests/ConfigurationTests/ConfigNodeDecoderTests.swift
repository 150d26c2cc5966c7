import Diagnostics
import Foundation
import Testing

@testable import Configuration

/// A configuration shaped like an LDAP plugin's.
private struct LDAPConfiguration: Decodable, Equatable {
    struct Search: Decodable, Equatable {
        var baseDN: String
        var filter: String?
    }

    var url: URL
    var bindDN: String
    var bindPassword: Secret
    var port: UInt16?
    var timeout: Duration?
    var startTLS: Bool?
    var userSearch: Search
    var attributes: [String]?
    var extra: ConfigNode?
}

@Suite struct ConfigNodeDecoderTests {
    private func provider(_ config: String) throws -> ProviderSettings {
        let configuration = try load([
            ("00.yaml", "providers:\n  - {id: first, type: local}\n"),
            ("40.yaml", "providers:\n  - id: corp\n    type: ldap\n    config:\n" + config),
        ])
        return configuration.providers[1]
    }

    @Test func aPluginConfigurationDecodesFromTheNode() throws {
        let entry = try provider(
            """
                  url: ldaps://ldap.example.com
                  bindDN: cn=admin
                  bindPassword: {file: /run/secrets/ldap}
                  port: 636
                  timeout: 5s
                  userSearch: {baseDN: "ou=people", filter: "(uid=*)"}
                  attributes: [uid, mail]
                  extra: {anything: [1, 2]}

            """
        )
        let decoded = try entry.decodeConfig(as: LDAPConfiguration.self)
        #expect(decoded.url.absoluteString == "ldaps://ldap.example.com")
        #expect(decoded.bindPassword == Secret(.file("/run/secrets/ldap")))
        #expect(decoded.port == 636)
        #expect(decoded.timeout == .seconds(5))
        #expect(decoded.userSearch == .init(baseDN: "ou=people", filter: "(uid=*)"))
        #expect(decoded.attributes == ["uid", "mail"])
        #expect(decoded.extra?["anything"]?.items?.count == 2)
    }

    @Test func unknownKeysAreReportedWithSuggestionsAfterASuccessfulDecode() throws {
        let entry = try provider(
            """
                  url: ldaps://x
                  bindDN: cn=admin
                  bindPassword: {env: LDAP_PW}
                  bindPasword: {env: LDAP_PW}
                  userSearch: {baseDN: "ou=people", filtr: "(uid=*)"}

            """
        )
        #expect(throws: ConfigurationError.self) { try entry.decodeConfig(as: LDAPConfiguration.self) }
        do {
            _ = try entry.decodeConfig(as: LDAPConfiguration.self)
        } catch {
            #expect(
                error.description == """
                    config.d/40.yaml:8:7: providers[1].config.bindPasword: unknown key; did you mean 'bindPassword'?
                    config.d/40.yaml:9:41: providers[1].config.userSearch.filtr: unknown key; did you mean 'filter'?
                    """
            )
        }
    }

    @Test(arguments: [
        (
            "      bindDN: cn=a\n      bindPassword: {env: X}\n      userSearch: {baseDN: b}\n",
            "config.d/40.yaml:5:7: providers[1].config.url: missing required key 'url'"
        ),
        (
            "      url: ldaps://x\n      bindDN: cn=a\n      bindPassword: hunter2\n      userSearch: {baseDN: b}\n",
            "config.d/40.yaml:7:21: providers[1].config.bindPassword: secrets must be given by reference: {file: /run/secrets/NAME} or {env: VARIABLE}"
        ),
        (
            "      url: ldaps://x\n      bindDN: cn=a\n      bindPassword: {env: X}\n      port: 70000\n      userSearch: {baseDN: b}\n",
            "config.d/40.yaml:8:13: providers[1].config.port: 70000 is out of range 0...65535"
        ),
        (
            "      url: ldaps://x\n      bindDN: cn=a\n      bindPassword: {env: X}\n      startTLS: \"yes\"\n      userSearch: {baseDN: b}\n",
            "config.d/40.yaml:8:17: providers[1].config.startTLS: expected a boolean (true or false), got the string \"yes\"; remove the quotes"
        ),
        (
            "      url: ldaps://x\n      bindDN: cn=a\n      bindPassword: {env: X}\n      userSearch: [b]\n",
            "config.d/40.yaml:8:19: providers[1].config.userSearch: expected a mapping, got a list"
        ),
        (
            "      url: ldaps://x\n      bindDN: cn=a\n      bindPassword: {env: X}\n      userSearch: {baseDN: b}\n      attributes: [uid, [x]]\n",
            "config.d/40.yaml:9:25: providers[1].config.attributes[1]: expected a string, got a list"
        ),
    ])
    func pluginErrorsAreLocated(config: String, expected: String) throws {
        let entry = try provider(config)
        do {
            _ = try entry.decodeConfig(as: LDAPConfiguration.self)
            Issue.record("decoded although \(expected)")
        } catch {
            #expect(error.description == expected)
            #expect(!error.description.contains("hunter2") || expected.contains("hunter2"))
        }
    }

    @Test func secretsDecodeByReferenceFromOtherDecodersToo() throws {
        let decoded = try JSONDecoder().decode([Secret].self, from: Data(#"[{"file": "/x"}, {"env": "Y"}]"#.utf8))
        #expect(decoded == [Secret(.file("/x")), Secret(.environment("Y"))])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([Secret].self, from: Data(#"["hunter2"]"#.utf8))
        }
    }

    @Test func everyProblemOfABlockIsReportedNotOnlyTheFirst() throws {
        let entry = try provider(
            """
                  url: ldaps://ldap.example.com
                  bindDN: cn=admin
                  bindPassword: {env: LDAP_BIND}
                  port: 99999
                  timeout: soon
                  startTSL: true
                  userSearch: {baseDN: "ou=people"}
                  attributes: {uid: yes}

            """
        )
        do {
            _ = try entry.decodeConfig(as: LDAPConfiguration.self)
            Issue.record("a block with four problems decoded")
        } catch {
            #expect(
                error.issues.map { "\($0.line):\($0.column) \($0.keyPath) \($0.code)" } == [
                    "8:13 providers[1].config.port invalidValue",
                    "9:16 providers[1].config.timeout invalidValue",
                    "12:19 providers[1].config.attributes wrongType",
                    "10:7 providers[1].config.startTSL unknownKey",
                ])
        }
    }

    @Test func aRequiredValueThatIsWrongEndsTheBlocksCheckWithoutAFalseMissingKey() throws {
        let entry = try provider(
            """
                  url: ldaps://ldap.example.com
                  bindDN: [cn=admin]
                  bindPassword: {env: LDAP_BIND}
                  userSearch: {baseDN: "ou=people"}

            """
        )
        #expect(throws: ConfigurationError.self) { try entry.decodeConfig(as: LDAPConfiguration.self) }
        do { _ = try entry.decodeConfig(as: LDAPConfiguration.self) } catch {
            #expect(error.issues.map(\.code) == [.wrongType])
        }
    }
}
