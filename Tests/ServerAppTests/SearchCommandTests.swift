import Foundation
import TestSupport
import Testing

/// `db seed`, `search`, `star`, `unstar` and `starred` through the built `portcullis` executable.
@Suite(.serialized) struct SearchCommandTests {
    @Test func aSeededDatabaseHasExactlyTheAskedCountsAndIsSearchable() async throws {
        let sandbox = try Sandbox()
        let seeded = try await sandbox.portcullis(
            ["db", "seed", "--repositories", "12", "--tags", "50", "--users", "6", "--teams", "3"])
        #expect(seeded.status == 0, "\(seeded.stderr)")
        for line in ["users: 6", "teams: 9", "namespaces: 9", "repositories: 12", "tags: 50", "team_members: 12"] {
            #expect(seeded.stdout.contains(line), "\(seeded.stdout)")
        }
        #expect(seeded.stdout.contains("rows/s"))
        let again = try await sandbox.portcullis(["db", "seed", "--repositories", "1", "--tags", "1", "--teams", "1"])
        #expect(again.status == 65, "the same names again are a conflict: \(again.stderr)")

        let found = try await sandbox.portcullis(["search", "ns0/repo3:v0.0", "--kind", "tag"])
        #expect(found.status == 0, "\(found.stderr)")
        #expect(found.stdout.contains("ns0/repo3:v0.0.1"))
        #expect(!found.stdout.contains("ns0/repo0"))
        let short = try await sandbox.portcullis(["search", "ns"])
        #expect(short.status == 64)
        #expect(short.stderr.contains("at least 3 characters"))
        let hostile = try await sandbox.portcullis(["search", "\" OR NEAR(*"])
        #expect(hostile.status == 0, "\(hostile.stderr)")
    }

    @Test func starringIsIdempotentAndHiddenRepositoriesAreNotFound() async throws {
        let sandbox = try Sandbox()
        #expect(
            try await sandbox.portcullis([
                "db", "seed", "--repositories", "3", "--tags", "3", "--users", "4", "--teams", "3",
            ]).status == 0)
        // ns0 is public, ns2 private (team 2's; user0 is in team 0).
        let first = try await sandbox.portcullis(["star", "ns0/repo0", "--as", "user0"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("1 star"))
        let second = try await sandbox.portcullis(["star", "ns0/repo0", "--as", "user0"])
        #expect(second.stdout.contains("unchanged"))
        let listed = try await sandbox.portcullis(["starred", "--as", "user0"])
        #expect(listed.stdout.contains("ns0/repo0"))
        let hidden = try await sandbox.portcullis(["star", "ns2/repo2", "--as", "user0"])
        #expect(hidden.status == 65)
        #expect(try await sandbox.portcullis(["unstar", "ns0/repo0", "--as", "user0"]).status == 0)
        #expect(try await sandbox.portcullis(["unstar", "ns0/repo0", "--as", "user0"]).stdout.contains("unchanged"))
        #expect(try await sandbox.portcullis(["star", "ns0/repo0"]).status == 64)
    }
}
