import Foundation
import IdentityCore
import LDAP
import ProviderTesting
import TestSupport
import Testing

/// The LDAP provider against a real slapd: search-then-bind, groups, hostile input, TLS, several
/// providers side by side.
@Suite(.enabled(if: SlapdPeer.shouldRun), .slapd("provider"))
struct LDAPProviderTests {
    var slapd: Slapd { get throws { try SlapdFixture.require() } }

    @Test func theProviderPassesThePasswordProviderConformanceSuite() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd)
        await PasswordProviderConformance.runAll(
            PasswordProviderFixture(
                provider: provider, username: Slapd.alice.uid, password: Slapd.alice.password,
                wrongPassword: "alice-wrong", unknownUsername: "nobody", audit: environment.audit))
        for line in environment.logs.lines {
            #expect(!line.contains(Slapd.alice.password) && !line.contains(Slapd.servicePassword))
        }
    }

    @Test func searchThenBindGivesTheDirectoryIdentity() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd)
        let outcome = try await provider.authenticate(environment.credentials("alice", Slapd.alice.password))
        let identity = try #require(outcome.identity)
        #expect(identity.provider == "corp-ldap")
        #expect(identity.subject.count == 36, "entryUUID: \(identity.subject)")
        #expect(identity.username == "alice")
        #expect(identity.email == Slapd.alice.mail)
        #expect(identity.displayName == Slapd.alice.displayName)
        #expect(identity.origin == .federated)
        #expect(identity.groups == [groupDN("developers"), groupDN("loop-a")])
    }

    @Test func aPasswordWithAColonSpacesAndUTF8LogsIn() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let outcome = try await environment.provider(slapd: slapd).authenticate(
            environment.credentials("bob", Slapd.bob.password))
        let identity = try #require(outcome.identity)
        #expect(identity.displayName == "Bob Bäcker")
        #expect(identity.groups == [groupDN("everyone")])
    }

    @Test func aUserInTwoGroupsGetsBothAndNestingAddsTheirParents() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let flat = try await environment.provider(slapd: slapd).authenticate(
            environment.credentials("carol", Slapd.carol.password))
        #expect(flat.identity?.groups == [groupDN("admins"), groupDN("developers")])
        let nested = try await environment.provider(slapd: slapd) { $0.groups?.nested = true }.authenticate(
            environment.credentials("carol", Slapd.carol.password))
        #expect(nested.identity?.groups == [groupDN("admins"), groupDN("developers"), groupDN("everyone")])
    }

    @Test func nestedGroupsInACycleAreEachReportedOnce() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) { $0.groups?.nested = true }
        let outcome = try await provider.authenticate(environment.credentials("alice", Slapd.alice.password))
        #expect(
            outcome.identity?.groups == [
                groupDN("developers"), groupDN("everyone"), groupDN("loop-a"), groupDN("loop-b"),
            ])
    }

    @Test(arguments: [
        (LDAPProvider.Membership.uniqueMember, false, ["unique-team"]),
        (.memberUid, false, ["posix-devs"]),
        (.memberOf, false, ["developers", "loop-a"]),
        (.memberOf, true, ["developers", "everyone", "loop-a", "loop-b"]),
    ])
    func everyMembershipKindFindsTheUsersGroups(membership: LDAPProvider.Membership, nested: Bool, names: [String])
        async throws
    {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) {
            $0.groups = .init(baseDN: Slapd.groupsDN, membership: membership, nested: nested)
        }
        let outcome = try await provider.authenticate(environment.credentials("alice", Slapd.alice.password))
        #expect(outcome.identity?.groups == names.map(groupDN))
        let identity = try #require(outcome.identity)
        let groups = try await provider.groups(of: identity)
        #expect(groups.map(\.name) == names)
    }

    @Test(arguments: ["*", "alice)(uid=*", "alice\0", "*)(|(uid=*", "al*", "alice\\", "(uid=alice)", " alice*"])
    func injectionAttemptsAreNotMine(username: String) async throws {
        let environment = try await LDAPTestEnvironment.make()
        let outcome = try await environment.provider(slapd: slapd).authenticate(
            environment.credentials(username, Slapd.alice.password))
        #expect(outcome.isNotMine, "\(outcome)")
    }

    @Test func aWrongPasswordIsRejectedAndAuditedWithoutTheSecret() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let outcome = try await environment.provider(slapd: slapd).authenticate(
            environment.credentials("alice", "not-alices-password"))
        #expect(outcome.isInvalidCredentials)
        let events = environment.audit.events(action: "login.password")
        #expect(events.count == 1)
        #expect(events.first?.detail?.contains("invalid_credentials") == true)
        #expect(!String(reflecting: events).contains("not-alices-password"))
        #expect(!environment.logs.lines.joined().contains("not-alices-password"))
    }

    @Test func anEmptyPasswordIsRejectedBeforeAnyNetworkCall() async throws {
        let environment = try await LDAPTestEnvironment.make()
        // Nothing listens there: any network call would throw instead of rejecting.
        let provider = try environment.provider(slapd: slapd) { $0.url = "ldap://127.0.0.1:\(try! closedPort())" }
        let outcome = try await provider.authenticate(environment.credentials("alice", ""))
        #expect(outcome.isInvalidCredentials)
    }

    @Test func anAmbiguousUsernameIsRejectedAndLoggedButOneLevelScopeFindsOne() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let subtree = try await environment.provider(slapd: slapd).authenticate(
            environment.credentials("twin", Slapd.twin.password))
        #expect(subtree.isInvalidCredentials)
        #expect(environment.logs.lines.contains { $0.contains("several entries") && $0.contains("uid=twin") })
        #expect(environment.audit.events.contains { $0.detail?.contains("ambiguous_user") == true })
        let oneLevel = try await environment.provider(slapd: slapd) { $0.user.scope = .one }.authenticate(
            environment.credentials("twin", Slapd.twin.password))
        #expect(oneLevel.identity?.displayName == "Twin One")
    }

    @Test func otherUsernameAndSubjectAttributesWork() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) {
            $0.user.usernameAttribute = "mail"
            $0.user.subjectAttribute = "dn"
        }
        let outcome = try await provider.authenticate(
            environment.credentials("ALICE@example.org", Slapd.alice.password))
        let identity = try #require(outcome.identity)
        #expect(identity.subject == Slapd.alice.dn)
        #expect(identity.username == "alice@example.org")
        let refreshed = try await provider.refresh(identity)
        #expect(refreshed?.subject == identity.subject)
    }

    @Test func aSubjectAttributeTheEntryLacksIsAMisconfiguration() async throws {
        let environment = try await LDAPTestEnvironment.make()
        // slapd has no objectGUID (an Active Directory attribute): no stable subject, so no login.
        let provider = try environment.provider(slapd: slapd) { $0.user.subjectAttribute = "objectGUID" }
        await #expect(throws: ProviderError(.misconfigured, provider: "corp-ldap", reason: "")) {
            _ = try await provider.authenticate(environment.credentials("alice", Slapd.alice.password))
        }
    }

    @Test func groupMembersAreListedWithTheSubjectsALoginGives() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd)
        let alice = try #require(
            try await provider.authenticate(environment.credentials("alice", Slapd.alice.password)).identity)
        let developers = try await provider.members(of: DirectoryGroup(dn: groupDN("developers"), name: "developers"))
        #expect(developers.map(\.username) == ["alice", "carol"])
        #expect(developers.first?.subject == alice.subject)
        #expect(developers.first?.email == Slapd.alice.mail)
        let flatEveryone = try await provider.members(of: DirectoryGroup(dn: groupDN("everyone"), name: "everyone"))
        #expect(flatEveryone.map(\.username) == ["bob"])
        let nestedProvider = try environment.provider(slapd: slapd) { $0.groups?.nested = true }
        let everyone = try await nestedProvider.members(of: DirectoryGroup(dn: groupDN("everyone"), name: "everyone"))
        #expect(everyone.map(\.username) == ["alice", "bob", "carol"])
        let loop = try await nestedProvider.members(of: DirectoryGroup(dn: groupDN("loop-b"), name: "loop-b"))
        #expect(loop.map(\.username) == ["alice"])
    }

    @Test func aGroupWithACommaInItsNameIsFoundAndListed() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd)
        let dave = try #require(
            try await provider.authenticate(environment.credentials("dave", Slapd.dave.password)).identity)
        let groups = try await provider.groups(of: dave)
        // slapd writes the escaped comma as hex.
        #expect(groups == [DirectoryGroup(dn: "cn=QA\\2C Europe,\(Slapd.groupsDN)", name: "QA, Europe")])
        let members = try await provider.members(of: try #require(groups.first))
        #expect(members.map(\.username) == ["dave"])
    }

    @Test(arguments: [LDAPProvider.Membership.memberUid, .memberOf, .uniqueMember])
    func membersAreListedForEveryMembershipKind(membership: LDAPProvider.Membership) async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) {
            $0.groups = .init(baseDN: Slapd.groupsDN, membership: membership)
        }
        let cn = ["memberUid": "posix-devs", "memberOf": "developers", "uniqueMember": "unique-team"][
            membership.rawValue]!
        let members = try await provider.members(of: DirectoryGroup(dn: groupDN(cn), name: cn))
        #expect(members.map(\.username) == (membership == .uniqueMember ? ["alice"] : ["alice", "carol"]))
    }

    @Test func refreshFindsTheUserAgainOrReportsItGone() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd)
        let carol = try #require(
            try await provider.authenticate(environment.credentials("carol", Slapd.carol.password)).identity)
        let refreshed = try await provider.refresh(carol)
        #expect(refreshed == carol)
        var gone = carol
        gone.subject = "00000000-0000-0000-0000-000000000000"
        #expect(try await provider.refresh(gone) == nil)
    }

    @Test func ldapsAndStartTLSBothLogIn() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let ldaps = try environment.provider(slapd: slapd) {
            $0.url = try! SlapdFixture.require().ldapsURL
            $0.startTLS = false
        }
        let outcome = try await ldaps.authenticate(environment.credentials("alice", Slapd.alice.password))
        #expect(outcome.identity != nil)
    }

    @Test func anUntrustedCertificateMakesTheProviderUnavailableNotRejecting() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) { $0.caFile = try! SlapdFixture.require().otherCAFile }
        await #expect(throws: ProviderError(.unavailable, provider: "corp-ldap", reason: "")) {
            _ = try await provider.authenticate(environment.credentials("alice", Slapd.alice.password))
        }
    }

    @Test func skippingVerificationWorksAndWarnsAtStart() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) {
            $0.url = try! SlapdFixture.require().ldapsURLWithWrongName
            $0.startTLS = false
            $0.caFile = try! SlapdFixture.require().otherCAFile
            $0.insecureSkipVerify = true
        }
        #expect(environment.logs.lines.contains { $0.contains("level=warning") && $0.contains("insecureSkipVerify") })
        #expect(try await provider.authenticate(environment.credentials("alice", Slapd.alice.password)).identity != nil)
    }

    @Test func aWrongServicePasswordIsAMisconfigurationNotARejection() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) { $0.bindPassword = "wrong-reader-password" }
        await #expect(throws: ProviderError(.misconfigured, provider: "corp-ldap", reason: "")) {
            _ = try await provider.authenticate(environment.credentials("alice", Slapd.alice.password))
        }
        #expect(!environment.logs.lines.joined().contains("wrong-reader-password"))
    }

    @Test func anonymousSearchOnAServerThatForbidsItIsAMisconfiguration() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) {
            $0.bindDN = nil
            $0.bindPassword = nil
        }
        await #expect(throws: ProviderError(.misconfigured, provider: "corp-ldap", reason: "")) {
            _ = try await provider.authenticate(environment.credentials("alice", Slapd.alice.password))
        }
    }

    @Test func severalLDAPProvidersRunSideBySideWithTheirOwnSettings() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let slapd = try slapd
        let ldaps = try environment.provider("ldaps-dir", slapd: slapd) {
            $0.url = slapd.ldapsURL
            $0.startTLS = false
        }
        let startTLS = try environment.provider("starttls-dir", slapd: slapd) { $0.groups = nil }
        let distrusting = try environment.provider("distrusting-dir", slapd: slapd) { $0.caFile = slapd.otherCAFile }
        let providers: [LDAPProvider] = [ldaps, startTLS, distrusting]
        let results = await withTaskGroup(of: (ProviderID, Result<PasswordOutcome, any Error>).self) { group in
            for round in 0..<4 {
                for provider in providers {
                    let user = [Slapd.alice, Slapd.bob, Slapd.carol][round % 3]
                    group.addTask {
                        do {
                            return (
                                provider.id,
                                .success(
                                    try await provider.authenticate(environment.credentials(user.uid, user.password)))
                            )
                        } catch {
                            return (provider.id, .failure(error))
                        }
                    }
                }
            }
            var collected: [(ProviderID, Result<PasswordOutcome, any Error>)] = []
            for await result in group { collected.append(result) }
            return collected
        }
        #expect(results.count == 12)
        for (id, result) in results {
            switch (id.rawValue, result) {
            case ("ldaps-dir", .success(let outcome)):
                #expect(outcome.identity?.provider == "ldaps-dir")
                #expect(outcome.identity?.groups.isEmpty == false)
            case ("starttls-dir", .success(let outcome)):
                #expect(outcome.identity?.provider == "starttls-dir")
                #expect(outcome.identity?.groups == [])
            case ("distrusting-dir", .failure(let error)):
                #expect(error as? ProviderError == ProviderError(.unavailable, provider: "distrusting-dir", reason: ""))
            default:
                Issue.record("\(id): unexpected \(result)")
            }
        }
    }
}
