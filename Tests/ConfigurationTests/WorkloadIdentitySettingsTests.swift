import Foundation
import Testing
import WorkloadIdentity

@testable import Configuration

@Suite struct WorkloadIdentitySettingsTests {
    static let issuers = """
        workloadIdentity:
          issuers:
            - name: github
              issuer: https://token.actions.githubusercontent.com
              profile: github
              audiences: [https://registry.example.com]
              algorithms: [RS256, ES256]
              maxTokenAge: 20m
              clockSkew: 60s
            - name: gitlab
              issuer: https://gitlab.example.com
              profile: gitlab
              audiences: [https://registry.example.com]
          policies:

        """

    @Test func theContractsExampleLoadsWithEveryValue() throws {
        let text =
            Self.issuers + """
                    - name: ci-acme-api
                      issuer: github
                      require: {repository_owner_id: "123456", repository_id: 456789}
                      match:
                        ref: ["refs/heads/main", "refs/tags/v*"]
                        job_workflow_ref: ["acme/api/.github/workflows/release.yml@*"]
                      deny: {event_name: pull_request_target}
                      grant:
                        - {namespace: acme, repositories: ["api", "api-*"], actions: [pull, push]}
                      session: 1h
                      jti: single-use
                """
        let settings = try load([("45-workload-identity.yaml", text)]).workloadIdentity
        #expect(settings.issuers.map(\.name) == ["github", "gitlab"])
        let github = try #require(settings.issuer(named: "github"))
        #expect(github.profile == .github)
        #expect(github.audiences == ["https://registry.example.com"])
        #expect(github.algorithms == [.rs256, .es256])
        #expect(github.maxTokenAge == .seconds(1200))
        #expect(github.definedAt == "config.d/45-workload-identity.yaml:3")
        #expect(settings.issuer(named: "gitlab")?.algorithms == [.rs256, .es256], "the default algorithms")
        let policy = try #require(settings.policy(named: "ci-acme-api"))
        #expect(policy.require == [.init("repository_owner_id", "123456"), .init("repository_id", "456789")])
        #expect(policy.match.map(\.claim) == ["ref", "job_workflow_ref"])
        #expect(policy.deny == [.init("event_name", ["pull_request_target"])])
        #expect(policy.grant == [.init(namespace: "acme", repositories: ["api", "api-*"], actions: [.pull, .push])])
        #expect(policy.session == .seconds(3600))
        #expect(policy.jti == .singleUse)
        #expect(!policy.allowMutableClaims)
        #expect(policy.definedAt == "config.d/45-workload-identity.yaml:15")
    }

    @Test(arguments: [
        ("github", "repository: acme/api", "policy 'names-only'"),
        ("gitlab", "project_path: acme/api", "namespace_id or project_id"),
    ])
    func aPolicyPinningOnlyNamesIsRefusedNamingItAndItsLine(issuer: String, require: String, expected: String) {
        let text =
            Self.issuers + """
                    - name: names-only
                      issuer: \(issuer)
                      require: {\(require)}
                      grant: [{namespace: acme, repositories: ["*"], actions: [pull]}]
                """
        let lines = report([("45-wi.yaml", text)])
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains("config.d/45-wi.yaml:15") == true, "\(lines)")
        #expect(lines.first?.contains(expected) == true, "\(lines)")
        #expect(lines.first?.contains("allowMutableClaims") == true, "\(lines)")
    }

    @Test func allowMutableClaimsAcceptsANameOnlyPolicyAndListsItForTheStartLog() throws {
        let text =
            Self.issuers + """
                    - name: names-only
                      issuer: github
                      require: {repository: acme/api}
                      grant: [{namespace: acme, repositories: ["*"]}]
                      allowMutableClaims: true
                """
        let settings = try load([("45-wi.yaml", text)]).workloadIdentity
        #expect(settings.mutablyPinnedPolicies.map(\.name) == ["names-only"])
        #expect(settings.policy(named: "names-only")?.grant.first?.actions == [.pull], "pull by default")
    }

    @Test(arguments: [
        ("algorithms", "[RS256, HS256]", "HS256 is never accepted"),
        ("algorithms", "[none]", "none is never accepted"),
        ("algorithms", "[]", "accepts no token"),
        ("audiences", "[]", "needs at least one audience"),
        ("issuer", "http://ci.example.com", "must use https"),
        ("maxTokenAge", "5s", "out of range"),
        ("profile", "jenkins", "unknown value 'jenkins'"),
        ("audience", "[x]", "unknown key"),
    ])
    func aBadIssuerIsRefusedNamingTheKey(key: String, value: String, expected: String) {
        var lines = [("name", "ci"), ("issuer", "http://127.0.0.1:8080"), ("audiences", "[registry]")].filter {
            $0.0 != key
        }
        lines.append((key, value))
        let text =
            "workloadIdentity:\n  issuers:\n    - " + lines.map { "\($0.0): \($0.1)" }.joined(separator: "\n      ")
            + "\n"
        let found = report([("45-wi.yaml", text)])
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.contains("45-wi.yaml:") == true && found.first?.contains(expected) == true, "\(found)")
    }

    @Test func anIssuerWithoutAudiencesIsRefused() {
        let lines = report([
            ("45-wi.yaml", "workloadIdentity:\n  issuers:\n    - {name: ci, issuer: https://ci.example}\n")
        ])
        #expect(lines.contains { $0.contains("missing required key 'audiences'") }, "\(lines)")
    }

    @Test func loopbackIssuersMayUsePlainHTTP() throws {
        let text = """
            workloadIdentity:
              issuers:
                - {name: a, issuer: "http://127.0.0.1:9400", audiences: [r]}
                - {name: b, issuer: "http://[::1]:9400/ci", audiences: [r]}
            """
        #expect(try load([("45-wi.yaml", text)]).workloadIdentity.issuers.count == 2)
    }

    @Test(arguments: [
        ("issuer", "gitlub", "does not define"),
        ("sesion", "1h", "unknown key"),
        ("jti", "once", "unknown value 'once'"),
        ("match", "{ref: []}", "matches nothing"),
        ("require", "{project_id: [1, 2]}", "expected a string value"),
        ("grant", "[{namespace: acme}]", "missing required key 'repositories'"),
        ("grant", "[{namespace: acme, repositories: [x], actions: [pull, \"*\"]}]", "unknown value '*'"),
    ])
    func aBadPolicyIsRefusedNamingTheKey(key: String, value: String, expected: String) {
        var lines = [
            ("name", "p"), ("issuer", "gitlab"), ("require", "{project_id: \"42\"}"),
            ("grant", "[{namespace: acme, repositories: [\"*\"]}]"),
        ].filter { $0.0 != key }
        lines.append((key, value))
        let text = Self.issuers + "    - " + lines.map { "\($0.0): \($0.1)" }.joined(separator: "\n      ") + "\n"
        let found = report([("45-wi.yaml", text)])
        #expect(found.contains { $0.contains("45-wi.yaml:") && $0.contains(expected) }, "\(found)")
    }

    @Test func policyAndIssuerNamesAreUnique() {
        let text =
            Self.issuers + """
                    - {name: p, issuer: gitlab, require: {project_id: "1"}, grant: [{namespace: a, repositories: [x]}]}
                    - {name: p, issuer: gitlab, require: {project_id: "2"}, grant: [{namespace: a, repositories: [x]}]}
                """
        let lines = report([("45-wi.yaml", text)])
        #expect(lines.count == 1 && lines[0].contains("duplicate trust policy name 'p'"), "\(lines)")
    }

    @Test func aPolicyWithoutGrantIsRefused() {
        let text = Self.issuers + "    - {name: p, issuer: gitlab, require: {project_id: \"1\"}}\n"
        let lines = report([("45-wi.yaml", text)])
        #expect(lines.count == 1 && lines[0].contains("missing required key 'grant'"), "\(lines)")
    }

    @Test func policiesInSeveralFragmentsAddUpAndASameNamedOneOverridesKeyByKey() throws {
        let teamA =
            "workloadIdentity:\n  policies:\n    - {name: a, issuer: gitlab, require: {project_id: \"1\"}, grant: [{namespace: a, repositories: [x]}]}\n"
        let teamB =
            "workloadIdentity:\n  policies:\n    - {name: b, issuer: gitlab, require: {project_id: \"2\"}, grant: [{namespace: b, repositories: [x]}]}\n    - {name: a, session: 2h}\n"
        let settings = try load([("45-issuers.yaml", Self.issuers), ("46-a.yaml", teamA), ("47-b.yaml", teamB)])
            .workloadIdentity
        #expect(settings.issuers.map(\.name) == ["github", "gitlab"])
        #expect(settings.policies.map(\.name) == ["a", "b"])
        #expect(settings.policy(named: "a")?.session == .seconds(7200))
        #expect(settings.policy(named: "a")?.require == [.init("project_id", "1")], "kept from the first fragment")
    }

    @Test func withoutTheSectionWorkloadIdentityIsOff() throws {
        let settings = try load([("00.yaml", "")]).workloadIdentity
        #expect(!settings.isEnabled && settings.issuers.isEmpty)
    }
}
