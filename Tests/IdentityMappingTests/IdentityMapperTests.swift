import Foundation
import IdentityCore
import IdentityMapping
import SQLiteStorage
import Storage
import Testing

/// The mapper against a real (in-memory) SQLite store.
@Suite struct IdentityMapperTests {
    static let developersDN = "cn=developers,ou=groups,dc=example,dc=org"
    static let adminsDN = "cn=registry-admins,ou=groups,dc=example,dc=org"
    static let rules = MappingRules(
        adminGroups: [GroupPattern("registry-admins")], emailGuess: .domain("example.org"), syncMode: .authoritative,
        syncRules: [
            GroupSyncRule(group: GroupPattern("developers"), team: "devs", role: .contributor, createTeam: true)
        ])

    @Test func aFirstLoginProvisionsTheAccountWithPersonalNamespaceLinkAndTeams() async throws {
        let store = try await makeStore()
        let outcome = try await makeMapper(store, Self.rules).map(ldapIdentity("alice", groups: [Self.developersDN]))
        let userID = try #require(outcome.userID)
        let (user, namespace, links) = try await store.read { reader in
            (
                try reader.user(id: userID), try reader.personalNamespace(of: userID),
                try reader.identityLinks(of: userID)
            )
        }
        #expect(user?.username == "alice")
        #expect(user?.email == "alice@example.org", "guessed from emailDomain")
        #expect(user?.passwordHash == nil, "a federated account has no local password")
        #expect(user?.isAdmin == false)
        #expect(namespace?.name == "alice")
        #expect(links.map(\.subject) == ["uuid-alice"])
        #expect(try await membershipSummary(store, "alice") == ["devs:contributor:corp-ldap"])
        let actions = try await store.read { try $0.auditEvents(limit: 20, before: nil).map(\.action) }
        #expect(Set(actions).isSuperset(of: ["user.provision", "user.link", "team.create", "team.sync.add"]))
    }

    @Test func theDirectoryEmailWinsOverTheGuess() async throws {
        let store = try await makeStore()
        let outcome = try await makeMapper(store, Self.rules).map(ldapIdentity("bob", email: "bob@corp.example"))
        let userID = try #require(outcome.userID)
        #expect(try await store.read { try $0.user(id: userID)?.email } == "bob@corp.example")
    }

    @Test func membersOfAnAdminGroupAreProvisionedAsAdministrators() async throws {
        let store = try await makeStore()
        let outcome = try await makeMapper(store, Self.rules).map(ldapIdentity("carol", groups: [Self.adminsDN]))
        let userID = try #require(outcome.userID)
        #expect(try await store.read { try $0.user(id: userID)?.isAdmin } == true)
    }

    @Test func aUsernameClashWithALocalAccountIsRefusedAndNothingIsMerged() async throws {
        let store = try await makeStore()
        let local = try await store.write { try TestProvisioner().createAccount(NewUser(username: "alice"), in: $0) }
        let outcome = try await makeMapper(store, Self.rules).map(ldapIdentity("alice", groups: [Self.developersDN]))
        let refusal = try #require(outcome.refusal)
        #expect(refusal.code == .usernameTaken)
        #expect(refusal.description.contains("'alice' already belongs to another Portcullis account"))
        #expect(try await store.read { try $0.identityLinks(of: local.id) }.isEmpty)
        #expect(try await membershipSummary(store, "alice").isEmpty)
    }

    @Test func withoutAutoProvisioningAnUnlinkedIdentityIsRefused() async throws {
        let store = try await makeStore()
        var rules = Self.rules
        rules.autoProvision = false
        let outcome = try await makeMapper(store, rules).map(ldapIdentity("dave"))
        #expect(outcome.refusal?.code == .provisioningDisabled)
        #expect(try await store.read { try $0.allUsers() }.isEmpty)
    }

    @Test func anExistingLinkMapsEvenWithoutAutoProvisioning() async throws {
        let store = try await makeStore()
        let user = try await store.write { writer in
            let user = try TestProvisioner().createAccount(NewUser(username: "erin"), in: writer)
            _ = try writer.linkIdentity(providerID: "corp-ldap", subject: "uuid-erin", to: user.id)
            return user
        }
        var rules = Self.rules
        rules.autoProvision = false
        #expect(try await makeMapper(store, rules).map(ldapIdentity("erin")).userID == user.id)
    }

    @Test func aDisabledLinkedAccountIsRefused() async throws {
        let store = try await makeStore()
        let mapper = makeMapper(store, Self.rules)
        let userID = try #require(try await mapper.map(ldapIdentity("frank")).userID)
        try await store.write { try $0.setEnabled(false, for: userID) }
        #expect(try await mapper.map(ldapIdentity("frank")).refusal?.code == .accountDisabled)
    }

    @Test func aUsernameThatCannotNameANamespaceIsRefusedWithTheReason() async throws {
        let store = try await makeStore()
        let outcome = try await makeMapper(store, Self.rules).map(ldapIdentity("!!!"))
        #expect(outcome.refusal?.code == .invalidUsername)
        #expect(try await store.read { try $0.allUsers() }.isEmpty, "the transaction rolled back")
    }

    @Test(arguments: ["bad:name", "a", "..", ".hidden", "a/b", "john doe", "j\u{FC}rgen", "\u{430}lice", "x\u{1B}[2J"])
    func aFirstLoginWhoseNameBreaksTheRuleIsRefusedBeforeAnythingIsWritten(name: String) async throws {
        let store = try await makeStore()
        let outcome = try await makeMapper(store, Self.rules).map(ldapIdentity(name, groups: [Self.developersDN]))
        let refusal = try #require(outcome.refusal)
        #expect(refusal.code == .invalidUsername)
        #expect(refusal.description.hasPrefix("no account can be created for '"), "\(refusal)")
        #expect(!refusal.description.unicodeScalars.contains { $0.value < 0x20 }, "the name is quoted inert")
        let (users, teams, namespaces, audit) = try await store.read { reader in
            (
                try reader.allUsers().count, try reader.allTeams(includingHidden: true).count,
                try reader.allNamespaces().count, try reader.auditEvents(limit: 5, before: nil).count
            )
        }
        #expect(users == 0 && teams == 0 && namespaces == 0 && audit == 0)
    }

    @Test func aLinkedAccountWhoseNameBreaksTheRuleStillMaps() async throws {
        let store = try await makeStore()
        let user = try await store.write { writer in
            // Stored before the rule existed (the store itself does not apply it).
            let user = try writer.createUser(NewUser(username: "j\u{FC}rgen"))
            _ = try writer.linkIdentity(providerID: "corp-ldap", subject: "uuid-jurgen", to: user.id)
            return user
        }
        let outcome = try await makeMapper(store, Self.rules).map(ldapIdentity("j\u{FC}rgen", subject: "uuid-jurgen"))
        #expect(outcome.userID == user.id)
    }

    @Test func aFirstLoginInAnotherCaseThanALocalAccountIsAClashNotASecondAccount() async throws {
        let store = try await makeStore()
        _ = try await store.write { try TestProvisioner().createAccount(NewUser(username: "alice"), in: $0) }
        let outcome = try await makeMapper(store, Self.rules).map(ldapIdentity("Alice"))
        #expect(outcome.refusal?.code == .usernameTaken)
        #expect(try await store.read { try $0.allUsers().count } == 1)
    }

    @Test func aLoginWhoseMembershipsAlreadyMatchWritesNothing() async throws {
        let store = try await makeStore()
        let identity = ldapIdentity("grace", groups: [Self.developersDN])
        _ = try await makeMapper(store, Self.rules).map(identity)
        let before = store.authorizationGeneration
        let auditBefore = try await store.read { try $0.auditEvents(limit: 1, before: nil).first?.id }
        // A fresh mapper has no cache: it must read, find nothing to do, and not write.
        let again = try await makeMapper(store, Self.rules).map(identity)
        #expect(again.userID != nil)
        #expect(store.authorizationGeneration == before)
        #expect(try await store.read { try $0.auditEvents(limit: 1, before: nil).first?.id } == auditBefore)
    }

    @Test func leavingAGroupRemovesTheSyncedMembershipAtTheNextLoginInAuthoritativeMode() async throws {
        let store = try await makeStore()
        let mapper = makeMapper(store, Self.rules)
        _ = try await mapper.map(ldapIdentity("heidi", groups: [Self.developersDN]))
        #expect(try await membershipSummary(store, "heidi") == ["devs:contributor:corp-ldap"])
        _ = try await mapper.map(ldapIdentity("heidi", groups: []))
        #expect(try await membershipSummary(store, "heidi").isEmpty)
        let actions = try await store.read { try $0.auditEvents(limit: 5, before: nil).map(\.action) }
        #expect(actions.contains("team.sync.remove"))
    }

    @Test func leavingAGroupKeepsTheMembershipInAdditiveMode() async throws {
        let store = try await makeStore()
        var rules = Self.rules
        rules.syncMode = .additive
        let mapper = makeMapper(store, rules)
        _ = try await mapper.map(ldapIdentity("ivan", groups: [Self.developersDN]))
        _ = try await mapper.map(ldapIdentity("ivan", groups: []))
        #expect(try await membershipSummary(store, "ivan") == ["devs:contributor:corp-ldap"])
    }

    @Test func aMembershipAddedByHandSurvivesAuthoritativeSync() async throws {
        let store = try await makeStore()
        let mapper = makeMapper(store, Self.rules)
        let userID = try #require(try await mapper.map(ldapIdentity("judy")).userID)
        try await store.write { writer in
            let team = try writer.createTeam(name: "devs")
            _ = try writer.addTeamMember(team: team.id, user: userID, role: .viewer)
        }
        _ = try await mapper.map(ldapIdentity("judy", groups: [Self.developersDN]))
        #expect(try await membershipSummary(store, "judy") == ["devs:viewer"], "hand-made: not taken over")
        _ = try await mapper.map(ldapIdentity("judy", groups: []))
        #expect(try await membershipSummary(store, "judy") == ["devs:viewer"], "hand-made: not removed")
    }

    @Test func concurrentFirstLoginsOfOnePersonCreateOneAccount() async throws {
        let store = try await makeStore()
        let mapper = makeMapper(store, Self.rules)
        let identity = ldapIdentity("karl", groups: [Self.developersDN])
        let outcomes = try await withThrowingTaskGroup(of: MappingOutcome.self) { group in
            for _ in 0..<8 { group.addTask { try await mapper.map(identity) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(outcomes.compactMap(\.userID)).count == 1)
        #expect(outcomes.allSatisfy { $0.userID != nil })
        #expect(try await store.read { try $0.allUsers().count } == 1)
    }

    @Test func localAccountIdentitiesPassThroughUnchanged() async throws {
        let store = try await makeStore()
        let identity = ExternalIdentity(
            provider: "local", subject: "7", username: "x", origin: .localAccount(userID: 7))
        #expect(try await makeMapper(store, Self.rules).map(identity) == .mapped(User.ID(7)))
    }
}

/// Migration 3: memberships remember whether sync made them.
@Suite struct SyncedMembershipStoreTests {
    @Test func syncedAndHandMadeMembershipsAreStoredApartAndReadBack() async throws {
        let store = try await makeStore()
        let (team, alice, bob) = try await store.write { writer in
            (
                try writer.createTeam(name: "devs"), try writer.createUser(NewUser(username: "alice")),
                try writer.createUser(NewUser(username: "bob"))
            )
        }
        let before = store.authorizationGeneration
        let added = try await store.write {
            try $0.addTeamMember(team: team.id, user: alice.id, role: .contributor, syncedFrom: "corp-ldap")
        }
        #expect(added.syncedFrom == "corp-ldap")
        #expect(store.authorizationGeneration > before, "a synced membership is authorization-relevant")
        _ = try await store.write { try $0.addTeamMember(team: team.id, user: bob.id, role: .viewer) }
        let members = try await store.read { try $0.members(of: team.id) }
        #expect(members.map(\.syncedFrom) == ["corp-ldap", nil])
        #expect(try await store.read { try $0.memberships(of: alice.id) }.first?.syncedFrom == "corp-ldap")
        try await store.write { try $0.setRole(.owner, team: team.id, user: alice.id) }
        #expect(
            try await store.read { try $0.memberships(of: alice.id) }.first?.syncedFrom == "corp-ldap",
            "a role change keeps the mark")
    }

    @Test func anEmptyProviderIDIsRefusedByTheSchema() async throws {
        let store = try await makeStore()
        let (team, user) = try await store.write {
            (try $0.createTeam(name: "devs"), try $0.createUser(NewUser(username: "alice")))
        }
        await #expect(throws: StoreError.self) {
            try await store.write { try $0.addTeamMember(team: team.id, user: user.id, role: .viewer, syncedFrom: "") }
        }
    }

    @Test func identityLinksAreListedPerProvider() async throws {
        let store = try await makeStore()
        try await store.write { writer in
            let a = try writer.createUser(NewUser(username: "a"))
            let b = try writer.createUser(NewUser(username: "b"))
            _ = try writer.linkIdentity(providerID: "corp-ldap", subject: "s2", to: a.id)
            _ = try writer.linkIdentity(providerID: "other", subject: "s1", to: b.id)
            _ = try writer.linkIdentity(providerID: "corp-ldap", subject: "s1", to: b.id)
        }
        let links = try await store.read { try $0.identityLinks(ofProvider: "corp-ldap") }
        #expect(links.map(\.subject) == ["s1", "s2"])
    }

    @Test func theSchemaIsMigratedToTheLatestVersionWithTheTeamSyncMarks() async throws {
        let store = try await makeStore()
        let status = try await store.schemaStatus()
        #expect(status.currentVersion == status.latestVersion)
        #expect(status.latestVersion >= 3)
    }
}
