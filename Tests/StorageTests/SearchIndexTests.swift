import Foundation
import Storage
import TestSupport
import Testing

@testable import SQLiteStorage

/// A small world: an admin, a member of team `web` and an outsider; namespaces of each visibility owned by `web`,
/// each with a repository `app` and tags `latest` and `v1.0.0`.
private struct World {
    var admin: User
    var member: User
    var outsider: User
    var team: Team
    var namespaces: [NamespaceVisibility: Namespace]
    var repositories: [NamespaceVisibility: Repository]
}

private func makeWorld(_ writer: any StoreWriting) throws -> World {
    let admin = try writer.createUser(NewUser(username: "root", isAdmin: true))
    let member = try writer.createUser(NewUser(username: "mia"))
    let outsider = try writer.createUser(NewUser(username: "otto"))
    let team = try writer.createTeam(name: "webteam", description: "Frontend people", isHidden: false)
    _ = try writer.addTeamMember(team: team.id, user: member.id, role: .viewer)
    var namespaces: [NamespaceVisibility: Namespace] = [:]
    var repositories: [NamespaceVisibility: Repository] = [:]
    for visibility in NamespaceVisibility.allCases {
        let namespace = try writer.createNamespace(
            name: "ns-\(visibility.rawValue)", team: team.id, visibility: visibility, kind: .regular,
            personalOwner: nil, description: "The \(visibility.rawValue) corner")
        let repository = try writer.createRepository(name: "app", in: namespace.id, registry: "main")
        for tag in ["latest", "v1.0.0"] {
            _ = try writer.recordTagPush(TagPush(repositoryID: repository.id, name: tag, digest: "sha256:\(tag)"))
        }
        namespaces[visibility] = namespace
        repositories[visibility] = repository
    }
    return World(
        admin: admin, member: member, outsider: outsider, team: team, namespaces: namespaces,
        repositories: repositories)
}

private func names(
    _ store: any Store, _ text: String?, _ kind: SearchKind, _ viewer: SearchViewer = .administrator
) async throws -> [String] {
    try await store.read { try $0.search(SearchRequest(text: text, kind: kind, viewer: viewer)) }.hits.map(\.name)
}

/// Runs raw SQL on the store's file, as an operator (or a later rename command) would.
private func runSQL(_ path: String, _ sql: String) throws {
    let raw = try SQLiteConnection(
        SQLiteOpenOptions(path: path, readOnlyQueries: false, busyTimeoutMilliseconds: 5000, createIfMissing: false))
    defer { raw.close() }
    try raw.exec(sql)
}

@Suite(.storeBackends("SearchIndexTests")) struct SearchIndexTests {
    @Test(arguments: StoreBackend.allCases) func insertedRecordsAreFoundBySubstringInEverySection(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            _ = try await store.write { try makeWorld($0) }
            #expect(try await names(store, "public/ap", .repository) == ["ns-public/app"])
            #expect(
                try await names(store, "APP:V1", .tag) == [
                    "ns-private/app:v1.0.0", "ns-protected/app:v1.0.0", "ns-public/app:v1.0.0",
                ])
            #expect(try await names(store, "otected", .namespace) == ["ns-protected"])
            #expect(try await names(store, "corner", .namespace).count == 3)  // descriptions are indexed too
            #expect(try await names(store, "frontend", .team) == ["webteam"])
        }
    }

    @Test(arguments: StoreBackend.allCases) func theGlobalNamespaceIsLeftOutOfRepositoryNames(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            try await store.write { writer in
                let (global, _) = try writer.ensureGlobalNamespace(named: "portus_global")
                let busybox = try writer.createRepository(name: "busybox", in: global.id, registry: "main")
                _ = try writer.recordTagPush(TagPush(repositoryID: busybox.id, name: "1.36", digest: "sha256:b"))
            }
            #expect(try await names(store, "busybox", .repository) == ["busybox"])
            #expect(try await names(store, "busybox:1.3", .tag) == ["busybox:1.36"])
        }
    }

    @Test func renamesMovesAndDeletesAreReflectedAtOnce() async throws {
        try await withFileStore { store, path in
            let world = try await store.write { try makeWorld($0) }
            let repository = world.repositories[.public]!
            try runSQL(path, "UPDATE namespaces SET name = 'renamed' WHERE name = 'ns-public'")
            #expect(try await names(store, "renamed", .namespace) == ["renamed"])
            #expect(try await names(store, "renamed/app", .repository) == ["renamed/app"])
            #expect(try await names(store, "renamed/app:", .tag) == ["renamed/app:latest", "renamed/app:v1.0.0"])
            #expect(try await names(store, "ns-public", .tag).isEmpty)

            try runSQL(path, "UPDATE repositories SET name = 'site' WHERE id = \(repository.id.rawValue)")
            #expect(try await names(store, "renamed/site", .repository) == ["renamed/site"])
            #expect(try await names(store, "renamed/site:lat", .tag) == ["renamed/site:latest"])
            #expect(try await names(store, "renamed/app", .repository).isEmpty)

            try runSQL(
                path,
                "UPDATE tags SET name = 'stable' WHERE name = 'latest' AND repository_id = \(repository.id.rawValue)")
            #expect(try await names(store, "renamed/site:", .tag) == ["renamed/site:stable", "renamed/site:v1.0.0"])

            try runSQL(
                path, "UPDATE teams SET name = 'frontend', description = 'Web' WHERE id = \(world.team.id.rawValue)")
            #expect(try await names(store, "webteam", .team).isEmpty)
            #expect(try await names(store, "frontend", .team) == ["frontend"])

            try await store.write { writer in
                let stable = try writer.tag(named: "stable", in: repository.id)!
                try writer.deleteTag(stable.id)
            }
            #expect(try await names(store, "renamed/site:", .tag) == ["renamed/site:v1.0.0"])
            try await store.write { try $0.deleteRepository(repository.id) }
            #expect(try await names(store, "renamed", .repository).isEmpty)
            #expect(try await names(store, "renamed", .tag).isEmpty)  // the cascade took the tags out of the index

            try await store.write { try $0.deleteNamespace(world.namespaces[.private]!.id) }
            #expect(try await names(store, "ns-private", .namespace).isEmpty)
            #expect(try await names(store, "ns-private", .repository).isEmpty)
            #expect(try await names(store, "ns-private", .tag).isEmpty)

            let other = try await store.write { try $0.createTeam(name: "leaving", description: nil, isHidden: false) }
            #expect(try await names(store, "leaving", .team) == ["leaving"])
            try await store.write { try $0.deleteTeam(other.id) }
            #expect(try await names(store, "leaving", .team).isEmpty)
        }
    }

    enum Who: String, CaseIterable { case anonymous, outsider, member, admin }

    static let visibilityCells: [(Who, NamespaceVisibility, Bool)] = [
        (.anonymous, .public, true), (.anonymous, .protected, false), (.anonymous, .private, false),
        (.outsider, .public, true), (.outsider, .protected, true), (.outsider, .private, false),
        (.member, .public, true), (.member, .protected, true), (.member, .private, true),
        (.admin, .public, true), (.admin, .protected, true), (.admin, .private, true),
    ]

    private static func viewer(_ who: Who, _ world: World) -> SearchViewer {
        switch who {
        case .anonymous: .anonymous
        case .outsider: .user(world.outsider.id)
        case .member: .user(world.member.id)
        case .admin: .administrator
        }
    }

    @Test(arguments: StoreBackend.allCases, visibilityCells)
    func everySectionShowsANamespaceOnlyToWhoMaySeeIt(
        _ backend: StoreBackend, _ cell: (who: Who, visibility: NamespaceVisibility, visible: Bool)
    ) async throws {
        let (who, visibility, visible) = cell
        try await backend.withStore { store in
            let world = try await store.write { try makeWorld($0) }
            let viewer = Self.viewer(who, world)
            let name = "ns-\(visibility.rawValue)"
            #expect(try await names(store, name, .namespace, viewer) == (visible ? [name] : []))
            #expect(try await names(store, "\(name)/app", .repository, viewer) == (visible ? ["\(name)/app"] : []))
            #expect(try await names(store, "\(name)/app:", .tag, viewer).count == (visible ? 2 : 0))
            // Explore (no text) filters the same way.
            let browsed = try await names(store, nil, .repository, viewer)
            #expect(browsed.contains("\(name)/app") == visible)
        }
    }

    static let teamCells: [(Who, Bool)] = [(.anonymous, false), (.outsider, false), (.member, true), (.admin, true)]

    @Test(arguments: StoreBackend.allCases, teamCells)
    func teamsAreFoundOnlyByTheirMembersAndAdmins(_ backend: StoreBackend, _ cell: (who: Who, visible: Bool))
        async throws
    {
        let (who, visible) = cell
        try await backend.withStore { store in
            let world = try await store.write { writer in
                let world = try makeWorld(writer)
                _ = try writer.createTeam(name: "webteam-hidden", description: nil, isHidden: true)
                return world
            }
            // Hidden (personal, global) teams never show, not even to admins.
            #expect(try await names(store, "webteam", .team, Self.viewer(who, world)) == (visible ? ["webteam"] : []))
        }
    }

    static let hostileQueries: [(String, Bool)] = [
        ("100%", true), ("%%%", false), ("a_b", true), ("___", false), ("\"q\"", true), ("\"\"\"", false),
        ("x*y", true), ("***", false), ("NEAR(", true), ("NEAR(a b)", false), (" OR ", true), ("a OR b", false),
        ("' OR 1=1 --", false), ("'; DROP TABLE tags; --", false), ("name:", false), ("^ab", false),
        ("-ab", false), ("AND NOT", false), ("{name}", false), ("\\%%", false), ("\u{0}ab", false),
    ]

    @Test(arguments: StoreBackend.allCases, hostileQueries)
    func aHostileQueryIsPlainTextNeverSyntax(_ backend: StoreBackend, _ hostile: (query: String, matches: Bool))
        async throws
    {
        let (query, matches) = hostile
        try await backend.withStore { store in
            _ = try await store.write { writer in
                _ = try writer.createTeam(
                    name: "odd", description: "100% \"q\" a_b x*y NEAR( or OR ", isHidden: false)
                _ = try writer.createTeam(name: "plain", description: "abc def", isHidden: false)
            }
            #expect(try await names(store, query, .team) == (matches ? ["odd"] : []))
            // Every other section takes it as text too, and the tables are all still there.
            for kind in SearchKind.allCases { _ = try await names(store, query, kind) }
            #expect(try await names(store, "plain", .team) == ["plain"])
        }
    }

    @Test(arguments: StoreBackend.allCases, ["", "a", "ab", "é", String(repeating: "x", count: 256)])
    func aQueryShorterThanThreeOrLongerThan255CharactersIsRefused(_ backend: StoreBackend, query: String) async throws {
        try await backend.withStore { store in
            do {
                _ = try await names(store, query, .repository)
                Issue.record("accepted \(query.count) characters")
            } catch let error as StoreError {
                #expect(error.code == .invalidInput)
                #expect(error.subject == "q")
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func pagesFollowTheIndexOrderAndTheTotalStopsAtTheCountLimit(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            try await store.write { writer in
                let team = try writer.createTeam(name: "t")
                let namespace = try writer.createNamespace(name: "many", team: team.id, visibility: .public)
                for index in 0..<30 {
                    _ = try writer.createRepository(name: "r\(index)", in: namespace.id, registry: "")
                }
            }
            let viewer = SearchViewer.anonymous
            let second = try await store.read {
                try $0.search(SearchRequest(text: "many/", kind: .repository, viewer: viewer, offset: 10, limit: 10))
            }
            #expect(second.hits.map(\.name) == (10..<20).map { "many/r\($0)" })
            #expect(second.total == 30)
            #expect(second.isTotalExact)
            let capped = try await store.read {
                try $0.search(SearchRequest(text: "many/", kind: .repository, viewer: viewer, limit: 5, countLimit: 20))
            }
            #expect(capped.total == 20)
            #expect(!capped.isTotalExact)
            #expect(capped.hits.count == 5)
            // The count reads at most the limit's worth of index matches, visible or not: with most of them
            // private, the total is the visible ones among those, a lower bound, and the pages still go on.
            try await store.write { writer in
                let team = try writer.createTeam(name: "u")
                let hidden = try writer.createNamespace(name: "many-private", team: team.id, visibility: .private)
                for index in 0..<30 { _ = try writer.createRepository(name: "r\(index)", in: hidden.id, registry: "") }
            }
            let filtered = try await store.read {
                try $0.search(SearchRequest(text: "many", kind: .repository, viewer: viewer, limit: 5, countLimit: 20))
            }
            #expect(filtered.total == 20)
            #expect(!filtered.isTotalExact)
            let beyond = try await store.read {
                try $0.search(
                    SearchRequest(
                        text: "many", kind: .repository, viewer: viewer, offset: 25, limit: 10, countLimit: 20))
            }
            #expect(beyond.hits.map(\.name) == (25..<30).map { "many/r\($0)" })
            #expect(beyond.total == 30)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aPageAmongTheCountedMatchesIsTheSameAsAPageReadOffTheIndex(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let member = try await store.write { writer in
                let member = try writer.createUser(NewUser(username: "member"))
                let open = try writer.createNamespace(
                    name: "mixed-open", team: try writer.createTeam(name: "o").id, visibility: .public)
                let team = try writer.createTeam(name: "c")
                _ = try writer.addTeamMember(team: team.id, user: member.id, role: .viewer)
                let closed = try writer.createNamespace(name: "mixed-closed", team: team.id, visibility: .private)
                // Interleaved, so visible and hidden matches alternate in the index.
                for index in 0..<40 {
                    _ = try writer.createRepository(
                        name: "app\(index)", in: index % 3 == 0 ? closed.id : open.id, registry: "")
                }
                return member
            }
            for viewer in [SearchViewer.anonymous, .user(member.id), .administrator] {
                for offset in [0, 5, 20, 35] {
                    // The default count limit reads every match in one pass; a count limit of 0 makes the store
                    // page through the index instead.
                    let (counted, paged) = try await store.read { reader in
                        (
                            try reader.search(
                                SearchRequest(text: "app", kind: .repository, viewer: viewer, offset: offset, limit: 10)
                            ),
                            try reader.search(
                                SearchRequest(
                                    text: "app", kind: .repository, viewer: viewer, offset: offset, limit: 10,
                                    countLimit: 0))
                        )
                    }
                    #expect(counted.hits == paged.hits, "viewer \(viewer), offset \(offset)")
                    #expect(counted.isTotalExact)
                }
            }
        }
    }
}
