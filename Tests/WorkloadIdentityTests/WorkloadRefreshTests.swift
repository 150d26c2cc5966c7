import Foundation
import HTTPCore
import TestSupport
import Testing
import TokenAuthority
import WorkloadIdentity

/// The refresh tokens of workload logins: they outlast the job token, and every use re-reads the policy.
@Suite struct WorkloadRefreshTests {
    /// Logs in with `offline_token=true` and returns the refresh token.
    private func login(_ fixture: WorkloadFixture, on router: Router) async throws -> String {
        let response = await fixture.get(
            on: router, username: "ci-acme-api", password: fixture.token(), offline: true)
        return try #require(try fixture.granted(response).refreshToken)
    }

    @Test func aPushOutlastingTheJobTokenGoesOnThroughTheRefreshTokenUntilTheSessionEnds() async throws {
        try await WorkloadFixture.with { fixture in
            let router = try fixture.endpoint()
            let refreshToken = try await login(fixture, on: router)
            #expect(refreshToken.hasPrefix("pcw_"))
            fixture.clock.advance(by: 30 * 60)  // the JWT (5 min) is long expired
            let refreshed = try fixture.granted(await fixture.refresh(on: router, refreshToken))
            #expect(refreshed.scopes == ["repository:acme/api:pull,push"])
            let event = try #require(fixture.audit.workloadEvents.last)
            #expect(event.action == "workload.refresh" && event.outcome == .success)
            let detail = try fixture.audit.lastWorkloadDetail()
            #expect(detail["policy"] as? String == "ci-acme-api" && detail["repository_id"] as? String == "456789")
            #expect(detail["jti"] as? String != nil)

            fixture.clock.advance(by: 31 * 60)  // past the policy's 1 h session
            let ended = await fixture.refresh(on: router, refreshToken)
            #expect(ended.status == .badRequest && WorkloadFixture.text(ended).contains("invalid_grant"))
            #expect(try fixture.audit.lastWorkloadDetail()["failed"] as? String == "refresh.expired")
        }
    }

    @Test func aNarrowedPolicyNarrowsTheNextRefresh() async throws {
        try await WorkloadFixture.with { fixture in
            let refreshToken = try await login(fixture, on: try fixture.endpoint())
            // The same database, restarted with a policy that grants pull only.
            let narrowed = try fixture.endpoint(WorkloadFixture.settings(issuer: fixture.issuer.issuer, grant: [.pull]))
            let refreshed = try fixture.granted(await fixture.refresh(on: narrowed, refreshToken))
            #expect(refreshed.scopes == ["repository:acme/api:pull"])
        }
    }

    @Test func aRemovedPolicyEndsTheRefresh() async throws {
        try await WorkloadFixture.with { fixture in
            let refreshToken = try await login(fixture, on: try fixture.endpoint())
            let removed = try fixture.endpoint(WorkloadFixture.settings(issuer: fixture.issuer.issuer, policies: false))
            let refused = await fixture.refresh(on: removed, refreshToken)
            #expect(refused.status == .unauthorized, "\(WorkloadFixture.text(refused))")
            let event = try #require(fixture.audit.workloadEvents.last)
            #expect(event.action == "workload.refresh" && event.outcome == .denied)
            #expect(try fixture.audit.lastWorkloadDetail()["failed"] as? String == "policy.unknown")
        }
    }

    @Test func aPolicyWhoseConditionsChangedRefusesTheStoredClaims() async throws {
        try await WorkloadFixture.with { fixture in
            let refreshToken = try await login(fixture, on: try fixture.endpoint())
            var settings = WorkloadFixture.settings(issuer: fixture.issuer.issuer)
            settings.policies[0].require = [.init("repository_owner_id", "123456"), .init("repository_id", "1")]
            let refused = await fixture.refresh(on: try fixture.endpoint(settings), refreshToken)
            #expect(refused.status == .unauthorized)
            #expect(try fixture.audit.lastWorkloadDetail()["failed"] as? String == "require.repository_id")
        }
    }

    @Test(arguments: [
        "pcw_short", "pcw_" + String(repeating: "A", count: 43), "pcr_" + String(repeating: "A", count: 43),
    ])
    func anUnknownOrMalformedRefreshTokenIsAnInvalidGrant(token: String) async throws {
        try await WorkloadFixture.with { fixture in
            let response = await fixture.refresh(on: try fixture.endpoint(), token)
            #expect(response.status == .badRequest && WorkloadFixture.text(response).contains("invalid_grant"))
        }
    }

    @Test func aRefreshTokenIsBoundToItsService() async throws {
        try await WorkloadFixture.with { fixture in
            let router = try fixture.endpoint()
            let refreshToken = try await login(fixture, on: router)
            let other = await fixture.post(
                on: router,
                [
                    ("grant_type", "refresh_token"), ("refresh_token", refreshToken),
                    ("service", WorkloadFixture.otherService),
                ])
            #expect(other.status == .badRequest && WorkloadFixture.text(other).contains("invalid_grant"))
            #expect(try fixture.audit.lastWorkloadDetail()["failed"] as? String == "refresh.other_service")
        }
    }
}
