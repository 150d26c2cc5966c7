import Diagnostics
import Foundation
import IdentityCore
import IdentityMapping
import LDAP
import SQLiteStorage
import Storage
import TestSupport
import Testing
import Threading

/// Login provisioning, group sync and pre-provisioning against a real slapd (the fixture directory of
/// `TestSupport.Slapd`). Each test adds its own groups, so tests never see each other's changes.
@Suite(.serialized, .enabled(if: MappingSlapd.shouldRun), .mappingSlapd)
struct SlapdMappingTests {
    @Test func anLDAPLoginProvisionsTheUserWithPersonalNamespaceAndTeamMemberships() async throws {
        let env = try await LDAPMappingEnvironment.make()
        let rules = MappingRules(
            adminGroups: [GroupPattern("admins")], syncMode: .additive,
            syncRules: [
                GroupSyncRule(group: GroupPattern("developers"), team: "devs", role: .contributor, createTeam: true),
                GroupSyncRule(
                    group: GroupPattern("cn=unique-*,ou=groups,dc=example,dc=org"), team: "unique", role: .viewer,
                    createTeam: true),
            ])
        let identity = try await env.login(Slapd.alice)
        #expect(identity.groups.contains(groupDN("developers")), "the provider reports group DNs")
        let userID = try #require(try await env.mapper(rules).map(identity).userID)
        let (user, namespace) = try await env.store.read {
            (try $0.user(id: userID), try $0.personalNamespace(of: userID))
        }
        #expect(user?.username == "alice")
        #expect(user?.email == Slapd.alice.mail)
        #expect(user?.displayName == Slapd.alice.displayName)
        #expect(user?.isAdmin == false)
        #expect(namespace?.name == "alice")
        // developers by name, unique-team by DN glob (groupOfUniqueNames is not read with membership: member).
        #expect(try await membershipSummary(env.store, "alice") == ["devs:contributor:corp-ldap"])

        let carol = try await env.login(Slapd.carol)
        let carolID = try #require(try await env.mapper(rules).map(carol).userID)
        #expect(try await env.store.read { try $0.user(id: carolID)?.isAdmin } == true, "carol is in admins")
    }

    @Test(arguments: GroupSyncMode.allCases)
    func aUserRemovedFromAGroupLosesTheSyncedMembershipOnlyInAuthoritativeMode(mode: GroupSyncMode) async throws {
        let slapd = try MappingSlapdFixture.require()
        let env = try await LDAPMappingEnvironment.make()
        let group = "leavers-\(mode.rawValue)"
        try await slapd.add(groupLDIF(group, members: [Slapd.bob.dn, Slapd.dave.dn]))
        let rules = MappingRules(
            syncMode: mode,
            syncRules: [
                GroupSyncRule(
                    group: GroupPattern(group), team: "team-\(mode.rawValue)", role: .contributor, createTeam: true)
            ])
        let mapper = env.mapper(rules)
        _ = try #require(try await mapper.map(try await env.login(Slapd.bob)).userID)
        _ = try #require(try await mapper.map(try await env.login(Slapd.dave)).userID)
        #expect(try await membershipSummary(env.store, "bob") == ["team-\(mode.rawValue):contributor:corp-ldap"])

        try await slapd.add(
            """
            dn: cn=\(group),\(Slapd.groupsDN)
            changetype: modify
            delete: member
            member: \(Slapd.bob.dn)
            -

            """)
        // The background job's path: every linked account against the directory.
        let report = try await env.syncer(rules).run(dryRun: false)
        #expect(report.accountsChecked == 2)
        switch mode {
        case .authoritative:
            #expect(try await membershipSummary(env.store, "bob").isEmpty)
            #expect(report.entries.map(\.description) == ["bob: remove from team team-authoritative (was contributor)"])
            let audit = try await env.store.read { try $0.auditEvents(limit: 5, before: nil) }
            #expect(audit.contains { $0.action == "team.sync.remove" && $0.target == "team:team-authoritative" })
        case .additive:
            #expect(try await membershipSummary(env.store, "bob") == ["team-additive:contributor:corp-ldap"])
            #expect(report.entries.isEmpty)
        }
        #expect(try await membershipSummary(env.store, "dave") == ["team-\(mode.rawValue):contributor:corp-ldap"])

        // The login path agrees, and a second login in line writes nothing.
        let bob = try await env.login(Slapd.bob)
        _ = try await mapper.map(bob)
        let generation = env.store.authorizationGeneration
        _ = try await env.mapper(rules).map(bob)
        #expect(env.store.authorizationGeneration == generation)
    }

    @Test func preProvisioningCreatesGroupMembersWhoNeverLoggedIn() async throws {
        let slapd = try MappingSlapdFixture.require()
        let env = try await LDAPMappingEnvironment.make()
        try await slapd.add(groupLDIF("early-birds", members: [Slapd.alice.dn, Slapd.dave.dn]))
        let rules = MappingRules(
            syncMode: .authoritative, preProvision: true,
            syncRules: [
                GroupSyncRule(
                    group: GroupPattern(groupDN("early-birds")), team: "birds", role: .viewer, createTeam: true)
            ])
        let dry = try await env.syncer(rules).run(dryRun: true)
        #expect(
            dry.entries.map(\.description) == [
                "alice: create the account", "alice: add to team birds as viewer (creating the team)",
                "dave: create the account", "dave: add to team birds as viewer (creating the team)",
            ])
        #expect(try await env.store.read { try $0.allUsers() }.isEmpty, "a dry run writes nothing")

        let report = try await env.syncer(rules).run(dryRun: false)
        #expect(report.entries.count == 4)
        #expect(try await membershipSummary(env.store, "alice") == ["birds:viewer:corp-ldap"])
        #expect(try await membershipSummary(env.store, "dave") == ["birds:viewer:corp-ldap"])
        let daveID = try #require(try await env.store.read { try $0.user(named: "dave")?.id })
        #expect(try await env.store.read { try $0.personalNamespace(of: daveID)?.name } == "dave")
        // dave's first login finds the account made for him.
        #expect(try await env.mapper(rules).map(try await env.login(Slapd.dave)).userID == daveID)
        #expect(try await env.syncer(rules).run(dryRun: false).entries.isEmpty, "a second run has nothing to do")
    }

    @Test func preProvisioningNeverTakesOverALocalAccountWithTheSameName() async throws {
        let slapd = try MappingSlapdFixture.require()
        let env = try await LDAPMappingEnvironment.make()
        try await slapd.add(groupLDIF("clashers", members: [Slapd.carol.dn]))
        _ = try await env.store.write { try TestProvisioner().createAccount(NewUser(username: "carol"), in: $0) }
        let rules = MappingRules(
            preProvision: true,
            syncRules: [GroupSyncRule(group: GroupPattern(groupDN("clashers")), team: "c", createTeam: true)])
        let report = try await env.syncer(rules).run(dryRun: false)
        #expect(
            report.entries.map(\.description) == [
                "carol: skipped, the username belongs to another account (never merged)"
            ])
        #expect(try await membershipSummary(env.store, "carol").isEmpty)
    }

    @Test func ldapSyncDryRunPrintsThePlanWithoutWriting() async throws {
        let slapd = try MappingSlapdFixture.require()
        try await slapd.add(groupLDIF("cli-group", members: [Slapd.bob.dn]))
        let sandbox = try CLISandbox()
        try sandbox.writeConfig(
            "45-ldap.yaml",
            slapd.providerFragment(
                bindPassword: "{env: TEST_LDAP_BIND}",
                mapping: """
                    mapping:
                      groupSync:
                        mode: authoritative
                        preProvision: true
                        rules:
                          - {group: "\(groupDN("cli-group"))", team: cli-team, role: contributor, create: true}
                    """))
        let environment = ["TEST_LDAP_BIND": Slapd.servicePassword]
        let dry = try await sandbox.portcullis(["ldap", "sync", "--dry-run"], environment: environment)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("corp-ldap: 0 linked account(s) checked (dry run: nothing written)"))
        #expect(dry.stdout.contains("bob: create the account"))
        #expect(dry.stdout.contains("bob: add to team cli-team as contributor (creating the team)"))
        #expect(!dry.stdout.contains(Slapd.servicePassword) && !dry.stderr.contains(Slapd.servicePassword))
        let listed = try await sandbox.portcullis(["user", "list"], environment: environment)
        #expect(!listed.stdout.contains("bob"), "the dry run created nobody")

        let real = try await sandbox.portcullis(["ldap", "sync", "--provider", "corp-ldap"], environment: environment)
        #expect(real.status == 0, "\(real.stderr)")
        #expect(!real.stdout.contains("dry run"))
        #expect(try await sandbox.portcullis(["user", "list"], environment: environment).stdout.contains("bob"))
        let again = try await sandbox.portcullis(["ldap", "sync"], environment: environment)
        #expect(again.stdout.contains("1 linked account(s) checked"))
        #expect(again.stdout.contains("no changes"))

        let unknown = try await sandbox.portcullis(["ldap", "sync", "--provider", "nope"], environment: environment)
        #expect(unknown.status == 65)
    }
}

extension SlapdMappingTests {
    @Test func servePreProvisionsGroupMembersInTheBackgroundAtTheConfiguredInterval() async throws {
        let slapd = try MappingSlapdFixture.require()
        try await slapd.add(groupLDIF("background", members: [Slapd.carol.dn]))
        let sandbox = try CLISandbox()
        try sandbox.writeConfig(
            "45-ldap.yaml",
            slapd.providerFragment(
                bindPassword: "{env: TEST_LDAP_BIND}",
                mapping: """
                    mapping:
                      groupSync:
                        interval: 1s
                        preProvision: true
                        rules:
                          - {group: "\(groupDN("background"))", team: background, create: true}
                    """))
        let port = try freePort()
        let server = try BackgroundProcess(
            name: "portcullis", executable: portcullisExecutable.path,
            arguments: ["serve", "--config", sandbox.configDirectory.path],
            environment: ["TEST_LDAP_BIND": Slapd.servicePassword, "PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"],
            removing: ["PORTCULLIS_"], directory: sandbox.root,
            logFile: sandbox.root.appendingPathComponent("serve.log"))
        defer { server.stop() }
        let environment = ["TEST_LDAP_BIND": Slapd.servicePassword]
        let provisioned = try await waitUntil(seconds: 120) {
            guard server.isRunning else { return false }
            return try await sandbox.portcullis(["user", "list"], environment: environment).stdout.contains("carol")
        }
        #expect(provisioned, "\(server.logTail())")
        #expect(server.isRunning)
        let log = server.logTail(100_000)
        #expect(log.contains("group sync done"), "\(log)")
        #expect(!log.contains(Slapd.servicePassword))
    }
}

// MARK: - Fixture

/// Whether the real-slapd suite runs: always in CI (a missing slapd fails it), else when installed.
enum MappingSlapd {
    static let shouldRun: Bool = {
        let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
        if !Slapd.isInstalled && !isCI {
            FileHandle.standardError.write(
                Data(
                    "\n*** SlapdMappingTests SKIPPED: \(Slapd.executable) is missing (Debian packages slapd, ldap-utils).\n\n"
                        .utf8))
        }
        return Slapd.isInstalled || isCI
    }()
}

/// The suite's slapd.
enum MappingSlapdFixture {
    @TaskLocal static var current: Slapd?

    static func require() throws -> Slapd {
        guard let current else { throw SlapdError("no slapd for this test (the suite lacks the .mappingSlapd trait)") }
        return current
    }
}

/// One slapd for the whole suite.
struct MappingSlapdTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let slapd = try await Slapd.start(label: "mapping")
        defer { slapd.remove() }
        try await MappingSlapdFixture.$current.withValue(slapd) { try await function() }
    }
}

extension Trait where Self == MappingSlapdTrait {
    static var mappingSlapd: Self { MappingSlapdTrait() }
}

/// The DN of a fixture group.
func groupDN(_ cn: String) -> String { "cn=\(cn),\(Slapd.groupsDN)" }

/// A groupOfNames under the groups base.
func groupLDIF(_ cn: String, members: [String]) -> String {
    "dn: \(groupDN(cn))\nobjectClass: groupOfNames\ncn: \(cn)\n" + members.map { "member: \($0)\n" }.joined() + "\n"
}

let mappingTestPool = BlockingPool(name: "mapping-ldap", threads: 8)

/// A fresh store and an LDAP provider over the suite's slapd.
struct LDAPMappingEnvironment {
    let store: SQLiteStore
    let provider: LDAPProvider

    static func make() async throws -> LDAPMappingEnvironment {
        let slapd = try MappingSlapdFixture.require()
        let store = try await makeStore()
        let context = ProviderContext(
            logger: Logger(label: "mapping-ldap", level: .warning), store: store, ioPool: mappingTestPool,
            cpuPool: mappingTestPool, audit: NoAudit())
        let configuration = LDAPProvider.Configuration(
            url: slapd.ldapURL, startTLS: true, caFile: slapd.caFile, connectTimeout: ConfigDuration(seconds: 2),
            operationTimeout: ConfigDuration(seconds: 2), bindDN: Slapd.serviceDN, bindPassword: Slapd.servicePassword,
            user: .init(baseDN: Slapd.peopleDN), groups: .init(baseDN: Slapd.groupsDN))
        let provider = try LDAPProvider(
            id: "corp-ldap", displayName: "Test directory", configuration: configuration, context: context)
        return LDAPMappingEnvironment(store: store, provider: provider)
    }

    func login(_ user: Slapd.User) async throws -> ExternalIdentity {
        let outcome = try await provider.authenticate(
            PasswordCredentials(username: user.uid, password: user.password, clientAddress: "192.0.2.1"))
        guard case .authenticated(let identity) = outcome else { throw SlapdError("\(user.uid) did not log in") }
        return identity
    }

    func mapper(_ rules: MappingRules) -> IdentityMapper { makeMapper(store, rules) }

    func syncer(_ rules: MappingRules) -> GroupSyncer {
        GroupSyncer(
            directory: provider, rules: rules, store: store, provisioner: TestProvisioner(),
            logger: Logger(label: "sync-test", level: .warning))
    }
}

struct NoAudit: AuditRecording {
    func record(_ event: NewAuditEvent) async {}
}

/// A temporary working directory with the shipped config.d, for driving the `portcullis` binary.
struct CLISandbox {
    let root: URL
    let configDirectory: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-mapping-\(UUID().uuidString)")
        configDirectory = root.appendingPathComponent("config.d")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: packageRoot.appendingPathComponent("config.d"), to: configDirectory)
    }

    func writeConfig(_ name: String, _ text: String) throws {
        try text.write(to: configDirectory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func portcullis(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessResult {
        try await Processes.run(
            portcullisExecutable.path, arguments + ["--config", configDirectory.path], environment: environment,
            removing: ["PORTCULLIS_"], directory: root)
    }
}
