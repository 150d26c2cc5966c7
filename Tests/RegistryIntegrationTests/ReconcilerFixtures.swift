import Diagnostics
import Foundation
import RegistryCore
import RegistryIntegration
import SQLiteStorage
import Storage
import Synchronization

/// A registry in memory behind the `RegistryAPI` contract, with failures to inject per call.
final class CatalogRegistry: RegistryAPI, Sendable {
    struct State: Sendable {
        /// repository → tag → digest.
        var repositories: [String: [String: String]] = [:]
        var catalogError: RegistryAPIError?
        var tagListErrors: [String: RegistryAPIError] = [:]
        /// `repository:tag` → the error its HEAD throws.
        var headErrors: [String: RegistryAPIError] = [:]
        var deleteError: RegistryAPIError?
        var deleted: [String] = []
        var tagListCalls = 0
    }

    let state: Mutex<State>

    init(_ repositories: [String: [String: String]] = [:]) {
        state = Mutex(State(repositories: repositories))
    }

    func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
    var repositories: [String: [String: String]] { state.withLock { $0.repositories } }
    var deleted: [String] { state.withLock { $0.deleted } }

    func catalog() async throws -> [String] {
        try state.withLock { state in
            if let error = state.catalogError { throw error }
            return state.repositories.keys.sorted()
        }
    }

    func tags(of repository: String) async throws -> [String]? {
        try state.withLock { state in
            state.tagListCalls += 1
            if let error = state.tagListErrors[repository] { throw error }
            return state.repositories[repository].map { $0.keys.sorted() }
        }
    }

    func headManifest(_ repository: String, reference: String) async throws -> ManifestDescriptor? {
        try state.withLock { state in
            if let error = state.headErrors["\(repository):\(reference)"] { throw error }
            guard let tags = state.repositories[repository] else { return nil }
            let digest =
                reference.hasPrefix("sha256:") ? (tags.values.contains(reference) ? reference : nil) : tags[reference]
            return digest.map { ManifestDescriptor(digest: $0, mediaType: ManifestMediaType.dockerManifest) }
        }
    }

    func manifest(_ repository: String, reference: String) async throws -> FetchedManifest? {
        guard let descriptor = try await headManifest(repository, reference: reference) else { return nil }
        return FetchedManifest(descriptor: descriptor, body: Array(Self.manifestBody.utf8))
    }

    func deleteManifest(_ repository: String, digest: String) async throws {
        try state.withLock { state in
            if let error = state.deleteError { throw error }
            guard let tags = state.repositories[repository], tags.values.contains(digest) else {
                throw RegistryAPIError(.notFound, "DELETE \(repository)@\(digest): 404")
            }
            state.repositories[repository] = tags.filter { $0.value != digest }
            state.deleted.append("\(repository)@\(digest)")
        }
    }

    /// An image manifest of config 100 bytes and layers 1000 + 24 bytes.
    static let manifestBody = """
        {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
         "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":100,"digest":"sha256:c"},
         "layers":[{"size":1000,"digest":"sha256:l1"},{"size":24,"digest":"sha256:l2"}]}
        """
    static let manifestSize: Int64 = 1124
}

/// Records what the observer was told, to check deletes reach webhooks.
final class ChangeRecorder: RepositoryChangeObserver, Sendable {
    let changes = Mutex<[RepositoryChange]>([])

    func record(_ change: RepositoryChange, in writer: any StoreWriting) throws {
        changes.withLock { $0.append(change) }
    }
}

let registryName = "main"
let quietLogger = Logger(label: "test", level: .error)

/// A migrated in-memory store with the global namespace, an admin, and `alice` (a viewer of `team`'s
/// namespace `team`, and owner of her own namespace `alice`).
func makeStore() async throws -> any Store {
    let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
    _ = try await store.migrate()
    try await store.write { writer in
        let globalTeam = try writer.createTeam(name: "portcullis-global", description: nil, isHidden: true)
        _ = try writer.createNamespace(
            name: "portcullis-global", team: globalTeam.id, visibility: .public, kind: .global, personalOwner: nil,
            description: nil)
        let admin = try writer.createUser(NewUser(username: "admin", isAdmin: true))
        _ = admin
        let alice = try writer.createUser(NewUser(username: "alice"))
        let aliceTeam = try writer.createTeam(name: "alice", description: nil, isHidden: true)
        _ = try writer.addTeamMember(team: aliceTeam.id, user: alice.id, role: .owner)
        _ = try writer.createNamespace(
            name: "alice", team: aliceTeam.id, visibility: .private, kind: .personal, personalOwner: alice.id,
            description: nil)
        let team = try writer.createTeam(name: "team", description: nil, isHidden: false)
        _ = try writer.addTeamMember(team: team.id, user: alice.id, role: .viewer)
        _ = try writer.createNamespace(
            name: "team", team: team.id, visibility: .private, kind: .regular, personalOwner: nil, description: nil)
    }
    return store
}

/// Records `tags` (tag → digest) of `fullName` in the store as pushed an hour ago.
func seed(_ store: any Store, _ fullName: String, _ tags: [String: String]) async throws {
    try await store.write { writer in
        let parts = fullName.split(separator: "/", maxSplits: 1).map(String.init)
        let namespace =
            parts.count == 2 ? try writer.namespace(named: parts[0])! : try writer.globalNamespace()!
        let name = parts.last!
        let repository =
            try writer.repository(named: name, in: namespace.id, registry: registryName)
            ?? writer.createRepository(name: name, in: namespace.id, registry: registryName)
        for (tag, digest) in tags {
            _ = try writer.recordTagPush(
                TagPush(
                    repositoryID: repository.id, name: tag, digest: digest, pushedByName: "alice",
                    pushedAt: Date().addingTimeInterval(-3600)))
        }
    }
}

/// The store's view: repository full name → tag → digest.
func contents(_ store: any Store) async throws -> [String: [String: String]] {
    try await store.read { reader in
        var result: [String: [String: String]] = [:]
        for repository in try reader.repositories(ofRegistry: registryName) {
            let namespace = try reader.namespace(id: repository.namespaceID)!
            let full = namespace.kind == .global ? repository.name : "\(namespace.name)/\(repository.name)"
            result[full] = Dictionary(
                uniqueKeysWithValues: try reader.tags(in: repository.id).map { ($0.name, $0.digest) })
        }
        return result
    }
}

func auditActions(_ store: any Store) async throws -> [String] {
    try await store.read { try $0.auditEvents(limit: 1000, before: nil) }.map(\.action)
}

/// A registry whose catalog call waits until the test releases it, to hold a run in progress.
final class GatedRegistry: RegistryAPI, Sendable {
    let inner: CatalogRegistry
    let entered = AsyncStream<Void>.makeStream()
    let release = AsyncStream<Void>.makeStream()

    init(_ inner: CatalogRegistry) { self.inner = inner }

    func catalog() async throws -> [String] {
        entered.continuation.yield()
        for await _ in release.stream { break }
        return try await inner.catalog()
    }

    func tags(of repository: String) async throws -> [String]? { try await inner.tags(of: repository) }

    func headManifest(_ repository: String, reference: String) async throws -> ManifestDescriptor? {
        try await inner.headManifest(repository, reference: reference)
    }

    func manifest(_ repository: String, reference: String) async throws -> FetchedManifest? {
        try await inner.manifest(repository, reference: reference)
    }

    func deleteManifest(_ repository: String, digest: String) async throws {
        try await inner.deleteManifest(repository, digest: digest)
    }
}

/// A reconciler of `api` into `store` whose listing is dated a millisecond after the wall clock. The store keeps
/// times in whole milliseconds, rounded, so a tag seeded in the same millisecond as the listing began would count
/// as changed during the listing and be kept; on a fast machine that happened (seen in CI). Nothing in these tests
/// writes while a reconciler runs, so the offset cannot hide a real change.
func makeReconciler(
    _ api: any RegistryAPI, _ store: any Store, observer: (any RepositoryChangeObserver)? = nil
) -> Reconciler {
    Reconciler(
        registry: registryName, api: api, store: store, observer: observer, logger: quietLogger,
        now: { Date().addingTimeInterval(0.001) })
}
