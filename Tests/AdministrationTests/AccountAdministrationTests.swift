import Administration
import Foundation
import Storage
import Testing

@Suite struct AccountAdministrationTests {
    @Test func creatingAnAccountMakesItsPersonalTeamAndPrivateNamespaceAndAuditsIt() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let created = try await fixture.accounts.create(
            NewAccount(username: "John-Doe", email: "j@example.com", password: Password("long enough pw")),
            by: fixture.admin)
        #expect(created.personalNamespace == "john-doe")
        #expect(created.account.hasPassword)
        let namespace = try await fixture.namespaces.show("john-doe", by: fixture.admin)
        #expect(namespace.visibility == .private && namespace.kind == .personal)
        let hash = try await fixture.store.read { try $0.user(named: "John-Doe")?.passwordHash }
        #expect(hash?.hasPrefix("$2") == true, "bcrypt, never the password itself")
        #expect(try await fixture.auditActions() == ["user.create"])
        let event = try await fixture.store.read { try $0.auditEvents(limit: 1, before: nil) }.first
        #expect(event?.actorName == "cli:test" && event?.target == "user:John-Doe")
    }

    @Test(arguments: [
        ("short", AdministrationError.Code.invalidPassword), (String(repeating: "é", count: 40), .invalidPassword),
    ])
    func passwordsOutsideTheRulesAreRefusedBeforeAnythingIsWritten(password: String, expected: AdministrationError.Code)
        async throws
    {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let result = await code {
            try await fixture.accounts.create(
                NewAccount(username: "bob", password: Password(password)), by: fixture.admin)
        }
        #expect(result == expected)
        #expect(try await fixture.store.read { try $0.user(named: "bob") } == nil)
    }

    @Test(arguments: [("bad:name", AdministrationError.Code.invalidUsername), ("ALICE", .usernameTaken)])
    func badOrTakenUsernamesAreRefusedWithTheirCode(name: String, expected: AdministrationError.Code) async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        try await fixture.user("alice")
        #expect(
            await code { try await fixture.accounts.create(NewAccount(username: name), by: fixture.admin) } == expected)
    }

    @Test(arguments: ["ci-acme-api", "CI-Acme-API"])
    func aCITrustPolicysNameIsTakenForAccounts(name: String) async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let accounts = AccountAdministration(
            store: fixture.store, hashing: Fixture.pool,
            reservedUsernames: ["ci-acme-api": "CI trust policy 'ci-acme-api' (config.d/45-wi.yaml:9)"])
        var message = ""
        do {
            _ = try await accounts.create(NewAccount(username: name), by: fixture.admin)
        } catch let error as AdministrationError {
            #expect(error.code == .usernameTaken)
            message = error.reason
        }
        #expect(message.contains("CI trust policy 'ci-acme-api' (config.d/45-wi.yaml:9)"), "\(message)")
        #expect(try await fixture.store.read { try $0.user(named: "ci-acme-api") } == nil)
    }

    @Test func onlyAdministratorsListAccountsAndTheListPagesWithATotal() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        for name in ["dave", "bob", "carol"] { try await fixture.user(name) }
        let page = try await fixture.accounts.list(
            PageRequest(offset: 1, limit: 2, sort: .username), by: fixture.admin)
        #expect(page.items.map(\.username) == ["bob", "carol"])
        #expect(page.total == 4 && page.hasMore)
        let descending = try await fixture.accounts.list(
            PageRequest(limit: 1, sort: .username, descending: true), by: fixture.admin)
        #expect(descending.items.map(\.username) == ["dave"])
        #expect(await code { try await fixture.accounts.list(PageRequest(sort: .username), by: alice) } == .forbidden)
        #expect(
            await code { try await fixture.accounts.list(PageRequest(limit: 0, sort: .username), by: fixture.admin) }
                == .invalidPaging)
        #expect(
            await code { try await fixture.accounts.list(PageRequest(offset: -1, sort: .username), by: fixture.admin) }
                == .invalidPaging)
    }

    @Test func theLastEnabledAdministratorCanBeNeitherDisabledNorDemotedNorDeleted() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let root = try await fixture.user("root", admin: true)
        #expect(
            await code { try await fixture.accounts.setEnabled(false, for: "root", by: fixture.admin) } == .lastAdmin)
        #expect(await code { try await fixture.accounts.setAdmin(false, for: "root", by: fixture.admin) } == .lastAdmin)
        #expect(await code { try await fixture.accounts.delete("root", by: fixture.admin) } == .lastAdmin)
        #expect(await code { try await fixture.accounts.setAdmin(false, for: "root", by: root) } == .ownAdminFlag)
        try await fixture.user("second")
        _ = try await fixture.accounts.setAdmin(true, for: "second", by: root)
        _ = try await fixture.accounts.setEnabled(false, for: "root", by: fixture.admin)
        #expect(try await fixture.accounts.show("root", by: fixture.admin).account.isEnabled == false)
    }

    @Test func usersMayDisableThemselvesButOnlyAdministratorsReenableAndADisabledActorIsRefused() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let bob = try await fixture.user("bob")
        try await fixture.user("carol")
        #expect(await code { try await fixture.accounts.setEnabled(false, for: "carol", by: bob) } == .forbidden)
        _ = try await fixture.accounts.setEnabled(false, for: "bob", by: bob)
        #expect(await code { try await fixture.accounts.show("bob", by: bob) } == .unauthenticated)
        _ = try await fixture.accounts.setEnabled(true, for: "bob", by: fixture.admin)
        #expect(try await fixture.accounts.show("bob", by: bob).account.isEnabled)
        #expect(try await fixture.auditActions().suffix(2) == ["user.disable", "user.enable"])
    }

    @Test func deletingAnAccountRemovesItsEmptyPersonalNamespaceAndADeletedActorIsRefused() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let erin = try await fixture.user("erin")
        try await fixture.accounts.delete("erin", by: fixture.admin)
        #expect(await code { try await fixture.accounts.show("erin", by: fixture.admin) } == .userNotFound)
        #expect(await code { try await fixture.namespaces.show("erin", by: fixture.admin) } == .namespaceNotFound)
        #expect(await code { try await fixture.teams.list(PageRequest(sort: .name), by: erin) } == .unauthenticated)
    }

    @Test func theLastOwnerOfATeamCannotBeDeleted() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let frank = try await fixture.user("frank")
        _ = try await fixture.teams.create("backend", by: frank)
        #expect(await code { try await fixture.accounts.delete("frank", by: fixture.admin) } == .lastOwner)
    }

    @Test func makingSomeoneAdministratorMakesThemOwnerOfEveryTeamTheyBelongTo() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let owner = try await fixture.user("owner")
        try await fixture.user("gina")
        _ = try await fixture.teams.create("qa", by: owner)
        _ = try await fixture.teams.addMember("gina", to: "qa", role: .viewer, by: owner)
        _ = try await fixture.accounts.setAdmin(true, for: "gina", by: fixture.admin)
        let members = try await fixture.teams.show("qa", by: fixture.admin).members
        #expect(members.first { $0.username == "gina" }?.role == .owner)
    }
}
