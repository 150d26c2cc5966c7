import Diagnostics
import Foundation
import RegistryCore
import Storage
import Synchronization
import Threading

/// Processes stored registry events, oldest first, into repositories, tags, pulls and deletions.
///
/// Every instance on the database runs one: a worker claims events (`QueueClaiming.claimRegistryEvents`, at
/// most one per repository at a time, so one repository's events are applied in the order received) and
/// applies each in one write transaction (with its audit lines and the observer's follow-up work) that moves it
/// out of `pending` only while this worker's claim still holds. An event is therefore applied exactly once
/// however many instances drain the queue: a crash before the commit applies nothing, and a worker that lost
/// its claim (it paused past the lease and another instance took the event over) rolls its work back. A
/// replayed event id is never stored twice. Manifests are fetched through the registry's `RegistryAPI` before
/// that transaction. A malformed or surprising event is marked `failed` with its reason and the worker goes
/// on; only a database that cannot be reached stops a pass (the events stay claimed until their lease ends,
/// or until this worker's next pass claims them again).
///
/// Thread-safe: `processPending()` runs one pass at a time (concurrent callers wait for each other);
/// `wake()` may be called from anywhere.
public final class RegistryEventWorker: Sendable {
    /// Where pushes into unknown namespaces go.
    public struct Provisioning: Sendable, Hashable {
        /// The name of the global namespace (images without a namespace, `busybox`) and of its hidden team,
        /// which owns namespaces created by pushes; both are created when missing.
        public var globalNamespaceName: String

        /// Describes where pushes into unknown namespaces go.
        public init(globalNamespaceName: String) {
            self.globalNamespaceName = globalNamespaceName
        }
    }

    private let store: any Store
    private let registries: [String: any RegistryAPI]
    private let observer: (any RepositoryChangeObserver)?
    private let provisioning: Provisioning
    private let logger: Logger
    private let batchSize: Int
    private let holder: String
    private let claimLease: Duration
    private let now: @Sendable () -> Date
    private let signal = WakeSignal()
    private let passLock = PassLock()

    /// Creates a worker; `registries` maps each configured registry name to its API client. `holder` names it
    /// in claims (unique per worker and process start; the default is); a claim lasts `claimLease`, after
    /// which another instance may take the event over, so it must exceed the time a batch of `batchSize`
    /// events takes (fetching manifests included). `now` is the clock of the claims.
    public init(
        store: any Store, registries: [String: any RegistryAPI], observer: (any RepositoryChangeObserver)? = nil,
        provisioning: Provisioning, logger: Logger, batchSize: Int = 100, holder: String? = nil,
        claimLease: Duration = .seconds(300), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.registries = registries
        self.observer = observer
        self.provisioning = provisioning
        self.logger = logger
        self.batchSize = max(1, batchSize)
        self.holder = holder ?? "events/\(getpid())/" + UUID().uuidString.prefix(8).lowercased()
        self.claimLease = claimLease
        self.now = now
    }

    /// Makes the running loop look for events now instead of at its next poll.
    public func wake() { signal.signal() }

    /// Runs passes until the task is cancelled: at once, then whenever woken or every `pollInterval`; with a
    /// `retention`, also deletes finished events older than it, at most once an hour, when `prunesHere` says
    /// so (pruning is a singleton job; passes run on every instance).
    public func run(
        pollInterval: Duration, retention: Duration? = nil, prunesHere: @escaping @Sendable () async -> Bool = { true }
    ) async {
        var lastPrune: ContinuousClock.Instant?
        while !Task.isCancelled {
            do { _ = try await processPending() } catch is CancellationError { return } catch {
                logger.warning("registry event pass stopped", ["error": "\(error)"])
            }
            if let retention, lastPrune.map({ ContinuousClock.now - $0 >= .seconds(3600) }) ?? true,
                await prunesHere()
            {
                lastPrune = ContinuousClock.now
                await prune(olderThan: retention)
            }
            _ = await signal.wait(upTo: pollInterval)
        }
    }

    /// Deletes the events that finished more than `retention` ago; pending ones stay. Returns how many went
    /// (0 when the database failed, which is logged).
    @discardableResult
    public func prune(olderThan retention: Duration, now: Date = Date()) async -> Int {
        let cutoff = now.addingTimeInterval(-retention.inSeconds)
        do {
            let pruned = try await store.write { try $0.pruneRegistryEvents(finishedBefore: cutoff) }
            if pruned > 0 { logger.info("registry events pruned", ["count": String(pruned)]) }
            return pruned
        } catch {
            logger.warning("registry events not pruned", ["error": "\(error)"])
            return 0
        }
    }

    /// What one pass did.
    public struct PassReport: Sendable, Hashable {
        /// Events moved to `processed`.
        public var processed = 0
        /// Events moved to `ignored`.
        public var ignored = 0
        /// Events moved to `failed`.
        public var failed = 0
        /// Events whose claim was lost to another worker before this one finished them (they are that worker's).
        public var lost = 0

        /// An empty report.
        public init() {}
    }

    /// Claims and processes pending events until none is left to claim (including those stored meanwhile;
    /// events other instances hold are theirs); throws only when the database fails or the task is cancelled,
    /// leaving the rest pending.
    @discardableResult
    public func processPending() async throws -> PassReport {
        try await passLock.run {
            var report = PassReport()
            while true {
                try Task.checkCancellation()
                let (limit, holder, claimedAt) = (batchSize, holder, now())
                let lease = claimedAt.addingTimeInterval(claimLease.inSeconds)
                let batch = try await store.claim {
                    try $0.claimRegistryEvents(limit: limit, holder: holder, leaseUntil: lease, at: claimedAt)
                }
                if batch.isEmpty { return report }
                for claimed in batch {
                    try Task.checkCancellation()
                    // Past the lease another instance may have the rest; claim afresh rather than work in vain.
                    if now() >= lease { break }
                    switch try await process(claimed) {
                    case .processed: report.processed += 1
                    case .ignored: report.ignored += 1
                    case .failed: report.failed += 1
                    case .pending: report.lost += 1
                    }
                }
            }
        }
    }

    // MARK: One event

    /// Applies one claimed event; `.pending` when the claim was lost and nothing was recorded.
    private func process(_ claimed: ClaimedRegistryEvent) async throws -> RegistryEventState {
        let event = claimed.event
        let notification: RegistryNotification
        switch RegistryNotification.parse(event.payload) {
        case .success(let parsed): notification = parsed
        case .failure(let error):
            return try await finish(claimed, .failed, error.description)
        }
        if let reason = ignoredReason(notification) {
            return try await finish(claimed, .ignored, reason)
        }
        var fetched: FetchedFacts?
        if notification.action == .push {
            fetched = await fetchFacts(of: notification, registry: event.registry)
        }
        let context = EventContext(
            event: event, notification: notification, fetched: fetched, observer: observer, provisioning: provisioning)
        let claim = claimed.claim
        do {
            let (state, note) = try await store.write { writer -> (RegistryEventState, String?) in
                let (state, note) = try context.apply(in: writer)
                // Last, so a lost claim rolls back everything applied above.
                guard try writer.finishRegistryEvent(event.id, under: claim, state: state, error: note) else {
                    throw ClaimLost()
                }
                return (state, note)
            }
            if let note, state == .processed {
                logger.info(
                    "registry event processed with a note",
                    ["registry": event.registry, "event": event.eventID, "note": note])
            }
            return state
        } catch is ClaimLost {
            logClaimLost(event)
            return .pending
        } catch let error as StoreError where error.code == .unavailable || error.code == .closed {
            throw error
        } catch {
            logger.warning(
                "registry event failed",
                ["registry": event.registry, "event": event.eventID, "error": "\(error)"])
            return try await finish(claimed, .failed, "\(error)")
        }
    }

    /// Records an outcome reached without applying anything; `.pending` when the claim was lost.
    private func finish(_ claimed: ClaimedRegistryEvent, _ state: RegistryEventState, _ reason: String?)
        async throws -> RegistryEventState
    {
        let (id, claim) = (claimed.event.id, claimed.claim)
        let finished = try await store.write {
            try $0.finishRegistryEvent(id, under: claim, state: state, error: reason)
        }
        guard finished else {
            logClaimLost(claimed.event)
            return .pending
        }
        return state
    }

    private func logClaimLost(_ event: RegistryEvent) {
        logger.notice(
            "registry event left to the worker that claimed it again (this worker's claim lapsed)",
            ["registry": event.registry, "event": event.eventID, "holder": holder])
    }

    /// Why an event needs no work, or nil when it does.
    private func ignoredReason(_ notification: RegistryNotification) -> String? {
        let target = notification.target
        switch notification.action {
        case .mount:
            return "mounts change no tag"
        case .push:
            guard target.isManifest else { return "blob pushes change no tag" }
            guard target.tag != nil else { return "a manifest pushed by digest carries no tag" }
        case .pull:
            guard target.isManifest else { return "blob pulls are not counted" }
            guard target.tag != nil else { return "pulls by digest are not tag pulls" }
            if notification.actor == RegistryClientIdentity.subject { return "Portcullis's own read" }
        case .delete:
            break
        }
        return nil
    }

    // MARK: Manifest facts (outside the write transaction)

    /// What the registry says about a pushed manifest, or why it could not say.
    struct FetchedFacts: Sendable {
        var mediaType: String?
        var size: Int64?
        var platforms: [String] = []
        var note: String?
    }

    private func fetchFacts(of notification: RegistryNotification, registry: String) async -> FetchedFacts {
        guard let digest = notification.target.digest else { return FetchedFacts(note: "no digest") }
        guard let api = registries[registry] else {
            return FetchedFacts(note: "size unknown: registry \(registry) has no API client configured")
        }
        let repository = notification.target.repository
        do {
            guard let manifest = try await api.manifest(repository, reference: digest) else {
                return FetchedFacts(note: "size unknown: the registry no longer has the manifest")
            }
            let summary = try ManifestSummary.parse(manifest.body, servedMediaType: manifest.descriptor.mediaType)
            switch summary.kind {
            case .image:
                return FetchedFacts(mediaType: summary.mediaType, size: summary.imageSize)
            case .index:
                var sizes: [String: Int64] = [:]
                var problem: String?
                for child in summary.children where sizes[child.digest] == nil {
                    do {
                        guard let document = try await api.manifest(repository, reference: child.digest) else {
                            problem = "child \(child.digest) is missing"
                            break
                        }
                        let childSummary = try ManifestSummary.parse(
                            document.body, servedMediaType: document.descriptor.mediaType)
                        guard let size = childSummary.imageSize else {
                            problem = "child \(child.digest) is itself an index"
                            break
                        }
                        sizes[child.digest] = size
                    } catch {
                        problem = "child \(child.digest): \(error)"
                        break
                    }
                }
                let size = problem == nil ? summary.indexImageSize(childSizes: sizes) : nil
                return FetchedFacts(
                    mediaType: summary.mediaType, size: size, platforms: summary.platforms,
                    note: problem.map { "size unknown: \($0)" })
            }
        } catch {
            return FetchedFacts(note: "size unknown: \(error)")
        }
    }
}

/// Thrown inside an event's write transaction to roll it back when the event's claim was lost.
private struct ClaimLost: Error {}

/// Serializes passes: the loop and a direct caller (a test, a CLI) never process the same event twice.
private actor PassLock {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        while busy { await withCheckedContinuation { waiters.append($0) } }
        busy = true
        defer {
            busy = false
            if !waiters.isEmpty { waiters.removeFirst().resume() }
        }
        return try await body()
    }
}

/// The database side of one event, run inside its write transaction.
private struct EventContext: Sendable {
    let event: RegistryEvent
    let notification: RegistryNotification
    let fetched: RegistryEventWorker.FetchedFacts?
    let observer: (any RepositoryChangeObserver)?
    let provisioning: RegistryEventWorker.Provisioning

    var registry: String { event.registry }
    var fullName: String { notification.target.repository }

    /// The namespace name and the name inside it (`alice/demo` → `alice`, `demo`; `busybox` → global).
    var split: (namespace: String?, name: String) { RepositoryName.split(fullName) }

    func apply(in writer: any StoreWriting) throws -> (RegistryEventState, String?) {
        switch notification.action {
        case .push: return try push(in: writer)
        case .pull: return try pull(in: writer)
        case .delete: return try delete(in: writer)
        case .mount: return (.ignored, "mounts change no tag")
        }
    }

    // MARK: Push

    private func push(in writer: any StoreWriting) throws -> (RegistryEventState, String?) {
        guard let tagName = notification.target.tag, let digest = notification.target.digest else {
            return (.ignored, "a manifest pushed by digest carries no tag")
        }
        let author = try notification.actor.flatMap { try writer.user(named: $0) }
        let namespace = try namespaceForPush(in: writer, author: author)
        let repository: Repository
        if let existing = try writer.repository(named: split.name, in: namespace.id, registry: registry) {
            repository = existing
        } else {
            repository = try writer.createRepository(name: split.name, in: namespace.id, registry: registry)
        }
        let previous = try writer.tag(named: tagName, in: repository.id)
        let mediaType = fetched?.mediaType ?? notification.target.mediaType
        let tag = try writer.recordTagPush(
            TagPush(
                repositoryID: repository.id, name: tagName, digest: digest, mediaType: mediaType, size: fetched?.size,
                pushedByID: author?.id, pushedByName: notification.actor, platforms: fetched?.platforms ?? [],
                pushedAt: notification.timestamp))
        var detail: [String: JSONValue] = [
            "registry": .string(registry), "digest": .string(digest), "event": .string(event.eventID),
        ]
        if let previous, previous.digest != digest { detail["previousDigest"] = .string(previous.digest) }
        if let size = tag.size { detail["size"] = .integer(size) }
        _ = try writer.appendAuditEvent(
            NewAuditEvent(
                action: previous == nil ? "tag.push" : "tag.repush", outcome: .success, actorID: author?.id,
                actorName: notification.actor, target: "tag:\(fullName):\(tagName)",
                clientIP: notification.request?.address.map(Self.host), detail: JSONValue.object(detail).jsonText,
                time: notification.timestamp))
        try observer?.record(
            RepositoryChange(
                action: .push, registry: registry, namespaceID: namespace.id, repository: fullName, tags: [tagName],
                digest: digest, mediaType: mediaType, size: tag.size, actor: notification.actor,
                occurredAt: notification.timestamp, id: event.eventID),
            in: writer)
        return (.processed, fetched?.note)
    }

    /// The push's namespace, created (private, owned by the administrators' hidden team, audited) when
    /// unknown: only an admin can have pushed there, and the image must not be lost.
    private func namespaceForPush(in writer: any StoreWriting, author: User?) throws -> Namespace {
        let (global, createdGlobal) = try writer.ensureGlobalNamespace(named: provisioning.globalNamespaceName)
        guard let namespaceName = split.namespace else {
            if createdGlobal { try auditNamespace(global, in: writer, author: author) }
            return global
        }
        if let namespace = try writer.namespace(named: namespaceName) { return namespace }
        // Owned by the global namespace's team: the administrators, the only ones who could push here.
        let created = try writer.createNamespace(
            name: namespaceName, team: global.teamID, visibility: .private, kind: .regular, personalOwner: nil,
            description: "Created by a push to the registry \(registry).")
        try auditNamespace(created, in: writer, author: author)
        return created
    }

    private func auditNamespace(_ namespace: Namespace, in writer: any StoreWriting, author: User?) throws {
        let detail = JSONValue.object([
            "registry": .string(registry), "event": .string(event.eventID), "reason": .string("push"),
            "visibility": .string(namespace.visibility.rawValue),
        ])
        _ = try writer.appendAuditEvent(
            NewAuditEvent(
                action: "namespace.create", outcome: .success, actorID: author?.id, actorName: notification.actor,
                target: "namespace:\(namespace.name)", detail: detail.jsonText, time: notification.timestamp))
    }

    // MARK: Pull

    private func pull(in writer: any StoreWriting) throws -> (RegistryEventState, String?) {
        guard let tagName = notification.target.tag else { return (.ignored, "pulls by digest are not tag pulls") }
        guard let repository = try existingRepository(in: writer) else {
            return (.ignored, "the repository is not known (yet)")
        }
        guard let tag = try writer.tag(named: tagName, in: repository.id) else {
            return (.ignored, "the tag is not known (yet)")
        }
        try writer.recordPull(ofTag: tag.id, at: notification.timestamp)
        return (.processed, nil)
    }

    // MARK: Delete

    private func delete(in writer: any StoreWriting) throws -> (RegistryEventState, String?) {
        guard let repository = try existingRepository(in: writer) else {
            return (.processed, "the repository was not known")
        }
        let doomed: [Tag]
        if let digest = notification.target.digest {
            doomed = try writer.tags(withDigest: digest, in: repository.id)
        } else if let tagName = notification.target.tag {
            doomed = try writer.tag(named: tagName, in: repository.id).map { [$0] } ?? []
        } else {
            doomed = []
        }
        guard !doomed.isEmpty else { return (.processed, "no known tag pointed at it") }
        let author = try notification.actor.flatMap { try writer.user(named: $0) }
        for tag in doomed {
            try writer.deleteTag(tag.id)
            let detail = JSONValue.object([
                "registry": .string(registry), "digest": .string(tag.digest), "event": .string(event.eventID),
            ])
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "tag.delete", outcome: .success, actorID: author?.id, actorName: notification.actor,
                    target: "tag:\(fullName):\(tag.name)", clientIP: notification.request?.address.map(Self.host),
                    detail: detail.jsonText, time: notification.timestamp))
        }
        var note: String?
        if try writer.tags(in: repository.id).isEmpty {
            try writer.deleteRepository(repository.id)
            note = "the repository is empty and was removed"
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "repository.delete", outcome: .success, actorID: author?.id,
                    actorName: notification.actor, target: "repository:\(fullName)",
                    detail: JSONValue.object(["registry": .string(registry), "reason": .string("empty")]).jsonText,
                    time: notification.timestamp))
        }
        // The registry deletes by digest; an untag event has none, so the deleted tags' digest stands in.
        let digest = notification.target.digest ?? doomed[0].digest
        try observer?.record(
            RepositoryChange(
                action: .delete, registry: registry, namespaceID: repository.namespaceID, repository: fullName,
                tags: doomed.map(\.name), digest: digest, mediaType: doomed[0].mediaType, size: doomed[0].size,
                actor: notification.actor, occurredAt: notification.timestamp, id: event.eventID),
            in: writer)
        return (.processed, note)
    }

    private func existingRepository(in writer: any StoreWriting) throws -> Repository? {
        let namespace: Namespace?
        if let name = split.namespace {
            namespace = try writer.namespace(named: name)
        } else {
            namespace = try writer.globalNamespace()
        }
        guard let namespace else { return nil }
        return try writer.repository(named: split.name, in: namespace.id, registry: registry)
    }

    /// The client address without its port (`127.0.0.1:44218` → `127.0.0.1`, `[::1]:5` → `::1`).
    static func host(_ address: String) -> String {
        if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
            return String(address[address.index(after: address.startIndex)..<close])
        }
        if address.filter({ $0 == ":" }).count == 1, let colon = address.firstIndex(of: ":") {
            return String(address[..<colon])
        }
        return address
    }
}
