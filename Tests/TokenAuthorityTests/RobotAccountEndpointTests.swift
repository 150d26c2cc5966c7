import Administration
import ApplicationTokens
import Authorization
import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import IdentityCore
import Storage
import Testing
import Threading

@testable import TokenAuthority

/// Robot accounts at the token endpoint, through the real application-tokens provider and the real
/// `RobotAccountService`: `docker login -u oss+ci -p pcr_…`. Team `oss` (owner bob) has `opensource`
/// (public) and `internal` (protected); the robot may act there, within its actions, and nowhere else.
@Suite struct RobotAccountEndpointTests {
    private typealias Fixture = EndpointFixture
    static let pools = (
        io: BlockingPool(name: "robot-io", threads: 1), cpu: BlockingPool(name: "robot-cpu", threads: 1)
    )

    /// The fixture with the application-tokens provider first in the chain, as the shipped config has it.
    private static func with(
        authorization: AuthorizationSettings = AuthorizationSettings(deleteEnabled: true),
        _ body: (EndpointFixture) async throws -> Void
    ) async throws {
        let audit = RecordingAudit()
        try await Fixture.with(
            providers: { store, _ in
                let context = ProviderContext(
                    logger: Logger(label: "robots", level: .error, sink: LineCollector()), store: store,
                    ioPool: pools.io, cpuPool: pools.cpu, audit: audit, now: { Fixture.now })
                return [ApplicationTokenProvider(id: "application-tokens", displayName: "Tokens", context: context)]
            }, authorization: authorization, audit: audit, body)
    }

    /// Makes a robot of team `oss` as bob (its owner) and returns its token.
    private static func robot(
        _ fixture: EndpointFixture, name: String = "ci", actions: Set<String>, namespaces: Set<String>? = nil
    ) async throws -> String {
        let bob = fixture.users["bob"]!
        return try await RobotAccountService(store: fixture.store, now: { Fixture.now }).create(
            team: "oss", name: name, actions: actions, namespaces: namespaces,
            expiresAt: Fixture.now.addingTimeInterval(86_400),
            by: Caller.user(id: bob.id, username: bob.username, isAdmin: false)
        ).plaintext
    }

    @Test func aRobotPullsAndPushesInItsTeamsNamespacesAndNowhereElse() async throws {
        try await Self.with { fixture in
            let secret = try await Self.robot(fixture, actions: ["push"])
            let response = await fixture.get(
                as: "oss+ci", password: secret,
                scopes: [
                    "repository:opensource/app:pull,push", "repository:internal/app:pull,push",
                    // Public and global namespaces are open to every user, but not to a team's robot.
                    "repository:registry/base:pull", "repository:alice/demo:pull", "repository:newns/app:pull,push",
                    "registry:catalog:*",
                ], extra: [("offline_token", "true")])
            let token = try fixture.verifiedToken(response, subject: "oss+ci")
            #expect(
                token.grants == [
                    "repository:opensource/app": ["pull", "push"], "repository:internal/app": ["pull", "push"],
                ])
            // A robot is a delegated credential: never a refresh token.
            #expect(token.refreshToken == nil)
        }
    }

    @Test(
        arguments: [
            (["pull"], "repository:opensource/app:pull,push,delete", ["pull"]),
            (["push"], "repository:opensource/app:pull,push,delete", ["pull", "push"]),
            (["pull", "delete"], "repository:opensource/app:pull,push,delete", ["pull", "delete"]),
            (["pull", "push", "delete"], "repository:opensource/app:*", ["*"]),
        ] as [(Set<String>, String, Set<String>)])
    func aRobotIsGrantedOnlyTheActionsItWasGiven(actions: Set<String>, scope: String, granted: Set<String>)
        async throws
    {
        try await Self.with { fixture in
            let secret = try await Self.robot(fixture, actions: actions)
            let response = await fixture.get(as: "oss+ci", password: secret, scopes: [scope])
            let token = try fixture.verifiedToken(response, subject: "oss+ci")
            #expect(token.grants == ["repository:opensource/app": granted])
        }
    }

    @Test func aRobotGetsNoMoreThanTheTeamMayUnderThePolicy() async throws {
        // Deletion is off (Portus's default): a robot given delete still gets none.
        try await Self.with(authorization: AuthorizationSettings()) { fixture in
            let secret = try await Self.robot(fixture, actions: ["push", "delete"])
            let response = await fixture.get(
                as: "oss+ci", password: secret, scopes: ["repository:opensource/app:pull,push,delete"])
            #expect(
                try fixture.verifiedToken(response, subject: "oss+ci").grants == [
                    "repository:opensource/app": ["pull", "push"]
                ])
        }
    }

    @Test func aRobotLimitedToSomeNamespacesOfItsTeamGetsOnlyThose() async throws {
        try await Self.with { fixture in
            let secret = try await Self.robot(fixture, actions: ["pull"], namespaces: ["internal"])
            let response = await fixture.get(
                as: "oss+ci", password: secret,
                scopes: ["repository:opensource/app:pull", "repository:internal/app:pull"])
            #expect(
                try fixture.verifiedToken(response, subject: "oss+ci").grants == ["repository:internal/app": ["pull"]])
        }
    }

    @Test func theAuditRecordNamesTheRobotAndNoAccount() async throws {
        try await Self.with { fixture in
            let secret = try await Self.robot(fixture, actions: ["pull"])
            _ = try fixture.verifiedToken(
                await fixture.get(as: "oss+ci", password: secret, scopes: ["repository:opensource/app:pull"]),
                subject: "oss+ci")
            let issued = try #require(fixture.audit.events.last { $0.action == TokenRequestAudit.action })
            #expect(issued.actorName == "oss+ci")
            #expect(issued.actorID == nil)
            #expect(issued.outcome == .success)
        }
    }

    @Test func aRobotKeepsWorkingWhenItsCreatorLeavesAndIsDeleted() async throws {
        try await Self.with { fixture in
            let secret = try await Self.robot(fixture, actions: ["push"])
            let bob = fixture.users["bob"]!
            try await fixture.store.write { writer in
                let oss = try #require(try writer.team(named: "oss"))
                // The team needs another owner to stay managed; the robot does not care either way.
                _ = try writer.addTeamMember(team: oss.id, user: fixture.users["root"]!.id, role: .owner)
                try writer.removeTeamMember(team: oss.id, user: bob.id)
                try writer.deleteUser(bob.id)
            }
            let response = await fixture.get(
                as: "oss+ci", password: secret, scopes: ["repository:opensource/app:pull,push"])
            #expect(
                try fixture.verifiedToken(response, subject: "oss+ci").grants == [
                    "repository:opensource/app": ["pull", "push"]
                ])
            let listed = try await RobotAccountService(store: fixture.store).list(
                team: "oss", by: .commandLine(osUser: "test"))
            #expect(listed.first?.createdBy == "bob")
        }
    }

    @Test func aRevokedRobotIsRefused() async throws {
        try await Self.with { fixture in
            let secret = try await Self.robot(fixture, actions: ["pull"])
            try await RobotAccountService(store: fixture.store, now: { Fixture.now }).revoke(
                team: "oss", name: "ci", by: .commandLine(osUser: "test"))
            let response = await fixture.get(as: "oss+ci", password: secret, scopes: ["repository:opensource/app:pull"])
            #expect(response.status == .unauthorized)
        }
    }

    @Test func anExpiredRobotIsRefused() async throws {
        try await Self.with { fixture in
            let secret = ApplicationTokenFormat.generate(prefix: ApplicationTokenFormat.robotPrefix)
            try await fixture.store.write { writer in
                let oss = try #require(try writer.team(named: "oss"))
                _ = try writer.createRobotAccount(
                    NewRobotAccount(
                        teamID: oss.id, name: "old", secretHash: ApplicationTokenFormat.secretHash(of: secret),
                        prefix: ApplicationTokenFormat.displayPrefix(of: secret), actions: ["pull"], createdByID: nil,
                        createdByName: "bob", expiresAt: Fixture.now.addingTimeInterval(-1)))
            }
            let response = await fixture.get(
                as: "oss+old", password: secret, scopes: ["repository:opensource/app:pull"])
            #expect(response.status == .unauthorized)
        }
    }

    @Test(arguments: ["oss+other", "bob", "oss", "other+ci", ""])
    func aRobotTokenUnderAnotherNameIsRefused(username: String) async throws {
        try await Self.with { fixture in
            let secret = try await Self.robot(fixture, actions: ["pull"])
            let response = await fixture.get(as: username, password: secret, scopes: ["repository:opensource/app:pull"])
            #expect(response.status == .unauthorized)
        }
    }

    @Test func aRobotTokenWithATypoIsNotTakenForOne() async throws {
        try await Self.with { fixture in
            let secret = try await Self.robot(fixture, actions: ["pull"])
            var characters = Array(secret)
            characters[10] = characters[10] == "a" ? "b" : "a"
            let response = await fixture.get(
                as: "oss+ci", password: String(characters), scopes: ["repository:opensource/app:pull"])
            #expect(response.status == .unauthorized)
        }
    }
}
