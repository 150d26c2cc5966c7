import Foundation
import Storage

// The paged content listings of `StoreReading` over SQLite. Each page is one statement with LIMIT/OFFSET over
// the rows of one namespace (`repositories_namespace`) or one repository (the `UNIQUE (repository_id, name)`
// index of tags), and its total one count over the same index: the database never hands over more rows than
// the page holds, and the counts per row (tags, stars) are subqueries evaluated for the page's rows only.
extension SQLiteTransaction {
    func repositories(named name: String, in namespaceID: Namespace.ID) throws -> [Repository] {
        try rows(
            "SELECT \(Self.repositoryColumns) FROM repositories WHERE namespace_id = ? AND name = ? ORDER BY registry",
            [namespaceID.sqlValue, name.sqlValue], Self.decodeRepository)
    }

    func repositoryCount(in namespaceID: Namespace.ID) throws -> Int {
        try count("SELECT count(*) FROM repositories WHERE namespace_id = ?", [namespaceID.sqlValue])
    }

    func repositoryPage(
        in namespaceID: Namespace.ID, order: RepositoryListOrder, descending: Bool, offset: Int, limit: Int
    ) throws -> StorePage<RepositoryListing> {
        try Self.checkPaging(offset, limit)
        let direction = descending ? "DESC" : "ASC"
        let orderBy: String
        switch order {
        case .name: orderBy = "name \(direction), registry \(direction)"
        case .createdAt: orderBy = "created_at \(direction), id \(direction)"
        case .updatedAt: orderBy = "updated_at \(direction), id \(direction)"
        }
        let items = try rows(
            """
            SELECT \(Self.repositoryColumns),
                (SELECT count(*) FROM tags t WHERE t.repository_id = repositories.id),
                (SELECT count(*) FROM stars s WHERE s.repository_id = repositories.id)
            FROM repositories WHERE namespace_id = ? ORDER BY \(orderBy) LIMIT ? OFFSET ?
            """, [namespaceID.sqlValue, limit.sqlValue, offset.sqlValue]
        ) { row in
            RepositoryListing(
                repository: Self.decodeRepository(row), tagCount: Int(row.int(7)), starCount: Int(row.int(8)))
        }
        return StorePage(items: items, total: try repositoryCount(in: namespaceID))
    }

    func tagCount(in repositoryID: Repository.ID) throws -> Int {
        try count("SELECT count(*) FROM tags WHERE repository_id = ?", [repositoryID.sqlValue])
    }

    func tagPage(in repositoryID: Repository.ID, order: TagListOrder, descending: Bool, offset: Int, limit: Int)
        throws -> StorePage<Tag>
    {
        try Self.checkPaging(offset, limit)
        let direction = descending ? "DESC" : "ASC"
        let orderBy: String
        switch order {
        case .name: orderBy = "name \(direction)"
        case .pushedAt: orderBy = "updated_at \(direction), name \(direction)"
        case .size: orderBy = "size \(direction), name \(direction)"
        }
        let tags = try rows(
            "SELECT \(Self.tagColumns) FROM tags WHERE repository_id = ? ORDER BY \(orderBy) LIMIT ? OFFSET ?",
            [repositoryID.sqlValue, limit.sqlValue, offset.sqlValue], Self.decodeTag)
        return StorePage(items: tags, total: try tagCount(in: repositoryID))
    }

    func tagDigestGroupPage(in repositoryID: Repository.ID, offset: Int, limit: Int) throws
        -> StorePage<TagDigestGroup>
    {
        try Self.checkPaging(offset, limit)
        let digests = try rows(
            """
            SELECT digest FROM tags WHERE repository_id = ? GROUP BY digest
            ORDER BY max(updated_at) DESC, digest LIMIT ? OFFSET ?
            """, [repositoryID.sqlValue, limit.sqlValue, offset.sqlValue]
        ) { $0.text(0) }
        let total = try count(
            "SELECT count(DISTINCT digest) FROM tags WHERE repository_id = ?", [repositoryID.sqlValue])
        guard !digests.isEmpty else { return StorePage(items: [], total: total) }
        let placeholders = Array(repeating: "?", count: digests.count).joined(separator: ", ")
        let tags = try rows(
            """
            SELECT \(Self.tagColumns) FROM tags WHERE repository_id = ? AND digest IN (\(placeholders))
            ORDER BY name
            """, [repositoryID.sqlValue] + digests.map(\.sqlValue), Self.decodeTag)
        let byDigest = Dictionary(grouping: tags, by: \.digest)
        return StorePage(
            items: digests.map { TagDigestGroup(digest: $0, tags: byDigest[$0] ?? []) }, total: total)
    }

    func auditEvents(aboutNamespace name: String, offset: Int, limit: Int) throws -> StorePage<AuditEvent> {
        try Self.checkPaging(offset, limit)
        // Literal prefixes through substr (no LIKE, so `_` in a name means itself).
        let repositoryPrefix = "repository:\(name)/", tagPrefix = "tag:\(name)/"
        let condition = """
             WHERE (target = ? OR substr(target, 1, ?) = ? OR substr(target, 1, ?) = ?)
            """
        let values: [SQLValue] = [
            "namespace:\(name)".sqlValue, repositoryPrefix.unicodeScalars.count.sqlValue, repositoryPrefix.sqlValue,
            tagPrefix.unicodeScalars.count.sqlValue, tagPrefix.sqlValue,
        ]
        let total = try count("SELECT count(*) FROM audit_events\(condition)", values)
        let events = try auditEvents(where: condition, values + [limit.sqlValue, offset.sqlValue])
        return StorePage(items: events, total: total)
    }

    private static func checkPaging(_ offset: Int, _ limit: Int) throws {
        guard offset >= 0, limit >= 0 else {
            throw StoreError(.invalidInput, "offset and limit must not be negative", subject: "page")
        }
    }
}
