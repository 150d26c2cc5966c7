import Foundation
import TestSupport
import Testing

/// Robot accounts against the real registry with skopeo, as a CI job uses them: `skopeo login -u devs+ci`
/// with the token `portcullis robot create` printed, then pushes. Team `devs` (owner alice) owns
/// `devs-private` and `devs-public`. The database is changed behind the server's back with the `sqlite3`
/// shell where the CLI has no command for it (deleting an account, moving an expiry into the past).
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct RobotAccountEndToEndTests {
    /// `portcullis robot create …`: the token, printed alone on the last line.
    private static func createRobot(_ stack: Stack, _ arguments: [String]) async throws -> String {
        let result = try await stack.portcullis.must(["robot", "create"] + arguments)
        let token = result.lastLine
        guard token.hasPrefix("pcr_") else { throw HarnessError("robot create printed no token: \(result)") }
        return token
    }

    /// Runs SQL on the server's database file (WAL: the running server sees the change after its commit).
    private static func sql(_ stack: Stack, _ statement: String) async throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") else {
            throw HarnessError("/usr/bin/sqlite3 is missing (Debian package sqlite3)")
        }
        let database = stack.portcullis.directory.path("var/portcullis.sqlite3")
        let result = try await Processes.run(
            "/usr/bin/sqlite3", ["-cmd", ".timeout 5000", database.path, "PRAGMA foreign_keys = ON; " + statement])
        guard result.succeeded else { throw HarnessError("sqlite3 failed: \(result)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aRobotPushesForItsTeamOutlivesItsCreatorAndStopsWhenRevokedOrExpired() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let secret = try await Self.createRobot(
            stack, ["ci", "--team", "devs", "--as", "alice", "--action", "push", "--expires-in", "1d"])
        let robot = try stack.client("devs-ci")
        let login = try await robot.login(stack.registry, user: "devs+ci", password: secret)
        #expect(login.succeeded, "\(login)\n\(stack.logs())")
        let pushed = try await robot.push(try await stack.image("one"), to: stack.registry, "devs-private/app:1")
        #expect(pushed.succeeded, "\(pushed)\n\(stack.logs())")

        // Outside its team: refused, though alice (who made it) may push there.
        let foreign = try await robot.push(try await stack.image("two"), to: stack.registry, "alice/app:1")
        #expect(!foreign.succeeded, "\(foreign)")

        // Its maker leaves: alice's account is deleted. The robot is the team's and keeps pushing.
        #expect(try await Self.sql(stack, "DELETE FROM users WHERE username = 'alice'; SELECT changes();") == "1")
        let afterDeletion = try await robot.push(
            try await stack.image("three"), to: stack.registry, "devs-private/app:2")
        #expect(afterDeletion.succeeded, "\(afterDeletion)\n\(stack.logs())")
        let listed = try await stack.portcullis.must(["robot", "list", "--team", "devs"])
        #expect(listed.stdout.contains("devs+ci") && listed.stdout.contains("alice"), "\(listed)")

        // The token requests are audited under the robot's name.
        let audited = try await waitUntil(seconds: 120) {
            try await Self.sql(
                stack, "SELECT count(*) FROM audit_events WHERE action = 'token.issue' AND actor_name = 'devs+ci';")
                != "0"
        }
        #expect(audited, "no token.issue audit row names devs+ci\n\(stack.logs())")

        // Expired (its expiry moved into the past): refused at once.
        _ = try await Self.sql(stack, "UPDATE robot_accounts SET expires_at = 0 WHERE name = 'ci';")
        let expired = try await stack.client("devs-ci-expired").login(stack.registry, user: "devs+ci", password: secret)
        #expect(!expired.succeeded, "\(expired)")
    }

    @Test func aRevokedRobotIsRefusedWhileAnotherOfTheTeamStillWorks() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let kept = try await Self.createRobot(
            stack, ["kept", "--team", "devs", "--action", "pull", "--expires-in", "1d"])
        let revoked = try await Self.createRobot(
            stack, ["gone", "--team", "devs", "--action", "push", "--expires-in", "1d"])
        let before = try await stack.client("devs-gone").login(stack.registry, user: "devs+gone", password: revoked)
        #expect(before.succeeded, "\(before)\n\(stack.logs())")
        try await stack.portcullis.must(["robot", "revoke", "gone", "--team", "devs"])
        let after = try await stack.client("devs-gone-2").login(stack.registry, user: "devs+gone", password: revoked)
        #expect(!after.succeeded, "\(after)")
        let keptClient = try stack.client("devs-kept")
        let other = try await keptClient.login(stack.registry, user: "devs+kept", password: kept)
        #expect(other.succeeded, "\(other)\n\(stack.logs())")
        // A pull-only robot cannot push.
        let push = try await keptClient.push(try await stack.image("kept"), to: stack.registry, "devs-public/app:1")
        #expect(!push.succeeded, "\(push)")
    }
}
