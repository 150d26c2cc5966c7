import Foundation
import TestSupport
import Testing

/// The `mapping:` block of provider entries, through the `portcullis` binary.
@Suite struct MappingConfigurationTests {
    @Test func aMappingBlockIsValidatedAndShownInTheEffectiveConfiguration() async throws {
        let sandbox = try CLISandbox()
        try sandbox.writeConfig(
            "45-ldap.yaml",
            """
            providers:
              - id: corp-ldap
                type: ldap
                config: {url: "ldap://127.0.0.1:1", user: {baseDN: "ou=people,dc=example,dc=org"}}
                mapping:
                  autoProvision: false
                  adminGroups: [registry-admins]
                  emailDomain: example.org
                  groupSync:
                    mode: authoritative
                    interval: 10m
                    rules:
                      - {group: "cn=dev*,ou=groups,dc=example,dc=org", team: devs, role: contributor, create: true}
            """)
        let result = try await sandbox.portcullis(["config", "check"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("authoritative"))
        #expect(result.stdout.contains("registry-admins"))
    }

    @Test func badMappingValuesAreReportedWithTheirPositions() async throws {
        let sandbox = try CLISandbox()
        try sandbox.writeConfig(
            "45-ldap.yaml",
            """
            providers:
              - id: corp-ldap
                type: ldap
                config: {url: "ldap://127.0.0.1:1", user: {baseDN: "ou=people,dc=example,dc=org"}}
                mapping:
                  groupSync:
                    mode: sometimes
                    rules:
                      - {group: developers, role: admin}
            """)
        let result = try await sandbox.portcullis(["config", "check"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("45-ldap.yaml:7:15"), "\(result.stderr)")
        #expect(result.stderr.contains("sometimes"))
        #expect(result.stderr.contains("team"), "the missing required key is named")
        #expect(result.stderr.contains("admin"))
    }

    @Test func groupSyncOnAProviderWithoutGroupsIsAConfigurationError() async throws {
        let sandbox = try CLISandbox()
        try sandbox.writeConfig(
            "45-local.yaml",
            """
            providers:
              - id: more-local
                type: local
                order: 90
                mapping:
                  groupSync:
                    rules:
                      - {group: developers, team: devs}
            """)
        let result = try await sandbox.portcullis(["ldap", "sync", "--dry-run"])
        #expect(result.status == 78, "\(result)")
        #expect(result.stderr.contains("reports no groups"), "\(result.stderr)")
    }

    @Test func ldapSyncWithoutAnyLDAPProviderSaysSo() async throws {
        let sandbox = try CLISandbox()
        let result = try await sandbox.portcullis(["ldap", "sync", "--dry-run"])
        #expect(result.status == 65, "\(result)")
        #expect(result.stderr.contains("no enabled provider that lists groups"))
        #expect(try await sandbox.portcullis(["ldap", "frobnicate"]).status == 64)
    }
}
