import Diagnostics
import Foundation
import RegistryCore
import Storage
import Synchronization

/// Why a reconciliation run did not happen, with a stable code.
public typealias ReconciliationError = CodedFailure<ReconciliationErrorCode>

/// The stable codes of a `ReconciliationError`.
public enum ReconciliationErrorCode: String, Sendable, Hashable, CaseIterable {
    /// Another run for the same registry is in progress in this process.
    case alreadyRunning = "reconciliation.already_running"
}

/// What one reconciliation run found and did.
public struct ReconciliationReport: Sendable, Hashable {
    /// The configured registry name.
    public var registry: String
    /// Whether the plan was only shown, not applied.
    public var dryRun: Bool
    /// What the run decided (and, unless `dryRun`, applied).
    public var plan: ReconciliationPlan
    /// How many repositories the registry's catalog listed (`nil`: the catalog failed).
    public var catalogCount: Int?
    /// When the listing began.
    public var startedAt: Date

    /// Creates a report.
    public init(registry: String, dryRun: Bool, plan: ReconciliationPlan, catalogCount: Int?, startedAt: Date) {
        self.registry = registry
        self.dryRun = dryRun
        self.plan = plan
        self.catalogCount = catalogCount
        self.startedAt = startedAt
    }

    /// The report as the CLI prints it: a heading, one line per change, then what was skipped.
    public func rendered() -> String {
        let listed =
            catalogCount.map { "\($0) repositor\($0 == 1 ? "y" : "ies") in the catalog" } ?? "catalog not listed"
        var lines = ["\(registry): \(listed)" + (dryRun ? " (dry run: nothing written)" : "")]
        let verb = dryRun ? "would " : ""
        lines += plan.repositoriesToCreate.map { "  \(verb)create repository \($0)" }
        lines += plan.tagsToAdd.map { "  \(verb)add tag \($0.repository):\($0.tag) \($0.manifest.digest)" }
        lines += plan.tagsToMove.map {
            "  \(verb)move tag \($0.repository):\($0.tag) \($0.previousDigest ?? "?") -> \($0.manifest.digest)"
        }
        lines += plan.tagsToRemove.map { "  \(verb)remove tag \($0.repository):\($0.tag) \($0.digest)" }
        lines += plan.repositoriesToRemove.map { "  \(verb)remove repository \($0)" }
        if plan.isEmpty { lines.append("  no changes") }
        lines += plan.skipped.map { "  skipped \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Brings the store's record of one registry in line with what the registry holds: lists the catalog,
/// every tag list and every tag's manifest digest, builds a `ReconciliationPlan` (which never removes on
/// a failed or partial listing), and applies it in one write transaction, auditing every change.
///
/// Repositories in namespaces Portcullis does not know are created with their namespace, private and
/// owned by the global namespace's (hidden) team, as the event worker does. Sizes and platforms of new
/// or moved tags come from the manifest; when it cannot be fetched they stay unknown. Removals are
/// handed to the `RepositoryChangeObserver` (outgoing webhooks) inside the same transaction.
///
/// Threading contract: `run` may be called from any task; a second run for the same reconciler while
/// one is in progress fails with `.alreadyRunning` instead of waiting. Throws `ReconciliationError`,
/// or `StoreError` when the database fails; registry failures are never thrown, they become skips.
public final class Reconciler: Sendable {
    /// The audit action names of the changes a run applies.
    public enum AuditAction {
        /// A repository found at the registry was recorded.
        public static let repositoryCreate = "registry.sync.repository_create"
        /// A tag found at the registry was recorded.
        public static let tagAdd = "registry.sync.tag_add"
        /// A tag's digest was updated to what the registry holds.
        public static let tagMove = "registry.sync.tag_move"
        /// A tag gone from the registry was removed.
        public static let tagRemove = "registry.sync.tag_remove"
        /// A repository gone from the registry was removed.
        public static let repositoryRemove = "registry.sync.repository_remove"
        /// A namespace unknown to Portcullis was created for a repository found at the registry.
        public static let namespaceCreate = "registry.sync.namespace_create"
    }

    /// The actor name audit records of reconciliation carry.
    public static let actorName = "portcullis:sync"

    private let registry: String
    private let api: any RegistryAPI
    private let store: any Store
    private let observer: (any RepositoryChangeObserver)?
    private let logger: Logger
    private let concurrency: Int
    private let now: @Sendable () -> Date
    private let running = Mutex(false)

    /// Creates a reconciler for the registry configured as `registry`, reached through `api`.
    /// `concurrency` bounds the tag lists and manifest HEADs in flight at once. `now` dates the listing's start:
    /// what the store changed at or after it is newer than the listing and is left for the next run.
    public init(
        registry: String, api: any RegistryAPI, store: any Store, observer: (any RepositoryChangeObserver)? = nil,
        logger: Logger, concurrency: Int = 4, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.registry = registry
        self.api = api
        self.store = store
        self.observer = observer
        self.logger = logger
        self.concurrency = max(1, concurrency)
        self.now = now
    }

    /// Lists the registry, plans, and (unless `dryRun`) applies the plan; returns what it found and did.
    ///
    /// `fence` runs first inside the transaction that applies the plan and may throw to write nothing: a run
    /// under a lease checks there that the lease is still its own (a run that outlived its lease, paused or
    /// cut off from the database, must not overwrite what the next holder's run wrote).
    public func run(dryRun: Bool = false, fence: (@Sendable (any StoreWriting) throws -> Void)? = nil) async throws
        -> ReconciliationReport
    {
        let acquired = running.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
        guard acquired else {
            throw ReconciliationError(.alreadyRunning, "a sync of registry '\(registry)' is already running")
        }
        defer { running.withLock { $0 = false } }

        let startedAt = now()
        let registry = registry
        let (storedNames, globalName) = try await store.read { reader in
            (try CatalogState.stored(in: registry, reader: reader).map(\.name), try reader.globalNamespace()?.name)
        }
        let listing = await list(storedNames: storedNames, globalNamespace: globalName, startedAt: startedAt)
        if dryRun {
            let plan = try await store.read { reader in
                ReconciliationPlan.make(stored: try CatalogState.stored(in: registry, reader: reader), listing: listing)
            }
            return ReconciliationReport(
                registry: registry, dryRun: true, plan: plan, catalogCount: listing.catalog?.count,
                startedAt: startedAt)
        }
        // A first plan names the manifests worth fetching for sizes, outside the write transaction; the
        // applied plan is made again inside it, against the store as it is then.
        let preview = try await store.read { reader in
            ReconciliationPlan.make(stored: try CatalogState.stored(in: registry, reader: reader), listing: listing)
        }
        let facts = await manifestFacts(for: preview.tagsToAdd + preview.tagsToMove)
        let observer = observer
        let plan = try await store.write { writer in
            try fence?(writer)
            let plan = ReconciliationPlan.make(
                stored: try CatalogState.stored(in: registry, reader: writer), listing: listing)
            try CatalogState.apply(plan, registry: registry, facts: facts, observer: observer, writer: writer)
            return plan
        }
        if !plan.isEmpty {
            logger.info(
                "registry reconciled",
                [
                    "registry": registry, "repositories_created": "\(plan.repositoriesToCreate.count)",
                    "tags_added": "\(plan.tagsToAdd.count)", "tags_moved": "\(plan.tagsToMove.count)",
                    "tags_removed": "\(plan.tagsToRemove.count)",
                    "repositories_removed": "\(plan.repositoriesToRemove.count)",
                ])
        }
        return ReconciliationReport(
            registry: registry, dryRun: false, plan: plan, catalogCount: listing.catalog?.count, startedAt: startedAt)
    }

    // MARK: - Listing

    /// Lists the catalog, every tag list and every tag's digest. Names under the global namespace's own
    /// name (`portcullis-global/x`) are not listed: they would be stored as the unprefixed `x`, and the
    /// plan reports them as not listed instead of flip-flopping between the two spellings.
    private func list(storedNames: [String], globalNamespace: String?, startedAt: Date) async -> RegistryListing {
        let api = api
        var catalog: [String]?
        var catalogFailure: String?
        var registryDown = false
        do {
            catalog = try await api.catalog()
        } catch {
            // An unreachable registry would make every tag list below retry and fail the same way.
            if let failure = error as? RegistryAPIError, failure.code == .unreachable || failure.code == .timeout {
                registryDown = true
            }
            catalogFailure = "\(error)"
            logger.warning("registry catalog could not be listed", ["registry": registry, "error": "\(error)"])
        }
        let names = Set(storedNames).union(catalog ?? []).sorted().filter { name in
            globalNamespace.map { !name.hasPrefix($0 + "/") } ?? true
        }
        if registryDown {
            let reason = "not asked: the catalog call found the registry unreachable"
            return RegistryListing(
                catalog: nil, catalogFailure: catalogFailure,
                repositories: Dictionary(uniqueKeysWithValues: names.map { ($0, .failed(reason)) }),
                startedAt: startedAt)
        }
        let tagLists = await boundedMap(names, limit: concurrency) { name -> (String, Result<[String]?, any Error>) in
            do { return (name, .success(try await api.tags(of: name))) } catch { return (name, .failure(error)) }
        }
        var outcomes: [String: RepositoryListingOutcome] = [:]
        var heads: [(repository: String, tag: String)] = []
        for (name, result) in tagLists {
            switch result {
            case .failure(let error): outcomes[name] = .failed("\(error)")
            case .success(nil): outcomes[name] = .noSuchRepository
            case .success(let tags?):
                outcomes[name] = .tags([:])
                heads += Set(tags).sorted().map { (name, $0) }
            }
        }
        let headed = await boundedMap(heads, limit: concurrency) { item -> (String, String, TagHeadOutcome) in
            do {
                let descriptor = try await api.headManifest(item.repository, reference: item.tag)
                return (item.repository, item.tag, descriptor.map(TagHeadOutcome.manifest) ?? .missing)
            } catch {
                return (item.repository, item.tag, .failed("\(error)"))
            }
        }
        var byRepository: [String: [String: TagHeadOutcome]] = [:]
        for (repository, tag, outcome) in headed { byRepository[repository, default: [:]][tag] = outcome }
        for (repository, tags) in byRepository { outcomes[repository] = .tags(tags) }
        return RegistryListing(
            catalog: catalog, catalogFailure: catalogFailure, repositories: outcomes, startedAt: startedAt)
    }

    /// Sizes and platforms of the manifests about to be recorded, by digest; a manifest that cannot be
    /// fetched or read is simply absent (its tag's size stays unknown).
    private func manifestFacts(for tags: [PlannedTag]) async -> [String: ManifestFacts] {
        var seen = Set<String>()
        let unique = tags.filter { seen.insert($0.manifest.digest).inserted }
        let api = api
        let fetched = await boundedMap(unique, limit: concurrency) { tag -> (String, ManifestFacts?) in
            guard let manifest = try? await api.manifest(tag.repository, reference: tag.manifest.digest) else {
                return (tag.manifest.digest, nil)
            }
            return (tag.manifest.digest, ManifestFacts(manifest))
        }
        var facts: [String: ManifestFacts] = [:]
        for case (let digest, let found?) in fetched { facts[digest] = found }
        return facts
    }
}

/// What reconciliation records from a manifest document: the image size of an image manifest (an
/// index's would need every child's document, so it stays unknown, as "cheap or unknown" asks) and the
/// platforms of an index.
struct ManifestFacts: Sendable, Hashable {
    var size: Int64?
    var platforms: [String]

    /// Reads `manifest`; nil when it is not a manifest document Portcullis understands.
    init?(_ manifest: FetchedManifest) {
        guard let summary = try? ManifestSummary.parse(manifest.body, servedMediaType: manifest.descriptor.mediaType)
        else { return nil }
        size = summary.imageSize
        platforms = summary.platforms
    }
}

/// Runs `body` over `items` with at most `limit` in flight, returning results in input order.
func boundedMap<Item: Sendable, Result: Sendable>(
    _ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async -> Result
) async -> [Result] {
    await withTaskGroup(of: (Int, Result).self) { group in
        var results = [Result?](repeating: nil, count: items.count)
        var next = 0
        while next < min(limit, items.count) {
            let index = next
            group.addTask { (index, await body(items[index])) }
            next += 1
        }
        while let (index, result) = await group.next() {
            results[index] = result
            if next < items.count {
                let index = next
                group.addTask { (index, await body(items[index])) }
                next += 1
            }
        }
        return results.compactMap { $0 }
    }
}

/// The store side of reconciliation: reading one registry's repositories by full name, and applying a plan.
enum CatalogState {
    /// Every repository of `registry` the store holds, named as the registry names it.
    static func stored(in registry: String, reader: any StoreReading) throws -> [StoredRepositoryState] {
        var namespaceNames: [Namespace.ID: Namespace] = [:]
        return try reader.repositories(ofRegistry: registry).map { repository in
            let namespace: Namespace?
            if let known = namespaceNames[repository.namespaceID] {
                namespace = known
            } else {
                namespace = try reader.namespace(id: repository.namespaceID)
                namespaceNames[repository.namespaceID] = namespace
            }
            let tags = try reader.tags(in: repository.id).map {
                StoredTagState(name: $0.name, digest: $0.digest, updatedAt: $0.updatedAt)
            }
            return StoredRepositoryState(
                name: RepositoryNames.fullName(repository.name, in: namespace), createdAt: repository.createdAt,
                tags: tags)
        }
    }

    /// Applies `plan` in the caller's write transaction: creates, records, removes, audits, and tells the
    /// observer of every removal.
    static func apply(
        _ plan: ReconciliationPlan, registry: String, facts: [String: ManifestFacts],
        observer: (any RepositoryChangeObserver)?, writer: any StoreWriting
    ) throws {
        let now = Date()
        func audit(_ action: String, _ target: String, _ detail: [String: String]) throws {
            var detail = detail
            detail["registry"] = registry
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: action, outcome: .success, actorName: Reconciler.actorName, target: target,
                    detail: JSONText.object(sortingKeys: detail)))
        }
        for name in plan.repositoriesToCreate {
            let located = try RepositoryNames.locate(name, registry: registry, creating: true, writer: writer)
            if located.createdNamespace {
                try audit(Reconciler.AuditAction.namespaceCreate, "namespace:\(located.namespace.name)", [:])
            }
            try audit(Reconciler.AuditAction.repositoryCreate, "repository:\(name)", [:])
        }
        for (planned, action) in plan.tagsToAdd.map({ ($0, Reconciler.AuditAction.tagAdd) })
            + plan.tagsToMove.map({ ($0, Reconciler.AuditAction.tagMove) })
        {
            guard
                let repository = try RepositoryNames.locate(
                    planned.repository, registry: registry, creating: true, writer: writer
                ).repository
            else { continue }
            let found = facts[planned.manifest.digest]
            _ = try writer.recordTagPush(
                TagPush(
                    repositoryID: repository.id, name: planned.tag, digest: planned.manifest.digest,
                    mediaType: planned.manifest.mediaType, size: found?.size, platforms: found?.platforms ?? []))
            var detail = ["digest": planned.manifest.digest]
            if let previous = planned.previousDigest { detail["previous_digest"] = previous }
            try audit(action, "tag:\(planned.repository):\(planned.tag)", detail)
        }
        // Removed tags grouped by repository and digest: one delete notification per manifest, as a
        // registry delete by digest would produce.
        var removals: [String: [String: [String]]] = [:]
        for removal in plan.tagsToRemove {
            guard
                let (_, repository) = try RepositoryNames.find(removal.repository, registry: registry, reader: writer),
                let tag = try writer.tag(named: removal.tag, in: repository.id)
            else { continue }
            try writer.deleteTag(tag.id)
            removals[removal.repository, default: [:]][removal.digest, default: []].append(removal.tag)
            try audit(
                Reconciler.AuditAction.tagRemove, "tag:\(removal.repository):\(removal.tag)", ["digest": removal.digest]
            )
        }
        for (repositoryName, byDigest) in removals.sorted(by: { $0.key < $1.key }) {
            guard let observer else { break }
            guard let (namespace, _) = try RepositoryNames.find(repositoryName, registry: registry, reader: writer)
            else { continue }
            for (digest, tags) in byDigest.sorted(by: { $0.key < $1.key }) {
                try observer.record(
                    RepositoryChange(
                        action: .delete, registry: registry, namespaceID: namespace.id,
                        repository: repositoryName, tags: tags.sorted(), digest: digest, mediaType: nil, size: nil,
                        actor: nil, occurredAt: now, id: UUID().uuidString.lowercased()),
                    in: writer)
            }
        }
        for name in plan.repositoriesToRemove {
            guard let (_, repository) = try RepositoryNames.find(name, registry: registry, reader: writer) else {
                continue
            }
            try writer.deleteRepository(repository.id)
            try audit(Reconciler.AuditAction.repositoryRemove, "repository:\(name)", [:])
        }
    }
}

/// How a registry's repository names (`namespace/name`, or `name` in the global namespace) map onto
/// the store's namespaces and repositories.
enum RepositoryNames {
    /// The name the registry uses for `repositoryName` stored in `namespace`.
    static func fullName(_ repositoryName: String, in namespace: Namespace?) -> String {
        guard let namespace else { return repositoryName }
        return Repository.fullName(repositoryName, namespace: namespace.name, kind: namespace.kind)
    }

    struct Located {
        var namespace: Namespace
        var repository: Repository?
        var createdNamespace = false
    }

    enum Failure: Error, CustomStringConvertible {
        case noGlobalNamespace
        case noSuchNamespace(String)

        var description: String {
            switch self {
            case .noGlobalNamespace: "the global namespace does not exist (run 'portcullis db migrate')"
            case .noSuchNamespace(let name): "namespace '\(name)' does not exist"
            }
        }
    }

    /// Finds (and with `creating`, makes) the namespace and repository of `fullName` in `registry`.
    /// A namespace made here is private and owned by the global namespace's team, as Portus did.
    static func locate(_ fullName: String, registry: String, creating: Bool, writer: any StoreWriting) throws
        -> Located
    {
        let (namespaceName, name) = RepositoryName.split(fullName)
        var createdNamespace = false
        let namespace: Namespace
        if let namespaceName {
            if let found = try writer.namespace(named: namespaceName) {
                namespace = found
            } else {
                guard creating else { throw Failure.noSuchNamespace(namespaceName) }
                guard let global = try writer.globalNamespace() else { throw Failure.noGlobalNamespace }
                namespace = try writer.createNamespace(
                    name: namespaceName, team: global.teamID, visibility: .private, kind: .regular, personalOwner: nil,
                    description: nil)
                createdNamespace = true
            }
        } else {
            guard let global = try writer.globalNamespace() else { throw Failure.noGlobalNamespace }
            namespace = global
        }
        var repository = try writer.repository(named: name, in: namespace.id, registry: registry)
        if repository == nil && creating {
            repository = try writer.createRepository(name: name, in: namespace.id, registry: registry)
        }
        return Located(namespace: namespace, repository: repository, createdNamespace: createdNamespace)
    }

    /// Read-only lookup of a repository by its registry name.
    static func find(_ fullName: String, registry: String, reader: any StoreReading) throws
        -> (namespace: Namespace, repository: Repository)?
    {
        let (namespaceName, name) = RepositoryName.split(fullName)
        guard let namespace = try namespaceName.map({ try reader.namespace(named: $0) }) ?? reader.globalNamespace(),
            let repository = try reader.repository(named: name, in: namespace.id, registry: registry)
        else { return nil }
        return (namespace, repository)
    }
}
