import Foundation
import Storage

// The paged content listings of `StoreReading` on both SQL backends. Each page is one statement with LIMIT/OFFSET over
// the rows of one namespace (`repositories_namespace`) or one repository (the `UNIQUE (repository_id, name)`
// index of tags), and its total and the counts per row (tags, stars) are columns kept by triggers (migration 12):
// the database never hands over more rows than the page holds, and counts nothing.
extension SQLTransaction {
    package func namespacePage(
        visibleTo viewer: SearchViewer, within namespaces: Set<String>?, byCreation: Bool, descending: Bool,
        offset: Int, limit: Int
    ) throws -> StorePage<Namespace> {
        try Self.checkPaging(offset, limit)
        // The same visibility predicate search applies (alias n), so the list and search agree.
        guard let visibility = Self.visibility(.namespace, viewer, within: namespaces, dialect: dialect) else {
            return StorePage(items: [], total: 0)
        }
        let direction = descending ? "DESC" : "ASC"
        let orderBy = byCreation ? "n.created_at \(direction), n.id \(direction)" : "n.name \(direction)"
        let items = try rows(
            """
            SELECT \(Self.namespaceColumns) FROM namespaces n WHERE \(visibility.sql)
            ORDER BY \(orderBy) LIMIT ? OFFSET ?
            """, visibility.values + [limit.sqlValue, offset.sqlValue], Self.decodeNamespace)
        let total = try count("SELECT count(*) FROM namespaces n WHERE \(visibility.sql)", visibility.values)
        return StorePage(items: items, total: total)
    }

    package func teamPage(visibleTo viewer: SearchViewer, byCreation: Bool, descending: Bool, offset: Int, limit: Int)
        throws -> StorePage<Team>
    {
        try Self.checkPaging(offset, limit)
        // Search's team predicate (alias tm), so the list and search agree on who sees which team.
        guard let visibility = Self.visibility(.team, viewer, dialect: dialect) else {
            return StorePage(items: [], total: 0)
        }
        let direction = descending ? "DESC" : "ASC"
        let orderBy = byCreation ? "tm.created_at \(direction), tm.id \(direction)" : "tm.name \(direction)"
        let items = try rows(
            """
            SELECT tm.id, tm.name, tm.description, tm.is_hidden, tm.created_at, tm.updated_at FROM teams tm
            WHERE \(visibility.sql) ORDER BY \(orderBy) LIMIT ? OFFSET ?
            """, visibility.values + [limit.sqlValue, offset.sqlValue]
        ) { Self.decodeTeam($0) }
        let total = try count("SELECT count(*) FROM teams tm WHERE \(visibility.sql)", visibility.values)
        return StorePage(items: items, total: total)
    }

    package func repositories(named name: String, in namespaceID: Namespace.ID) throws -> [Repository] {
        try rows(
            "SELECT \(Self.repositoryColumns) FROM repositories WHERE namespace_id = ? AND name = ? ORDER BY registry",
            [namespaceID.sqlValue, name.sqlValue], Self.decodeRepository)
    }

    package func repositoryCount(in namespaceID: Namespace.ID) throws -> Int {
        try count("SELECT repository_count FROM namespaces WHERE id = ?", [namespaceID.sqlValue])
    }

    package func repositoryPage(
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
        guard
            let (total, generation) = try first(
                "SELECT repository_count, listing_generation FROM namespaces WHERE id = ?", [namespaceID.sqlValue],
                { row in (Int(row.int(0)), row.int(1)) })
        else { return StorePage(items: [], total: 0) }
        // The page's ids first, off the namespace's covering index: SQLite skips the offset's rows on the index
        // alone then (0.25 ms for 10,000 rows), where one statement also read each skipped row's table row (0.47
        // ms); deep pages slice the cached order instead. Then the page's rows by id; the counts are columns
        // (migration 12), and so is the total. Only read transactions use the cache: a write transaction's
        // generation may yet be rolled back, and a later commit could then reach the same number with other rows.
        let key = RepositoryOrderCache.Key(namespaceID: namespaceID, order: order, descending: descending)
        let ids: [Int64]
        if offset < RepositoryOrderCache.minimumOffset || offset >= total || !isReadOnly {
            ids = try rows(
                "SELECT id FROM repositories WHERE namespace_id = ? ORDER BY \(orderBy) LIMIT ? OFFSET ?",
                [namespaceID.sqlValue, limit.sqlValue, offset.sqlValue]
            ) { $0.int(0) }
        } else if let cached = repositoryOrders.page(key, generation: generation, offset: offset, limit: limit) {
            ids = cached
        } else {
            let all = try rows(
                "SELECT id FROM repositories WHERE namespace_id = ? ORDER BY \(orderBy)", [namespaceID.sqlValue]
            ) { $0.int(0) }
            repositoryOrders.keep(all, for: key, generation: generation)
            ids = Array(all[min(offset, all.count)..<min(offset + limit, all.count)])
        }
        guard !ids.isEmpty else { return StorePage(items: [], total: total) }
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        let found = try rows(
            "SELECT \(Self.repositoryColumns), tag_count, star_count FROM repositories WHERE id IN (\(placeholders))",
            ids.map(\.sqlValue)
        ) { row in
            RepositoryListing(
                repository: Self.decodeRepository(row), tagCount: Int(row.int(7)), starCount: Int(row.int(8)))
        }
        let byID = Dictionary(found.map { ($0.repository.id.rawValue, $0) }) { first, _ in first }
        return StorePage(items: ids.compactMap { byID[$0] }, total: total)
    }

    package func tagCount(in repositoryID: Repository.ID) throws -> Int {
        try count("SELECT tag_count FROM repositories WHERE id = ?", [repositoryID.sqlValue])
    }

    package func tagPage(in repositoryID: Repository.ID, order: TagListOrder, descending: Bool, offset: Int, limit: Int)
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

    package func tagDigestGroupPage(in repositoryID: Repository.ID, offset: Int, limit: Int) throws
        -> StorePage<TagDigestGroup>
    {
        try Self.checkPaging(offset, limit)
        let total =
            try first(
                "SELECT digest_count FROM repositories WHERE id = ?", [repositoryID.sqlValue]
            ) { Int($0.int(0)) } ?? 0
        // Newest push first: a digest's first row in (updated_at DESC, digest) order is its latest push, so the
        // order of first sightings is `max(updated_at) DESC, digest`. Step through the recency index until it has
        // shown enough digests (or the repository's end): the cost follows the page, not the repository.
        let wanted = offset + limit
        var digests: [String] = []
        var seen = Set<String>()
        try checkActive()
        if wanted > 0 {
            try connection.scan(
                "SELECT digest FROM tags WHERE repository_id = ? ORDER BY updated_at DESC, digest",
                [repositoryID.sqlValue]
            ) { row in
                let digest = row.text(0)
                if seen.insert(digest).inserted { digests.append(digest) }
                return digests.count < wanted
            }
        }
        digests = Array(digests.dropFirst(offset).prefix(limit))
        guard !digests.isEmpty else { return StorePage(items: [], total: total) }
        // By digest, not by the (repository, name) key: left alone, SQLite reads every tag of the repository in
        // name order to skip the ones on other digests.
        let placeholders = Array(repeating: "?", count: digests.count).joined(separator: ", ")
        let tags = try rows(
            """
            SELECT \(Self.tagColumns) FROM tags\(dialect.indexedBy("tags_repository_digest"))
            WHERE repository_id = ? AND digest IN (\(placeholders)) ORDER BY name
            """, [repositoryID.sqlValue] + digests.map(\.sqlValue), Self.decodeTag)
        let byDigest = Dictionary(grouping: tags, by: \.digest)
        return StorePage(
            items: digests.map { TagDigestGroup(digest: $0, tags: byDigest[$0] ?? []) }, total: total)
    }

    package func auditEvents(aboutNamespace name: String, offset: Int, limit: Int) throws -> StorePage<AuditEvent> {
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
