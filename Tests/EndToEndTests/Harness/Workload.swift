import Foundation
import TestSupport

/// A ``Stack`` whose portcullis trusts two CI issuers on loopback (``CIIssuer``: `github`, profile github, and
/// `gitlab`, profile gitlab) through `45-workload-identity.yaml`, with namespace `acme` (team `devs`) for the
/// policies' grants:
///
/// - `ci-acme-api` (github): requires owner id 123456 and repository id 456789, matches `ref` main or `v*` tags
///   and the `release.yml` workflow, denies `pull_request_target`; grants pull and push on `acme/api`,
///   `acme/api-*`;
/// - `ci-acme-gitlab` (gitlab): requires project id 4711 and namespace id 22, matches `ref_path`
///   `refs/heads/main`; grants pull and push on `acme/gitlab-*`.
///
/// Both issuers allow no clock skew, so a token is expired the second after its `exp`.
final class WorkloadStack {
    /// The audience every policy's issuer accepts (the registry's URL, as a CI job would ask for it).
    static let audience = "https://e2e-registry.test"
    /// The GitHub-shaped policy.
    static let githubPolicy = "ci-acme-api"
    /// The GitLab-shaped policy.
    static let gitlabPolicy = "ci-acme-gitlab"
    /// The config.d fragment the policies live in.
    static let fragment = "45-workload-identity.yaml"

    let stack: Stack
    let github: CIIssuer
    let gitlab: CIIssuer

    private init(stack: Stack, github: CIIssuer, gitlab: CIIssuer) {
        self.stack = stack
        self.github = github
        self.gitlab = gitlab
    }

    /// Starts both issuers and the stack with the fragment in place before `serve` first reads config.d.
    static func start() async throws -> WorkloadStack {
        let github = try CIIssuer()
        let gitlab = try CIIssuer()
        do {
            let stack = try await Stack.start { portcullis in
                try portcullis.writeConfig(fragment, configuration(github: github.issuer, gitlab: gitlab.issuer))
                try await portcullis.createNamespace("acme", team: "devs")
                try portcullis.configureSigningKeys([Portcullis.defaultKey])
                try await portcullis.generateKey(.ec)
                return [Portcullis.defaultKey.certificate]
            }
            return WorkloadStack(stack: stack, github: github, gitlab: gitlab)
        } catch {
            await github.stop()
            await gitlab.stop()
            throw error
        }
    }

    /// Runs `body` over a started stack and stops everything after it, whether it returned or threw.
    static func with(_ body: (WorkloadStack) async throws -> Void) async throws {
        let workload = try await start()
        do {
            try await body(workload)
        } catch {
            await workload.stop()
            throw error
        }
        await workload.stop()
    }

    /// Which policies a fragment declares.
    enum Policies { case both, gitlabOnly, none }

    /// The issuers' section and `policies`.
    static func configuration(github: String, gitlab: String, policies: Policies = .both) -> String {
        let issuers = """
            workloadIdentity:
              issuers:
                - name: github
                  issuer: \(github)
                  profile: github
                  audiences: [\(audience)]
                  algorithms: [RS256, ES256]
                  maxTokenAge: 20m
                  clockSkew: 0s
                - name: gitlab
                  issuer: \(gitlab)
                  profile: gitlab
                  audiences: [\(audience)]
                  algorithms: [RS256, ES256]
                  maxTokenAge: 20m
                  clockSkew: 0s

            """
        guard policies != .none else { return issuers }
        let githubEntry = """
                - name: \(githubPolicy)
                  issuer: github
                  require: {repository_owner_id: "123456", repository_id: "456789"}
                  match:
                    ref: ["refs/heads/main", "refs/tags/v*"]
                    job_workflow_ref: ["acme/api/.github/workflows/release.yml@*"]
                  deny: {event_name: [pull_request_target]}
                  grant:
                    - {namespace: acme, repositories: ["api", "api-*"], actions: [pull, push]}
                  session: 1h
                  jti: reuse

            """
        let gitlabEntry = """
                - name: \(gitlabPolicy)
                  issuer: gitlab
                  require: {project_id: "4711", namespace_id: "22"}
                  match:
                    ref_path: ["refs/heads/main"]
                  grant:
                    - {namespace: acme, repositories: ["gitlab-*"], actions: [pull, push]}
                  session: 1h

            """
        return issuers + "  policies:\n" + (policies == .both ? githubEntry : "") + gitlabEntry
    }

    /// Rewrites the fragment with `policies` and restarts `serve` to read it.
    func reconfigure(policies: Policies) async throws {
        try stack.portcullis.writeConfig(
            Self.fragment, Self.configuration(github: github.issuer, gitlab: gitlab.issuer, policies: policies))
        try await stack.portcullis.restart()
    }

    /// The `detail` column of every `action` audit row (newest last), read with the `sqlite3` shell.
    func auditDetails(_ action: String) async throws -> [String] {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") else {
            throw HarnessError("/usr/bin/sqlite3 is missing (Debian package sqlite3)")
        }
        let database = stack.portcullis.directory.path("var/portcullis.sqlite3")
        let result = try await Processes.run(
            "/usr/bin/sqlite3",
            [
                "-cmd", ".timeout 5000", database.path,
                "SELECT outcome || ' ' || coalesce(detail, '') FROM audit_events WHERE action = '\(action)' ORDER BY id;",
            ])
        guard result.succeeded else { throw HarnessError("sqlite3 failed: \(result)") }
        return result.stdout.split(separator: "\n").map(String.init)
    }

    /// Waits (bounded) until an `action` audit row's outcome and detail contain every one of `fragments`.
    func audited(_ action: String, _ fragments: [String]) async throws -> Bool {
        try await waitUntil(seconds: 60) {
            try await self.auditDetails(action).contains { row in fragments.allSatisfy { row.contains($0) } }
        }
    }

    /// Stops the stack and both issuers.
    func stop() async {
        stack.stop()
        await github.stop()
        await gitlab.stop()
    }
}
