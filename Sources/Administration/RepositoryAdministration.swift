import Authorization
import Diagnostics
import Foundation
import Storage

/// A repository as shown: its description, star count and tag count.
public struct RepositoryDetails: Sendable, Hashable {
    /// The repository id.
    public var id: Repository.ID
    /// The namespace's name.
    public var namespace: String
    /// The name inside the namespace.
    public var name: String
    /// The full image path (`team/app`, or `busybox` in the global namespace).
    public var fullName: String
    /// The registry holding it.
    public var registry: String
    /// The description, if any.
    public var description: String?
    /// How many users starred it.
    public var starCount: Int
    /// How many tags it has.
    public var tagCount: Int
    /// When it was first seen.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date
}

/// The fields tags sort by.
public enum TagSortField: String, SortField {
    /// By tag name.
    case name
    /// By the time the tag last moved.
    case pushedAt = "pushed_at"
    /// By image size.
    case size
}

/// Repositories and tags: show, update the description, list tags. Deletion changes the registry, which
/// this layer does not reach (it holds no HTTP client): it stays with `RegistryIntegration`'s deletion path
/// (`portcullis repository delete`, `tag delete`), which asks `ResourcePolicy.decide(.deleteRepository…)`.
///
/// Throws `AdministrationError` for refusals, `StoreError` when the database fails.
public struct RepositoryAdministration: Sendable {
    private let store: any Store
    private let settings: ResourcePolicySettings

    /// Creates the service.
    public init(store: any Store, settings: ResourcePolicySettings = .init()) {
        self.store = store
        self.settings = settings
    }

    /// The repository at `path` (`ns/repo`, or `repo` in the global namespace) in `registry` (may be left
    /// out when one registry holds it), if the actor may see it.
    public func show(_ path: String, registry: String? = nil, by actor: Caller) async throws -> RepositoryDetails {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (repository, namespace) = try Self.visible(path, registry, acting, settings, reader)
            return try Self.details(repository, namespace, reader)
        }
    }

    /// Changes the description (admins and the namespace team's owners).
    public func updateDescription(
        _ description: String?, of path: String, registry: String? = nil, by actor: Caller
    ) async throws -> RepositoryDetails {
        try AdministrationLimits.checkDescription(description)
        let settings = settings
        return try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            let (repository, namespace) = try Self.visible(path, registry, acting, settings, writer)
            try acting.require(.updateRepository(try acting.standing(in: namespace, writer)), settings)
            try writer.setDescription(description, forRepository: repository.id)
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "repository.change_description", target: "repository:\(Self.fullName(repository, namespace))",
                    detail: [("registry", repository.registry), ("description", description ?? "")]))
            return try Self.details(try writer.repository(id: repository.id) ?? repository, namespace, writer)
        }
    }

    /// One page of the repository's tags.
    public func tags(
        of path: String, registry: String? = nil, _ page: PageRequest<TagSortField>, by actor: Caller
    ) async throws -> Page<Tag> {
        try page.validate()
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (repository, _) = try Self.visible(path, registry, acting, settings, reader)
            return page.slice(try reader.tags(in: repository.id)) { lhs, rhs in
                switch page.sort {
                case .name: lhs.name < rhs.name
                case .pushedAt: lhs.updatedAt < rhs.updatedAt
                case .size: (lhs.size ?? -1) < (rhs.size ?? -1)
                }
            }
        }
    }

    // MARK: - Helpers

    /// Splits `ns/repo` at the first `/` when the first part names a namespace; otherwise the whole path is a
    /// repository of the global namespace (Portus's `full_name` rule).
    static func resolve(_ path: String, _ reader: any StoreReading) throws -> (Namespace, String)? {
        if let slash = path.firstIndex(of: "/") {
            let first = String(path[..<slash]), rest = String(path[path.index(after: slash)...])
            if let namespace = try reader.namespace(named: first), !rest.isEmpty { return (namespace, rest) }
        }
        guard let global = try reader.globalNamespace() else { return nil }
        return (global, path)
    }

    private static func visible(
        _ path: String, _ registry: String?, _ acting: ResolvedCaller, _ settings: ResourcePolicySettings,
        _ reader: any StoreReading
    ) throws -> (Repository, Namespace) {
        let notFound = AdministrationError(.repositoryNotFound, "no repository named '\(path)'")
        guard let resolved = try resolve(path, reader) else { throw notFound }
        let (namespace, name) = resolved
        let standing = try acting.standing(in: namespace, reader)
        switch ResourcePolicy.decide(.showRepository(standing), by: acting.caller, settings: settings) {
        case .allowed: break
        case .denied(.loginRequired) where namespace.visibility != .private:
            throw AdministrationError(.forbidden, ResourceDenial.loginRequired.message, denial: .loginRequired)
        case .denied: throw notFound
        }
        let candidates = try reader.repositories(in: namespace.id).filter {
            $0.name == name && (registry == nil || $0.registry == registry)
        }
        guard let repository = candidates.first else { throw notFound }
        if candidates.count > 1 {
            throw AdministrationError(
                .ambiguousRepository,
                "'\(path)' exists in registries \(candidates.map(\.registry).joined(separator: ", ")); name one")
        }
        return (repository, namespace)
    }

    private static func fullName(_ repository: Repository, _ namespace: Namespace) -> String {
        namespace.kind == .global ? repository.name : "\(namespace.name)/\(repository.name)"
    }

    private static func details(_ repository: Repository, _ namespace: Namespace, _ reader: any StoreReading) throws
        -> RepositoryDetails
    {
        RepositoryDetails(
            id: repository.id, namespace: namespace.name, name: repository.name,
            fullName: fullName(repository, namespace), registry: repository.registry,
            description: repository.description, starCount: try reader.starCount(of: repository.id),
            tagCount: try reader.tags(in: repository.id).count, createdAt: repository.createdAt,
            updatedAt: repository.updatedAt)
    }
}
