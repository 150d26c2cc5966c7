import Storage

/// A 1-based page request (`page`, `per_page` as the REST API spells them).
public struct PageNumber: Sendable, Hashable {
    /// The largest page size.
    public static let maximumPerPage = 100

    /// The page, from 1.
    public var page: Int
    /// Items per page, 1…100.
    public var perPage: Int

    /// Describes a page; checked when used (`SearchError.invalidPage`).
    public init(page: Int = 1, perPage: Int = 25) {
        self.page = page
        self.perPage = perPage
    }

    /// The number of items before this page; throws `.invalidPage` for a page below 1 or a size outside 1…100.
    func offset() throws -> Int {
        guard page >= 1, (1...Self.maximumPerPage).contains(perPage) else {
            throw SearchError(.invalidPage, "page must be at least 1 and per_page between 1 and \(Self.maximumPerPage)")
        }
        let (offset, overflow) = (page - 1).multipliedReportingOverflow(by: perPage)
        guard !overflow else { throw SearchError(.invalidPage, "page is too large") }
        return offset
    }
}

/// One search's answer: a page of each section that was asked for.
public struct SearchResults: Sendable, Hashable {
    /// The query as given.
    public var query: String
    /// One page per section searched (sections whose part of the query is too short are absent).
    public var sections: [SearchKind: SearchPage]
}

/// Search and explore (Portus §9.3), over the store's trigram index, filtered by what the caller may see.
///
/// Query rules: at least 3 and at most 255 characters (`search.query_too_short`, `search.query_too_long`);
/// taken literally (no wildcards or operators); case-insensitive substring. The `ns/repo:tag` form: the tag
/// section matches the whole query against `ns/repo:tag`; the other sections use the part before the first `:`
/// (as Portus does), and are left out when that part is shorter than 3 characters. Tags are searched when the
/// query names one (it holds a `:`, as in `web/app:v1` or `:v1.2`) or when asked for: otherwise every tag of a
/// matching repository would match too, and the section would repeat the repositories' one once per tag.
/// Anonymous callers are served only when `policy.anonymousBrowsing` is on, and see public namespaces only.
///
/// Throws `SearchError` for refused requests, `StoreError` when the database fails.
public struct SearchService: Sendable {
    private let store: any Store
    private let anonymousBrowsing: Bool

    /// A service over `store`; `anonymousBrowsing` is `policy.anonymousBrowsing`.
    public init(store: any Store, anonymousBrowsing: Bool) {
        self.store = store
        self.anonymousBrowsing = anonymousBrowsing
    }

    /// One page of each section in `kinds` matching `query`; without `kinds`, the default sections
    /// (``defaultKinds(for:)``).
    public func search(
        _ query: String, as caller: Caller, kinds: Set<SearchKind>? = nil, page: PageNumber = PageNumber()
    ) async throws -> SearchResults {
        try admit(caller)
        try Self.check(query)
        let kinds = kinds ?? Self.defaultKinds(for: query)
        let offset = try page.offset()
        let beforeColon =
            query.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? query
        var requests: [SearchRequest] = []
        for kind in SearchKind.allCases where kinds.contains(kind) {
            let text = kind == .tag ? query : beforeColon
            guard text.unicodeScalars.count >= SearchRequest.minimumLength else { continue }
            requests.append(
                SearchRequest(
                    text: text, kind: kind, viewer: caller.viewer, namespaces: caller.namespaces, offset: offset,
                    limit: page.perPage))
        }
        let planned = requests
        let pages = try await store.read { reader in try planned.map { try reader.search($0) } }
        var sections: [SearchKind: SearchPage] = [:]
        for (request, found) in zip(requests, pages) { sections[request.kind] = found }
        return SearchResults(query: query, sections: sections)
    }

    /// The sections a search covers when the caller names none: repositories, namespaces and teams, and tags
    /// when the query names a tag (holds a `:`).
    public static func defaultKinds(for query: String) -> Set<SearchKind> {
        query.contains(":") ? Set(SearchKind.allCases) : [.repository, .namespace, .team]
    }

    /// Public repositories (Portus's explore), optionally only those whose name contains `query`; the same for
    /// every caller, logged in or not.
    public func explore(_ query: String? = nil, as caller: Caller, page: PageNumber = PageNumber()) async throws
        -> SearchPage
    {
        try admit(caller)
        if let query { try Self.check(query) }
        let request = SearchRequest(
            text: query, kind: .repository, viewer: .anonymous, namespaces: caller.namespaces,
            offset: try page.offset(), limit: page.perPage)
        return try await store.read { try $0.search(request) }
    }

    private func admit(_ caller: Caller) throws {
        if caller.userID == nil && !anonymousBrowsing {
            throw SearchError(.authenticationRequired, "log in to search (anonymous browsing is off)")
        }
    }

    static func check(_ query: String) throws {
        let length = query.unicodeScalars.count
        if length < SearchRequest.minimumLength {
            throw SearchError(.queryTooShort, "a search needs at least \(SearchRequest.minimumLength) characters")
        }
        if length > SearchRequest.maximumLength {
            throw SearchError(.queryTooLong, "a search takes at most \(SearchRequest.maximumLength) characters")
        }
    }
}
