import Foundation
import Storage

/// One change to what a registry holds, as Portcullis recorded it: the input of outgoing webhooks.
public struct RepositoryChange: Sendable, Hashable {
    /// What happened.
    public enum Action: String, Sendable, Hashable, CaseIterable {
        /// A manifest was pushed under a tag (or a tag moved).
        case push
        /// A manifest was deleted; every tag that pointed at it is gone.
        case delete
    }

    /// What happened.
    public var action: Action
    /// The configured name of the registry it happened in.
    public var registry: String
    /// The namespace (first path component), which owns the webhooks to notify.
    public var namespaceID: Namespace.ID
    /// The full repository name (`namespace/name`).
    public var repository: String
    /// The tag pushed, or the tags deleted (empty for a delete that removed no known tag).
    public var tags: [String]
    /// The manifest digest.
    public var digest: String
    /// The manifest media type, if known.
    public var mediaType: String?
    /// The image size in bytes, if known.
    public var size: Int64?
    /// Who did it, as the registry reported (`nil` when unknown).
    public var actor: String?
    /// When it happened, as the registry reported.
    public var occurredAt: Date
    /// A stable id for this change (the registry event id, or a generated one), so receivers can
    /// drop duplicates of a redelivery.
    public var id: String

    /// Describes a change.
    public init(
        action: Action, registry: String, namespaceID: Namespace.ID, repository: String, tags: [String],
        digest: String, mediaType: String?, size: Int64?, actor: String?, occurredAt: Date, id: String
    ) {
        self.action = action
        self.registry = registry
        self.namespaceID = namespaceID
        self.repository = repository
        self.tags = tags
        self.digest = digest
        self.mediaType = mediaType
        self.size = size
        self.actor = actor
        self.occurredAt = occurredAt
        self.id = id
    }
}

/// Learns of repository changes inside the transaction that records them, so follow-up work (webhook
/// deliveries) is stored exactly when the change is.
///
/// Threading contract: called synchronously on the store's writer thread, inside `Store.write`; must not
/// block on async work or do network I/O (queue it in the store and deliver later). A throw rolls the
/// whole change back, so throw only when the database fails.
public protocol RepositoryChangeObserver: Sendable {
    /// Records follow-up work for `change` in the same transaction.
    func record(_ change: RepositoryChange, in writer: any StoreWriting) throws
}
