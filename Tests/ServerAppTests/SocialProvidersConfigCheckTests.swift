import Foundation
import TestSupport
import Testing

extension ConfigCheckTests {
    @Test func theSocialProvidersAreCheckedStrictlyWithoutContactingThem() async throws {
        let sandbox = try Sandbox()
        // Every base URL points at port 1, which answers nothing: a check that fetched would fail or hang.
        try sandbox.writeConfig(
            "46-social.yaml",
            """
            providers:
              - id: github
                type: github
                config:
                  clientID: Iv1.0123
                  clientSecret: {env: SOCIAL_SECRET}
                  webURL: https://127.0.0.1:1
                  apiURL: https://127.0.0.1:1/api/v3
                  allowedOrganizations: [acme]
                  allowedTeams: [acme/platform]
              - id: gitlab
                type: gitlab
                config:
                  issuer: https://127.0.0.1:1
                  clientID: gl
                  clientSecret: {env: SOCIAL_SECRET}
                  allowedGroups: [acme/platform]
              - id: google
                type: google
                config:
                  issuer: https://127.0.0.1:1
                  clientID: g
                  clientSecret: {env: SOCIAL_SECRET}
                  allowedDomains: [example.com]
              - id: bitbucket
                type: bitbucket
                config:
                  clientID: bb
                  clientSecret: {env: SOCIAL_SECRET}
                  webURL: https://127.0.0.1:1
                  apiURL: https://127.0.0.1:1/2.0
                  allowedWorkspaces: [acme]
            """)
        let good = try await sandbox.portcullis(["config", "check"], environment: ["SOCIAL_SECRET": "s3cret-value"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(!good.stdout.contains("s3cret-value") && !good.stderr.contains("s3cret-value"))

        try sandbox.writeConfig(
            "46-social.yaml",
            """
            providers:
              - id: github
                type: github
                config:
                  clientID: Iv1.0123
                  clientSecret: {env: SOCIAL_SECRET}
                  allowedTeams: [platform]
                  allowedOrgs: [acme]
              - id: google
                type: google
                config:
                  clientID: g
                  clientSecret: {env: SOCIAL_SECRET}
                  allowedDomains: [alice@example.com]
              - id: bitbucket
                type: bitbucket
                config:
                  clientID: bb
                  clientSecret: {env: SOCIAL_SECRET}
                  apiURL: http://api.bitbucket.example/2.0
            """)
        let bad = try await sandbox.portcullis(["config", "check"], environment: ["SOCIAL_SECRET": "s3cret-value"])
        expectRefused(bad, ["allowedOrgs"])
        #expect(!bad.stderr.contains("s3cret-value"))

        try sandbox.writeConfig(
            "46-social.yaml",
            """
            providers:
              - id: github
                type: github
                config:
                  clientID: Iv1.0123
                  clientSecret: {env: SOCIAL_SECRET}
                  allowedTeams: [platform]
              - id: google
                type: google
                config:
                  clientID: g
                  clientSecret: {env: SOCIAL_SECRET}
                  allowedDomains: [alice@example.com]
              - id: bitbucket
                type: bitbucket
                config:
                  clientID: bb
                  clientSecret: {env: SOCIAL_SECRET}
                  apiURL: http://api.bitbucket.example/2.0
            """)
        let problems = try await sandbox.portcullis(
            ["config", "check"], environment: ["SOCIAL_SECRET": "s3cret-value"])
        expectRefused(
            problems,
            [
                "\"platform\" is not of the form org/team-slug", "\"alice@example.com\" is not a domain name",
                "apiURL must be an https:// URL",
            ])
    }
}
