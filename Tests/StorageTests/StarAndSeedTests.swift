import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing

@Suite(.storeBackends("StarStoreTests")) struct StarStoreTests {
    @Test(arguments: StoreBackend.allCases) func starringTwiceKeepsOneStarAndUnstarringTwiceIsNoError(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let (results, count, starred) = try await store.write { writer in
                let user = try writer.createUser(NewUser(username: "sam"))
                let team = try writer.createTeam(name: "t")
                let namespace = try writer.createNamespace(name: "lib", team: team.id, visibility: .public)
                let repository = try writer.createRepository(name: "app", in: namespace.id, registry: "")
                let results = [
                    try writer.star(repository.id, by: user.id), try writer.star(repository.id, by: user.id),
                ]
                let count = try writer.starCount(of: repository.id)
                let starred = try writer.starredRepositories(
                    of: user.id, visibleTo: .user(user.id), within: nil, offset: 0, limit: 10)
                return (
                    results + [
                        try writer.unstar(repository.id, by: user.id), try writer.unstar(repository.id, by: user.id),
                    ],
                    count, starred
                )
            }
            #expect(results == [true, false, true, false])
            #expect(count == 1)
            #expect(starred.hits.map(\.name) == ["lib/app"])
            #expect(starred.hits.first?.starCount == 1)
        }
    }

    @Test(arguments: StoreBackend.allCases) func starsGoWithTheirRepositoryAndTheirUser(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            try await store.write { writer in
                let keeper = try writer.createUser(NewUser(username: "keeper"))
                let leaver = try writer.createUser(NewUser(username: "leaver"))
                let team = try writer.createTeam(name: "t")
                let namespace = try writer.createNamespace(name: "lib", team: team.id, visibility: .public)
                let kept = try writer.createRepository(name: "kept", in: namespace.id, registry: "")
                let gone = try writer.createRepository(name: "gone", in: namespace.id, registry: "")
                for user in [keeper, leaver] {
                    _ = try writer.star(kept.id, by: user.id)
                    _ = try writer.star(gone.id, by: user.id)
                }
                try writer.deleteRepository(gone.id)
                try writer.deleteUser(leaver.id)
                #expect(try writer.starCount(of: kept.id) == 1)
                let page = try writer.starredRepositories(
                    of: keeper.id, visibleTo: .user(keeper.id), within: nil, offset: 0, limit: 10)
                #expect(page.hits.map(\.name) == ["lib/kept"])
                #expect(page.total == 1)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func aStarredRepositoryThatTurnedPrivateIsNotListedToANonMember(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            try await store.write { writer in
                let user = try writer.createUser(NewUser(username: "sam"))
                let team = try writer.createTeam(name: "t")
                let namespace = try writer.createNamespace(name: "lib", team: team.id, visibility: .public)
                let repository = try writer.createRepository(name: "app", in: namespace.id, registry: "")
                _ = try writer.star(repository.id, by: user.id)
                try writer.setVisibility(.private, for: namespace.id)
                let page = try writer.starredRepositories(
                    of: user.id, visibleTo: .user(user.id), within: nil, offset: 0, limit: 10)
                #expect(page.hits.isEmpty)
                #expect(page.total == 0)
            }
        }
    }
}

@Suite struct SeedTests {
    private static let plan = SeedPlan(
        teams: 4, users: 10, repositories: 7, tags: 30, prefix: "s-", batchSize: 3,
        digest: { "sha256:" + String(repeating: "0", count: 60) + String(format: "%04x", $0) })

    @Test func aSeedWritesExactlyTheCountsOfItsPlan() async throws {
        try await withMemoryStore { store in
            let report = try await store.seed(Self.plan)
            #expect(
                report.rows == [
                    "teams": 14, "users": 10, "namespaces": 14, "team_members": 20, "repositories": 7, "tags": 30,
                ])
            let (users, visibleTeams, allTeams, namespaces, repositoryTags) = try await store.read { reader in
                let namespaces = try reader.allNamespaces()
                let repositories = try namespaces.flatMap { try reader.repositories(in: $0.id) }
                return (
                    try reader.allUsers().count, try reader.allTeams().count,
                    try reader.allTeams(includingHidden: true).count, namespaces.count,
                    try repositories.map { try reader.tags(in: $0.id).count }
                )
            }
            #expect(users == 10)
            #expect(visibleTeams == 4)
            #expect(allTeams == 14)
            #expect(namespaces == 14)
            #expect(repositoryTags.count == 7)
            #expect(repositoryTags.reduce(0, +) == 30)
            #expect(repositoryTags.sorted() == [4, 4, 4, 4, 4, 5, 5])
        }
    }

    @Test func theSameSeedGivesTheSameNamesAndDigestsAndTheIndexFindsThem() async throws {
        let snapshots = try await [0, 1].asyncMap { _ in
            try await withMemoryStore { store in
                _ = try await store.seed(Self.plan)
                return try await store.read { reader in
                    try reader.search(
                        SearchRequest(text: "s-ns1/repo", kind: .tag, viewer: .administrator, limit: 100)
                    ).hits.map { "\($0.name) \($0.digest ?? "")" }
                }
            }
        }
        #expect(snapshots[0] == snapshots[1])
        #expect(snapshots[0].first == "s-ns1/repo1:latest sha256:" + String(repeating: "0", count: 60) + "0005")
        #expect(snapshots[0].count == 9)  // repositories 1 (five tags) and 5 (four) live in ns1
    }

    @Test func seedingTheSamePrefixTwiceIsAConflictAndAnotherPrefixIsNot() async throws {
        try await withMemoryStore { store in
            _ = try await store.seed(Self.plan)
            await #expect(throws: StoreError.self) { _ = try await store.seed(Self.plan) }
            var other = Self.plan
            other.prefix = "t-"
            #expect(try await store.seed(other).rows["tags"] == 30)
        }
    }

    @Test func aCrowdedNamespaceTakesTheLastRepositoriesAndABusyRepositoryTheFirstTags() async throws {
        var plan = Self.plan
        plan.crowdedNamespaceRepositories = 3
        plan.busyRepositoryTags = 12
        let (crowded, tagCounts, busyNames) = try await withMemoryStore { store in
            _ = try await store.seed(plan)
            return try await store.read { reader in
                let ns0 = try #require(try reader.namespace(named: "s-ns0"))
                let repositories = try reader.allNamespaces().flatMap { try reader.repositories(in: $0.id) }
                let counts = try Dictionary(
                    uniqueKeysWithValues: repositories.map { ($0.name, try reader.tags(in: $0.id).count) })
                let repo0 = try #require(repositories.first { $0.name == "repo0" })
                return (
                    try reader.repositories(in: ns0.id).map(\.name).sorted(), counts,
                    try reader.tags(in: repo0.id).map(\.name).sorted()
                )
            }
        }
        // repo0 by `k mod 4`, then the last three (repo4, repo5, repo6) instead of ns0, ns1, ns2.
        #expect(crowded == ["repo0", "repo4", "repo5", "repo6"])
        #expect(tagCounts["repo0"] == 12)
        #expect(tagCounts.values.reduce(0, +) == 30)
        #expect(tagCounts.filter { $0.key != "repo0" }.values.sorted() == [3, 3, 3, 3, 3, 3])
        #expect(busyNames.first == "latest")
        #expect(busyNames.contains("v0.1.1"))
    }

    @Test(arguments: [
        (repositories: 7, tags: 30, busy: 0, counts: [5, 5, 4, 4, 4, 4, 4]),
        (repositories: 7, tags: 30, busy: 12, counts: [12, 3, 3, 3, 3, 3, 3]),
        (repositories: 4, tags: 10, busy: 5, counts: [5, 2, 2, 1]),
        (repositories: 1, tags: 6, busy: 2, counts: [6]),
        (repositories: 3, tags: 4, busy: 4, counts: [4, 0, 0]),
    ])
    func tagsArePlacedWithoutGapsOrRepeats(repositories: Int, tags: Int, busy: Int, counts: [Int]) {
        let plan = SeedPlan(
            teams: 1, users: 0, repositories: repositories, tags: tags, busyRepositoryTags: busy, digest: { "\($0)" })
        var seen = Array(repeating: [Int](), count: repositories)
        for n in 0..<tags {
            let (k, m) = plan.placement(ofTag: n)
            seen[k].append(m)
        }
        #expect(seen.map(\.count) == counts)
        #expect(seen.allSatisfy { $0 == Array(0..<$0.count) }, "each repository's tags are 0, 1, 2, … in order")
    }

    @Test func aCrowdedNamespaceLargerThanTheRepositoriesIsRefused() async throws {
        var plan = Self.plan
        plan.crowdedNamespaceRepositories = 8
        try await withMemoryStore { store in
            await #expect(throws: StoreError.self) { _ = try await store.seed(plan) }
        }
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
