import Administration
import Authorization
import Foundation
import Storage
import Testing

@Suite struct NamespaceAdministrationTests {
    @Test func contributorsCreateNamespacesInTheirTeamAndViewersDoNot() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        let bob = try await fixture.user("bob")
        let carol = try await fixture.user("carol")
        _ = try await fixture.teams.create("backend", by: alice)
        _ = try await fixture.teams.addMember("bob", to: "backend", role: .contributor, by: alice)
        _ = try await fixture.teams.addMember("carol", to: "backend", role: .viewer, by: alice)
        let created = try await fixture.namespaces.create("apis", team: "backend", by: bob)
        #expect(created.visibility == .private && created.team == "backend")
        #expect(await code { try await fixture.namespaces.create("more", team: "backend", by: carol) } == .forbidden)
        #expect(
            await code { try await fixture.namespaces.create("apis", team: "backend", by: bob) } == .namespaceNameTaken)
        #expect(
            await code { try await fixture.namespaces.create("-bad", team: "backend", by: bob) }
                == .invalidNamespaceName)
        #expect(await code { try await fixture.namespaces.create("x", team: "alice", by: alice) } == .teamNotFound)
        #expect(await code { try await fixture.namespaces.create("y", team: "missing", by: alice) } == .teamNotFound)
    }

    @Test func theListShowsWhatTheCallerMaySee() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        let bob = try await fixture.user("bob")
        _ = try await fixture.teams.create("backend", by: alice)
        _ = try await fixture.namespaces.create("secret", team: "backend", by: alice)
        _ = try await fixture.namespaces.create("shared", team: "backend", visibility: .protected, by: alice)
        _ = try await fixture.namespaces.create("open", team: "backend", visibility: .public, by: alice)
        let forBob = try await fixture.namespaces.list(PageRequest(sort: .name), by: bob)
        #expect(forBob.items.map(\.name) == ["bob", "open", NamespaceNaming.globalNamespaceName, "shared"])
        let anonymous = try await fixture.namespaces.list(PageRequest(sort: .name), by: .anonymous)
        #expect(anonymous.items.map(\.name) == ["open", NamespaceNaming.globalNamespaceName])
        let everything = try await fixture.namespaces.list(PageRequest(limit: 2, sort: .name), by: fixture.admin)
        #expect(everything.total == 6 && everything.items.map(\.name) == ["alice", "bob"])
        #expect(await code { try await fixture.namespaces.show("secret", by: bob) } == .namespaceNotFound)
        #expect(await code { try await fixture.namespaces.show("shared", by: .anonymous) } == .forbidden)
    }

    @Test func ownersChangeVisibilityAndDescriptionAndTheGlobalNamespaceNeverTurnsPrivate() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        _ = try await fixture.teams.create("backend", by: alice)
        _ = try await fixture.namespaces.create("apis", team: "backend", by: alice)
        #expect(try await fixture.namespaces.setVisibility(.public, of: "apis", by: alice).visibility == .public)
        #expect(
            try await fixture.namespaces.updateDescription("All APIs", of: "apis", by: alice).description == "All APIs")
        #expect(
            await code { try await fixture.namespaces.updateDescription("bell\u{7}", of: "apis", by: alice) }
                == .invalidDescription)
        let global = NamespaceNaming.globalNamespaceName
        #expect(
            await code { try await fixture.namespaces.setVisibility(.private, of: global, by: fixture.admin) }
                == .globalPrivate)
        #expect(
            await code { try await fixture.namespaces.setVisibility(.protected, of: global, by: alice) } == .forbidden)
        #expect(try await fixture.namespaces.setVisibility(.private, of: "alice", by: alice).visibility == .private)
    }

    @Test func aNamespaceIsTransferredOnlyToATeamTheOwnerAlsoOwns() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        let bob = try await fixture.user("bob")
        _ = try await fixture.teams.create("old", by: alice)
        _ = try await fixture.teams.create("new", by: alice)
        _ = try await fixture.teams.create("bobs", by: bob)
        _ = try await fixture.namespaces.create("images", team: "old", by: alice)
        #expect(try await fixture.namespaces.transfer("images", to: "new", by: alice).team == "new")
        #expect(await code { try await fixture.namespaces.transfer("images", to: "bobs", by: alice) } == .forbidden)
        #expect(await code { try await fixture.namespaces.transfer("alice", to: "new", by: alice) } == .forbidden)
        #expect(try await fixture.namespaces.transfer("images", to: "bobs", by: fixture.admin).team == "bobs")
        #expect(try await fixture.auditActions().filter { $0 == "namespace.change_team" }.count == 2)
    }

    @Test func onlyEmptyRegularNamespacesAreDeleted() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        _ = try await fixture.teams.create("backend", by: alice)
        _ = try await fixture.namespaces.create("full", team: "backend", by: alice)
        _ = try await fixture.namespaces.create("empty", team: "backend", by: alice)
        _ = try await fixture.store.write { writer in
            try writer.createRepository(name: "app", in: try writer.namespace(named: "full")!.id, registry: "r")
        }
        #expect(await code { try await fixture.namespaces.delete("full", by: alice) } == .namespaceNotEmpty)
        #expect(await code { try await fixture.namespaces.delete("alice", by: alice) } == .forbidden)
        try await fixture.namespaces.delete("empty", by: alice)
        #expect(await code { try await fixture.namespaces.show("empty", by: alice) } == .namespaceNotFound)
        let disabled = NamespaceAdministration(
            store: fixture.store, settings: ResourcePolicySettings(deleteEnabled: false))
        _ = try await fixture.namespaces.create("again", team: "backend", by: alice)
        #expect(await code { try await disabled.delete("again", by: fixture.admin) } == .forbidden)
    }
}
