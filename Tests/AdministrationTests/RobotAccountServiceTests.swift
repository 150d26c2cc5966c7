import Administration
import CryptoCore
import Foundation
import IdentityCore
import Storage
import Testing

/// `RobotAccountService`: who makes, sees and revokes a team's robots, the rules of names, actions,
/// namespaces and expiry, and the audit rows. (What a robot is granted: RobotAccountEndpointTests.)
@Suite struct RobotAccountServiceTests {
    static let day: TimeInterval = 86_400

    @Test func aTeamOwnerMakesARobotWhoseTokenIsShownOnce() async throws {
        try await ServiceFixture.with { fixture in
            let created = try await fixture.robots().create(
                team: "oss", name: "ci", actions: ["push"], expiresAt: fixture.clock.now + Self.day, note: "GitLab CI",
                by: fixture.caller("bob"))
            #expect(created.plaintext.hasPrefix("pcr_"))
            #expect(ApplicationTokenFormat.isWellFormed(created.plaintext, prefix: ApplicationTokenFormat.robotPrefix))
            #expect(created.robot.loginName == "oss+ci")
            // push brings pull: every docker push asks for both.
            #expect(created.robot.actions == ["pull", "push"])
            #expect(created.robot.namespaces == nil)
            #expect(created.robot.createdBy == "bob")
            #expect(!String(describing: created).contains(created.plaintext))
            let shown = try await fixture.robots().show(team: "oss", name: "ci", by: fixture.caller("carol"))
            #expect(shown == created.robot)
            let audit = try await fixture.audit("robot.create")
            #expect(audit.map(\.actorName) == ["bob"])
            #expect(audit.first?.target == "team:oss")
            #expect(audit.first?.detail?.contains("\"robot\":\"oss+ci\"") == true)
            #expect(audit.first?.detail?.contains(created.plaintext) == false)
        }
    }

    @Test(arguments: ["carol", "alice"])
    func onlyOwnersAndAdminsMakeOrRevokeRobots(name: String) async throws {
        try await ServiceFixture.with { fixture in
            let robots = fixture.robots()
            await #expect(throws: RobotAccountError(.forbidden, "")) {
                _ = try await robots.create(
                    team: "oss", name: "ci", actions: ["pull"], expiresAt: fixture.clock.now + Self.day,
                    by: fixture.caller(name))
            }
            _ = try await robots.create(
                team: "oss", name: "ci", actions: ["pull"], expiresAt: fixture.clock.now + Self.day,
                by: fixture.caller("root"))
            await #expect(throws: RobotAccountError(.forbidden, "")) {
                try await robots.revoke(team: "oss", name: "ci", by: fixture.caller(name))
            }
            try await robots.revoke(team: "oss", name: "ci", by: fixture.caller("bob"))
            #expect(try await fixture.audit("robot.revoke").map(\.actorName) == ["bob"])
        }
    }

    @Test func membersListTheirTeamsRobotsAndOthersMayNot() async throws {
        try await ServiceFixture.with { fixture in
            let robots = fixture.robots()
            for name in ["deploy", "ci"] {
                _ = try await robots.create(
                    team: "oss", name: name, actions: ["pull"], expiresAt: fixture.clock.now + Self.day,
                    by: fixture.caller("bob"))
            }
            #expect(try await robots.list(team: "oss", by: fixture.caller("carol")).map(\.name) == ["ci", "deploy"])
            #expect(try await robots.list(team: "oss", by: fixture.caller("root")).count == 2)
            await #expect(throws: RobotAccountError(.forbidden, "")) {
                _ = try await robots.list(team: "oss", by: fixture.caller("alice"))
            }
            await #expect(throws: RobotAccountError(.forbidden, "")) {
                _ = try await robots.show(team: "oss", name: "ci", by: fixture.caller("alice"))
            }
        }
    }

    @Test(arguments: ["", "a", "CI", "ci+x", "-ci", "ci-", "c i", "ci$", "ci/x", String(repeating: "r", count: 65)])
    func aBadRobotNameIsRefused(name: String) async throws {
        try await ServiceFixture.with { fixture in
            await #expect(throws: RobotAccountError(.invalidName, "")) {
                _ = try await fixture.robots().create(
                    team: "oss", name: name, actions: ["pull"], expiresAt: fixture.clock.now + Self.day,
                    by: fixture.caller("bob"))
            }
        }
    }

    @Test(arguments: [[], ["*"], ["pull", "admin"], ["PULL"]] as [Set<String>])
    func actionsOtherThanPullPushAndDeleteAreRefused(actions: Set<String>) async throws {
        try await ServiceFixture.with { fixture in
            await #expect(throws: RobotAccountError(.invalidActions, "")) {
                _ = try await fixture.robots().create(
                    team: "oss", name: "ci", actions: actions, expiresAt: fixture.clock.now + Self.day,
                    by: fixture.caller("bob"))
            }
        }
    }

    @Test func everyRobotExpiresWithinTheConfiguredLifetime() async throws {
        try await ServiceFixture.with { fixture in
            let robots = fixture.robots(maxLifetime: 30 * Self.day)
            for expiry in [fixture.clock.now, fixture.clock.now - 1, fixture.clock.now + 30 * Self.day + 1] {
                await #expect(throws: RobotAccountError(.invalidExpiry, "")) {
                    _ = try await robots.create(
                        team: "oss", name: "ci", actions: ["pull"], expiresAt: expiry, by: fixture.caller("bob"))
                }
            }
            let created = try await robots.create(
                team: "oss", name: "ci", actions: ["pull"], expiresAt: fixture.clock.now + 30 * Self.day,
                by: fixture.caller("bob"))
            #expect(created.robot.isUsable(at: fixture.clock.now))
            #expect(!created.robot.isUsable(at: fixture.clock.now + 30 * Self.day))
        }
    }

    @Test func aRobotMayBeLimitedToSomeOfItsTeamsNamespacesOnly() async throws {
        try await ServiceFixture.with { fixture in
            let robots = fixture.robots()
            let created = try await robots.create(
                team: "oss", name: "ci", actions: ["pull"], namespaces: ["internal"],
                expiresAt: fixture.clock.now + Self.day, by: fixture.caller("bob"))
            #expect(created.robot.namespaces == ["internal"])
            for namespaces in [["elsewhere"], ["internal", "missing"], []] as [Set<String>] {
                await #expect(throws: RobotAccountError(.invalidNamespace, "")) {
                    _ = try await robots.create(
                        team: "oss", name: "other", actions: ["pull"], namespaces: namespaces,
                        expiresAt: fixture.clock.now + Self.day, by: fixture.caller("root"))
                }
            }
        }
    }

    @Test func namesAreUniquePerTeamAndHiddenOrMissingTeamsHaveNoRobots() async throws {
        try await ServiceFixture.with { fixture in
            let robots = fixture.robots()
            let expiry = fixture.clock.now + Self.day
            _ = try await robots.create(
                team: "oss", name: "ci", actions: ["pull"], expiresAt: expiry, by: fixture.caller("bob"))
            await #expect(throws: RobotAccountError(.nameTaken, "")) {
                _ = try await robots.create(
                    team: "oss", name: "ci", actions: ["push"], expiresAt: expiry, by: fixture.caller("bob"))
            }
            _ = try await robots.create(
                team: "other", name: "ci", actions: ["pull"], expiresAt: expiry, by: fixture.caller("alice"))
            for team in ["alice-personal", "nope"] {
                await #expect(throws: RobotAccountError(.unknownTeam, "")) {
                    _ = try await robots.create(
                        team: team, name: "ci", actions: ["pull"], expiresAt: expiry, by: fixture.caller("root"))
                }
            }
            await #expect(throws: RobotAccountError(.notFound, "")) {
                try await robots.revoke(team: "oss", name: "nope", by: fixture.caller("bob"))
            }
        }
    }

    @Test func aRobotOutlivesItsCreatorAndGoesWithItsTeam() async throws {
        try await ServiceFixture.with { fixture in
            _ = try await fixture.robots().create(
                team: "other", name: "ci", actions: ["pull"], expiresAt: fixture.clock.now + Self.day,
                by: fixture.caller("alice"))
            try await fixture.store.write { try $0.deleteUser(fixture.users["alice"]!.id) }
            let listed = try await fixture.robots().list(team: "other", by: fixture.caller("root"))
            #expect(listed.map(\.createdBy) == ["alice"])
            try await fixture.store.write { writer in
                let other = try #require(try writer.team(named: "other"))
                for namespace in try writer.namespaces(ownedBy: other.id) { try writer.deleteNamespace(namespace.id) }
                try writer.deleteTeam(other.id)
                #expect(try writer.robotAccounts(ofTeam: other.id).isEmpty)
            }
        }
    }

    @Test func makingAndRevokingARobotMoveTheAuthorizationGenerationButUsingItDoesNot() async throws {
        try await ServiceFixture.with { fixture in
            let start = fixture.store.authorizationGeneration
            let created = try await fixture.robots().create(
                team: "oss", name: "ci", actions: ["pull"], expiresAt: fixture.clock.now + Self.day,
                by: fixture.caller("bob"))
            let afterCreate = fixture.store.authorizationGeneration
            #expect(afterCreate != start)
            try await fixture.store.write { try $0.touchRobotAccount(created.robot.id, at: fixture.clock.now) }
            #expect(
                fixture.store.authorizationGeneration == afterCreate, "a login's bookkeeping is no change of rights")
            try await fixture.robots().revoke(team: "oss", name: "ci", by: fixture.caller("bob"))
            #expect(fixture.store.authorizationGeneration != afterCreate)
        }
    }
}
