import Foundation

// Search, explore and starred-repository listings: the values the store answers with. The index behind them
// (an SQLite FTS5 trigram index kept current by triggers) is the backend's business; what a caller may see is
// decided inside the query, so a page holds only visible records and paging never skips or repeats one.

/// What a search looks in: one result section each.
public enum SearchKind: String, Sendable, Hashable, CaseIterable {
    /// Repositories by full name (`ns/repo`, or `repo` in the global namespace).
    case repository
    /// Tags by full reference (`ns/repo:tag`).
    case tag
    /// Namespaces by name or description.
    case namespace
    /// Visible (not hidden) teams by name or description.
    case team
}

/// Whose eyes a search or listing answers for (Portus's §3.2 scopes, applied in the query).
///
/// - anonymous: repositories, tags and namespaces of public namespaces; no teams.
/// - a user: public and protected namespaces and those of teams they belong to; only their own teams.
/// - an administrator: everything except hidden (personal and global) teams.
public enum SearchViewer: Sendable, Hashable {
    /// Nobody logged in.
    case anonymous
    /// A logged-in user without administrator rights.
    case user(User.ID)
    /// A logged-in administrator.
    case administrator
}

/// One page of one search section.
public struct SearchRequest: Sendable, Hashable {
    /// The fewest characters (Unicode scalars) a substring query may have: the trigram index cannot
    /// answer shorter ones without reading every row.
    public static let minimumLength = 3
    /// The most characters a query may have.
    public static let maximumLength = 255
    /// How many matches `SearchPage.total` counts exactly before it becomes a lower bound ("50+"): each
    /// counted match costs a few b-tree reads, and with 1,000 the count cost ten times the rest of a search.
    public static let defaultCountLimit = 50

    /// The substring to find (case-insensitive), taken literally: `%`, `_`, quotes and FTS5 operators are
    /// plain text. `nil` lists every visible record of the kind (explore).
    public var text: String?
    /// The section.
    public var kind: SearchKind
    /// Whose visibility applies.
    public var viewer: SearchViewer
    /// Only records of these namespaces (teams: owning one of them), for a restricted credential; nil for all.
    public var namespaces: Set<String>?
    /// How many visible matches to skip.
    public var offset: Int
    /// The most hits to return.
    public var limit: Int
    /// How many index matches the count reads at most (counting every match of a common substring would read
    /// the whole index); the visible ones among them make the total.
    public var countLimit: Int

    /// Describes one page of one section.
    public init(
        text: String?, kind: SearchKind, viewer: SearchViewer, namespaces: Set<String>? = nil, offset: Int = 0,
        limit: Int = 25, countLimit: Int = SearchRequest.defaultCountLimit
    ) {
        self.text = text
        self.kind = kind
        self.viewer = viewer
        self.namespaces = namespaces
        self.offset = offset
        self.limit = limit
        self.countLimit = countLimit
    }
}

/// One search result.
public struct SearchHit: Sendable, Hashable {
    /// The section it belongs to.
    public var kind: SearchKind
    /// The record's id in its own table (repository, tag, namespace or team id).
    public var id: Int64
    /// The indexed name: `ns/repo`, `ns/repo:tag`, a namespace or team name.
    public var name: String
    /// The description, for namespaces, teams and repositories.
    public var description: String?
    /// The namespace, for repositories, tags and namespaces.
    public var namespaceID: Namespace.ID?
    /// The namespace's visibility, for repositories, tags and namespaces.
    public var visibility: NamespaceVisibility?
    /// The repository, for repositories and tags.
    public var repositoryID: Repository.ID?
    /// The registry holding the repository, for repositories and tags.
    public var registry: String?
    /// The manifest digest, for tags.
    public var digest: String?
    /// How many users starred the repository, for repositories.
    public var starCount: Int?

    /// Creates a hit (the store fills in what applies to its kind).
    public init(
        kind: SearchKind, id: Int64, name: String, description: String? = nil, namespaceID: Namespace.ID? = nil,
        visibility: NamespaceVisibility? = nil, repositoryID: Repository.ID? = nil, registry: String? = nil,
        digest: String? = nil, starCount: Int? = nil
    ) {
        self.kind = kind
        self.id = id
        self.name = name
        self.description = description
        self.namespaceID = namespaceID
        self.visibility = visibility
        self.repositoryID = repositoryID
        self.registry = registry
        self.digest = digest
        self.starCount = starCount
    }
}

/// One page of hits with the number of matches.
public struct SearchPage: Sendable, Hashable {
    /// The hits, in index order (oldest record first), so paging needs no sort over every match.
    public var hits: [SearchHit]
    /// The number of visible matches, exact when `isTotalExact`, else a lower bound (the count reads at most
    /// the request's `countLimit` matches of the index, visible or not, and counts the visible ones).
    public var total: Int
    /// Whether `total` is exact.
    public var isTotalExact: Bool

    /// Creates a page.
    public init(hits: [SearchHit], total: Int, isTotalExact: Bool) {
        self.hits = hits
        self.total = total
        self.isTotalExact = isTotalExact
    }
}

/// The search and star queries of `StoreReading`.
///
/// Contract: as every `StoreReading` method (synchronous, inside one transaction); `search` throws
/// `.invalidInput` (subject `q`) when `text` is shorter than `SearchRequest.minimumLength` or longer than
/// `maximumLength`, or `offset`/`limit` are negative. Its cost grows with the page and the count limit, not
/// with the number of rows (except when few of many matches are visible to the viewer).
public protocol SearchReading {
    /// One page of one search section, filtered by what `request.viewer` may see.
    func search(_ request: SearchRequest) throws -> SearchPage
    /// The repositories a user starred that `viewer` may see (and that lie in `namespaces`, when given), most
    /// recently starred first, as repository hits.
    func starredRepositories(
        of userID: User.ID, visibleTo viewer: SearchViewer, within namespaces: Set<String>?, offset: Int, limit: Int
    ) throws -> SearchPage
}
