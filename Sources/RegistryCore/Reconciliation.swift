import Foundation

// The pure half of catalog reconciliation: given what the store holds for one registry and what the
// registry answered, decide what to change. No I/O happens here, so every safety rule is table-tested.
//
// The rules (portus-behaviour.md departure 6, Portus #663/#1664):
// - nothing is removed unless the whole catalog was answered;
// - a tag is removed only when its repository's tag list was answered and the tag is absent;
// - a repository is removed only when the catalog was answered and it is absent from it, or when its
//   own tag list was answered empty (the registry keeps emptied repositories in its catalog, and the
//   event worker drops a repository whose last tag goes, so reconciliation does the same);
// - a tag whose HEAD failed, or that vanished between the list and the HEAD, is kept as it is;
// - anything the store changed after the listing began is left alone, because the listing may
//   predate it (a push recorded by the event worker while the reconciler was listing).

/// One tag as the store holds it.
public struct StoredTagState: Sendable, Hashable {
    /// The tag name.
    public var name: String
    /// The manifest digest the store records.
    public var digest: String
    /// When the store last changed the tag.
    public var updatedAt: Date

    /// Describes a stored tag.
    public init(name: String, digest: String, updatedAt: Date) {
        self.name = name
        self.digest = digest
        self.updatedAt = updatedAt
    }
}

/// One repository as the store holds it, by its full name (`namespace/name`, or `name` in the global
/// namespace).
public struct StoredRepositoryState: Sendable, Hashable {
    /// The full repository name as the registry spells it.
    public var name: String
    /// When the store created the repository.
    public var createdAt: Date
    /// Its tags.
    public var tags: [StoredTagState]

    /// Describes a stored repository.
    public init(name: String, createdAt: Date, tags: [StoredTagState]) {
        self.name = name
        self.createdAt = createdAt
        self.tags = tags
    }
}

/// What a HEAD of one tag answered.
public enum TagHeadOutcome: Sendable, Hashable {
    /// The manifest the tag points at.
    case manifest(ManifestDescriptor)
    /// The registry said the tag does not exist (it vanished after the tag list was read).
    case missing
    /// The HEAD failed; the reason is kept for the report.
    case failed(String)
}

/// What the registry answered about one repository's tags.
public enum RepositoryListingOutcome: Sendable, Hashable {
    /// The complete tag list, with each tag's HEAD outcome.
    case tags([String: TagHeadOutcome])
    /// The registry answered that the repository does not exist.
    case noSuchRepository
    /// Listing its tags failed; the reason is kept for the report.
    case failed(String)
}

/// What the registry answered, for one reconciliation run.
public struct RegistryListing: Sendable, Hashable {
    /// The complete catalog, or `nil` when it could not be listed.
    public var catalog: [String]?
    /// Why the catalog could not be listed, when it could not.
    public var catalogFailure: String?
    /// Per repository (catalog entries and stored repositories alike), what its tag list answered.
    /// A repository missing here was not listed at all.
    public var repositories: [String: RepositoryListingOutcome]
    /// When the listing began: store changes from then on are newer than the listing.
    public var startedAt: Date

    /// Describes a listing.
    public init(
        catalog: [String]?, catalogFailure: String? = nil, repositories: [String: RepositoryListingOutcome],
        startedAt: Date
    ) {
        self.catalog = catalog
        self.catalogFailure = catalogFailure
        self.repositories = repositories
        self.startedAt = startedAt
    }
}

/// A tag the plan adds or moves.
public struct PlannedTag: Sendable, Hashable {
    /// The full repository name.
    public var repository: String
    /// The tag name.
    public var tag: String
    /// The manifest it points at, as the registry reported.
    public var manifest: ManifestDescriptor
    /// The digest the store recorded before, for a move.
    public var previousDigest: String?

    /// Describes a planned tag.
    public init(repository: String, tag: String, manifest: ManifestDescriptor, previousDigest: String? = nil) {
        self.repository = repository
        self.tag = tag
        self.manifest = manifest
        self.previousDigest = previousDigest
    }
}

/// A tag the plan removes.
public struct PlannedTagRemoval: Sendable, Hashable {
    /// The full repository name.
    public var repository: String
    /// The tag name.
    public var tag: String
    /// The digest the store recorded.
    public var digest: String

    /// Describes a planned removal.
    public init(repository: String, tag: String, digest: String) {
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }
}

/// Something the plan deliberately left alone, and why.
public struct ReconciliationSkip: Sendable, Hashable, CustomStringConvertible {
    /// Why something was left alone; stable codes for scripts and tests.
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// The catalog could not be listed, so nothing is removed anywhere.
        case catalogFailed = "catalog_failed"
        /// The repository's tag list could not be listed, so none of its tags is removed.
        case tagListFailed = "tag_list_failed"
        /// A tag's HEAD failed, so the tag is kept as it is.
        case tagHeadFailed = "tag_head_failed"
        /// The tag vanished between the tag list and its HEAD; the next run settles it.
        case tagVanished = "tag_vanished"
        /// The store changed this after the listing began; the next run settles it.
        case changedDuringListing = "changed_during_listing"
        /// The repository holds no tag at the registry, so there is nothing to record.
        case emptyAtRegistry = "empty_at_registry"
        /// The repository was not listed (it appeared only in the catalog but was never asked about).
        case notListed = "not_listed"
    }

    /// The full repository name.
    public var repository: String
    /// The tag, when the skip concerns one tag.
    public var tag: String?
    /// Why.
    public var reason: Reason
    /// The failure message behind it, if any.
    public var detail: String?

    /// Describes a skip.
    public init(repository: String, tag: String? = nil, reason: Reason, detail: String? = nil) {
        self.repository = repository
        self.tag = tag
        self.reason = reason
        self.detail = detail
    }

    /// `repo[:tag]: reason (detail)`.
    public var description: String {
        let subject = tag.map { "\(repository):\($0)" } ?? (repository.isEmpty ? "catalog" : repository)
        return "\(subject): \(reason.rawValue)" + (detail.map { " (\($0))" } ?? "")
    }
}

/// What one reconciliation run changes in the store.
public struct ReconciliationPlan: Sendable, Hashable {
    /// Repositories the registry holds that the store lacks (each gets at least one added tag).
    public var repositoriesToCreate: [String] = []
    /// Tags the registry holds that the store lacks.
    public var tagsToAdd: [PlannedTag] = []
    /// Tags whose digest changed at the registry (`previousDigest` set).
    public var tagsToMove: [PlannedTag] = []
    /// Tags the store holds that the registry answered it lacks.
    public var tagsToRemove: [PlannedTagRemoval] = []
    /// Repositories gone from the registry (their remaining tags are in `tagsToRemove`).
    public var repositoriesToRemove: [String] = []
    /// What was deliberately left alone.
    public var skipped: [ReconciliationSkip] = []

    /// Creates an empty plan.
    public init() {}

    /// Whether the plan changes nothing.
    public var isEmpty: Bool {
        repositoriesToCreate.isEmpty && tagsToAdd.isEmpty && tagsToMove.isEmpty && tagsToRemove.isEmpty
            && repositoriesToRemove.isEmpty
    }

    /// Decides what to change so the store matches the registry's answers, under the safety rules
    /// stated at the top of this file. Output lists are sorted by repository, then tag.
    public static func make(stored: [StoredRepositoryState], listing: RegistryListing) -> ReconciliationPlan {
        var plan = ReconciliationPlan()
        let mayRemove = listing.catalog != nil
        if !mayRemove {
            plan.skipped.append(
                ReconciliationSkip(repository: "", reason: .catalogFailed, detail: listing.catalogFailure))
        }
        let catalog = Set(listing.catalog ?? [])
        let storedByName = Dictionary(stored.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let names = Set(storedByName.keys).union(catalog).union(listing.repositories.keys).sorted()

        for name in names {
            let current = storedByName[name]
            let isNewerThanListing = current.map { $0.createdAt >= listing.startedAt } ?? false
            switch listing.repositories[name] {
            case .failed(let reason):
                plan.skipped.append(ReconciliationSkip(repository: name, reason: .tagListFailed, detail: reason))
            case nil:
                guard let current else {
                    plan.skipped.append(ReconciliationSkip(repository: name, reason: .notListed))
                    continue
                }
                // Never asked about: only a complete catalog that lacks it can speak for it.
                if mayRemove && !catalog.contains(name) {
                    plan.planRemoval(of: current, newerThanListing: isNewerThanListing, startedAt: listing.startedAt)
                } else if mayRemove {
                    plan.skipped.append(ReconciliationSkip(repository: name, reason: .notListed))
                }
            case .noSuchRepository:
                guard let current else { continue }
                if mayRemove {
                    plan.planRemoval(of: current, newerThanListing: isNewerThanListing, startedAt: listing.startedAt)
                }
            case .tags(let answered):
                plan.planTags(
                    of: name, current: current, answered: answered, mayRemove: mayRemove,
                    newerThanListing: isNewerThanListing, startedAt: listing.startedAt)
            }
        }
        return plan
    }

    /// Removes a repository and every stored tag, unless the store changed any of it during the listing.
    private mutating func planRemoval(of repository: StoredRepositoryState, newerThanListing: Bool, startedAt: Date) {
        let changed = newerThanListing || repository.tags.contains { $0.updatedAt >= startedAt }
        guard !changed else {
            skipped.append(ReconciliationSkip(repository: repository.name, reason: .changedDuringListing))
            return
        }
        for tag in repository.tags.sorted(by: { $0.name < $1.name }) {
            tagsToRemove.append(PlannedTagRemoval(repository: repository.name, tag: tag.name, digest: tag.digest))
        }
        repositoriesToRemove.append(repository.name)
    }

    private mutating func planTags(
        of name: String, current: StoredRepositoryState?, answered: [String: TagHeadOutcome], mayRemove: Bool,
        newerThanListing: Bool, startedAt: Date
    ) {
        let storedTags = Dictionary(
            (current?.tags ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var additions: [PlannedTag] = []
        var keptTags = 0
        for tagName in Set(storedTags.keys).union(answered.keys).sorted() {
            let storedTag = storedTags[tagName]
            let changedSince = storedTag.map { $0.updatedAt >= startedAt } ?? false
            switch answered[tagName] {
            case nil:
                guard let storedTag else { continue }
                if !mayRemove {
                    keptTags += 1
                } else if changedSince {
                    keptTags += 1
                    skipped.append(ReconciliationSkip(repository: name, tag: tagName, reason: .changedDuringListing))
                } else {
                    tagsToRemove.append(PlannedTagRemoval(repository: name, tag: tagName, digest: storedTag.digest))
                }
            case .failed(let reason):
                if storedTag != nil { keptTags += 1 }
                skipped.append(
                    ReconciliationSkip(repository: name, tag: tagName, reason: .tagHeadFailed, detail: reason))
            case .missing:
                if storedTag != nil { keptTags += 1 }
                skipped.append(ReconciliationSkip(repository: name, tag: tagName, reason: .tagVanished))
            case .manifest(let manifest):
                if let storedTag {
                    keptTags += 1
                    guard storedTag.digest != manifest.digest else { continue }
                    if changedSince {
                        skipped.append(
                            ReconciliationSkip(repository: name, tag: tagName, reason: .changedDuringListing))
                    } else {
                        tagsToMove.append(
                            PlannedTag(
                                repository: name, tag: tagName, manifest: manifest, previousDigest: storedTag.digest))
                    }
                } else {
                    additions.append(PlannedTag(repository: name, tag: tagName, manifest: manifest))
                }
            }
        }
        tagsToAdd += additions
        if current == nil {
            if additions.isEmpty {
                if answered.isEmpty { skipped.append(ReconciliationSkip(repository: name, reason: .emptyAtRegistry)) }
            } else {
                repositoriesToCreate.append(name)
            }
        } else if answered.isEmpty && keptTags == 0 && mayRemove && !newerThanListing {
            // Emptied at the registry (which keeps the name in its catalog): drop it as the event worker does.
            repositoriesToRemove.append(name)
        }
    }
}
