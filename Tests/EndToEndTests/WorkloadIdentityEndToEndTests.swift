import CryptoCore
import Foundation
import TestSupport
import Testing

/// CI workload identity against the real registry with skopeo: a CI job's OIDC token (signed by the tests'
/// loopback ``CIIssuer``) is the password of `skopeo copy --dest-creds <policy>:<JWT>`, under the trust policies
/// of ``WorkloadStack`` (config.d). Every refusal is checked next to a push that succeeds in the same stack, so
/// an endpoint that refuses everything cannot pass.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct WorkloadIdentityEndToEndTests {
    /// A bad token (or the right token under the wrong name) and the refusal reason the audit must give.
    struct Refusal: CustomTestStringConvertible, Sendable {
        let label: String
        let failed: String
        let make: @Sendable (CIIssuer) -> (user: String, token: String)
        var testDescription: String { label }
    }

    static let policy = WorkloadStack.githubPolicy
    static let audience = WorkloadStack.audience

    /// What the token endpoint must refuse for a push to `acme/api` (its 401 before any registry request).
    static let refusals: [Refusal] = [
        Refusal(label: "a re-created repository (same name, other id)", failed: "require.repository_id") {
            (policy, $0.sign($0.github(audience: audience).recreated(id: "999999")))
        },
        Refusal(label: "a feature branch", failed: "match.ref") {
            (policy, $0.sign($0.github(audience: audience).onBranch("feature/x")))
        },
        Refusal(label: "a pull_request_target run", failed: "deny.event_name") {
            (policy, $0.sign($0.github(audience: audience).triggeredBy("pull_request_target")))
        },
        Refusal(label: "another audience", failed: "token.audience") {
            (policy, $0.sign($0.github(audience: "https://github.com/acme")))
        },
        Refusal(label: "an expired token", failed: "token.expired") {
            (policy, $0.sign($0.github(audience: audience, now: Date().addingTimeInterval(-900), lifetime: 300)))
        },
        Refusal(label: "a token issued 30 minutes ago (maxTokenAge 20m)", failed: "token.too_old") {
            (policy, $0.sign($0.github(audience: audience, now: Date().addingTimeInterval(-1800), lifetime: 3600)))
        },
        Refusal(label: "alg none", failed: "token.algorithm") { (policy, $0.unsigned($0.github(audience: audience))) },
        Refusal(label: "HS256 keyed with a guessable secret", failed: "token.algorithm") {
            (policy, $0.hs256($0.github(audience: audience), secret: audience))
        },
        Refusal(label: "a key the JWKS does not list", failed: "token.unknown_key") {
            (policy, $0.signWithUnknownKey($0.github(audience: audience)))
        },
    ]

    @Test func aGitHubJobPushesWithItsPinnedIdsAndRefAndEveryOtherTokenIsRefusedWithItsReasonAudited() async throws {
        try await WorkloadStack.with { workload in
            let stack = workload.stack
            let ci = workload.github

            // The right repository id and ref: skopeo pushes with the JWT as the password, RS256 and ES256 alike.
            let client = try stack.client("github-job")
            let rs256 = ci.sign(ci.github(audience: Self.audience), algorithm: .rs256)
            let pushed = try await client.push(
                try await stack.image("rs256"), to: stack.registry, "acme/api:1", credentials: (Self.policy, rs256))
            #expect(pushed.succeeded, "\(pushed)\n\(stack.logs())")
            let es256 = ci.sign(ci.github(audience: Self.audience).onTag("v1.2.0"), algorithm: .es256)
            let tagged = try await client.push(
                try await stack.image("es256"), to: stack.registry, "acme/api-worker:v1.2.0",
                credentials: (Self.policy, es256))
            #expect(tagged.succeeded, "\(tagged)\n\(stack.logs())")
            #expect(
                try await workload.audited("workload.login", ["success", "456789", "refs/heads/main", Self.policy]))

            // Outside the grant: the same good token pushes nowhere else (the scope is not granted).
            let elsewhere = try await client.push(
                try await stack.image("elsewhere"), to: stack.registry, "acme/other:1",
                credentials: (Self.policy, rs256))
            #expect(!elsewhere.succeeded, "\(elsewhere)")

            // The refusals skopeo meets: a re-created repository, a feature branch, pull_request_target.
            for refusal in Self.refusals.prefix(3) {
                let (user, token) = refusal.make(ci)
                let refused = try await client.push(
                    try await stack.image("refused"), to: stack.registry, "acme/api:refused", credentials: (user, token)
                )
                #expect(!refused.succeeded, "\(refusal.label): \(refused)")
            }
            // Every refusal at the token endpoint: 401, no token, and the first failed condition in the audit.
            for refusal in Self.refusals {
                let (user, token) = refusal.make(ci)
                let answer = try await stack.portcullis.tokenRequest(
                    scopes: ["repository:acme/api:pull,push"], user: (user, token))
                #expect(answer.status == 401 && answer.json?["token"] == nil, "\(refusal.label): \(answer)")
                #expect(
                    try await workload.audited("workload.login", [refusal.failed]),
                    "\(refusal.label): no workload.login audit row names \(refusal.failed)\n\(stack.logs())")
            }
            // Nothing pushed under a refused token reached the registry.
            let missing = try await client.inspectDigest(stack.registry, "acme/api:refused")
            #expect(!missing.succeeded)

            // The JWT is a credential: the server's log never holds it whole.
            let log = stack.portcullis.logTail(1 << 22)
            #expect(!log.contains(rs256) && !log.contains(es256), "a CI JWT was logged")
        }
    }

    @Test(.enabled(if: Browser.shouldRun, "needs chromium and chromium-driver"))
    func theAdminPageShowsThePoliciesAndTheirDecisionsAndIsPhotographed() async throws {
        try await WorkloadStack.with { workload in
            let stack = workload.stack
            let ci = workload.github
            let good = try await stack.portcullis.tokenRequest(
                scopes: ["repository:acme/api:pull,push"],
                user: (Self.policy, ci.sign(ci.github(audience: Self.audience))))
            #expect(good.status == 200, "\(good)")
            for refusal in Self.refusals.prefix(4) {
                let (user, token) = refusal.make(ci)
                _ = try await stack.portcullis.tokenRequest(
                    scopes: ["repository:acme/api:pull,push"], user: (user, token))
            }
            for scheme in [Browser.ColorScheme.light, .dark] {
                try await withBrowser(colorScheme: scheme) { browser in
                    try await WebUIBrowserTests.signIn(browser, at: stack.portcullis.url, as: Stack.admin.credentials)
                    try await browser.open(stack.portcullis.url + "/admin/workload-identity")
                    let text = try await browser.find("main").text
                    #expect(text.contains(Self.policy) && text.contains("deny.event_name"), "\(text.prefix(2000))")
                    try await browser.screenshots(named: "admin-workload-identity" + (scheme == .dark ? "-dark" : ""))
                }
            }
        }
    }

    @Test func aUsersNameWithACIJobsTokenIsRefusedWhileTheUsersPasswordStillWorks() async throws {
        try await WorkloadStack.with { workload in
            let stack = workload.stack
            let ci = workload.github
            let token = ci.sign(ci.github(audience: Self.audience))
            let asAlice = try await stack.client("alice-jwt").push(
                try await stack.image("alice-jwt"), to: stack.registry, "alice/app:1", credentials: ("alice", token))
            #expect(!asAlice.succeeded, "\(asAlice)")
            let answer = try await stack.portcullis.tokenRequest(
                scopes: ["repository:acme/api:pull,push"], user: ("alice", token))
            #expect(answer.status == 401, "\(answer)")
            let withPassword = try await stack.client("alice").push(
                try await stack.image("alice"), to: stack.registry, "alice/app:1",
                credentials: (Stack.alice.name, Stack.alice.password))
            #expect(withPassword.succeeded, "\(withPassword)\n\(stack.logs())")
            // The same token under the policy's name pushes: the refusal was the name's, not the token's.
            let asPolicy = try await stack.client("policy").push(
                try await stack.image("policy"), to: stack.registry, "acme/api:1", credentials: (Self.policy, token))
            #expect(asPolicy.succeeded, "\(asPolicy)\n\(stack.logs())")
        }
    }

    @Test func aGitLabJobPushesThroughItsProjectIdAndRefPathAndAFeatureBranchIsRefused() async throws {
        try await WorkloadStack.with { workload in
            let stack = workload.stack
            let ci = workload.gitlab
            let claims = ci.gitlab(audience: Self.audience)
            #expect(claims["ref"] as? String == "main" && claims["ref_path"] as? String == "refs/heads/main")
            let client = try stack.client("gitlab-job")
            let pushed = try await client.push(
                try await stack.image("gitlab"), to: stack.registry, "acme/gitlab-app:1",
                credentials: (WorkloadStack.gitlabPolicy, ci.sign(claims)))
            #expect(pushed.succeeded, "\(pushed)\n\(stack.logs())")
            #expect(try await workload.audited("workload.login", ["success", "4711", WorkloadStack.gitlabPolicy]))

            let branch = try await client.push(
                try await stack.image("gitlab-branch"), to: stack.registry, "acme/gitlab-app:2",
                credentials: (WorkloadStack.gitlabPolicy, ci.sign(ci.gitlab(audience: Self.audience).onBranch("topic")))
            )
            #expect(!branch.succeeded, "\(branch)")
            #expect(try await workload.audited("workload.login", ["match.ref_path"]))
            let recreated = try await client.push(
                try await stack.image("gitlab-recreated"), to: stack.registry, "acme/gitlab-app:3",
                credentials: (
                    WorkloadStack.gitlabPolicy, ci.sign(ci.gitlab(audience: Self.audience).recreated(id: "9"))
                ))
            #expect(!recreated.succeeded, "\(recreated)")
            #expect(try await workload.audited("workload.login", ["require.project_id"]))
            // A GitHub token under the GitLab policy: another issuer, refused.
            let github = workload.github
            let crossed = try await stack.portcullis.tokenRequest(
                scopes: ["repository:acme/gitlab-app:pull"],
                user: (WorkloadStack.gitlabPolicy, github.sign(github.github(audience: Self.audience))))
            #expect(crossed.status == 401, "\(crossed)")
        }
    }
}
