import Diagnostics

/// Why a search, explore or star request was refused: a stable code plus a reason for people.
///
/// Two errors are equal when their codes are, so `#expect(throws: SearchError.queryTooShort)` works.
public struct SearchError: CodedError, Hashable, Sendable {
    /// The stable kind of failure.
    public enum Code: String, Sendable, Hashable, CaseIterable {
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

    /// The stable kind of failure.
    public let code: Code
    /// What exactly was wrong, for people.
    public let reason: String

    /// Creates an error.
    public init(_ code: Code, _ reason: String = "") {
        self.code = code
        self.reason = reason
    }

    /// An error with code `.queryTooShort`, for matching.
    public static let queryTooShort = SearchError(.queryTooShort)
    /// An error with code `.queryTooLong`, for matching.
    public static let queryTooLong = SearchError(.queryTooLong)
    /// An error with code `.invalidPage`, for matching.
    public static let invalidPage = SearchError(.invalidPage)
    /// An error with code `.authenticationRequired`, for matching.
    public static let authenticationRequired = SearchError(.authenticationRequired)
    /// An error with code `.repositoryNotFound`, for matching.
    public static let repositoryNotFound = SearchError(.repositoryNotFound)
    /// An error with code `.ambiguousRepository`, for matching.
    public static let ambiguousRepository = SearchError(.ambiguousRepository)
}
