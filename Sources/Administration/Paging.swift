/// A field a listing may be sorted by; each service lists its own.
public protocol SortField: RawRepresentable, CaseIterable, Sendable, Hashable where RawValue == String {}

/// The fields of listings of named things (teams, namespaces).
public enum NameSortField: String, SortField {
    /// By name.
    case name
    /// By creation time.
    case createdAt = "created_at"
}

/// Which slice of a listing to return, and in what order: offset/limit paging, so front doors can answer
/// with a total count (`X-Total-Count`) and page links.
public struct PageRequest<Field: SortField>: Sendable, Hashable {
    /// The largest page a service returns (the REST API allows less per page; the CLI asks for this much).
    public static var maximumLimit: Int { 1000 }

    /// How many items to skip (0 or more).
    public var offset: Int
    /// How many items at most (1…`maximumLimit`).
    public var limit: Int
    /// The field to sort by.
    public var sort: Field
    /// Whether to sort from the largest value down.
    public var descending: Bool

    /// Describes a page.
    public init(offset: Int = 0, limit: Int = 25, sort: Field, descending: Bool = false) {
        self.offset = offset
        self.limit = limit
        self.sort = sort
        self.descending = descending
    }

    /// Throws `administration.invalid_paging` for a negative offset or a limit out of range.
    func validate() throws {
        guard offset >= 0 else { throw AdministrationError(.invalidPaging, "the offset must not be negative") }
        guard (1...Self.maximumLimit).contains(limit) else {
            throw AdministrationError(.invalidPaging, "the limit must be between 1 and \(Self.maximumLimit)")
        }
    }
}

/// One page of a listing with the size of the whole.
public struct Page<Item> {
    /// The items of this page.
    public var items: [Item]
    /// How many items the whole listing has.
    public var total: Int
    /// The offset asked for.
    public var offset: Int
    /// The limit asked for.
    public var limit: Int

    /// Creates a page.
    public init(items: [Item], total: Int, offset: Int, limit: Int) {
        self.items = items
        self.total = total
        self.offset = offset
        self.limit = limit
    }

    /// Whether items follow this page.
    public var hasMore: Bool { offset + items.count < total }
}

extension Page: Sendable where Item: Sendable {}
extension Page: Equatable where Item: Equatable {}
