/// Why a deletion through the registry did not happen, as a `WebRepositoryDeleting` port reports it: the
/// pages turn it into an error page with the matching status (403, 404, 422, 503) and the message.
public struct WebDeletionFailure: Error, Sendable, Hashable {
    /// What kind of refusal.
    public enum Kind: Sendable, Hashable {
        /// The policy does not let the caller delete there (403).
        case denied
        /// The registry or the tag is not there (404 / "not at the registry").
        case notFound
        /// The registry refused or deleted only part (422).
        case refused
        /// No registry is configured for it, or it cannot be reached (503).
        case unavailable
    }

    /// The kind.
    public var kind: Kind
    /// A sentence for people: what happened and what to do.
    public var message: String
    /// What went before the failure stopped the rest (a multi-tag delete), if anything.
    public var completed: WebDeletionOutcome?

    /// Creates a failure.
    public init(_ kind: Kind, _ message: String, completed: WebDeletionOutcome? = nil) {
        self.kind = kind
        self.message = message
        self.completed = completed
    }
}
