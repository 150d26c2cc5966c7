import Foundation
import IdentityCore
import IdentityMapping
import Storage
import Testing

/// The pure plan: current memberships + directory groups + rules + mode → changes.
@Suite struct GroupSyncPlanTests {
    static let provider = "corp-ldap"
    static let developers = DirectoryGroup(dn: "cn=developers,ou=groups,dc=example,dc=org", name: "developers")
    static let leads = DirectoryGroup(dn: "cn=dev-leads,ou=groups,dc=example,dc=org", name: "dev-leads")
    static let admins = DirectoryGroup(dn: "cn=registry-admins,ou=groups,dc=example,dc=org", name: "registry-admins")

    static func team(_ name: String, id: Int64, hidden: Bool = false) -> Team {
        Team(
            id: Team.ID(id), name: name, description: nil, isHidden: hidden, createdAt: Date(timeIntervalSince1970: 0),
            updatedAt: Date(timeIntervalSince1970: 0))
    }

    static let devs = team("devs", id: 1)
    static let ops = team("ops", id: 2)
    static let personal = team("alice", id: 3, hidden: true)

    static func rules(_ mode: GroupSyncMode, _ rules: [GroupSyncRule], admins: [String] = []) -> MappingRules {
        MappingRules(adminGroups: admins.map(GroupPattern.init), syncMode: mode, syncRules: rules)
    }

    static let devRules = [
        GroupSyncRule(group: GroupPattern("developers"), team: "devs", role: .contributor),
        GroupSyncRule(group: GroupPattern("cn=*-leads,ou=groups,dc=example,dc=org"), team: "devs", role: .owner),
    ]

    func plan(
        _ groups: [DirectoryGroup], _ memberships: [TeamMembership], mode: GroupSyncMode,
        rules: [GroupSyncRule] = GroupSyncPlanTests.devRules, teams: [Team] = [devs, ops], admin: Bool = false,
        adminGroups: [String] = []
    ) -> SyncPlan {
        GroupSync.plan(
            provider: Self.provider, groups: groups, memberships: memberships,
            teams: Dictionary(uniqueKeysWithValues: teams.map { ($0.name, $0) }), isAdmin: admin,
            rules: Self.rules(mode, rules, admins: adminGroups))
    }

    @Test(arguments: GroupSyncMode.allCases)
    func aNewGroupMemberJoinsTheTeamInEitherMode(mode: GroupSyncMode) {
        #expect(
            plan([Self.developers], [], mode: mode).changes == [
                .add(team: "devs", role: .contributor, createTeam: false)
            ])
    }

    @Test func theHighestRoleOfAllMatchingRulesWins() {
        #expect(
            plan([Self.developers, Self.leads], [], mode: .additive).changes == [
                .add(team: "devs", role: .owner, createTeam: false)
            ])
    }

    @Test(arguments: GroupSyncMode.allCases)
    func nothingChangesWhenSyncedMembershipsAlreadyMatch(mode: GroupSyncMode) {
        let current = [TeamMembership(team: Self.devs, role: .contributor, syncedFrom: Self.provider)]
        #expect(plan([Self.developers], current, mode: mode).changes.isEmpty)
    }

    @Test func additiveModeKeepsTheMembershipOfSomeoneWhoLeftTheGroup() {
        let current = [TeamMembership(team: Self.devs, role: .contributor, syncedFrom: Self.provider)]
        #expect(plan([], current, mode: .additive).changes.isEmpty)
    }

    @Test func authoritativeModeRemovesTheSyncedMembershipOfSomeoneWhoLeftTheGroup() {
        let current = [TeamMembership(team: Self.devs, role: .contributor, syncedFrom: Self.provider)]
        #expect(plan([], current, mode: .authoritative).changes == [.remove(team: "devs", role: .contributor)])
    }

    @Test(arguments: GroupSyncMode.allCases)
    func membershipsAddedByHandAreNeverChangedOrRemoved(mode: GroupSyncMode) {
        let byHand = [TeamMembership(team: Self.devs, role: .viewer), TeamMembership(team: Self.ops, role: .owner)]
        #expect(plan([Self.developers, Self.leads], byHand, mode: mode).changes.isEmpty)
        #expect(plan([], byHand, mode: mode).changes.isEmpty)
    }

    @Test func membershipsSyncedFromAnotherProviderAreLeftAlone() {
        let other = [TeamMembership(team: Self.devs, role: .viewer, syncedFrom: "other-ldap")]
        #expect(plan([], other, mode: .authoritative).changes.isEmpty)
        #expect(plan([Self.leads], other, mode: .authoritative).changes.isEmpty)
    }

    @Test(arguments: GroupSyncMode.allCases)
    func aSyncedRoleIsRaisedInEitherMode(mode: GroupSyncMode) {
        let current = [TeamMembership(team: Self.devs, role: .contributor, syncedFrom: Self.provider)]
        #expect(
            plan([Self.developers, Self.leads], current, mode: mode).changes == [
                .changeRole(team: "devs", from: .contributor, to: .owner)
            ])
    }

    @Test func aSyncedRoleIsLoweredOnlyInAuthoritativeMode() {
        let current = [TeamMembership(team: Self.devs, role: .owner, syncedFrom: Self.provider)]
        #expect(plan([Self.developers], current, mode: .additive).changes.isEmpty)
        #expect(
            plan([Self.developers], current, mode: .authoritative).changes == [
                .changeRole(team: "devs", from: .owner, to: .contributor)
            ])
    }

    @Test func aMissingTeamIsCreatedOnlyWhenItsRuleSaysSo() {
        let creating = [
            GroupSyncRule(group: GroupPattern("developers"), team: "new-team", role: .viewer, createTeam: true)
        ]
        #expect(
            plan([Self.developers], [], mode: .additive, rules: creating).changes == [
                .add(team: "new-team", role: .viewer, createTeam: true)
            ])
        let waiting = [GroupSyncRule(group: GroupPattern("developers"), team: "new-team", role: .viewer)]
        let result = plan([Self.developers], [], mode: .additive, rules: waiting)
        #expect(result.changes.isEmpty)
        #expect(result.notes.first?.contains("new-team") == true)
    }

    @Test func syncNeverAddsMembersToAHiddenTeam() {
        let rules = [GroupSyncRule(group: GroupPattern("developers"), team: "alice", role: .owner)]
        let result = plan([Self.developers], [], mode: .additive, rules: rules, teams: [Self.personal])
        #expect(result.changes.isEmpty)
        #expect(!result.notes.isEmpty)
    }

    @Test func membersOfAnAdminGroupBecomeAdministratorsOnce() {
        let groups = [Self.admins]
        #expect(plan(groups, [], mode: .additive, rules: [], adminGroups: ["registry-admins"]).changes == [.grantAdmin])
        #expect(
            plan(groups, [], mode: .additive, rules: [], admin: true, adminGroups: ["registry-admins"]).changes.isEmpty)
        #expect(
            plan([Self.developers], [], mode: .additive, rules: [], adminGroups: ["registry-admins"]).changes.isEmpty)
    }

    @Test func changesComeInTeamNameOrderWithAdminLast() {
        let rules = [
            GroupSyncRule(group: GroupPattern("developers"), team: "ops", role: .viewer),
            GroupSyncRule(group: GroupPattern("developers"), team: "devs", role: .viewer),
        ]
        #expect(
            plan([Self.developers], [], mode: .additive, rules: rules, adminGroups: ["dev*"]).changes == [
                .add(team: "devs", role: .viewer, createTeam: false),
                .add(team: "ops", role: .viewer, createTeam: false),
                .grantAdmin,
            ])
    }
}

/// Group patterns, DN parsing and email guessing.
@Suite struct GroupMatchingTests {
    static let qa = DirectoryGroup(dn: #"cn=QA\, Europe,ou=groups,dc=example,dc=org"#, name: "QA, Europe")

    @Test(arguments: [
        ("developers", true), ("Developers", true), ("dev*", true), ("d?velopers", true), ("*", true),
        ("devs", false), ("developers-x", false), ("*ops", false),
        ("cn=developers,ou=groups,dc=example,dc=org", true), ("CN=Developers, OU=Groups, DC=example, DC=org", true),
        ("cn=*,ou=groups,dc=example,dc=org", true), ("cn=developers,ou=other,dc=example,dc=org", false),
        ("*,ou=groups,dc=example,dc=org", true),
    ])
    func patternsMatchTheNameOrTheDN(pattern: String, expected: Bool) {
        let group = DirectoryGroup(dn: "cn=developers,ou=groups,dc=example,dc=org", name: "developers")
        #expect(GroupPattern(pattern).matches(group) == expected)
    }

    @Test func aPatternWithAnEqualsSignNeverMatchesANameAndViceVersa() {
        let odd = DirectoryGroup(dn: "cn=x,ou=groups,dc=example,dc=org", name: "cn=x")
        #expect(!GroupPattern("cn=x").matches(odd), "DN patterns compare whole DNs")
        #expect(!GroupPattern("x,ou=groups*").matches(odd))
    }

    @Test func escapedCommasInDNsAreKept() {
        #expect(GroupPattern("QA, Europe").matches(Self.qa))
        #expect(GroupPattern(#"cn=QA\, Europe,ou=groups,dc=example,dc=org"#).matches(Self.qa))
        #expect(DistinguishedName.group(Self.qa.dn).name == "QA, Europe")
    }

    @Test func hostilePatternsFinishQuickly() {
        let long = DirectoryGroup(
            dn: "cn=" + String(repeating: "a", count: 5_000), name: String(repeating: "a", count: 5_000))
        #expect(!GroupPattern(String(repeating: "*a", count: 200) + "b").matches(long))
    }

    @Test func exactDNPatternsNameOneGroup() {
        #expect(GroupPattern("cn=devs,dc=example,dc=org").exactDistinguishedName == "cn=devs,dc=example,dc=org")
        #expect(GroupPattern("cn=dev*,dc=example,dc=org").exactDistinguishedName == nil)
        #expect(GroupPattern("devs").exactDistinguishedName == nil)
    }

    @Test func emailsAreGuessedFromADomainOrFromTheDN() {
        let bySubjectDN = ExternalIdentity(
            provider: "corp-ldap", subject: "uid=alice,ou=people,dc=example,dc=org", username: "alice")
        let byUUID = ExternalIdentity(provider: "corp-ldap", subject: "6f1c1b9e-0000", username: "alice")
        #expect(EmailGuess.domain("corp.example").address(for: byUUID) == "alice@corp.example")
        #expect(EmailGuess.distinguishedName.address(for: bySubjectDN) == "alice@example.org")
        #expect(EmailGuess.distinguishedName.address(for: byUUID) == nil)
        #expect(EmailGuess.none.address(for: bySubjectDN) == nil)
    }

    @Test func theEntryDNGuessesTheEmailWhateverTheSubjectIs() {
        let identity = ExternalIdentity(
            provider: "corp-ldap", subject: "6f1c1b9e-0000", username: "alice",
            distinguishedName: "uid=alice,ou=people,dc=corp,dc=example")
        #expect(EmailGuess.distinguishedName.address(for: identity) == "alice@corp.example")
    }

    @Test(arguments: [
        ("uid=root,ou=admins,ou=people,dc=example,dc=org", true),
        ("UID=root,OU=Admins,ou=People,DC=example,dc=ORG", true),
        ("uid=alice,ou=people,dc=example,dc=org", false),
        ("ou=admins,ou=people,dc=example,dc=org", false),
        ("uid=x,ou=admins,dc=other,dc=org", false),
    ])
    func entriesUnderAnAdminBaseBecomeAdministrators(entry: String, admin: Bool) {
        let rules = MappingRules(adminBases: ["ou=admins,ou=people,dc=example,dc=org"])
        #expect(rules.makesAdmin(groups: [], entry: entry) == admin)
        let plan = GroupSync.plan(
            provider: "corp-ldap", groups: [], memberships: [], teams: [:], isAdmin: false, rules: rules,
            entry: entry)
        #expect(plan.changes.contains(SyncChange.grantAdmin) == admin)
    }

    @Test func anAdminBaseNeedsTheEntryToBeKnown() {
        let rules = MappingRules(adminBases: ["ou=admins,ou=people,dc=example,dc=org"])
        #expect(!rules.makesAdmin(groups: [], entry: nil))
    }
}
