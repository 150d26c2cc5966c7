import Administration
import CryptoCore
import Foundation
import IdentityCore
import Storage
import Testing

/// `ApplicationTokenService`: who may create, list and revoke a user's tokens, the per-user cap, unique
/// labels, and the audit rows written in the same transaction.
@Suite struct ApplicationTokenServiceTests {
    @Test func aCreatedTokenIsShownOnceAndListedWithoutItsSecret() async throws {
        try await ServiceFixture.with { fixture in
            let alice = fixture.users["alice"]!
            let created = try await fixture.tokens().create(
                owner: alice.id, name: "laptop", restriction: AccessRestriction(actions: ["pull"]),
                by: fixture.caller("alice"))
            #expect(ApplicationTokenFormat.isWellFormed(created.plaintext))
            #expect(created.token.prefix == ApplicationTokenFormat.displayPrefix(of: created.plaintext))
            #expect(!String(describing: created).contains(created.plaintext))
            let listed = try await fixture.tokens().list(owner: alice.id, by: fixture.caller("alice"))
            #expect(listed.map(\.name) == ["laptop"])
            #expect(listed.first?.restriction == AccessRestriction(actions: ["pull"]))
            #expect(!String(describing: listed).contains(created.plaintext))
            #expect(!String(describing: listed).contains(ApplicationTokenFormat.secretHash(of: created.plaintext)))
        }
    }

    @Test func creatingAndRevokingAreAuditedWithTheCaller() async throws {
        try await ServiceFixture.with { fixture in
            let alice = fixture.users["alice"]!
            _ = try await fixture.tokens().create(owner: alice.id, name: "ci", by: fixture.caller("alice"))
            try await fixture.tokens().revoke(owner: alice.id, name: "ci", by: fixture.caller("root"))
            // Revoking again changes nothing and audits nothing.
            try await fixture.tokens().revoke(owner: alice.id, name: "ci", by: fixture.caller("root"))
            let created = try await fixture.audit("application_token.create")
            let revoked = try await fixture.audit("application_token.revoke")
            #expect(created.map(\.actorName) == ["alice"])
            #expect(revoked.map(\.actorName) == ["root"])
            #expect(revoked.first?.actorID == fixture.users["root"]!.id)
            #expect(revoked.first?.target == "user:alice")
            #expect(revoked.first?.detail?.contains("\"token\":\"ci\"") == true)
        }
    }

    @Test func aUserHoldsAtMostTheConfiguredNumberOfLiveTokens() async throws {
        try await ServiceFixture.with { fixture in
            let alice = fixture.users["alice"]!
            let service = fixture.tokens(maxPerUser: 2)
            _ = try await service.create(owner: alice.id, name: "one", by: fixture.caller("alice"))
            _ = try await service.create(
                owner: alice.id, name: "two", expiresAt: fixture.clock.now.addingTimeInterval(60),
                by: fixture.caller("alice"))
            await #expect(throws: ApplicationTokenError(.limitReached, "")) {
                _ = try await service.create(owner: alice.id, name: "three", by: fixture.caller("alice"))
            }
            // Neither an admin nor the operator goes past the cap: it is the user's, not the caller's.
            await #expect(throws: ApplicationTokenError(.limitReached, "")) {
                _ = try await service.create(owner: alice.id, name: "three", by: .commandLine(osUser: "ops"))
            }
            // Expired and revoked tokens no longer count.
            fixture.clock.advance(by: 61)
            _ = try await service.create(owner: alice.id, name: "three", by: fixture.caller("alice"))
            try await service.revoke(owner: alice.id, name: "one", by: fixture.caller("alice"))
            _ = try await service.create(owner: alice.id, name: "four", by: fixture.caller("alice"))
            // Bob's tokens are his own count.
            _ = try await service.create(owner: fixture.users["bob"]!.id, name: "one", by: fixture.caller("bob"))
            #expect(try await fixture.audit("application_token.create").count == 5)
        }
    }

    @Test func aLabelIsUniquePerUserButNotAcrossUsers() async throws {
        try await ServiceFixture.with { fixture in
            let service = fixture.tokens()
            _ = try await service.create(owner: fixture.users["alice"]!.id, name: "ci", by: fixture.caller("alice"))
            await #expect(throws: ApplicationTokenError(.nameTaken, "")) {
                _ = try await service.create(owner: fixture.users["alice"]!.id, name: "ci", by: fixture.caller("alice"))
            }
            _ = try await service.create(owner: fixture.users["bob"]!.id, name: "ci", by: fixture.caller("bob"))
            #expect(try await fixture.audit("application_token.create").count == 2)
        }
    }

    @Test(arguments: ["", "tab\there", "new\nline", String(repeating: "n", count: 101)])
    func aBadLabelIsRefused(name: String) async throws {
        try await ServiceFixture.with { fixture in
            await #expect(throws: ApplicationTokenError(.invalidName, "")) {
                _ = try await fixture.tokens().create(
                    owner: fixture.users["alice"]!.id, name: name, by: fixture.caller("alice"))
            }
        }
    }

    @Test func aNonOwnerMayNotCreateListOrRevokeSomeoneElsesTokens() async throws {
        try await ServiceFixture.with { fixture in
            let alice = fixture.users["alice"]!
            let service = fixture.tokens()
            _ = try await service.create(owner: alice.id, name: "ci", by: fixture.caller("alice"))
            await #expect(throws: ApplicationTokenError(.forbidden, "")) {
                _ = try await service.create(owner: alice.id, name: "evil", by: fixture.caller("bob"))
            }
            await #expect(throws: ApplicationTokenError(.forbidden, "")) {
                _ = try await service.list(owner: alice.id, by: fixture.caller("bob"))
            }
            await #expect(throws: ApplicationTokenError(.forbidden, "")) {
                try await service.revoke(owner: alice.id, name: "ci", by: fixture.caller("bob"))
            }
            let listed = try await service.list(owner: alice.id, by: fixture.caller("alice"))
            #expect(listed.map(\.revokedAt) == [nil])
            #expect(try await fixture.audit("application_token.revoke").isEmpty)
        }
    }

    @Test func anAdminMayRevokeAnyonesToken() async throws {
        try await ServiceFixture.with { fixture in
            let alice = fixture.users["alice"]!
            let service = fixture.tokens()
            _ = try await service.create(owner: alice.id, name: "ci", by: fixture.caller("alice"))
            try await service.revoke(owner: alice.id, name: "ci", by: fixture.caller("root"))
            let listed = try await service.list(owner: alice.id, by: fixture.caller("root"))
            #expect(listed.first?.revokedAt == ServiceFixture.start)
        }
    }

    @Test func aTokenForAMissingUserOrAMissingTokenIsNotFound() async throws {
        try await ServiceFixture.with { fixture in
            await #expect(throws: ApplicationTokenError(.notFound, "")) {
                _ = try await fixture.tokens().create(owner: User.ID(9_999), name: "ghost", by: fixture.caller("root"))
            }
            await #expect(throws: ApplicationTokenError(.notFound, "")) {
                try await fixture.tokens().revoke(
                    owner: fixture.users["alice"]!.id, name: "nothing", by: fixture.caller("alice"))
            }
        }
    }

    @Test func anExpiryInThePastIsRefused() async throws {
        try await ServiceFixture.with { fixture in
            await #expect(throws: ApplicationTokenError(.invalidExpiry, "")) {
                _ = try await fixture.tokens().create(
                    owner: fixture.users["alice"]!.id, name: "past", expiresAt: fixture.clock.now,
                    by: fixture.caller("alice"))
            }
        }
    }
}
