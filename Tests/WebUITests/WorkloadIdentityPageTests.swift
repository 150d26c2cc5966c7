import Administration
import Foundation
import Storage
import TestSupport
import Testing
import WorkloadIdentity

@testable import WebUI

/// `/admin/workload-identity`: the trust policies of ``WorkloadSamples`` and the decisions audited for them,
/// over HTTP requests to the UI's router as `serve` mounts it.
@Suite("Web UI: the workload identity admin page")
struct WorkloadIdentityPageTests {
    static func fixture(_ settings: WorkloadIdentitySettings = WorkloadSamples.settings) async throws -> WebFixture {
        try await WebFixture { store, services in
            services.workloadIdentity = WorkloadIdentityQueries(store: store, workload: settings)
        }
    }

    /// Audits one decision as the token endpoint does (the policy name as the actor).
    static func decide(
        _ fixture: WebFixture, _ action: String = "workload.login", policy: String, issuer: String = "github",
        outcome: AuditOutcome, claims: [String: String], failed: String? = nil
    ) async throws {
        _ = try await fixture.store.write { writer in
            try writer.appendAuditEvent(
                NewAuditEvent(
                    action: action, outcome: outcome, actorName: policy, target: claims["repository"],
                    detail: WorkloadSamples.detail(policy: policy, issuer: issuer, claims: claims, failed: failed)))
        }
    }

    static let github = [
        "repository": "acme/api", "repository_id": "456789", "repository_owner_id": "123456",
        "ref": "refs/heads/main", "run_id": "9876543210", "jti": "jti-1",
    ]

    @Test("An administrator sees every policy with its pins, matches, denials and grants, and where it is declared")
    func policiesShown() async throws {
        let fixture = try await Self.fixture()
        let page = try await fixture.browser("root").get("/admin/workload-identity")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "policy-ci-acme-api") && page.hasElement(id: "policy-ci-acme-gitlab"))
        #expect(page.contains("repository_id = 456789") && page.contains("repository_owner_id = 123456"))
        #expect(page.contains("refs/heads/main | refs/tags/v*"))
        #expect(page.contains("event_name ∈ pull_request_target"))
        #expect(page.contains("acme/{api, api-*}") && page.contains("acme/gitlab-*"))
        #expect(page.contains("https://token.actions.githubusercontent.com"))
        #expect(page.contains("config.d/45-workload-identity.yaml:14"))
        #expect(page.contains("30 min") && page.contains("each job token logs in once"))
        // Only the policy that pins names is flagged.
        #expect(page.count("pins names only") == 1)
        #expect(page.contains("href=\"/admin/workload-identity\" aria-current=\"page\""))
    }

    @Test(
        "Recent decisions show the deciding claims and, for a refusal, the condition that failed; filters narrow them")
    func decisionsShown() async throws {
        let fixture = try await Self.fixture()
        try await Self.decide(fixture, policy: "ci-acme-api", outcome: .success, claims: Self.github)
        var recreated = Self.github
        recreated["repository_id"] = "999999"
        try await Self.decide(
            fixture, policy: "ci-acme-api", outcome: .denied, claims: recreated, failed: "require.repository_id")
        try await Self.decide(
            fixture, "workload.refresh", policy: "ci-acme-gitlab", issuer: "gitlab", outcome: .denied,
            claims: ["project_path": "acme/gitlab-app", "project_id": "4711", "ref_path": "refs/heads/main"],
            failed: "policy.unknown")
        _ = try await fixture.store.write { writer in
            try writer.appendAuditEvent(NewAuditEvent(action: "token.issue", outcome: .success, actorName: "carl"))
        }
        let root = try await fixture.browser("root")
        let all = await root.get("/admin/workload-identity")
        #expect(all.hasElement(id: "workload-decisions"))
        #expect(all.contains("<code>require.repository_id</code>") && all.contains("<code>policy.unknown</code>"))
        #expect(all.contains("id 999999") && all.contains("9876543210") && all.contains("acme/gitlab-app"))
        #expect(all.count("badge warning\">denied") == 2 && all.count("badge success\">success") == 1)
        #expect(!all.contains("carl"), "only workload decisions are listed")

        let gitlab = await root.get("/admin/workload-identity?policy=ci-acme-gitlab")
        #expect(gitlab.contains("<code>policy.unknown</code>") && !gitlab.contains("require.repository_id"))
        #expect(gitlab.contains("refresh"))
        let refused = await root.get("/admin/workload-identity?outcome=denied&policy=ci-acme-api")
        #expect(refused.contains("require.repository_id") && refused.count("badge success\">success") == 0)
        // An unknown policy or outcome in the query is ignored, not an error.
        let odd = await root.get("/admin/workload-identity?policy=%3Cnope%3E&outcome=maybe")
        #expect(odd.status == 200 && odd.count("badge warning\">denied") == 2)
    }

    @Test("A claim value carrying markup is shown as text", arguments: ["ref", "repository", "jti", "run_id"])
    func claimMarkupEscaped(_ claim: String) async throws {
        let fixture = try await Self.fixture()
        var claims = Self.github
        claims[claim] = markup
        try await Self.decide(fixture, policy: "ci-acme-api", outcome: .denied, claims: claims, failed: "match.ref")
        try await Self.decide(fixture, policy: markup, outcome: .denied, claims: claims, failed: markup)
        let page = try await fixture.browser("root").get("/admin/workload-identity")
        #expect(page.status == 200)
        #expect(!page.contains("<script>alert(1)") && !page.contains("<img src=x"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    @Test("A non-administrator gets the 403 page and never a policy or a decision", arguments: ["olivia", "eve"])
    func nonAdministratorsRefused(_ username: String) async throws {
        let fixture = try await Self.fixture()
        try await Self.decide(fixture, policy: "ci-acme-api", outcome: .success, claims: Self.github)
        let page = try await fixture.browser(username).get("/admin/workload-identity")
        #expect(page.status == 403)
        #expect(page.contains("Only administrators may open this page."))
        #expect(!page.contains("ci-acme-api") && !page.contains("456789"))
        #expect(!page.contains("Workload identity</a>"), "the navigation offers it to administrators only")
        #expect(await fixture.visitor.get("/admin/workload-identity").status == 303)
    }

    @Test("Without any policy the page says how to add one")
    func emptyState() async throws {
        let fixture = try await Self.fixture(WorkloadIdentitySettings())
        let page = try await fixture.browser("root").get("/admin/workload-identity")
        #expect(page.status == 200)
        #expect(page.contains("No trust policy is configured"))
        #expect(page.contains("45-workload-identity.yaml.example"))
        #expect(page.contains("No decision yet"))
    }

    @Test(
        "Session lengths read as people say them",
        arguments: [(3600, "1 h"), (1800, "30 min"), (5400, "90 min"), (9000, "2 h 30 min"), (45, "45 s")])
    func sessionLengths(_ seconds: Int, _ text: String) {
        #expect(WebUI.workloadDuration(.seconds(seconds)) == text)
    }
}
