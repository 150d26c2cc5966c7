import Foundation
import TestSupport
import Testing

extension ConfigCheckTests {
    static let workloadIssuer = """
        workloadIdentity:
          issuers:
            - name: github
              issuer: https://token.actions.githubusercontent.com
              profile: github
              audiences: [https://registry.example.com]
          policies:

        """

    @Test func aNameOnlyGitHubPolicyFailsConfigCheckWithItsFileAndLine() async throws {
        let sandbox = try Sandbox()
        try sandbox.writeConfig(
            "45-workload-identity.yaml",
            Self.workloadIssuer + """
                    - name: ci-names-only
                      issuer: github
                      require: {repository: acme/api}
                      grant: [{namespace: acme, repositories: [api], actions: [pull, push]}]
                """)
        let refused = try await sandbox.portcullis(["config", "check"])
        expectRefused(
            refused,
            [
                "45-workload-identity.yaml:8", "policy 'ci-names-only'", "repository_owner_id or repository_id",
                "allowMutableClaims",
            ])
        let serve = try await sandbox.portcullis(["serve"])
        #expect(serve.status == 78, "serve refuses what config check refuses")

        try sandbox.writeConfig(
            "45-workload-identity.yaml",
            Self.workloadIssuer + """
                    - name: ci-acme-api
                      issuer: github
                      require: {repository_owner_id: "123456", repository_id: "456789"}
                      grant: [{namespace: acme, repositories: [api], actions: [pull, push]}]
                """)
        let good = try await sandbox.portcullis(["config", "check"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("workloadIdentity:") && good.stdout.contains("ci-acme-api"))
    }

    @Test func aPolicyBearingAUsersNameFailsConfigCheckAndNoAccountMayTakeAPolicysName() async throws {
        let sandbox = try Sandbox()
        let policy =
            Self.workloadIssuer + """
                    - name: deploy
                      issuer: github
                      require: {repository_id: "456789"}
                      grant: [{namespace: acme, repositories: [api]}]
                """
        try sandbox.writeConfig("45-workload-identity.yaml", policy)
        #expect(
            try await sandbox.portcullis(["config", "check"]).status == 0, "no database yet: nothing to clash with")
        let taken = try await sandbox.portcullis(["user", "create", "deploy", "--no-password"])
        #expect(taken.status != 0 && taken.stderr.contains("CI trust policy 'deploy'"), "\(taken)")

        // A user made before the policy was configured: the policy is refused, naming its line.
        try FileManager.default.removeItem(
            at: sandbox.configDirectory.appendingPathComponent("45-workload-identity.yaml"))
        #expect(try await sandbox.portcullis(["user", "create", "deploy", "--no-password"]).status == 0)
        try sandbox.writeConfig("45-workload-identity.yaml", policy)
        let refused = try await sandbox.portcullis(["config", "check"])
        expectRefused(refused, ["45-workload-identity.yaml:8", "policy 'deploy' has the name of user 'deploy'"])
    }

    @Test func theShippedWorkloadIdentityExampleLoads() async throws {
        let sandbox = try Sandbox()
        let example = try String(
            contentsOf: packageRoot.appendingPathComponent("config.d/45-workload-identity.yaml.example"),
            encoding: .utf8)
        try sandbox.writeConfig("45-workload-identity.yaml", example)
        let check = try await sandbox.portcullis(["config", "check"])
        #expect(check.status == 0, "\(check.stderr)")
    }
}
