import Authorization
import Diagnostics
import Foundation
import RegistryCore
import Storage

/// Why a deletion through Portcullis did not happen (or happened only in part), with a stable code.
public struct DeletionError: CodedError, Sendable, Hashable {
    /// The stable failure codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The name is not a valid `namespace/repository[:tag]`.
        case invalidName = "deletion.invalid_name"
        /// The acting user does not exist or is disabled.
        case unknownActor = "deletion.unknown_actor"
        /// The authorization policy does not let the acting user delete in this repository.
        case denied = "deletion.denied"
        /// The registry does not hold the tag or repository (the database is left as it is; a
        /// `registry sync` settles a stale record).
        case notAtRegistry = "deletion.not_at_registry"
        /// The registry refused or failed the deletion; the database is left as it is.
        case registryRefused = "deletion.registry_refused"
        /// Some manifests of a repository were deleted and others refused; the database records
        /// exactly the deleted ones.
        case partial = "deletion.partial"
    }

    /// The stable code.
    public var code: Code
    /// A human sentence saying why.
    public var message: String
    /// The registry's own error, when the registry refused.
    public var registryError: RegistryAPIError?

    /// Creates an error.
    public init(_ code: Code, _ message: String, registryError: RegistryAPIError? = nil) {
        self.code = code
        self.message = message
        self.registryError = registryError
    }

    /// The message, as `CodedError` reports it (`description` is `code: message`).
    public var reason: String { message }
}

/// What a deletion through Portcullis removed.
public struct DeletionResult: Sendable, Hashable {
    /// The full repository name.
    public var repository: String
    /// The manifest digests deleted at the registry.
    public var digests: [String]
    /// The tags removed from the database (every tag that pointed at a deleted digest).
    public var removedTags: [String]
    /// Whether the repository itself was removed from the database (it held no tag any more).
    public var repositoryRemoved: Bool

    /// Describes a deletion.
    public init(repository: String, digests: [String], removedTags: [String], repositoryRemoved: Bool) {
        self.repository = repository
        self.digests = digests
        self.removedTags = removedTags
        self.repositoryRemoved = repositoryRemoved
    }
}

/// Deletes tags and repositories at a registry on behalf of a user, then records the deletion.
///
/// The registry deletes by manifest digest only (registry-protocol.md), so a tag delete is a HEAD for
/// the digest, a `DELETE` by digest, and then every tag with that digest goes from the database (and
/// the repository with its last tag). The database changes only after the registry accepted: a refusal
/// (405 deletion disabled, 404, unreachable) leaves it as it was and the error says why. Each request is
/// checked against the authorization policy (`delete` on the repository for the acting user) and
/// audited with the actor, refusals included; removals reach the `RepositoryChangeObserver` in the
/// transaction that records them.
///
/// Threading contract: every method may be called concurrently from any task. Throws `DeletionError`,
/// or `StoreError` when the database fails.
public struct RepositoryDeletion: Sendable {
    /// The audit action names.
    public enum AuditAction {
        /// A tag delete (the digest it pointed at and every tag sharing it).
        public static let tagDelete = "tag.delete"
        /// A repository delete.
        public static let repositoryDelete = "repository.delete"
    }

    private let registry: String
    private let api: any RegistryAPI
    private let store: any Store
    private let authorization: AuthorizationSettings
    private let observer: (any RepositoryChangeObserver)?
    private let logger: Logger

    /// Creates the deletion service for the registry configured as `registry`.
    public init(
        registry: String, api: any RegistryAPI, store: any Store, authorization: AuthorizationSettings,
        observer: (any RepositoryChangeObserver)? = nil, logger: Logger
    ) {
        self.registry = registry
        self.api = api
        self.store = store
        self.authorization = authorization
        self.observer = observer
        self.logger = logger
    }

    /// The principal a command-line user acts as: an enabled local user, with full rights (no
    /// application-token restriction).
    public static func principal(named username: String, in store: any Store) async throws -> Principal {
        let user = try await store.read { try $0.user(named: username) }
        guard let user, user.isEnabled else {
            throw DeletionError(.unknownActor, "no enabled user '\(username)'")
        }
        return Principal(userID: user.id.rawValue, username: user.username, isAdmin: user.isAdmin)
    }

    /// Deletes the manifest `repository:tag` points at, and every tag pointing at it.
    public func deleteTag(_ tag: String, in repository: String, as principal: Principal) async throws
        -> DeletionResult
    {
        let target = "tag:\(repository):\(tag)"
        try await authorize(repository, target: target, action: AuditAction.tagDelete, principal: principal)
        let descriptor: ManifestDescriptor?
        do {
            descriptor = try await api.headManifest(repository, reference: tag)
        } catch let error as RegistryAPIError {
            throw try await refused(error, target: target, action: AuditAction.tagDelete, principal: principal)
        }
        guard let descriptor else {
            let failure = DeletionError(
                .notAtRegistry,
                "the registry holds no tag \(repository):\(tag); nothing was deleted (run 'portcullis registry sync' to "
                    + "drop a stale record)")
            try await audit(AuditAction.tagDelete, target, principal, .failure, ["reason": failure.code.rawValue])
            throw failure
        }
        do {
            try await api.deleteManifest(repository, digest: descriptor.digest)
        } catch let error as RegistryAPIError {
            throw try await refused(error, target: target, action: AuditAction.tagDelete, principal: principal)
        }
        let result = try await record(
            deleted: [descriptor], in: repository, removeRepository: false, action: AuditAction.tagDelete,
            target: target, principal: principal)
        logger.info(
            "tag deleted",
            ["repository": repository, "tag": tag, "digest": descriptor.digest, "actor": principal.username])
        return result
    }

    /// Deletes every manifest the registry's tags of `repository` point at, then the repository.
    ///
    /// Manifests are deleted one digest at a time; if the registry refuses one after accepting others,
    /// the database records exactly the accepted ones and the error (`.partial`) names the rest.
    public func deleteRepository(_ repository: String, as principal: Principal) async throws -> DeletionResult {
        let target = "repository:\(repository)"
        let action = AuditAction.repositoryDelete
        try await authorize(repository, target: target, action: action, principal: principal)
        var manifests: [String: ManifestDescriptor] = [:]
        do {
            guard let tags = try await api.tags(of: repository) else {
                let failure = DeletionError(
                    .notAtRegistry,
                    "the registry holds no repository \(repository); nothing was deleted (run 'portcullis registry "
                        + "sync' to drop a stale record)")
                try await audit(action, target, principal, .failure, ["reason": failure.code.rawValue])
                throw failure
            }
            for tag in tags {
                if let descriptor = try await api.headManifest(repository, reference: tag) {
                    manifests[descriptor.digest] = descriptor
                }
            }
        } catch let error as RegistryAPIError {
            throw try await refused(error, target: target, action: action, principal: principal)
        }
        var deleted: [ManifestDescriptor] = []
        var failure: RegistryAPIError?
        for descriptor in manifests.values.sorted(by: { $0.digest < $1.digest }) {
            do {
                try await api.deleteManifest(repository, digest: descriptor.digest)
                deleted.append(descriptor)
            } catch let error as RegistryAPIError where error.code == .notFound {
                // Gone since the listing (another tag's delete took it): the goal is met.
                deleted.append(descriptor)
            } catch let error as RegistryAPIError {
                failure = error
                break
            }
        }
        if let failure {
            if deleted.isEmpty {
                throw try await refused(failure, target: target, action: action, principal: principal)
            }
            _ = try await record(
                deleted: deleted, in: repository, removeRepository: false, action: action, target: target,
                principal: principal)
            throw DeletionError(
                .partial,
                "the registry deleted \(deleted.count) of \(manifests.count) manifests of \(repository), then refused: "
                    + "\(failure.message); the database records the deleted ones",
                registryError: failure)
        }
        let result = try await record(
            deleted: deleted, in: repository, removeRepository: true, action: action, target: target,
            principal: principal)
        logger.info(
            "repository deleted",
            ["repository": repository, "manifests": "\(deleted.count)", "actor": principal.username])
        return result
    }

    // MARK: - Steps

    private func authorize(_ repository: String, target: String, action: String, principal: Principal) async throws {
        let scope = ResourceScope.repository(repository, [RegistryAction.delete])
        guard RepositoryName.isValid(repository) else {
            throw DeletionError(.invalidName, "'\(repository)' is not a repository name")
        }
        let authorization = authorization
        let granted = try await store.read { reader in
            try AccessResolver.resolve([scope], for: principal, reader: reader, settings: authorization)
        }
        guard granted.first?.granted.actions.contains(RegistryAction.delete) == true else {
            try await audit(action, target, principal, .denied, [:])
            let why =
                authorization.deleteEnabled
                ? "'\(principal.username)' may not delete in \(repository)"
                : "deletion is disabled by the policy (policy.delete.enabled)"
            throw DeletionError(.denied, why)
        }
    }

    private func refused(_ error: RegistryAPIError, target: String, action: String, principal: Principal) async throws
        -> DeletionError
    {
        try await audit(action, target, principal, .failure, ["reason": error.code.rawValue])
        let why: String
        switch error.code {
        case .deletionDisabled:
            why = "the registry refused: deletion is disabled there (storage.delete.enabled: true is needed)"
        case .notFound:
            why = "the registry no longer holds it"
        case .unreachable, .timeout:
            why = "the registry could not be reached (\(error.message))"
        default:
            why = "the registry refused (\(error))"
        }
        return DeletionError(.registryRefused, "\(why); the database is unchanged", registryError: error)
    }

    /// Removes from the database every tag of `repository` pointing at a deleted digest (and the
    /// repository once empty, or unconditionally with `removeRepository`), audits, and notifies.
    private func record(
        deleted: [ManifestDescriptor], in repository: String, removeRepository: Bool, action: String, target: String,
        principal: Principal
    ) async throws -> DeletionResult {
        let registry = registry
        let observer = observer
        let digests = deleted.map(\.digest)
        return try await store.write { writer in
            var removedTags: [String] = []
            var repositoryRemoved = false
            if let (namespace, stored) = try RepositoryNames.find(repository, registry: registry, reader: writer) {
                for descriptor in deleted {
                    let tags = try writer.tags(withDigest: descriptor.digest, in: stored.id)
                    for tag in tags { try writer.deleteTag(tag.id) }
                    removedTags += tags.map(\.name)
                    try observer?.record(
                        RepositoryChange(
                            action: .delete, registry: registry, namespaceID: namespace.id, repository: repository,
                            tags: tags.map(\.name).sorted(), digest: descriptor.digest, mediaType: descriptor.mediaType,
                            size: tags.first?.size, actor: principal.username, occurredAt: Date(),
                            id: UUID().uuidString.lowercased()),
                        in: writer)
                }
                let isEmpty = try writer.tags(in: stored.id).isEmpty
                if removeRepository || isEmpty {
                    try writer.deleteRepository(stored.id)
                    repositoryRemoved = true
                }
            }
            var detail = ["registry": registry, "digests": digests.joined(separator: ",")]
            if repositoryRemoved { detail["repository_removed"] = "true" }
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: action, outcome: .success, actorID: User.ID(principal.userID),
                    actorName: principal.username, target: target, detail: JSONText.object(sortingKeys: detail)))
            return DeletionResult(
                repository: repository, digests: digests, removedTags: removedTags.sorted(),
                repositoryRemoved: repositoryRemoved)
        }
    }

    private func audit(
        _ action: String, _ target: String, _ principal: Principal, _ outcome: AuditOutcome, _ detail: [String: String]
    ) async throws {
        var detail = detail
        detail["registry"] = registry
        let event = NewAuditEvent(
            action: action, outcome: outcome, actorID: User.ID(principal.userID), actorName: principal.username,
            target: target, detail: JSONText.object(sortingKeys: detail))
        _ = try await store.write { try $0.appendAuditEvent(event) }
    }
}
