import Foundation
import Storage

// The search and starred-repository part of `StoreReading` on both SQL backends (the FTS5 trigram tables of schema
// migration 9). Every query starts from the index (CROSS JOIN keeps it the outer loop) in rowid order, joins the
// few rows of the page and filters visibility in the same statement, so a page costs what its rows cost.
extension SQLTransaction {
    package func search(_ request: SearchRequest) throws -> SearchPage {
        try checkActive()
        guard request.offset >= 0, request.limit >= 0, request.countLimit >= 0 else {
            throw StoreError(.invalidInput, "offset, limit and count limit must not be negative", subject: "q")
        }
        // Searching matches the index; browsing (no text) takes every row of the table.
        var matchClause = dialect.true
        var matchValues: [SQLValue] = []
        if let text = request.text {
            let length = text.unicodeScalars.count
            guard length >= SearchRequest.minimumLength, length <= SearchRequest.maximumLength else {
                throw StoreError(
                    .invalidInput,
                    "a search needs \(SearchRequest.minimumLength) to \(SearchRequest.maximumLength) characters",
                    subject: "q")
            }
            // FTS5 reads its query as a C string: a NUL would cut the quoted phrase short and make it syntax.
            // No name holds one, so such a query finds nothing.
            if text.utf8.contains(0) { return SearchPage(hits: [], total: 0, isTotalExact: true) }
            let columns = Self.searchColumns(request.kind)
            matchClause = dialect.searchMatch(Self.searchTable(request.kind), columns: columns)
            let pattern = dialect.searchPattern(text).sqlValue
            matchValues = dialect.server == .sqlite ? [pattern] : columns.map { _ in pattern }
        }
        guard
            let visibility = Self.visibility(request.kind, request.viewer, within: request.namespaces, dialect: dialect)
        else {
            return SearchPage(hits: [], total: 0, isTotalExact: true)
        }
        let shape = Self.searchShape(request.kind, dialect: dialect)
        let from = request.text == nil ? shape.browseFrom : shape.from
        // Index order when searching (FTS5 yields rowids in order, so no sort); the table's id when browsing.
        let order = request.text == nil ? shape.order : "s.\(dialect.searchKey)"
        // One pass over the first `countLimit + 1` matches, each with whether the viewer may see it: the visible
        // ones make the total, so its cost does not depend on how few of many matches the viewer may see (past
        // the limit the total is a lower bound), and those that fall on the page are decoded as they pass (a
        // second statement for the page cost as much again).
        let page = request.offset..<(request.offset + request.limit)
        var visible = 0
        let scanned = try rows(
            """
            SELECT \(shape.columns), (\(visibility.sql)) FROM \(from) WHERE \(matchClause)
            ORDER BY \(order) LIMIT ?
            """, visibility.values + matchValues + [(request.countLimit + 1).sqlValue]
        ) { row -> SearchHit? in
            guard row.int(shape.columnCount) != 0 else { return nil }
            defer { visible += 1 }
            return page.contains(visible) ? shape.decode(row) : nil
        }
        let exact = scanned.count <= request.countLimit
        var hits = scanned.compactMap { $0 }
        if !exact && page.upperBound > visible {
            // The page lies beyond the matches the pass read: step through the index to it.
            hits = try rows(
                """
                SELECT \(shape.columns) FROM \(from) WHERE \(matchClause) AND \(visibility.sql)
                ORDER BY \(order) LIMIT ? OFFSET ?
                """, matchValues + visibility.values + [request.limit.sqlValue, request.offset.sqlValue], shape.decode)
        }
        let total = max(
            exact ? visible : min(visible, request.countLimit), hits.isEmpty ? 0 : request.offset + hits.count)
        return SearchPage(hits: hits, total: total, isTotalExact: exact)
    }

    package func starredRepositories(
        of userID: User.ID, visibleTo viewer: SearchViewer, within namespaces: Set<String>?, offset: Int, limit: Int
    ) throws -> SearchPage {
        try checkActive()
        guard offset >= 0, limit >= 0 else {
            throw StoreError(.invalidInput, "offset and limit must not be negative", subject: "page")
        }
        guard let visibility = Self.visibility(.repository, viewer, within: namespaces, dialect: dialect) else {
            return SearchPage(hits: [], total: 0, isTotalExact: true)
        }
        let shape = Self.searchShape(.repository, dialect: dialect)
        let from = """
            stars st \(dialect.orderedJoin) repositories r ON r.id = st.repository_id \
            \(dialect.orderedJoin) namespaces n ON n.id = r.namespace_id
            """
        let values = [userID.sqlValue] + visibility.values
        let hits = try rows(
            """
            SELECT \(shape.columns) FROM \(from) WHERE st.user_id = ? AND \(visibility.sql)
            ORDER BY st.created_at DESC, r.id DESC LIMIT ? OFFSET ?
            """, values + [limit.sqlValue, offset.sqlValue], shape.decode)
        let total = try count(
            "SELECT count(*) FROM \(from) WHERE st.user_id = ? AND \(visibility.sql)", values)
        return SearchPage(hits: hits, total: total, isTotalExact: true)
    }

    // MARK: Query pieces

    /// The text as one FTS5 string: inside double quotes every character but `"` is literal (operators,
    /// `*`, `NEAR(`, `OR`, `:` and column filters included), and `"` is written twice. With the trigram
    /// tokenizer a quoted string matches as a substring.
    package static func literalPhrase(_ text: String) -> String {
        SQLDialect.sqlite.searchPattern(text)
    }

    /// The columns of a section's index a search matches (FTS5 matches them all through the table's name).
    private static func searchColumns(_ kind: SearchKind) -> [String] {
        kind == .namespace || kind == .team ? ["name", "description"] : ["name"]
    }

    /// The FTS5 table of a section (also the column name MATCH is applied to).
    private static func searchTable(_ kind: SearchKind) -> String {
        switch kind {
        case .repository: "search_repositories"
        case .tag: "search_tags"
        case .namespace: "search_namespaces"
        case .team: "search_teams"
        }
    }

    /// The visibility predicate of a section for a viewer whose credential may reach only `namespaces` (nil:
    /// all), over the aliases `n` (namespace) or `tm` (team; a team shows when it owns one of the namespaces);
    /// nil when the viewer may see nothing of that section.
    package static func visibility(
        _ kind: SearchKind, _ viewer: SearchViewer, within namespaces: Set<String>?, dialect: SQLDialect
    ) -> (sql: String, values: [SQLValue])? {
        guard let visible = visibility(kind, viewer, dialect: dialect) else { return nil }
        guard let namespaces else { return visible }
        if namespaces.isEmpty { return nil }
        let names = namespaces.sorted()
        let placeholders = Array(repeating: "?", count: names.count).joined(separator: ", ")
        let within =
            kind == .team
            ? "EXISTS (SELECT 1 FROM namespaces owned WHERE owned.team_id = tm.id AND owned.name IN (\(placeholders)))"
            : "n.name IN (\(placeholders))"
        return ("(\(visible.sql)) AND \(within)", visible.values + names.map(\.sqlValue))
    }

    /// The visibility predicate of a section for a viewer, over the aliases `n` (namespace) or `tm` (team);
    /// nil when the viewer may see nothing of that section (anonymous callers and teams).
    package static func visibility(_ kind: SearchKind, _ viewer: SearchViewer, dialect: SQLDialect) -> (
        sql: String, values: [SQLValue]
    )? {
        if kind == .team {
            switch viewer {
            case .anonymous: return nil
            case .administrator: return ("tm.is_hidden = \(dialect.false)", [])
            case .user(let id):
                return (
                    "tm.is_hidden = \(dialect.false) AND EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = tm.id AND m.user_id = ?)",
                    [id.sqlValue]
                )
            }
        }
        switch viewer {
        case .anonymous: return ("n.visibility = 'public'", [])
        case .administrator: return (dialect.true, [])
        case .user(let id):
            return (
                """
                (n.visibility IN ('public', 'protected') OR \
                EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = n.team_id AND m.user_id = ?))
                """,
                [id.sqlValue]
            )
        }
    }

    private struct SearchShape {
        var columns: String
        /// How many columns `columns` lists (the index of a column appended after them).
        var columnCount: Int32
        /// Starting from the index (a search).
        var from: String
        /// Starting from the table itself (explore: no text).
        var browseFrom: String
        /// The browsing order (searches follow the index's rowids, which are the same ids).
        var order: String
        var decode: (Connection.Row) -> SearchHit
    }

    private static func searchShape(_ kind: SearchKind, dialect: SQLDialect) -> SearchShape {
        let join = dialect.orderedJoin
        let key = dialect.searchKey
        // Names are put together in Swift for the decoded rows only: a search pass reads up to `countLimit`
        // matches, and concatenating every one's name in SQL cost a tenth of the search.
        func fullName(_ row: Connection.Row, kind: Int32) -> String {
            Repository.fullName(
                row.text(kind + 2), namespace: row.text(kind + 1),
                kind: NamespaceKind(rawValue: row.text(kind)) ?? .regular)
        }
        switch kind {
        case .repository:
            return SearchShape(
                columns: "r.id, n.kind, n.name, r.name, r.description, n.id, n.visibility, r.registry, r.star_count",
                columnCount: 9,
                from: """
                    search_repositories s \(join) repositories r ON r.id = s.\(key) \
                    \(join) namespaces n ON n.id = r.namespace_id
                    """,
                browseFrom: "repositories r \(join) namespaces n ON n.id = r.namespace_id",
                order: "r.id",
                decode: { row in
                    SearchHit(
                        kind: .repository, id: row.int(0), name: fullName(row, kind: 1),
                        description: row.optionalText(4), namespaceID: row.id(5),
                        visibility: NamespaceVisibility(rawValue: row.text(6)), repositoryID: row.id(0),
                        registry: row.text(7), starCount: Int(row.int(8)))
                })
        case .tag:
            return SearchShape(
                columns: "t.id, n.kind, n.name, r.name, t.name, n.id, n.visibility, r.id, r.registry, t.digest",
                columnCount: 10,
                from: """
                    search_tags s \(join) tags t ON t.id = s.\(key) \
                    \(join) repositories r ON r.id = t.repository_id \(join) namespaces n ON n.id = r.namespace_id
                    """,
                browseFrom: """
                    tags t \(join) repositories r ON r.id = t.repository_id \
                    \(join) namespaces n ON n.id = r.namespace_id
                    """,
                order: "t.id",
                decode: { row in
                    SearchHit(
                        kind: .tag, id: row.int(0), name: fullName(row, kind: 1) + ":" + row.text(4),
                        namespaceID: row.id(5), visibility: NamespaceVisibility(rawValue: row.text(6)),
                        repositoryID: row.id(7), registry: row.text(8), digest: row.text(9))
                })
        case .namespace:
            return SearchShape(
                columns: "n.id, n.name, n.description, n.visibility",
                columnCount: 4,
                from: "search_namespaces s \(join) namespaces n ON n.id = s.\(key)",
                browseFrom: "namespaces n",
                order: "n.id",
                decode: { row in
                    SearchHit(
                        kind: .namespace, id: row.int(0), name: row.text(1), description: row.optionalText(2),
                        namespaceID: row.id(0), visibility: NamespaceVisibility(rawValue: row.text(3)))
                })
        case .team:
            return SearchShape(
                columns: "tm.id, tm.name, tm.description",
                columnCount: 3,
                from: "search_teams s \(join) teams tm ON tm.id = s.\(key)",
                browseFrom: "teams tm",
                order: "tm.id",
                decode: { row in
                    SearchHit(kind: .team, id: row.int(0), name: row.text(1), description: row.optionalText(2))
                })
        }
    }
}
