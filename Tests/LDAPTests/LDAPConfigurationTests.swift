import Foundation
import IdentityCore
import LDAP
import ProviderTesting
import Testing

/// Decoding and validating the `config:` block of a `type: ldap` provider (no directory needed).
@Suite struct LDAPConfigurationTests {
    func decode(_ json: String) throws -> LDAPProvider.Configuration {
        try JSONDecoder().decode(LDAPProvider.Configuration.self, from: Data(json.utf8))
    }

    func decodingError(_ json: String) -> String? {
        do {
            _ = try decode(json)
            return nil
        } catch {
            return String(describing: error)
        }
    }

    @Test func aMinimalBlockGetsTheDocumentedDefaults() throws {
        let configuration = try decode(#"{"url": "ldaps://ldap.example.org", "user": {"baseDN": "ou=people,dc=x"}}"#)
        #expect(configuration.startTLS == false)
        #expect(configuration.insecureSkipVerify == false)
        #expect(configuration.connectTimeout.seconds == 5)
        #expect(configuration.operationTimeout.seconds == 10)
        #expect(configuration.bindDN == nil)
        #expect(configuration.user.scope == .sub)
        #expect(configuration.user.filter == "(objectClass=inetOrgPerson)")
        #expect(configuration.user.usernameAttribute == "uid")
        #expect(configuration.user.emailAttribute == "mail")
        #expect(configuration.user.displayNameAttribute == "displayName")
        #expect(configuration.user.subjectAttribute == "entryUUID")
        #expect(configuration.groups == nil)
        #expect(configuration.problems.isEmpty)
    }

    @Test func aFullBlockDecodes() throws {
        let configuration = try decode(
            #"""
            {"url": "ldap://dc1.corp:389", "startTLS": true, "caFile": "/etc/ssl/certs/ca-certificates.crt",
             "connectTimeout": "3s", "operationTimeout": 20, "bindDN": "CN=svc,DC=corp", "bindPassword": {"env": "PATH"},
             "user": {"baseDN": "DC=corp", "scope": "one", "filter": "(objectClass=user)",
                      "usernameAttribute": "sAMAccountName", "subjectAttribute": "objectGUID"},
             "groups": {"baseDN": "DC=corp", "membership": "memberOf", "nested": true}}
            """#)
        #expect(configuration.connectTimeout.seconds == 3)
        #expect(configuration.operationTimeout.seconds == 20)
        #expect(configuration.user.scope == .one)
        #expect(configuration.groups?.membership == .memberOf)
        #expect(configuration.groups?.filter == "(objectClass=*)")
        #expect(configuration.groups?.nameAttribute == "cn")
        #expect(configuration.problems.isEmpty)
    }

    @Test(arguments: [
        (#"{"url": "ldap://x", "startTSL": true, "user": {"baseDN": "dc=x"}}"#, "startTSL"),
        (#"{"url": "ldap://x", "user": {"baseDN": "dc=x", "basedn": "dc=y"}}"#, "basedn"),
        (#"{"url": "ldap://x", "user": {"baseDN": "dc=x"}, "groups": {"baseDN": "dc=x", "nestd": true}}"#, "nestd"),
        (#"{"url": "ldap://x", "user": {"baseDN": "dc=x", "scope": "subtree"}}"#, "one, sub"),
        (
            #"{"url": "ldap://x", "user": {"baseDN": "dc=x"}, "groups": {"baseDN": "dc=x", "membership": "members"}}"#,
            "member, uniqueMember, memberUid, memberOf"
        ),
        (#"{"url": "ldap://x", "connectTimeout": "soon", "user": {"baseDN": "dc=x"}}"#, "not a duration"),
        (#"{"user": {"baseDN": "dc=x"}}"#, "url"),
        (#"{"url": "ldap://x"}"#, "user"),
    ])
    func decodingErrorsNameTheProblem(json: String, mention: String) throws {
        let error = try #require(decodingError(json))
        #expect(error.contains(mention), "\(error)")
    }

    @Test(arguments: [
        (#"{"url": "ldaps://x", "startTLS": true, "user": {"baseDN": "dc=x"}}"#, "startTLS cannot be combined"),
        (#"{"url": "http://x", "user": {"baseDN": "dc=x"}}"#, "ldap:// or ldaps://"),
        (#"{"url": "ldap://x", "bindDN": "cn=a", "user": {"baseDN": "dc=x"}}"#, "bindDN is set without bindPassword"),
        (
            #"{"url": "ldap://x", "bindPassword": {"env": "PATH"}, "user": {"baseDN": "dc=x"}}"#,
            "bindPassword is set without bindDN"
        ),
        (#"{"url": "ldap://x", "user": {"baseDN": " "}}"#, "user.baseDN must not be empty"),
        (#"{"url": "ldap://x", "user": {"baseDN": "dc=x", "filter": "(uid=a"}}"#, "user.filter"),
        (#"{"url": "ldap://x", "user": {"baseDN": "dc=x", "filter": "uid=a"}}"#, "parentheses"),
        (#"{"url": "ldap://x", "user": {"baseDN": "dc=x", "usernameAttribute": "u id"}}"#, "not an attribute name"),
        (#"{"url": "ldap://x", "operationTimeout": 0, "user": {"baseDN": "dc=x"}}"#, "operationTimeout"),
        (#"{"url": "ldap://x", "maxConnections": 0, "user": {"baseDN": "dc=x"}}"#, "maxConnections"),
        (#"{"url": "ldap://x", "caFile": "/nonexistent/ca.pem", "user": {"baseDN": "dc=x"}}"#, "caFile"),
        (
            #"{"url": "ldap://x", "user": {"baseDN": "dc=x"}, "groups": {"baseDN": "dc=x", "membership": "memberUid", "nested": true}}"#,
            "nested does not apply"
        ),
    ])
    func makeRefusesUnusableSettingsWithoutNetworkIO(json: String, mention: String) async throws {
        let configuration = try decode(json)
        let store = try await TestStore.make()
        let context = TestProviderContext.make(store: store)
        do {
            _ = try LDAPProvider.make(id: "corp", displayName: "Corp", configuration: configuration, context: context)
            Issue.record("make accepted \(json)")
        } catch let error as ProviderError {
            #expect(error.code == .misconfigured)
            #expect(error.reason.contains(mention), "\(error.reason)")
        }
    }

    @Test func anInlineBindPasswordIsRefused() throws {
        let error = try #require(
            decodingError(#"{"url": "ldap://x", "bindDN": "cn=a", "bindPassword": "pw", "user": {"baseDN": "dc=x"}}"#))
        #expect(error.contains("by reference"), "\(error)")
    }

    @Test func theBindPasswordNeverAppearsInDescriptions() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bind-\(UUID().uuidString)")
        try Data("s3cret-bind\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let configuration = try decode(
            #"{"url": "ldap://x", "bindDN": "cn=a", "bindPassword": {"file": ""#
                + file.path + #""}, "user": {"baseDN": "dc=x"}}"#)
        #expect(configuration.bindPassword == "s3cret-bind")
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [String(describing: configuration), String(reflecting: configuration), dumped] {
            #expect(!text.contains("s3cret-bind"), "\(text)")
        }
    }

    @Test func theTypeNameIsLDAP() {
        #expect(LDAPProvider.typeName == "ldap")
    }
}
