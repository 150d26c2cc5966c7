import Foundation
import IdentityCore
import IdentityMapping
import Storage
import TestSupport
import Testing

/// A directory user whose uid breaks the username rule (`Username`) gets a clear, audited refusal at first
/// login and by pre-provisioning, and nothing of an account is left behind.
extension SlapdMappingTests {
    /// A directory user of these tests (the fixture's own users all have valid names).
    struct DirectoryUser {
        var uid: String
        var password: String
        var displayName: String
        var dn: String { "uid=\(uid),\(Slapd.peopleDN)" }
    }

    /// `jürgen`: a realistic uid the rule refuses (non-ASCII), added to the suite's slapd once.
    static let jurgen = DirectoryUser(uid: "j\u{FC}rgen", password: "jurgen-secret", displayName: "J\u{FC}rgen Schmidt")

    private static func addJurgen(_ slapd: Slapd) async throws {
        let base64 = { (text: String) in Data(text.utf8).base64EncodedString() }
        let user = jurgen
        // Several tests may add him: an existing entry is fine.
        try? await slapd.add(
            """
            dn:: \(base64(user.dn))
            objectClass: inetOrgPerson
            objectClass: posixAccount
            uid:: \(base64(user.uid))
            cn:: \(base64(user.displayName))
            sn: schmidt
            displayName:: \(base64(user.displayName))
            uidNumber: 10900
            gidNumber: 5000
            homeDirectory: /home/jurgen
            userPassword:: \(base64(user.password))

            """)
    }

    /// What the store holds of accounts: users, teams (hidden ones too), namespaces.
    private static func accountRows(_ store: any Store) async throws -> (Int, Int, Int) {
        try await store.read { reader in
            (
                try reader.allUsers().count, try reader.allTeams(includingHidden: true).count,
                try reader.allNamespaces().count
            )
        }
    }

    @Test func aDirectoryUserWhoseUidBreaksTheRuleIsRefusedAtFirstLoginWithNothingHalfMade() async throws {
        let slapd = try MappingSlapdFixture.require()
        try await Self.addJurgen(slapd)
        try await slapd.add(groupLDIF("umlauts", members: [Self.jurgen.dn]))
        let env = try await LDAPMappingEnvironment.make()
        let rules = MappingRules(
            syncRules: [
                GroupSyncRule(group: GroupPattern(groupDN("umlauts")), team: "umlauts", role: .viewer, createTeam: true)
            ])
        let outcome0 = try await env.provider.authenticate(
            PasswordCredentials(username: Self.jurgen.uid, password: Self.jurgen.password, clientAddress: "192.0.2.1"))
        guard case .authenticated(let identity) = outcome0 else {
            Issue.record("the directory did not authenticate him: \(outcome0)")
            return
        }
        #expect(identity.username == Self.jurgen.uid)
        let outcome = try await env.mapper(rules).map(identity)
        let refusal = try #require(outcome.refusal)
        #expect(refusal.code == .invalidUsername)
        #expect(refusal.description.contains("U+00FC is not allowed"), "\(refusal)")
        #expect(refusal.description.contains(#"'j\u{FC}rgen'"#), "the name is quoted inert: \(refusal)")
        let rows = try await Self.accountRows(env.store)
        #expect(rows == (0, 0, 0), "no user, personal team, team or namespace")

        // Pre-provisioning skips him with the reason, and writes nothing either.
        var preProvisioning = rules
        preProvisioning.preProvision = true
        let report = try await env.syncer(preProvisioning).run(dryRun: false)
        #expect(report.entries.map(\.description).contains { $0.contains("skipped, invalid username") }, "\(report)")
        let after = try await Self.accountRows(env.store)
        #expect(after == (0, 0, 0))
    }

    @Test func theTokenEndpointAnswersSuchAFirstLoginWith401AndAuditsTheReason() async throws {
        let slapd = try MappingSlapdFixture.require()
        try await Self.addJurgen(slapd)
        let sandbox = try CLISandbox()
        try sandbox.writeConfig(
            "45-ldap.yaml", slapd.providerFragment(bindPassword: "{env: TEST_LDAP_BIND}", mapping: ""))
        let environment = ["TEST_LDAP_BIND": Slapd.servicePassword]
        let port = try freePort()
        let server = try BackgroundProcess(
            name: "portcullis", executable: portcullisExecutable.path,
            arguments: ["serve", "--config", sandbox.configDirectory.path],
            environment: environment.merging(["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"]) { $1 },
            removing: ["PORTCULLIS_"], directory: sandbox.root,
            logFile: sandbox.root.appendingPathComponent("serve.log"))
        defer { server.stop() }
        let url = "http://127.0.0.1:\(port)/v2/token?service=registry.local&scope=repository:jurgen/app:pull"
        var answer: ProcessResult?
        let answered = try await waitUntil(seconds: 120) {
            guard server.isRunning else { return false }
            let result = try await Processes.run(
                "/usr/bin/curl",
                [
                    "-s", "-g", "-m", "60", "-u", "\(Self.jurgen.uid):\(Self.jurgen.password)", "-w", "\n%{http_code}",
                    url,
                ])
            answer = result
            return result.status == 0 && !result.stdout.isEmpty
        }
        #expect(answered, "\(server.logTail())")
        let output = try #require(answer).stdout
        #expect(output.hasSuffix("\n401"), "\(output)")
        #expect(output.contains("U+00FC is not allowed"), "\(output)")
        #expect(!server.logTail(100_000).contains("internal error"))
        // The refusal is audited after the answer goes out (queued durability): wait for the row before the
        // server is killed, or a loaded machine kills it first.
        var tail: ProcessResult?
        let audited = try await waitUntil(seconds: 120) {
            tail = try await sandbox.portcullis(["audit", "tail", "--lines", "5"], environment: environment)
            return tail?.stdout.contains("invalid_username") == true
        }
        let audit = try #require(tail)
        #expect(audited, "\(audit.stdout)\(audit.stderr)")
        server.stop()

        let users = try await sandbox.portcullis(["user", "list"], environment: environment)
        #expect(users.status == 0, "\(users.stderr)")
        #expect(users.stdout.split(separator: "\n").count == 1, "no account: \(users.stdout)")
        #expect(audit.stdout.contains("invalid_username"), "\(audit.stdout)")
        #expect(audit.stdout.contains("denied"), "\(audit.stdout)")
    }
}
