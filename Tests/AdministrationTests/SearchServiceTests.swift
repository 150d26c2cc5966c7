import Administration
import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing

/// Users `ann` (member of `web`), `bob` (no team), `root` (admin); namespace `web` (private) with `site`,
/// `pub` (public) with `site`; tags `latest` and `v2.1.0` on each.
private func seedWorld(_ store: SQLiteStore) async throws -> (ann: Caller, bob: Caller, root: Caller) {
    try await store.write { writer in
        let ann = try writer.createUser(NewUser(username: "ann"))
        let bob = try writer.createUser(NewUser(username: "bob"))
        let root = try writer.createUser(NewUser(username: "root", isAdmin: true))
        let team = try writer.createTeam(name: "web", description: "the web people", isHidden: false)
        _ = try writer.addTeamMember(team: team.id, user: ann.id, role: .owner)
        for (name, visibility) in [("web", NamespaceVisibility.private), ("pub", .public)] {
            let namespace = try writer.createNamespace(name: name, team: team.id, visibility: visibility)
            let repository = try writer.createRepository(name: "site", in: namespace.id, registry: "main")
            for tag in ["latest", "v2.1.0"] {
                _ = try writer.recordTagPush(TagPush(repositoryID: repository.id, name: tag, digest: "sha256:1"))
            }
        }
        return (Caller(ann), Caller(bob), Caller(root))
    }
}

@Suite struct SearchServiceTests {
    @Test func theRepoTagFormSearchesTagsWithTheWholeQueryAndTheRestWithWhatPrecedesTheColon() async throws {
        try await withMemoryStore { store in
            let (ann, _, _) = try await seedWorld(store)
            let results = try await SearchService(store: store, anonymousBrowsing: true).search("site:v2", as: ann)
            #expect(results.sections[.tag]?.hits.map(\.name) == ["web/site:v2.1.0", "pub/site:v2.1.0"])
            #expect(results.sections[.repository]?.hits.map(\.name) == ["web/site", "pub/site"])
            #expect(results.sections[.namespace]?.hits.isEmpty == true)
        }
    }

    @Test func aShortPartBeforeTheColonLeavesThoseSectionsOut() async throws {
        try await withMemoryStore { store in
            let (ann, _, _) = try await seedWorld(store)
            let results = try await SearchService(store: store, anonymousBrowsing: true).search("b:latest", as: ann)
            #expect(Set(results.sections.keys) == [.tag])
        }
    }

    @Test(arguments: ["", "ab", "é€"])
    func aQueryShorterThanThreeCharactersIsRefusedWithItsOwnCode(query: String) async throws {
        try await withMemoryStore { store in
            let (ann, _, _) = try await seedWorld(store)
            await #expect(throws: SearchError.queryTooShort) {
                _ = try await SearchService(store: store, anonymousBrowsing: true).search(query, as: ann)
            }
        }
    }

    @Test(arguments: [(0, 25), (1, 0), (1, 101), (-1, 10), (Int.max, 100)])
    func anOutOfRangePageIsRefused(page: Int, perPage: Int) async throws {
        try await withMemoryStore { store in
            let (ann, _, _) = try await seedWorld(store)
            await #expect(throws: SearchError.invalidPage) {
                _ = try await SearchService(store: store, anonymousBrowsing: true).search(
                    "site", as: ann, page: PageNumber(page: page, perPage: perPage))
            }
        }
    }

    @Test func anonymousCallersSeePublicRepositoriesOnlyAndNotAtAllWhenBrowsingIsOff() async throws {
        try await withMemoryStore { store in
            _ = try await seedWorld(store)
            let open = SearchService(store: store, anonymousBrowsing: true)
            #expect(
                try await open.search("site", as: .anonymous).sections[.repository]?.hits.map(\.name) == ["pub/site"])
            #expect(try await open.search("web", as: .anonymous).sections[.team]?.hits.isEmpty == true)
            #expect(try await open.explore(as: .anonymous).hits.map(\.name) == ["pub/site"])
            let closed = SearchService(store: store, anonymousBrowsing: false)
            await #expect(throws: SearchError.authenticationRequired) { _ = try await closed.explore(as: .anonymous) }
            await #expect(throws: SearchError.authenticationRequired) {
                _ = try await closed.search("site", as: .anonymous)
            }
        }
    }

    @Test func exploreShowsOnlyPublicRepositoriesEvenToAnAdmin() async throws {
        try await withMemoryStore { store in
            let (_, _, root) = try await seedWorld(store)
            let page = try await SearchService(store: store, anonymousBrowsing: false).explore("sit", as: root)
            #expect(page.hits.map(\.name) == ["pub/site"])
        }
    }
}

@Suite struct StarServiceTests {
    @Test func starIsIdempotentAndCountsOnce() async throws {
        try await withMemoryStore { store in
            let (_, bob, root) = try await seedWorld(store)
            let stars = StarService(store: store)
            let first = try await stars.star("pub/site", as: bob)
            let again = try await stars.star("pub/site", as: bob)
            _ = try await stars.star("pub/site", as: root)
            #expect(first.changed && !again.changed)
            #expect(again.starCount == 1)
            #expect(try await stars.starred(as: bob).hits.map(\.name) == ["pub/site"])
            let removed = try await stars.unstar("pub/site", as: bob)
            let removedAgain = try await stars.unstar("pub/site", as: bob)
            #expect(removed.changed && !removedAgain.changed)
            #expect(removedAgain.starCount == 1)
            #expect(!removedAgain.isStarred)
        }
    }

    @Test func aRepositoryTheCallerMayNotSeeIsReportedAsMissing() async throws {
        try await withMemoryStore { store in
            let (ann, bob, _) = try await seedWorld(store)
            let stars = StarService(store: store)
            await #expect(throws: SearchError.repositoryNotFound) { _ = try await stars.star("web/site", as: bob) }
            await #expect(throws: SearchError.repositoryNotFound) { _ = try await stars.star("nope/site", as: bob) }
            await #expect(throws: SearchError.authenticationRequired) {
                _ = try await stars.star("pub/site", as: .anonymous)
            }
            #expect(try await stars.star("web/site", as: ann).isStarred)
        }
    }
}
