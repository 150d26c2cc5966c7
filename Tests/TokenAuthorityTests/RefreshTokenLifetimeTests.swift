import Foundation
import HTTPCore
import Storage
import Synchronization
import Testing

@testable import TokenAuthority

/// A clock the test moves by hand (no sleeps): the refresh tokens' expiry and the store's timestamps read it.
final class SteppedClock: Sendable {
    private let current = Mutex(EndpointFixture.now)
    var now: Date { current.withLock { $0 } }
    func advance(hours: Double) { current.withLock { $0 = $0.addingTimeInterval(hours * 3600) } }
    var function: @Sendable () -> Date { { self.now } }
}

/// Refresh-token lifetimes, the per-user cap and account state, through the real token endpoint.
@Suite struct RefreshTokenLifetimeTests {
    private typealias Fixture = EndpointFixture

    /// A day of idle expiry and `absoluteDays` of absolute expiry, so tests move hours, not months.
    private static func policy(absoluteDays: Double = 10, maxPerUser: Int = 50) -> RefreshTokenPolicy {
        RefreshTokenPolicy(
            idleExpiry: .seconds(86_400), absoluteExpiry: .seconds(Int64(absoluteDays * 86_400)),
            maxPerUser: maxPerUser)
    }

    /// Logs alice in as docker does with `offline_token=true`; returns the refresh token.
    private func login(_ fixture: EndpointFixture, client: String = "docker/27.0") async throws -> String {
        var head = Fixture.getHead(
            as: "alice", password: Accounts.alicePassword, scopes: [], extra: [("offline_token", "true")])
        head.headers.replaceOrAdd(name: "User-Agent", value: client)
        let response = await fixture.router.respond(to: Fixture.request(head))
        return try #require(try fixture.verifiedToken(response, subject: "alice").refreshToken)
    }

    /// Exchanges `refresh` as docker does (`grant_type=refresh_token`).
    private func redeem(_ fixture: EndpointFixture, _ refresh: String) async -> HTTPResponse {
        await fixture.post(
            formBody([
                ("grant_type", "refresh_token"), ("refresh_token", refresh), ("service", Fixture.service),
                ("client_id", "docker"),
            ]))
    }

    /// Whether `response` is the refusal every bad refresh token gets, and the audit log's reason for it.
    private func refusal(_ fixture: EndpointFixture, _ response: HTTPResponse) throws -> String? {
        #expect(response.status == .badRequest)
        #expect(try response.jsonObject()["error"] as? String == "invalid_grant")
        return try fixture.auditRecords.last?.reason
    }

    @Test func aTokenUnusedForTheIdleExpiryIsRefusedButUseKeepsItAlive() async throws {
        let clock = SteppedClock()
        try await Fixture.with(refreshPolicy: Self.policy(), storeClock: clock.function) { fixture in
            let refresh = try await login(fixture)
            clock.advance(hours: 23)
            #expect(await redeem(fixture, refresh).status == .ok)
            clock.advance(hours: 23)  // 46 h after issue, 23 h after the last use
            #expect(await redeem(fixture, refresh).status == .ok)
            clock.advance(hours: 25)  // 25 h idle
            let reason = try refusal(fixture, await redeem(fixture, refresh))
            #expect(reason?.hasSuffix("(expired)") == true, "\(reason ?? "")")
        }
    }

    @Test func aTokenPastTheAbsoluteExpiryIsRefusedThoughUsedEveryDay() async throws {
        let clock = SteppedClock()
        try await Fixture.with(refreshPolicy: Self.policy(absoluteDays: 3), storeClock: clock.function) { fixture in
            let refresh = try await login(fixture)
            for _ in 0..<3 {
                clock.advance(hours: 20)
                #expect(await redeem(fixture, refresh).status == .ok)
            }
            clock.advance(hours: 13)  // 73 h after issue, 13 h after the last use
            let reason = try refusal(fixture, await redeem(fixture, refresh))
            #expect(reason?.hasSuffix("(expired)") == true, "\(reason ?? "")")
        }
    }

    @Test func issuingBeyondThePerUserCapRevokesTheOldestAndAuditsIt() async throws {
        let clock = SteppedClock()
        try await Fixture.with(refreshPolicy: Self.policy(maxPerUser: 3), storeClock: clock.function) { fixture in
            var tokens: [String] = []
            for index in 0..<4 {
                tokens.append(try await login(fixture, client: "client-\(index)"))
                clock.advance(hours: 0.01)
            }
            let reason = try refusal(fixture, await redeem(fixture, tokens[0]))
            #expect(reason?.hasSuffix("(revoked)") == true, "\(reason ?? "")")
            for token in tokens.dropFirst() { #expect(await redeem(fixture, token).status == .ok) }

            let alice = fixture.users["alice"]!
            let live = try await fixture.refreshTokens.list(of: alice.id)
            #expect(live.map(\.client) == ["client-1", "client-2", "client-3"])
            let audit = try await fixture.store.read { try $0.auditEvents(limit: 50, before: nil) }
            let revocation = try #require(audit.first { $0.action == "refresh_token.revoke" })
            #expect(revocation.actorName == "alice")
            #expect(revocation.detail?.contains("per-user limit of 3") == true)
            #expect(audit.filter { $0.action == "refresh_token.revoke" }.count == 1)
        }
    }

    @Test func aLockedUsersTokenIsRefusedLikeAnUnknownOneAndWorksAgainAfterTheLock() async throws {
        let clock = SteppedClock()
        try await Fixture.with(refreshPolicy: Self.policy(), storeClock: clock.function) { fixture in
            let refresh = try await login(fixture)
            let alice = fixture.users["alice"]!
            let lockEnds = clock.now.addingTimeInterval(600)
            _ = try await fixture.store.write { try $0.recordFailedLogin(of: alice.id, lockedUntil: lockEnds) }

            let locked = await redeem(fixture, refresh)
            #expect(try refusal(fixture, locked)?.hasSuffix("(user_locked)") == true)
            let unknown = await redeem(
                fixture, RefreshTokenService.prefix + String(repeating: "A", count: 43))
            _ = try refusal(fixture, unknown)
            #expect(locked.body == unknown.body, "a lock is not revealed to the client")

            clock.advance(hours: 0.5)
            #expect(await redeem(fixture, refresh).status == .ok)
        }
    }

    @Test func aDisabledUsersTokenIsRefusedLikeAnUnknownOne() async throws {
        let clock = SteppedClock()
        try await Fixture.with(refreshPolicy: Self.policy(), storeClock: clock.function) { fixture in
            let refresh = try await login(fixture)
            let alice = fixture.users["alice"]!
            try await fixture.store.write { try $0.setEnabled(false, for: alice.id) }
            let disabled = await redeem(fixture, refresh)
            #expect(try refusal(fixture, disabled)?.hasSuffix("(user_disabled)") == true)
            let unknown = await redeem(fixture, RefreshTokenService.prefix + String(repeating: "B", count: 43))
            _ = try refusal(fixture, unknown)
            #expect(disabled.body == unknown.body)
        }
    }

    @Test func redemptionNotesItsUseAtMostOncePerTouchInterval() async throws {
        let clock = SteppedClock()
        try await Fixture.with(refreshPolicy: Self.policy(), storeClock: clock.function) { fixture in
            let refresh = try await login(fixture)
            let hash = RefreshTokenService.hash(refresh)
            clock.advance(hours: 1)
            let firstUse = clock.now
            #expect(await redeem(fixture, refresh).status == .ok)
            clock.advance(hours: 0.005)  // 18 s: within the touch interval
            #expect(await redeem(fixture, refresh).status == .ok)
            #expect(try await fixture.store.read { try $0.refreshToken(secretHash: hash) }?.lastUsedAt == firstUse)
            clock.advance(hours: 0.02)  // 72 s later
            #expect(await redeem(fixture, refresh).status == .ok)
            #expect(try await fixture.store.read { try $0.refreshToken(secretHash: hash) }?.lastUsedAt == clock.now)
        }
    }

    @Test func pruningDeletesRevokedAndExpiredTokensOnly() async throws {
        let clock = SteppedClock()
        try await Fixture.with(refreshPolicy: Self.policy(), storeClock: clock.function) { fixture in
            let alice = fixture.users["alice"]!
            let service = fixture.refreshTokens
            let idle = try await service.issue(userID: alice.id, service: Fixture.service)
            let revoked = try await service.issue(userID: alice.id, service: Fixture.service)
            #expect(try await service.revoke(revoked))
            clock.advance(hours: 20)
            let fresh = try await service.issue(userID: alice.id, service: Fixture.service)
            clock.advance(hours: 5)  // `idle` is 25 h unused, `fresh` 5 h
            #expect(try await service.prune() == 2)
            for gone in [idle, revoked] {
                #expect(
                    try await fixture.store.read { try $0.refreshToken(secretHash: RefreshTokenService.hash(gone)) }
                        == nil)
            }
            #expect(try await service.redeem(fresh, service: Fixture.service) == .valid(alice.id))
            #expect(try await service.list(of: alice.id).count == 1)
        }
    }

    @Test func revokingByIDTakesOnlyTheNamedUsersLiveToken() async throws {
        try await Fixture.with { fixture in
            let alice = fixture.users["alice"]!, bob = fixture.users["bob"]!
            let service = fixture.refreshTokens
            let token = try await service.issue(userID: alice.id, service: Fixture.service, client: "docker/27")
            let summary = try #require(try await service.list(of: alice.id).first)
            #expect(summary.client == "docker/27")
            #expect(try await service.revoke(summary.id, of: bob.id, actor: "cli:test") == false)
            #expect(try await service.redeem(token, service: Fixture.service) == .valid(alice.id))
            #expect(try await service.revoke(summary.id, of: alice.id, actor: "cli:test"))
            #expect(try await service.redeem(token, service: Fixture.service) == .invalid(.revoked))
            #expect(try await service.revoke(summary.id, of: alice.id, actor: "cli:test") == false)
        }
    }
}
