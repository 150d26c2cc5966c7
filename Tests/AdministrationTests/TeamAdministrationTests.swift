import Administration
import Foundation
import Storage
import Testing

@Suite struct TeamAdministrationTests {
    @Test func aUserCreatingATeamOwnsItAndNamingAnotherOwnerIsForAdministrators() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        try await fixture.user("bob")
        let team = try await fixture.teams.create("backend", description: "APIs", by: alice)
        #expect(team.members.map(\.username) == ["alice"] && team.members.first?.role == .owner)
        #expect(await code { try await fixture.teams.create("other", owner: "bob", by: alice) } == .forbidden)
        #expect(await code { try await fixture.teams.create("backend", by: alice) } == .teamNameTaken)
        #expect(await code { try await fixture.teams.create("Bad Name", by: alice) } == .invalidTeamName)
        let operated = try await fixture.teams.create("ops", owner: "bob", by: fixture.admin)
        #expect(operated.members.map(\.username) == ["bob"])
    }

    @Test func membersAreAddedRoleChangedAndRemovedWithEveryChangeAudited() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        let bob = try await fixture.user("bob")
        _ = try await fixture.teams.create("backend", by: alice)
        _ = try await fixture.teams.addMember("bob", to: "backend", role: .viewer, by: alice)
        #expect(await code { try await fixture.teams.addMember("bob", to: "backend", by: alice) } == .alreadyMember)
        #expect(await code { try await fixture.teams.addMember("alice", to: "backend", by: bob) } == .forbidden)
        _ = try await fixture.teams.setRole(.contributor, of: "bob", in: "backend", by: alice)
        try await fixture.teams.removeMember("bob", from: "backend", by: alice)
        #expect(await code { try await fixture.teams.removeMember("bob", from: "backend", by: alice) } == .notMember)
        #expect(
            try await fixture.auditActions().filter { $0.hasPrefix("team.") } == [
                "team.create", "team.add_member", "team.change_member_role", "team.remove_member",
            ])
    }

    @Test func ownersRenameTheirTeamButNotOntoAnotherNameOrAHiddenTeam() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        let bob = try await fixture.user("bob")
        _ = try await fixture.teams.create("backend", by: alice)
        _ = try await fixture.teams.create("frontend", by: bob)
        #expect(try await fixture.teams.rename("backend", to: "platform", by: alice).team.name == "platform")
        #expect(await code { try await fixture.teams.rename("platform", to: "frontend", by: alice) } == .teamNameTaken)
        #expect(
            await code { try await fixture.teams.rename("platform", to: "Bad Name", by: alice) } == .invalidTeamName)
        #expect(await code { try await fixture.teams.rename("frontend", to: "mine", by: alice) } == .teamNotFound)
        #expect(await code { try await fixture.teams.rename("alice", to: "renamed", by: alice) } == .forbidden)
        #expect(try await fixture.auditActions().last == "team.change_team_name")
    }

    @Test func theLastOwnerCanBeNeitherRemovedNorDemoted() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        _ = try await fixture.teams.create("backend", by: alice)
        #expect(await code { try await fixture.teams.removeMember("alice", from: "backend", by: alice) } == .lastOwner)
        #expect(
            await code { try await fixture.teams.setRole(.viewer, of: "alice", in: "backend", by: alice) } == .lastOwner
        )
    }

    @Test func anAdministratorIsAlwaysAddedAsOwnerAndCannotBeDemoted() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        try await fixture.user("root", admin: true)
        _ = try await fixture.teams.create("backend", by: alice)
        let member = try await fixture.teams.addMember("root", to: "backend", role: .viewer, by: alice)
        #expect(member.role == .owner)
        #expect(
            await code { try await fixture.teams.setRole(.viewer, of: "root", in: "backend", by: alice) }
                == .adminDemotion)
    }

    @Test func personalAndGlobalTeamsTakeNoMembers() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        try await fixture.user("alice")
        try await fixture.user("bob")
        #expect(await code { try await fixture.teams.addMember("bob", to: "alice", by: fixture.admin) } == .hiddenTeam)
        #expect(
            await code {
                try await fixture.teams.addMember("bob", to: NamespaceNaming.globalNamespaceName, by: fixture.admin)
            }
                == .hiddenTeam)
    }

    @Test func teamsAreListedToAdministratorsAllAndToUsersTheirOwnAndHiddenFromOthers() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        let bob = try await fixture.user("bob")
        _ = try await fixture.teams.create("backend", by: alice)
        _ = try await fixture.teams.create("frontend", by: bob)
        let all = try await fixture.teams.list(PageRequest(sort: .name), by: fixture.admin)
        #expect(all.items.map(\.name) == ["backend", "frontend"] && all.total == 2)
        let own = try await fixture.teams.list(PageRequest(sort: .name), by: alice)
        #expect(own.items.map(\.name) == ["backend"] && own.items.first?.yourRole == .owner)
        #expect(await code { try await fixture.teams.show("frontend", by: alice) } == .teamNotFound)
        #expect(await code { try await fixture.teams.list(PageRequest(sort: .name), by: .anonymous) } == .forbidden)
    }

    @Test func aTeamThatOwnsNamespacesIsDeletedOnlyWithAnHeirForThem() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        _ = try await fixture.teams.create("old", by: alice)
        _ = try await fixture.teams.create("new", by: alice)
        _ = try await fixture.namespaces.create("images", team: "old", by: alice)
        #expect(await code { try await fixture.teams.delete("old", by: alice) } == .ownsNamespaces)
        try await fixture.teams.delete("old", handingNamespacesTo: "new", by: alice)
        #expect(try await fixture.namespaces.show("images", by: alice).team == "new")
    }

    /// Two tasks change one team at the same moment, many times over: every write lands, and the rule that a
    /// team keeps an owner holds whatever the interleaving (each change reads and writes in one transaction).
    @Test func concurrentMemberChangesToOneTeamLoseNoWriteAndKeepAnOwner() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        try await fixture.user("bob")
        let names = (0..<20).map { "user\($0)" }
        for name in names { try await fixture.user(name) }
        _ = try await fixture.teams.create("shared", by: alice)
        _ = try await fixture.teams.addMember("bob", to: "shared", role: .owner, by: alice)
        let teams = fixture.teams, admin = fixture.admin
        // One task adds twenty members while the other removes both owners.
        async let added = withTaskGroup(of: AdministrationError.Code?.self) { group in
            for name in names {
                group.addTask {
                    await code { try await teams.addMember(name, to: "shared", role: .contributor, by: admin) }
                }
            }
            return await group.reduce(into: [AdministrationError.Code?]()) { $0.append($1) }
        }
        async let removed = withTaskGroup(of: AdministrationError.Code?.self) { group in
            for owner in ["alice", "bob"] {
                group.addTask { await code { try await teams.removeMember(owner, from: "shared", by: admin) } }
            }
            return await group.reduce(into: [AdministrationError.Code?]()) { $0.append($1) }
        }
        let (additions, removals) = await (added, removed)
        #expect(additions.allSatisfy { $0 == nil }, "every addition lands")
        #expect(removals.filter { $0 == nil }.count == 1, "one owner goes")
        #expect(removals.filter { $0 == .lastOwner }.count == 1, "the other is the last owner and stays")
        let members = try await fixture.teams.show("shared", by: fixture.admin).members
        #expect(members.filter { $0.role == .owner }.count == 1)
        #expect(Set(members.map(\.username)).isSuperset(of: names))
        #expect(members.count == names.count + 1)
    }
}
