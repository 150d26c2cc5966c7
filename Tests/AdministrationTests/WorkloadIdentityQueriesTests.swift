import Administration
import Foundation
import Storage
import TestSupport
import Testing
import WorkloadIdentity

/// `WorkloadIdentityQueries`: the one place that says who may see CI trust policies and their decisions, and how
/// an audited decision reads back.
@Suite("Workload identity views: policies from configuration, decisions from the audit log")
struct WorkloadIdentityQueriesTests {
    static func queries(_ fixture: ServiceFixture) -> WorkloadIdentityQueries {
        WorkloadIdentityQueries(store: fixture.store, workload: WorkloadSamples.settings)
    }

    @Test("Only administrators see policies and decisions", arguments: ["alice", "bob", "carol"])
    func administratorsOnly(_ user: String) async throws {
        try await ServiceFixture.with { fixture in
            let queries = Self.queries(fixture)
            let caller = fixture.caller(user)
            #expect(await code { try await queries.policies(by: caller) } == .forbidden)
            #expect(await code { try await queries.policy(named: "ci-acme-api", by: caller) } == .forbidden)
            #expect(await code { try await queries.decisions(by: caller) } == .forbidden)
            // The refusal comes before the lookup: a stranger cannot learn which names exist.
            #expect(await code { try await queries.policy(named: "nobody", by: caller) } == .forbidden)
        }
    }

    @Test("An administrator gets the policies in file order with their issuers, and a 404 code for an unknown name")
    func policiesForAdministrators() async throws {
        try await ServiceFixture.with { fixture in
            let queries = Self.queries(fixture)
            let root = fixture.caller("root")
            let all = try await queries.policies(by: root)
            #expect(all.map(\.policy.name) == ["ci-acme-api", "ci-acme-gitlab", "ci-by-name"])
            #expect(all.map(\.pinsImmutableClaim) == [true, true, false])
            #expect(all[1].issuer?.profile == .gitlab)
            #expect(try await queries.policy(named: "ci-by-name", by: root).policy.allowMutableClaims)
            #expect(await code { try await queries.policy(named: "nobody", by: root) } == .workloadPolicyNotFound)
            let error = AdministrationError(.workloadPolicyNotFound)
            #expect(error.isNotFound)
        }
    }

    @Test("Decisions are the workload.* entries, by policy, kind and outcome, newest first")
    func decisionsFiltered() async throws {
        try await ServiceFixture.with { fixture in
            let entries: [(String, String, AuditOutcome, String?)] = [
                ("workload.login", "ci-acme-api", .success, nil),
                ("workload.login", "ci-acme-api", .denied, "match.ref"),
                ("workload.refresh", "ci-acme-gitlab", .denied, "policy.unknown"),
                ("token.issue", "alice", .success, nil),
            ]
            for (action, actor, outcome, failed) in entries {
                let detail = WorkloadSamples.detail(
                    policy: actor, issuer: "github", claims: ["repository": "acme/api"], failed: failed)
                _ = try await fixture.store.write {
                    try $0.appendAuditEvent(
                        NewAuditEvent(action: action, outcome: outcome, actorName: actor, detail: detail))
                }
            }
            let queries = Self.queries(fixture)
            let root = fixture.caller("root")
            let all = try await queries.decisions(by: root)
            #expect(all.total == 3)
            #expect(all.items.map(\.failed) == ["policy.unknown", "match.ref", nil])
            #expect(all.items.first?.kind == .refresh)
            #expect(try await queries.decisions(.init(policy: "ci-acme-api"), by: root).total == 2)
            #expect(try await queries.decisions(.init(kind: .login), by: root).total == 2)
            #expect(try await queries.decisions(.init(outcome: .denied), by: root).total == 2)
            #expect(await code { try await queries.decisions(limit: 0, by: root) } == .invalidPaging)
        }
    }

    @Test("A decision reads back its policy, issuer, failed condition and claims in the audited order")
    func decisionReadBack() {
        let detail = """
            {"policy":"ci-acme-api","issuer":"github","jti":"j-1","repository":"acme/api","repository_id":456789,
            "ref":"refs/heads/main","service":"registry.test","requested":["repository:acme/api:push"],
            "granted":[],"failed":"require.repository_id","runner_environment":"self-hosted"}
            """
        let event = AuditEvent(
            id: .init(7), time: Date(timeIntervalSince1970: 1_800_000_000), actorID: nil, actorName: "ci-acme-api",
            action: "workload.login", target: "service:registry.test", outcome: .denied, clientIP: "10.0.0.1",
            detail: detail)
        let record = WorkloadDecisionRecord(event)
        #expect(record.policy == "ci-acme-api" && record.issuer == "github" && record.kind == .login)
        #expect(record.failed == "require.repository_id")
        // Audited claims first in WorkloadClaims.audited order, then the rest by name; a number by its JSON text;
        // the service and the scope lists are not claims.
        #expect(record.claims.map(\.name) == ["repository", "repository_id", "ref", "jti", "runner_environment"])
        #expect(record[claim: "repository_id"] == "456789")

        let garbled = AuditEvent(
            id: .init(8), time: Date(), actorID: nil, actorName: "ci-acme-api", action: "workload.login",
            target: nil, outcome: .failure, clientIP: nil, detail: "not json {")
        let unreadable = WorkloadDecisionRecord(garbled)
        #expect(unreadable.policy == "ci-acme-api" && unreadable.claims.isEmpty && unreadable.failed == nil)
    }
}
