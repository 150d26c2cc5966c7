import CryptoCore
import Foundation
import HTTPCore
import HTTPFetchingCore
import TestSupport
import Testing
import TokenAuthority
import WorkloadIdentity

/// Issuers that hang or sign with other algorithms: one issuer's trouble is its own logins' alone.
@Suite struct WorkloadIssuerOutageTests {
    /// The tests' settings plus issuer `slow` (generic profile) at `url` and its policy `ci-slow`.
    static func settings(_ fixture: WorkloadFixture, slowIssuer url: String) -> WorkloadIdentitySettings {
        var settings = WorkloadFixture.settings(issuer: fixture.issuer.issuer)
        settings.issuers.append(
            WorkloadIssuer(name: "slow", issuer: url, profile: .generic, audiences: [WorkloadFixture.audience]))
        settings.policies.append(
            WorkloadPolicy(
                name: "ci-slow", issuer: "slow", require: [.init("project_id", "7")],
                grant: [.init(namespace: "slow", repositories: ["*"], actions: [.pull])]))
        return settings
    }

    @Test func aHangingIssuerStallsOnlyItsOwnLoginsAndEndsIn503() async throws {
        try await WorkloadFixture.with { fixture in
            let hung = try HostileIssuer(keys: [fixture.key])
            hung.update { $0.hangJWKS = true }
            let router = try fixture.endpoint(Self.settings(fixture, slowIssuer: hung.issuer))
            var slowClaims = fixture.claims(["iss": hung.issuer, "project_id": "7"])
            slowClaims["repository_id"] = nil
            let slowToken = HostileIssuer.sign(slowClaims, with: fixture.key)
            let pending = Task {
                await fixture.get(
                    on: router, username: "ci-slow", password: slowToken, scopes: ["repository:slow/x:pull"])
            }
            // Bounded wait for the hung login to be inside its JWKS fetch (a condition, not a sleep).
            let deadline = Date().addingTimeInterval(30)
            while hung.jwksFetches == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(hung.jwksFetches == 1)

            // Meanwhile a login through the healthy issuer completes.
            _ = try fixture.granted(await fixture.get(on: router, username: "ci-acme-api", password: fixture.token()))

            await hung.stop()
            let stalled = await pending.value
            #expect(stalled.status.code == 503, "\(WorkloadFixture.text(stalled))")
            let event = try #require(fixture.audit.workloadEvents.first { $0.actorName == "ci-slow" })
            #expect(event.outcome == .failure && (event.detail ?? "").contains("workload.issuer_unavailable"))
        }
    }

    @Test func anES256KeyOfTheIssuerIsAcceptedAndPS256OutsideTheAllowListIsNot() async throws {
        try await WorkloadFixture.with { fixture in
            let ec = HostileIssuer.SigningKey(keyID: "ci-key-ec", key: TestKeys.ec)
            fixture.issuer.update { $0.publishedKeys.append(ec) }
            let router = try fixture.endpoint()
            _ = try fixture.granted(
                await fixture.get(
                    on: router, username: "ci-acme-api", password: HostileIssuer.sign(fixture.claims(), with: ec)))
            let ps256 = HostileIssuer.sign(fixture.claims(), with: fixture.key, algorithm: .ps256)
            let refused = await fixture.get(on: router, username: "ci-acme-api", password: ps256)
            #expect(refused.status == .unauthorized)
            #expect(try fixture.audit.lastWorkloadDetail()["failed"] as? String == "token.algorithm")
        }
    }

    @Test func expiredJTIRecordsAndRefreshTokensArePruned() async throws {
        try await WorkloadFixture.with { fixture in
            let settings = WorkloadFixture.settings(issuer: fixture.issuer.issuer, jti: .singleUse)
            let router = try fixture.endpoint(settings)
            let response = await fixture.get(
                on: router, username: "ci-acme-api", password: fixture.token(), offline: true)
            _ = try fixture.granted(response)
            let logins = WorkloadLogins(
                settings: settings, store: fixture.store, http: { _ in NoHTTPFetching() }, now: fixture.clock.reader)
            #expect(try await logins.prune() == 0, "nothing has expired yet")
            fixture.clock.advance(by: 2 * 3600)
            #expect(try await logins.prune() == 2, "the jti record and the refresh token")
        }
    }
}
