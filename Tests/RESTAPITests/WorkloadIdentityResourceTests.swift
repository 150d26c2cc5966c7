import Administration
import Foundation
import HTTPCore
import RESTAPI
import Storage
import TestSupport
import Testing

/// `workload-identity/policies`, `…/policies/{name}` and `…/decisions` over ``WorkloadSamples`` (mounted by
/// `APIFixture.operationsRoutes` as `serve` mounts them).
@Suite("REST API: workload identity policies and decisions")
struct WorkloadIdentityResourceTests {
    static let paths = [
        "/api/v1/workload-identity/policies", "/api/v1/workload-identity/policies/ci-acme-api",
        "/api/v1/workload-identity/decisions",
    ]

    /// Audits `count` decisions for `policy` as the token endpoint does.
    static func decide(
        _ fixture: APIFixture, policy: String, outcome: AuditOutcome, count: Int = 1, failed: String? = nil,
        action: String = "workload.login"
    ) async throws {
        for index in 0..<count {
            let detail = WorkloadSamples.detail(
                policy: policy, issuer: "github",
                claims: [
                    "repository": "acme/api", "repository_id": "456789", "run_id": "\(index)", "jti": "j\(index)",
                ],
                failed: failed)
            _ = try await fixture.store.write {
                try $0.appendAuditEvent(
                    NewAuditEvent(
                        action: action, outcome: outcome, actorName: policy, target: "service:registry.test",
                        detail: detail))
            }
        }
    }

    @Test("Only administrators read them: 401 without a token, 403 for a user", arguments: paths)
    func administratorsOnly(_ path: String) async throws {
        let fixture = try await APIFixture()
        #expect(await fixture.send(.get, path).status == 401)
        let user = await fixture.send(.get, path, headers: APIFixture.bearer(fixture.aliceToken))
        #expect(user.status == 403)
        #expect(!String(decoding: user.response.body, as: UTF8.self).contains("456789"))
        #expect(await fixture.send(.get, path, headers: APIFixture.bearer(fixture.rootToken)).status == 200)
    }

    @Test("policies lists every configured policy by name with its pins, globs, grants and where it is declared")
    func policiesListed() async throws {
        let fixture = try await APIFixture()
        let answer = await fixture.send(
            .get, "/api/v1/workload-identity/policies", headers: APIFixture.bearer(fixture.rootToken))
        #expect(answer.header("X-Total-Count") == "3")
        guard case .array(let items)? = answer.json else {
            Issue.record("not an array: \(answer)")
            return
        }
        #expect(items.map { $0["name"] } == [.string("ci-acme-api"), .string("ci-acme-gitlab"), .string("ci-by-name")])
        let api = items[0]
        #expect(api["issuer_url"] == .string("https://token.actions.githubusercontent.com"))
        #expect(api["profile"] == .string("github"))
        #expect(
            api["require"]
                == .array([
                    .object([("claim", .string("repository_owner_id")), ("value", .string("123456"))]),
                    .object([("claim", .string("repository_id")), ("value", .string("456789"))]),
                ]))
        #expect(api["session_seconds"] == .integer(3600) && api["jti"] == .string("reuse"))
        #expect(api["pins_immutable_claim"] == .bool(true))
        #expect(api["defined_at"] == .string("config.d/45-workload-identity.yaml:14"))
        #expect(items[2]["pins_immutable_claim"] == .bool(false) && items[2]["allow_mutable_claims"] == .bool(true))
        #expect(items[1]["jti"] == .string("single-use"))

        let paged = await fixture.send(
            .get, "/api/v1/workload-identity/policies?per_page=1&page=2&sort=-name",
            headers: APIFixture.bearer(fixture.rootToken))
        guard case .array(let page)? = paged.json else {
            Issue.record("not an array: \(paged)")
            return
        }
        #expect(page.map { $0["name"] } == [.string("ci-acme-gitlab")])
    }

    @Test("One policy by name; an unknown name is a 404 with the service's code")
    func onePolicy() async throws {
        let fixture = try await APIFixture()
        let root = APIFixture.bearer(fixture.rootToken)
        let found = await fixture.send(.get, "/api/v1/workload-identity/policies/ci-acme-gitlab", headers: root)
        #expect(found.status == 200 && found.json?["name"] == .string("ci-acme-gitlab"))
        #expect(
            found.json?["grant"]
                == .array([
                    .object([
                        ("namespace", .string("acme")), ("repositories", .array([.string("gitlab-*")])),
                        ("actions", .array([.string("pull"), .string("push")])),
                    ])
                ]))
        let missing = await fixture.send(.get, "/api/v1/workload-identity/policies/nobody", headers: root)
        #expect(missing.status == 404 && missing.errorCode == "WORKLOAD_POLICY_NOT_FOUND")
        let hostile = await fixture.send(
            .get, "/api/v1/workload-identity/policies/%3Cscript%3E", headers: root)
        #expect(hostile.status == 404)
    }

    @Test(
        "decisions are the audited workload logins and refreshes, newest first, filtered and paged like the other lists"
    )
    func decisionsListed() async throws {
        let fixture = try await APIFixture()
        try await Self.decide(fixture, policy: "ci-acme-api", outcome: .success, count: 3)
        try await Self.decide(fixture, policy: "ci-acme-api", outcome: .denied, failed: "match.ref")
        try await Self.decide(
            fixture, policy: "ci-acme-gitlab", outcome: .denied, failed: "policy.unknown", action: "workload.refresh")
        _ = try await fixture.store.write {
            try $0.appendAuditEvent(NewAuditEvent(action: "token.issue", outcome: .success, actorName: "alice"))
        }
        let root = APIFixture.bearer(fixture.rootToken)
        let all = await fixture.send(.get, "/api/v1/workload-identity/decisions?per_page=2", headers: root)
        #expect(all.header("X-Total-Count") == "5")
        guard case .array(let items)? = all.json, items.count == 2 else {
            Issue.record("not two items: \(all)")
            return
        }
        #expect(items.count == 2)
        #expect(items[0]["kind"] == .string("refresh") && items[0]["failed"] == .string("policy.unknown"))
        #expect(items[1]["failed"] == .string("match.ref") && items[1]["outcome"] == .string("denied"))
        guard case .array(let claims)? = items[1]["claims"] else {
            Issue.record("no claims: \(items[1])")
            return
        }
        #expect(claims.first == .object([("name", .string("repository")), ("value", .string("acme/api"))]))

        let byPolicy = await fixture.send(
            .get, "/api/v1/workload-identity/decisions?policy=ci-acme-gitlab", headers: root)
        #expect(byPolicy.header("X-Total-Count") == "1")
        let refused = await fixture.send(.get, "/api/v1/workload-identity/decisions?outcome=denied", headers: root)
        #expect(refused.header("X-Total-Count") == "2")
        let logins = await fixture.send(.get, "/api/v1/workload-identity/decisions?kind=login", headers: root)
        #expect(logins.header("X-Total-Count") == "4")
        let oldestFirst = await fixture.send(.get, "/api/v1/workload-identity/decisions?sort=time", headers: root)
        #expect(oldestFirst.status == 400)
        let badKind = await fixture.send(.get, "/api/v1/workload-identity/decisions?kind=everything", headers: root)
        #expect(badKind.status == 400 && badKind.errorField == "kind")
    }
}
