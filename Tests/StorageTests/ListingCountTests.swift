import Foundation
import PostgresStorage
import SQLStorage
import Storage
import TestSupport
import Testing

@testable import SQLiteStorage

/// Migration 12: the counts listings show are columns kept by triggers, and deep pages of a namespace read a
/// cached order that its listing generation invalidates.
@Suite(.storeBackends("ListingCountTests")) struct ListingCountTests {
    /// Rows whose kept count differs from a count of the rows themselves (0 when every count is right).
    private static func wrongCounts(_ reader: any StoreReading) throws -> Int64 {
        if let transaction = reader as? SQLiteTransaction { return try wrongCounts(in: transaction.connection) }
        if let transaction = reader as? SQLTransaction<PostgresConnection> {
            return try wrongCounts(in: transaction.connection)
        }
        return -1
    }

    private static func wrongCounts<Connection: SQLConnection>(in connection: Connection) throws -> Int64 {
        let sql = """
            SELECT (SELECT count(*) FROM namespaces n
                    WHERE repository_count != (SELECT count(*) FROM repositories r WHERE r.namespace_id = n.id))
                 + (SELECT count(*) FROM repositories r
                    WHERE tag_count != (SELECT count(*) FROM tags t WHERE t.repository_id = r.id)
                       OR star_count != (SELECT count(*) FROM stars s WHERE s.repository_id = r.id))
            """
        return try connection.queryInt(sql) ?? -1
    }

    @Test(arguments: StoreBackend.allCases) func countsFollowEveryPushStarDeletionAndCascade(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            try await store.write { writer in
                let ann = try writer.createUser(NewUser(username: "ann"))
                let bob = try writer.createUser(NewUser(username: "bob"))
                let team = try writer.createTeam(name: "t")
                let kept = try writer.createNamespace(name: "kept", team: team.id, visibility: .public)
                let doomed = try writer.createNamespace(name: "doomed", team: team.id, visibility: .public)
                let app = try writer.createRepository(name: "app", in: kept.id, registry: "")
                let tool = try writer.createRepository(name: "tool", in: kept.id, registry: "")
                let lost = try writer.createRepository(name: "lost", in: doomed.id, registry: "")
                for (repository, name) in [(app, "v1"), (app, "v2"), (app, "v3"), (tool, "v1"), (lost, "v1")] {
                    _ = try writer.recordTagPush(
                        TagPush(repositoryID: repository.id, name: name, digest: "sha256:\(name)"))
                }
                // Pushing an existing tag again moves it: no second row, no second count.
                _ = try writer.recordTagPush(TagPush(repositoryID: app.id, name: "v1", digest: "sha256:new"))
                for user in [ann, bob] { _ = try writer.star(app.id, by: user.id) }
                _ = try writer.star(app.id, by: ann.id)
                _ = try writer.star(lost.id, by: ann.id)
                #expect(try writer.repositoryCount(in: kept.id) == 2)
                #expect(try writer.tagCount(in: app.id) == 3)
                #expect(try writer.starCount(of: app.id) == 2)

                _ = try writer.unstar(app.id, by: bob.id)
                if let v2 = try writer.tag(named: "v2", in: app.id) { try writer.deleteTag(v2.id) }
                try writer.deleteRepository(tool.id)
                try writer.deleteNamespace(doomed.id)
                try writer.deleteUser(ann.id)
                #expect(try writer.repositoryCount(in: kept.id) == 1)
                #expect(try writer.tagCount(in: app.id) == 2)
                #expect(try writer.starCount(of: app.id) == 0)
                let page = try writer.repositoryPage(in: kept.id, order: .name, descending: false, offset: 0, limit: 10)
                #expect(page.total == 1)
                #expect(page.items.map(\.tagCount) == [2])
                #expect(try Self.wrongCounts(writer) == 0)
            }
        }
    }

    @Test func migrationTwelveCountsTheRowsAlreadyStoredAndMovesKeepTheCountsRight() throws {
        let connection = try migratedConnection(through: 11)
        defer { connection.close() }
        try connection.exec(
            """
            INSERT INTO users (id, username, created_at, updated_at) VALUES (1, 'ann', 0, 0), (2, 'bob', 0, 0);
            INSERT INTO teams (id, name, created_at, updated_at) VALUES (1, 't', 0, 0);
            INSERT INTO namespaces (id, name, team_id, visibility, kind, created_at, updated_at)
                VALUES (1, 'one', 1, 'public', 'regular', 0, 0), (2, 'two', 1, 'public', 'regular', 0, 0);
            INSERT INTO repositories (id, namespace_id, name, created_at, updated_at)
                VALUES (7, 1, 'app', 0, 0), (8, 1, 'tool', 0, 0), (9, 2, 'lib', 0, 0);
            INSERT INTO tags (id, repository_id, name, digest, created_at, updated_at)
                VALUES (1, 7, 'a', 'sha256:a', 0, 0), (2, 7, 'b', 'sha256:b', 0, 0), (3, 9, 'c', 'sha256:c', 0, 0);
            INSERT INTO stars (user_id, repository_id, created_at) VALUES (1, 7, 0), (2, 7, 0), (1, 9, 0);
            """)
        let report = try SQLiteMigrator(connection: connection, migrations: SQLiteSchema.migrations, now: { Date() })
            .migrate()
        #expect(report.applied.map(\.version).contains(12))
        #expect(try connection.queryInt("SELECT repository_count FROM namespaces WHERE id = 1") == 2)
        #expect(try connection.queryInt("SELECT tag_count FROM repositories WHERE id = 7") == 2)
        #expect(try connection.queryInt("SELECT star_count FROM repositories WHERE id = 7") == 2)
        // Moves no store method makes today (an operator's SQL, a future transfer) keep both sides right.
        try connection.exec(
            """
            UPDATE repositories SET namespace_id = 2 WHERE id = 8;
            UPDATE tags SET repository_id = 9 WHERE id = 2;
            UPDATE stars SET repository_id = 9 WHERE user_id = 2 AND repository_id = 7;
            """)
        #expect(try Self.wrongCounts(in: connection) == 0)
        #expect(try connection.queryInt("SELECT repository_count FROM namespaces WHERE id = 2") == 2)
        #expect(try connection.queryInt("SELECT tag_count FROM repositories WHERE id = 9") == 2)
    }

    @Test func deepPagesAreTheSameAsOffsetPagingAndFollowEveryChange() async throws {
        try await withFileStore { store, _ in
            let count = RepositoryOrderCache.minimumOffset + 60
            let namespace = try await store.write { writer in
                let team = try writer.createTeam(name: "t")
                let namespace = try writer.createNamespace(name: "big", team: team.id, visibility: .public)
                // Names out of creation order, so the name and creation orders differ.
                for index in 0..<count {
                    _ = try writer.createRepository(name: "r\((index * 7919) % 10007)", in: namespace.id, registry: "")
                }
                return namespace
            }
            let deep = RepositoryOrderCache.minimumOffset + 10
            func expected(_ order: RepositoryListOrder, descending: Bool) async throws -> [String] {
                let all = try await store.read { try $0.repositories(in: namespace.id) }
                let sorted: [Repository] =
                    switch order {
                    case .name: all.sorted { ($0.name, $0.registry) < ($1.name, $1.registry) }
                    case .createdAt: all.sorted { ($0.createdAt, $0.id.rawValue) < ($1.createdAt, $1.id.rawValue) }
                    case .updatedAt: all.sorted { ($0.updatedAt, $0.id.rawValue) < ($1.updatedAt, $1.id.rawValue) }
                    }
                let ordered = descending ? Array(sorted.reversed()) : sorted
                return ordered[deep..<min(deep + 25, ordered.count)].map(\.name)
            }
            func page(_ order: RepositoryListOrder, descending: Bool) async throws -> [String] {
                try await store.read {
                    try $0.repositoryPage(
                        in: namespace.id, order: order, descending: descending, offset: deep, limit: 25
                    )
                    .items.map(\.repository.name)
                }
            }
            for order in RepositoryListOrder.allCases {
                for descending in [false, true] {
                    // Twice: the first fills the cache, the second reads it.
                    #expect(try await page(order, descending: descending) == expected(order, descending: descending))
                    #expect(try await page(order, descending: descending) == expected(order, descending: descending))
                }
            }
            // A repository that sorts first shifts the deep page by one; removing one shifts it back.
            let early = try await store.write { try $0.createRepository(name: "a0", in: namespace.id, registry: "") }
            #expect(try await page(.name, descending: false) == expected(.name, descending: false))
            try await store.write { try $0.deleteRepository(early.id) }
            #expect(try await page(.name, descending: false) == expected(.name, descending: false))
            // A push changes a repository's update time, and so the order by it.
            let first = try await store.read {
                try $0.repositoryPage(in: namespace.id, order: .updatedAt, descending: false, offset: 0, limit: 1)
            }
            if let repository = first.items.first?.repository {
                _ = try await store.write {
                    try $0.recordTagPush(
                        TagPush(
                            repositoryID: repository.id, name: "latest", digest: "sha256:aa",
                            pushedAt: Date().addingTimeInterval(3600)))
                }
            }
            #expect(try await page(.updatedAt, descending: true) == expected(.updatedAt, descending: true))
            let total = try await store.read {
                try $0.repositoryPage(in: namespace.id, order: .name, descending: false, offset: deep, limit: 25).total
            }
            #expect(total == count)
        }
    }

    @Test(arguments: StoreBackend.allCases) func teamPagesHoldTheTeamsAViewerMaySeeInOrderAndCountThem(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let member = try await store.write { writer in
                let member = try writer.createUser(NewUser(username: "member"))
                for name in ["delta", "alpha", "charlie", "bravo"] {
                    let team = try writer.createTeam(name: name)
                    if name != "charlie" { _ = try writer.addTeamMember(team: team.id, user: member.id, role: .viewer) }
                }
                _ = try writer.createTeam(name: "hidden", description: nil, isHidden: true)
                return member
            }
            let (all, second, own, none) = try await store.read { reader in
                (
                    try reader.teamPage(
                        visibleTo: .administrator, byCreation: false, descending: false, offset: 0, limit: 10),
                    try reader.teamPage(
                        visibleTo: .administrator, byCreation: false, descending: true, offset: 2, limit: 2),
                    try reader.teamPage(
                        visibleTo: .user(member.id), byCreation: true, descending: false, offset: 0, limit: 10),
                    try reader.teamPage(
                        visibleTo: .anonymous, byCreation: false, descending: false, offset: 0, limit: 10)
                )
            }
            #expect(all.items.map(\.name) == ["alpha", "bravo", "charlie", "delta"])
            #expect(all.total == 4)
            #expect(second.items.map(\.name) == ["bravo", "alpha"])
            #expect(second.total == 4)
            #expect(own.items.map(\.name) == ["delta", "alpha", "bravo"])
            #expect(own.total == 3)
            #expect(none.items.isEmpty && none.total == 0)
        }
    }
}
