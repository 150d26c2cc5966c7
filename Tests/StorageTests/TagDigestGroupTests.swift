import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing

@Suite("Tags grouped by digest", .storeBackends("TagDigestGroupTests"))
struct TagDigestGroupTests {
    /// The groups as the query before migration 14 made them: every tag read, grouped, ordered by the digest's
    /// latest push (newest first), then by digest.
    static func expected(_ tags: [Storage.Tag]) -> [String] {
        let latest = Dictionary(grouping: tags, by: \.digest).mapValues { $0.map(\.updatedAt).max()! }
        return latest.keys.sorted { (latest[$0]!, $1) > (latest[$1]!, $0) }
    }

    @Test("Pages and the digest count follow pushes, re-tags, moves and deletions", arguments: StoreBackend.allCases)
    func pagesFollowChanges(_ backend: StoreBackend) async throws {
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        try await backend.withStore { store in
            let digests = (0..<7).map { "sha256:" + String(repeating: String($0), count: 64) }
            let repository = try await store.write { writer -> Repository in
                let team = try writer.createTeam(name: "t", description: nil, isHidden: false)
                let namespace = try writer.createNamespace(name: "ns", team: team.id, visibility: .public)
                let repository = try writer.createRepository(name: "app", in: namespace.id, registry: "r")
                // 20 tags over 7 digests, pushed in an order that interleaves them; two pushes at one moment.
                for index in 0..<20 {
                    _ = try writer.recordTagPush(
                        TagPush(
                            repositoryID: repository.id, name: "t\(index)", digest: digests[(index * 3) % 7],
                            pushedAt: start.addingTimeInterval(Double(index / 2) * 60)))
                }
                return repository
            }
            func check(_ label: String) async throws {
                let (all, pages) = try await store.read { reader in
                    let all = try reader.tagPage(
                        in: repository.id, order: .name, descending: false, offset: 0, limit: 1000
                    ).items
                    var pages: [StorePage<TagDigestGroup>] = []
                    for offset in stride(from: 0, to: 10, by: 3) {
                        pages.append(try reader.tagDigestGroupPage(in: repository.id, offset: offset, limit: 3))
                    }
                    return (all, pages)
                }
                let expected = Self.expected(all)
                #expect(pages.flatMap { $0.items.map(\.digest) } == expected, "\(label)")
                #expect(pages.allSatisfy { $0.total == expected.count }, "\(label)")
                for group in pages.flatMap(\.items) {
                    #expect(Set(group.tags.map(\.name)) == Set(all.filter { $0.digest == group.digest }.map(\.name)))
                }
            }
            try await check("after the pushes")
            // A re-tag moves t0 to a new digest, newest of all.
            try await store.write { writer in
                _ = try writer.recordTagPush(
                    TagPush(
                        repositoryID: repository.id, name: "t0", digest: "sha256:" + String(repeating: "f", count: 64),
                        pushedAt: start.addingTimeInterval(3600)))
            }
            try await check("after a re-tag")
            // Deleting every tag of one digest removes its group.
            try await store.write { writer in
                for tag in try writer.tagPage(in: repository.id, order: .name, descending: false, offset: 0, limit: 100)
                    .items where tag.digest == digests[3]
                {
                    try writer.deleteTag(tag.id)
                }
            }
            try await check("after deleting a digest's tags")
        }
    }
}
