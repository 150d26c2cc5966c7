import Foundation
import HTTPCore
import Storage
import Testing

@testable import TokenAuthority

/// The endpoint caches (identity, scopes) decisions under the store's authorization generation: each
/// test makes a request that fills the cache, changes the store, and expects the very next identical
/// request to be decided afresh.
@Suite struct DecisionCacheTests {
    private typealias Fixture = EndpointFixture

    @Test func anIdenticalRequestWithNothingChangedGetsTheSameGrants() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let scopes = ["repository:alice/demo:pull,push", "repository:opensource/tool:pull,push"]
            let first = try fixture.verifiedToken(
                await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: scopes), subject: "alice")
            let second = try fixture.verifiedToken(
                await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: scopes), subject: "alice")
            #expect(first.grants == second.grants)
            #expect(
                second.grants == ["repository:alice/demo": ["pull", "push"], "repository:opensource/tool": ["pull"]])
        }
    }

    @Test func aUserDisabledAfterASuccessfulRequestIsRefusedOnTheNextOne() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let scopes = ["repository:alice/demo:pull"]
            let before = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: scopes)
            #expect(try fixture.verifiedToken(before, subject: "alice").grants == ["repository:alice/demo": ["pull"]])
            let alice = try #require(fixture.users["alice"])
            try await fixture.store.write { try $0.setEnabled(false, for: alice.id) }
            let after = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: scopes)
            #expect(try fixture.registryError(after, status: .unauthorized).message == "account disabled")
        }
    }

    @Test func aRemovedMembershipNoLongerGrantsPushOnTheNextRequest() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let scopes = ["repository:opensource/tool:pull,push"]
            let before = await fixture.get(as: "bob", password: Accounts.bobPassword, scopes: scopes)
            #expect(
                try fixture.verifiedToken(before, subject: "bob").grants == [
                    "repository:opensource/tool": ["pull", "push"]
                ])
            let bob = try #require(fixture.users["bob"])
            try await fixture.store.write { writer in
                let oss = try #require(try writer.team(named: "oss"))
                try writer.removeTeamMember(team: oss.id, user: bob.id)
            }
            let after = await fixture.get(as: "bob", password: Accounts.bobPassword, scopes: scopes)
            // Still public, so pull stays; push went with the membership.
            #expect(try fixture.verifiedToken(after, subject: "bob").grants == ["repository:opensource/tool": ["pull"]])
        }
    }

    @Test func aNamespaceMadePrivateRefusesTheNextAnonymousPull() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let query = [("scope", "repository:opensource/tool:pull"), ("service", Fixture.service)]
            let before = try fixture.verifiedToken(await fixture.get(query), subject: "")
            #expect(before.grants == ["repository:opensource/tool": ["pull"]])
            try await fixture.store.write { writer in
                let namespace = try #require(try writer.namespace(named: "opensource"))
                try writer.setVisibility(.private, for: namespace.id)
            }
            let after = try fixture.verifiedToken(await fixture.get(query), subject: "")
            #expect(after.access.isEmpty)
        }
    }

    @Test func aUserMadeAdminIsGrantedTheCatalogOnTheNextRequest() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let scopes = ["registry:catalog:*"]
            let before = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: scopes)
            #expect(try fixture.verifiedToken(before, subject: "alice").access.isEmpty)
            let alice = try #require(fixture.users["alice"])
            try await fixture.store.write { try $0.setAdmin(true, for: alice.id) }
            let after = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: scopes)
            #expect(try fixture.verifiedToken(after, subject: "alice").grants == ["registry:catalog": ["*"]])
        }
    }

    @Test func anAdminDemotedAfterASuccessfulRequestLosesTheCatalogOnTheNextOne() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let scopes = ["registry:catalog:*"]
            let before = await fixture.get(as: "root", password: Accounts.rootPassword, scopes: scopes)
            #expect(try fixture.verifiedToken(before, subject: "root").grants == ["registry:catalog": ["*"]])
            let root = try #require(fixture.users["root"])
            try await fixture.store.write { try $0.setAdmin(false, for: root.id) }
            let after = await fixture.get(as: "root", password: Accounts.rootPassword, scopes: scopes)
            #expect(try fixture.verifiedToken(after, subject: "root").access.isEmpty)
        }
    }
}
