import Diagnostics

/// Why a search, explore or star request was refused: a stable code plus a reason for people.
///
/// Two errors are equal when their codes are, so `#expect(throws: SearchError.queryTooShort)` works.
public typealias SearchError = CodedFailure<SearchErrorCode>

/// The stable codes of a `SearchError`.
public enum SearchErrorCode: String, Sendable, Hashable, CaseIterable {
    /// The query has fewer than 3 characters (the trigram index cannot answer it without a scan).
    case queryTooShort = "search.query_too_short"
    /// The query has more than 255 characters.
    case queryTooLong = "search.query_too_long"
    /// `page` is below 1, or `per_page` outside 1…100.
    case invalidPage = "search.invalid_page"
    /// An anonymous caller asked while `policy.anonymousBrowsing` is off, or tried to star.
    case authenticationRequired = "search.authentication_required"
    /// No repository of that name is visible to the caller (a hidden one is reported the same way).
    case repositoryNotFound = "search.repository_not_found"
    /// Several registries hold a repository of that name; name the registry.
    case ambiguousRepository = "search.ambiguous_repository"
}

extension CodedFailure where Code == SearchErrorCode {
    /// An error with code `.queryTooShort`, for matching (`#expect(throws: SearchError.queryTooShort)`).
    public static var queryTooShort: Self { Self(.queryTooShort, "") }
    /// An error with code `.queryTooLong`, for matching (`#expect(throws: SearchError.queryTooLong)`).
    public static var queryTooLong: Self { Self(.queryTooLong, "") }
    /// An error with code `.invalidPage`, for matching (`#expect(throws: SearchError.invalidPage)`).
    public static var invalidPage: Self { Self(.invalidPage, "") }
    /// An error with code `.authenticationRequired`, for matching (`#expect(throws: SearchError.authenticationRequired)`).
    public static var authenticationRequired: Self { Self(.authenticationRequired, "") }
    /// An error with code `.repositoryNotFound`, for matching (`#expect(throws: SearchError.repositoryNotFound)`).
    public static var repositoryNotFound: Self { Self(.repositoryNotFound, "") }
    /// An error with code `.ambiguousRepository`, for matching (`#expect(throws: SearchError.ambiguousRepository)`).
    public static var ambiguousRepository: Self { Self(.ambiguousRepository, "") }
}
