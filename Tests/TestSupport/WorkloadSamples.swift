import Foundation
import WorkloadIdentity

/// Workload identity settings and audit details for the tests of the views over them (the REST API's
/// `workload-identity` resources, the admin page, the service): two issuers and three policies, one of them
/// pinning only names under `allowMutableClaims: true`.
public enum WorkloadSamples {
    /// `github` (profile github) and `gitlab` (profile gitlab); policies `ci-acme-api` (pinned by ids, matches
    /// main and `v*` tags, denies `pull_request_target`), `ci-acme-gitlab` (pinned by project id, single-use
    /// `jti`) and `ci-by-name` (names only, allowed).
    public static let settings: WorkloadIdentitySettings = {
        var github = WorkloadIssuer(
            name: "github", issuer: "https://token.actions.githubusercontent.com", profile: .github,
            audiences: ["https://registry.example.com"])
        github.definedAt = "config.d/45-workload-identity.yaml:3"
        var gitlab = WorkloadIssuer(
            name: "gitlab", issuer: "https://gitlab.example.com", profile: .gitlab,
            audiences: ["https://registry.example.com"], algorithms: [.rs256])
        gitlab.definedAt = "config.d/45-workload-identity.yaml:8"

        var api = WorkloadPolicy()
        api.name = "ci-acme-api"
        api.issuer = "github"
        api.require = [ClaimRequirement("repository_owner_id", "123456"), ClaimRequirement("repository_id", "456789")]
        api.match = [
            ClaimPatterns("ref", ["refs/heads/main", "refs/tags/v*"]),
            ClaimPatterns("job_workflow_ref", ["acme/api/.github/workflows/release.yml@*"]),
        ]
        api.deny = [ClaimPatterns("event_name", ["pull_request_target"])]
        api.grant = [WorkloadGrant(namespace: "acme", repositories: ["api", "api-*"], actions: [.pull, .push])]
        api.definedAt = "config.d/45-workload-identity.yaml:14"

        var lab = WorkloadPolicy()
        lab.name = "ci-acme-gitlab"
        lab.issuer = "gitlab"
        lab.require = [ClaimRequirement("project_id", "4711")]
        lab.match = [ClaimPatterns("ref_path", ["refs/heads/main"])]
        lab.grant = [WorkloadGrant(namespace: "acme", repositories: ["gitlab-*"], actions: [.pull, .push])]
        lab.session = .seconds(1800)
        lab.jti = .singleUse
        lab.definedAt = "config.d/45-workload-identity.yaml:26"

        var byName = WorkloadPolicy()
        byName.name = "ci-by-name"
        byName.issuer = "github"
        byName.require = [ClaimRequirement("repository", "acme/docs")]
        byName.grant = [WorkloadGrant(namespace: "acme", repositories: ["docs"], actions: [.pull])]
        byName.allowMutableClaims = true
        byName.definedAt = "config.d/45-workload-identity.yaml:34"
        return WorkloadIdentitySettings(issuers: [github, gitlab], policies: [api, lab, byName])
    }()

    /// The JSON detail the token endpoint audits for a decision: `policy`, `issuer`, the claims, and `failed`
    /// for a refusal (keys sorted, so tests compare text).
    public static func detail(policy: String, issuer: String, claims: [String: String], failed: String? = nil)
        -> String
    {
        var object: [String: String] = claims
        object["policy"] = policy
        object["issuer"] = issuer
        if let failed { object["failed"] = failed }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
