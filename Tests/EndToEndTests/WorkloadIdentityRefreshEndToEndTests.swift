import Foundation
import TestSupport
import Testing

/// A CI login outlives its short-lived JWT the way docker does it: `docker login` asks for `offline_token=true`,
/// stores the returned refresh token as the auth file's `identitytoken`, and from then on every token request
/// is a `grant_type=refresh_token` POST, re-checked against the policy as config.d says it now. And
/// `portcullis config check` on a policy that pins only names.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct WorkloadIdentityRefreshEndToEndTests {
    /// docker's refresh: the form as a chunked POST, no Basic auth.
    private static func refresh(_ stack: Stack, _ refreshToken: String, scope: String) async throws -> HTTPResult {
        let form = HTTP.formEncode([
            ("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", "docker"),
            ("service", stack.portcullis.service), ("scope", scope),
        ])
        return try await HTTP.request(
            stack.portcullis.realm, method: "POST", headers: ["Content-Type: application/x-www-form-urlencoded"],
            body: form, chunked: true)
    }

    @Test func aPushAfterTheJWTExpiredGoesOnThroughTheRefreshTokenUntilThePolicyIsRemovedFromConfig() async throws {
        try await WorkloadStack.with { workload in
            let stack = workload.stack
            let ci = workload.github
            let policy = WorkloadStack.githubPolicy
            let scope = "repository:acme/api:pull,push"

            // A warm JWKS first, so the short-lived token below is not spent on the first discovery fetch.
            let warm = try await stack.portcullis.tokenRequest(
                scopes: [scope], user: (policy, ci.sign(ci.github(audience: WorkloadStack.audience))))
            #expect(warm.status == 200, "\(warm)\n\(stack.logs())")

            // docker login with a JWT that lives 8 seconds.
            let claims = ci.github(audience: WorkloadStack.audience, lifetime: 8)
            let jwt = ci.sign(claims, algorithm: .es256)
            let login = try await stack.portcullis.tokenRequest(
                user: (policy, jwt), extra: [("offline_token", "true"), ("client_id", "docker")])
            #expect(login.status == 200, "\(login)\n\(stack.logs())")
            let refreshToken = try #require(login.json?["refresh_token"] as? String, "\(login)")
            #expect(!refreshToken.contains(jwt), "the refresh token must not carry the JWT")
            let client = try stack.client("docker-like")
            try client.storeIdentityToken(refreshToken, user: policy, for: stack.registry)

            // Wait for a condition, not a duration: the clock passing the JWT's exp (no skew is allowed), which
            // the endpoint confirms by refusing the JWT itself.
            let expired = try await waitUntil(seconds: 60) { Date() > claims.expiry.addingTimeInterval(1) }
            #expect(expired)
            let late = try await stack.portcullis.tokenRequest(scopes: [scope], user: (policy, jwt))
            #expect(late.status == 401, "the expired JWT still logs in: \(late)")

            // The push goes on through the refresh token (skopeo POSTs grant_type=refresh_token).
            let pushed = try await client.push(try await stack.image("late"), to: stack.registry, "acme/api:late")
            #expect(pushed.succeeded, "\(pushed)\n\(stack.logs())")
            #expect(try await workload.audited("workload.refresh", ["success", policy]))
            // The refresh grants no more than the policy: another repository is not in it.
            let outside = try await Self.refresh(stack, refreshToken, scope: "repository:devs-private/app:pull,push")
            if outside.status == 200, let token = outside.json?["access_token"] as? String {
                let access = try DecodedJWT(token).claims["access"] as? [[String: Any]] ?? []
                #expect(access.allSatisfy { ($0["actions"] as? [String] ?? []).isEmpty }, "\(access)")
            }

            // A restart alone changes nothing: the refresh token lives in the store.
            try await workload.reconfigure(policies: .both)
            let afterRestart = try await Self.refresh(stack, refreshToken, scope: scope)
            #expect(afterRestart.status == 200, "\(afterRestart)\n\(stack.logs())")

            // The policy removed from config.d (another stays): the next refresh is refused with the reason
            // audited, and so is skopeo's next push.
            try await workload.reconfigure(policies: .gitlabOnly)
            let removed = try await Self.refresh(stack, refreshToken, scope: scope)
            #expect(Self.isRefused(removed), "\(removed)")
            let refused = try await client.push(try await stack.image("gone"), to: stack.registry, "acme/api:gone")
            #expect(!refused.succeeded, "\(refused)")
            #expect(try await workload.audited("workload.refresh", ["denied", "policy.unknown", policy]))

            // Every policy removed (workload identity off): still refused, and still audited as a workload refresh.
            let refusedBefore = try await workload.auditDetails("workload.refresh").filter {
                $0.contains("policy.unknown")
            }.count
            try await workload.reconfigure(policies: .none)
            let off = try await Self.refresh(stack, refreshToken, scope: scope)
            #expect(Self.isRefused(off), "\(off)")
            #expect(
                try await waitUntil(seconds: 60) {
                    try await workload.auditDetails("workload.refresh").filter { $0.contains("policy.unknown") }.count
                        > refusedBefore
                }, "no workload.refresh audit row for a refresh with no policy configured")
        }
    }

    /// A refused refresh: OAuth2's 400 `invalid_grant` (RFC 6749 §5.2) or a 401, and no token.
    private static func isRefused(_ answer: HTTPResult) -> Bool {
        [400, 401].contains(answer.status) && answer.json?["access_token"] == nil && answer.json?["token"] == nil
    }

    @Test func configCheckRefusesAGitHubPolicyThatPinsOnlyNamesNamingFileAndLine() async throws {
        try Peers.require()
        let portcullis = try Portcullis(
            port: try freePort(), service: "e2e-registry.test", issuer: "portcullis-e2e",
            registryURL: "http://127.0.0.1:5000")
        defer { portcullis.stop() }
        let fragment = """
            workloadIdentity:
              issuers:
                - name: github
                  issuer: https://token.actions.githubusercontent.com
                  profile: github
                  audiences: [https://registry.example.com]
                  algorithms: [RS256]
              policies:
                - name: ci-by-name
                  issuer: github
                  require: {repository: "acme/api", repository_owner: "acme"}
                  grant:
                    - {namespace: acme, repositories: ["api"], actions: [pull, push]}

            """
        try portcullis.writeConfig(WorkloadStack.fragment, fragment)
        let nameOnly = try await portcullis.run(["config", "check"])
        let output = nameOnly.stdout + nameOnly.stderr
        #expect(!nameOnly.succeeded, "\(nameOnly)")
        #expect(output.contains("ci-by-name"), "\(nameOnly)")
        // The policy starts on line 9 of the fragment; the error points into it (its entry or its `require`).
        let located = (9...11).contains { output.contains("\(WorkloadStack.fragment):\($0)") }
        #expect(located, "\(nameOnly)")

        // The same policy pinned by id passes: the refusal was the pin's.
        try portcullis.writeConfig(
            WorkloadStack.fragment,
            fragment.replacingOccurrences(
                of: #"{repository: "acme/api", repository_owner: "acme"}"#,
                with: #"{repository: "acme/api", repository_owner_id: "123456"}"#))
        let pinned = try await portcullis.run(["config", "check"])
        #expect(pinned.succeeded, "\(pinned)")
    }
}
