import Foundation

/// A repository as a namespace's listing shows it: the row with its tag and star counts.
public struct RepositoryListing: Sendable, Hashable {
    /// The repository.
    public var repository: Repository
    /// How many tags it has.
    public var tagCount: Int
    /// How many users starred it.
    public var starCount: Int

    /// Creates a listing entry.
    public init(repository: Repository, tagCount: Int, starCount: Int) {
        self.repository = repository
        self.tagCount = tagCount
        self.starCount = starCount
    }
}

/// The orders a namespace's repository listing knows; the raw values are the API's `sort` names, so the
/// application layer sorts by these cases themselves (`RepositorySortField`).
public enum RepositoryListOrder: String, Sendable, Hashable, CaseIterable {
    /// By name, then registry.
    case name
    /// By creation time.
    case createdAt = "created_at"
    /// By the time of the last change.
    case updatedAt = "updated_at"
}

/// The orders a repository's tag listing knows; the raw values are the API's `sort` names (`TagSortField`).
public enum TagListOrder: String, Sendable, Hashable, CaseIterable {
    /// By tag name.
    case name
    /// By the time the tag last moved.
    case pushedAt = "pushed_at"
    /// By image size (unknown sizes first in ascending order).
    case size
}

/// The tags of one repository that point at one manifest digest.
public struct TagDigestGroup: Sendable, Hashable {
    /// The manifest digest.
    public var digest: String
    /// The tags pointing at it, ordered by name.
    public var tags: [Tag]

    /// Creates a group.
    public init(digest: String, tags: [Tag]) {
        self.digest = digest
        self.tags = tags
    }
}

/// One page of a listing with the number of items in all.
public struct StorePage<Item: Sendable>: Sendable {
    /// The items of the page.
    public var items: [Item]
    /// How many items the whole listing has.
    public var total: Int

    /// Creates a page.
    public init(items: [Item], total: Int) {
        self.items = items
        self.total = total
    }
}

/// The paged content queries of `StoreReading`: a namespace's repositories and a repository's tags, each page
/// read and counted by the database (never a whole table sliced in memory).
///
/// Contract: as every `StoreReading` method (synchronous, inside one transaction); a negative `offset` or
/// `limit` throws `.invalidInput`. The cost of a page grows with the page and with the one namespace or
/// repository listed, never with the number of rows in the database.
public protocol ContentReading {
    /// One page of the namespaces `viewer` may see (administrators: all; users: public, protected and their
    /// teams'; anonymous callers: public) among `namespaces` when given, by name or creation time (ties by id).
    func namespacePage(
        visibleTo viewer: SearchViewer, within namespaces: Set<String>?, byCreation: Bool, descending: Bool,
        offset: Int, limit: Int
    ) throws -> StorePage<Namespace>
    /// One page of the teams `viewer` may see (administrators: every team that is not hidden; users: their own
    /// that are not hidden; anonymous callers: none), by name or creation time (ties by id).
    func teamPage(visibleTo viewer: SearchViewer, byCreation: Bool, descending: Bool, offset: Int, limit: Int)
        throws -> StorePage<Team>
    /// The repositories named `name` in a namespace, one per registry holding it, ordered by registry.
    func repositories(named name: String, in namespaceID: Namespace.ID) throws -> [Repository]
    /// How many repositories a namespace holds (over every registry).
    func repositoryCount(in namespaceID: Namespace.ID) throws -> Int
    /// One page of a namespace's repositories with their tag and star counts, in `order` (ties by id).
    func repositoryPage(
        in namespaceID: Namespace.ID, order: RepositoryListOrder, descending: Bool, offset: Int, limit: Int
    ) throws -> StorePage<RepositoryListing>
    /// How many tags a repository has.
    func tagCount(in repositoryID: Repository.ID) throws -> Int
    /// One page of a repository's tags in `order` (ties by name).
    func tagPage(in repositoryID: Repository.ID, order: TagListOrder, descending: Bool, offset: Int, limit: Int)
        throws -> StorePage<Tag>
    /// One page of a repository's tags grouped by manifest digest, the most recently pushed digest first; the
    /// total counts digests.
    func tagDigestGroupPage(in repositoryID: Repository.ID, offset: Int, limit: Int) throws
        -> StorePage<TagDigestGroup>
    /// A number that changes whenever the repository's tags change: one added, pushed again, pulled (its
    /// counters and the pulls per day) or removed. Kept by the database, so it moves for every writer on every
    /// instance; a reader that finds the number it saw before may reuse what it made from the listing then.
    /// 0 for a repository that does not exist.
    func contentVersion(ofRepository id: Repository.ID) throws -> Int
    /// The audit events about a namespace, its repositories and their tags (targets `namespace:NAME`,
    /// `repository:NAME/…`, `tag:NAME/…`), newest first, with the number in all.
    func auditEvents(aboutNamespace name: String, offset: Int, limit: Int) throws -> StorePage<AuditEvent>
}
