import Diagnostics

/// Why a deletion through the registry did not happen, as a `WebRepositoryDeleting` port reports it: the
/// pages turn it into an error page with the matching status (403, 404, 422, 503) and the reason.
public struct WebDeletionFailure: CodedError, Sendable, Hashable {
    /// The stable failure codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The policy does not let the caller delete there (403).
        case denied = "ui.deletion_denied"
        /// The registry no longer holds the tag or repository (404).
        case notFound = "ui.deletion_not_found"
        /// The registry refused, or deleted only part (422).
        case refused = "ui.deletion_refused"
        /// No registry client is configured for it, or it cannot be reached (503).
        case unavailable = "ui.deletion_unavailable"
    }

    /// The stable code.
    public var code: Code
    /// A sentence for people: what happened and what to do.
    public var reason: String
    /// What went before the failure stopped the rest (a multi-tag delete), if anything.
    public var completed: WebDeletionOutcome?

    /// Creates a failure.
    public init(_ code: Code, _ reason: String, completed: WebDeletionOutcome? = nil) {
        self.code = code
        self.reason = reason
        self.completed = completed
    }
}
