import Foundation
import TestSupport
import Testing

extension ConfigCheckTests {
    @Test func anOIDCProviderIsCheckedStrictlyWithoutContactingItsIssuer() async throws {
        let sandbox = try Sandbox()
        try sandbox.writeConfig(
            "45-sso.yaml",
            """
            providers:
              - id: sso
                type: oidc
                displayName: Corporate SSO
                config:
                  issuer: https://127.0.0.1:1/realms/main
                  clientID: portcullis
                  clientSecret: {env: SSO_CLIENT_SECRET}
                  groupsFrom: userinfo
                  authorizationParameters: {prompt: login}
            """)
        // Port 1 answers nothing: a check (and a start) that fetched discovery would fail or hang here.
        let good = try await sandbox.portcullis(
            ["config", "check"], environment: ["SSO_CLIENT_SECRET": "s3cret-value"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(!good.stdout.contains("s3cret-value") && !good.stderr.contains("s3cret-value"))

        try sandbox.writeConfig(
            "45-sso.yaml",
            """
            providers:
              - id: sso
                type: oidc
                config:
                  issuer: http://sso.example.org
                  clientID: portcullis
                  clientSecret: hunter2
              - id: sso2
                type: oidc
                config:
                  issuer: https://sso.example.org
                  clientID: portcullis
                  clientSecret: {env: SSO_CLIENT_SECRET}
                  allowedAlgorithms: [RS256, HS256]
                  groupsFrom: everywhere
                  clientSecretFile: /run/secrets/x
            """)
        let bad = try await sandbox.portcullis(["config", "check"], environment: ["SSO_CLIENT_SECRET": "s3cret-value"])
        expectRefused(
            bad,
            [
                "45-sso.yaml:7:21: providers[2].config.clientSecret", "clientSecretFile", "everywhere",
            ])
        #expect(!bad.stderr.contains("hunter2"), "an inline secret is never echoed")
        #expect(!bad.stderr.contains("s3cret-value"))
    }

    @Test func anOIDCProvidersOwnProblemsAreNamed() async throws {
        let sandbox = try Sandbox()
        try sandbox.writeConfig(
            "45-sso.yaml",
            """
            providers:
              - id: sso
                type: oidc
                config:
                  issuer: http://sso.example.org
                  clientID: portcullis
                  clientSecret: {env: SSO_CLIENT_SECRET}
                  allowedAlgorithms: [RS256, HS256, none]
                  scopes: [email]
            """)
        let result = try await sandbox.portcullis(["config", "check"], environment: ["SSO_CLIENT_SECRET": "s3cret"])
        expectRefused(
            result,
            [
                "providers[2].config", "issuer must be an https:// URL", "HS256 is not accepted",
                "none is not accepted", "scopes must contain openid",
            ])
    }
}
