import Foundation
import TestSupport
import Testing

/// `portcullis token …` and `portcullis robot …` through the built executable, as an operator types them:
/// what is printed where, the exit statuses of refusals, and the configured limits.
@Suite(.serialized) struct RobotCommandTests {
    /// A sandbox with the database migrated, users `alice` (owner of team `web`, which owns `web`) and `bob`.
    private static func seeded() async throws -> Sandbox {
        let sandbox = try Sandbox()
        for arguments in [
            ["db", "migrate"], ["user", "create", "alice", "--no-password"],
            ["user", "create", "bob", "--no-password"],
            ["team", "create", "web", "--owner", "alice"], ["namespace", "create", "web", "--team", "web"],
        ] {
            let result = try await sandbox.portcullis(arguments)
            try #require(result.status == 0, "\(arguments): \(result.stderr)")
        }
        return sandbox
    }

    @Test func robotCreatePrintsTheTokenAloneOnStandardOutputAndListNeverShowsIt() async throws {
        let sandbox = try await Self.seeded()
        let created = try await sandbox.portcullis(
            ["robot", "create", "ci", "--team", "web", "--action", "push", "--expires-in", "30d", "--as", "alice"])
        #expect(created.status == 0, "\(created.stderr)")
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("pcr_") && token.count == 53, "\(created.stdout)")
        #expect(created.stderr.contains("web+ci") && created.stderr.contains("pull,push"), "\(created.stderr)")
        let listed = try await sandbox.portcullis(["robot", "list", "--team", "web"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("web+ci") && listed.stdout.contains("alice"), "\(listed.stdout)")
        #expect(!listed.stdout.contains(token))
        let shown = try await sandbox.portcullis(["robot", "show", "ci", "--team", "web"])
        #expect(shown.stdout.contains("actions: pull,push"), "\(shown.stdout)")
        #expect(try await sandbox.portcullis(["robot", "revoke", "ci", "--team", "web"]).status == 0)
        let revoked = try await sandbox.portcullis(["robot", "list", "--team", "web"])
        #expect(revoked.stdout.contains("revoked"), "\(revoked.stdout)")
    }

    @Test(
        arguments: [
            (["robot", "create", "ci", "--team", "web", "--action", "pull"], 64, "--expires-in"),
            (["robot", "create", "ci", "--team", "web", "--expires-in", "1d"], 64, "--action"),
            (["robot", "create", "ci", "--action", "pull", "--expires-in", "1d"], 64, "--team"),
            (["robot", "create", "ci", "--team", "web", "--action", "pull", "--expires-in", "soon"], 64, "duration"),
            (["robot", "create", "ci", "--team", "nope", "--action", "pull", "--expires-in", "1d"], 65, "no team"),
            (["robot", "create", "CI", "--team", "web", "--action", "pull", "--expires-in", "1d"], 65, "robot name"),
            (
                ["robot", "create", "ci", "--team", "web", "--action", "*", "--expires-in", "1d"], 65,
                "pull, push, delete"
            ),
            (
                ["robot", "create", "ci", "--team", "web", "--action", "pull", "--expires-in", "400d"], 65,
                "maxLifetime"
            ),
            (
                ["robot", "create", "ci", "--team", "web", "--action", "pull", "--expires-in", "1d", "--as", "bob"], 65,
                "owners"
            ),
            (["robot", "revoke", "nothing", "--team", "web"], 65, "no robot"),
        ] as [([String], Int32, String)])
    func aRefusedRobotCommandSaysWhyWithItsExitStatus(arguments: [String], status: Int32, reason: String)
        async throws
    {
        let sandbox = try await Self.seeded()
        let result = try await sandbox.portcullis(arguments)
        #expect(result.status == status, "\(result.stderr)")
        #expect(result.stderr.contains(reason), "\(result.stderr)")
        #expect(result.stdout.isEmpty, "nothing that looks like a token: \(result.stdout)")
    }

    @Test func tokenCreateStopsAtTheConfiguredNumberOfLiveTokens() async throws {
        let sandbox = try await Self.seeded()
        let limit = ["PORTCULLIS_TOKEN_APPLICATION_TOKENS_MAX_PER_USER": "2"]
        for name in ["one", "two"] {
            let made = try await sandbox.portcullis(["token", "create", "alice", name], environment: limit)
            #expect(made.status == 0, "\(made.stderr)")
            #expect(made.stdout.hasPrefix("pct_"))
        }
        let third = try await sandbox.portcullis(["token", "create", "alice", "three"], environment: limit)
        #expect(third.status == 65, "\(third.stderr)")
        #expect(third.stderr.contains("maxPerUser"), "\(third.stderr)")
        #expect(try await sandbox.portcullis(["token", "revoke", "alice", "one"]).status == 0)
        #expect(try await sandbox.portcullis(["token", "create", "alice", "three"], environment: limit).status == 0)
        let listed = try await sandbox.portcullis(["token", "list", "alice"])
        #expect(listed.stdout.split(separator: "\n").count == 4, "a header and three rows: \(listed.stdout)")
    }
}
