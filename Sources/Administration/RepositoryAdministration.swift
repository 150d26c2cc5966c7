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

/// The fields a repository's tags sort by: the store's orders, whose raw values are the API's names.
public typealias TagSortField = TagListOrder

extension TagListOrder: SortField {}

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
        try await show(RepositoryPath(path), registry: registry, by: actor)
    }

    /// Changes the description (admins and the namespace team's owners).
    public func updateDescription(
        _ description: String?, of path: String, registry: String? = nil, by actor: Caller
    ) async throws -> RepositoryDetails {
        try await updateDescription(description, of: RepositoryPath(path), registry: registry, by: actor)
    }

    /// One page of the repository's tags, paged and counted by the store.
    public func tags(
        of path: String, registry: String? = nil, _ page: PageRequest<TagSortField>, by actor: Caller
    ) async throws -> Page<Tag> {
        try await tags(of: RepositoryPath(path), registry: registry, page, by: actor)
    }

    /// One page of the tags of the repository at `path`, paged and counted by the store.
    public func tags(
        of path: RepositoryPath, registry: String? = nil, _ page: PageRequest<TagSortField>, by actor: Caller
    ) async throws -> Page<Tag> {
        try page.validate()
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (repository, _) = try Self.visible(path, registry, acting, settings, reader)
            let found = try reader.tagPage(
                in: repository.id, order: page.sort, descending: page.descending, offset: page.offset, limit: page.limit
            )
            return Page(items: found.items, total: found.total, offset: page.offset, limit: page.limit)
        }
    }

    /// One page of the repository's tags grouped by manifest digest, most recently pushed first (Portus's
    /// `tags/grouped`); the total counts digests. The page's sort field is ignored.
    public func tagGroups(
        of path: RepositoryPath, registry: String? = nil, offset: Int, limit: Int, by actor: Caller
    ) async throws -> Page<TagDigestGroup> {
        try PageRequest<TagSortField>(offset: offset, limit: limit, sort: .name).validate()
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (repository, _) = try Self.visible(path, registry, acting, settings, reader)
            let found = try reader.tagDigestGroupPage(in: repository.id, offset: offset, limit: limit)
            return Page(items: found.items, total: found.total, offset: offset, limit: limit)
        }
    }

    /// The tag `name` of the repository at `path`, if the actor may see the repository.
    public func tag(_ name: String, of path: RepositoryPath, registry: String? = nil, by actor: Caller) async throws
        -> Tag
    {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (repository, namespace) = try Self.visible(path, registry, acting, settings, reader)
            guard let tag = try reader.tag(named: name, in: repository.id) else {
                throw AdministrationError(
                    .tagNotFound, "no tag '\(name)' in \(Self.fullName(repository, namespace))")
            }
            return tag
        }
    }

    /// The repository at `path` (namespace and name given apart), if the actor may see it.
    public func show(_ path: RepositoryPath, registry: String? = nil, by actor: Caller) async throws
        -> RepositoryDetails
    {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (repository, namespace) = try Self.visible(path, registry, acting, settings, reader)
            return try Self.details(repository, namespace, reader)
        }
    }

    /// Everything the repository page shows, read in one transaction: the repository, what the caller may do in
    /// its namespace, whether the caller starred it, its content version, and its listing (a page of its tags
    /// grouped by digest and its pulls per UTC day since `pullsSince`, days with pulls only, oldest first); if
    /// the actor may see it. When `known` names this repository at its current content version the listing is not
    /// read (nil): the caller still has what it made from it.
    public func page(
        of path: RepositoryPath, registry: String? = nil, offset: Int, limit: Int, pullsSince: Date,
        unlessUnchangedSince known: RepositoryContentStamp? = nil, by actor: Caller
    ) async throws -> RepositoryPageContents {
        try PageRequest<TagSortField>(offset: offset, limit: limit, sort: .name).validate()
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (repository, namespace, standing) = try Self.visibleWithStanding(
                path, registry, acting, settings, reader)
            let stamp = RepositoryContentStamp(
                repositoryID: repository.id, version: try reader.contentVersion(ofRepository: repository.id))
            var listing: RepositoryListingPage?
            if stamp != known {
                let groups = try reader.tagDigestGroupPage(in: repository.id, offset: offset, limit: limit)
                listing = RepositoryListingPage(
                    groups: Page(items: groups.items, total: groups.total, offset: offset, limit: limit),
                    dailyPulls: try reader.dailyPulls(ofRepository: repository.id, since: pullsSince))
            }
            return RepositoryPageContents(
                details: try Self.details(repository, namespace, reader),
                permissions: NamespacePermissions(of: acting, standing: standing, settings: settings),
                isStarred: try actor.userID.map { try reader.hasStarred($0, repository.id) } ?? false,
                stamp: stamp, listing: listing)
        }
    }

    /// Changes the description of the repository at `path` (admins and the namespace team's owners).
    public func updateDescription(
        _ description: String?, of path: RepositoryPath, registry: String? = nil, by actor: Caller
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
        _ path: RepositoryPath, _ registry: String?, _ acting: ResolvedCaller, _ settings: ResourcePolicySettings,
        _ reader: any StoreReading
    ) throws -> (Repository, Namespace) {
        let found = try visibleWithStanding(path, registry, acting, settings, reader)
        return (found.repository, found.namespace)
    }

    /// `visible`, with the caller's standing in the namespace it decided on (the repository page's permissions).
    private static func visibleWithStanding(
        _ path: RepositoryPath, _ registry: String?, _ acting: ResolvedCaller, _ settings: ResourcePolicySettings,
        _ reader: any StoreReading
    ) throws -> (repository: Repository, namespace: Namespace, standing: NamespaceStanding) {
        let notFound = AdministrationError(.repositoryNotFound, "no repository named '\(path)'")
        let found: (Namespace, String)?
        switch path.namespace {
        case .some(let name): found = try reader.namespace(named: name).map { ($0, path.name) }
        case .none where path.resolvesNamespace: found = try resolve(path.name, reader)
        case .none: found = try reader.globalNamespace().map { ($0, path.name) }
        }
        guard let (namespace, name) = found else { throw notFound }
        let standing = try acting.standing(in: namespace, reader)
        switch ResourcePolicy.decide(.showRepository(standing), by: acting.caller, settings: settings) {
        case .allowed: break
        case .denied(.loginRequired) where namespace.visibility != .private:
            throw AdministrationError(.forbidden, ResourceDenial.loginRequired.message, denial: .loginRequired)
        case .denied: throw notFound
        }
        let candidates = try reader.repositories(named: name, in: namespace.id).filter {
            registry == nil || $0.registry == registry
        }
        guard let repository = candidates.first else { throw notFound }
        if candidates.count > 1 {
            throw AdministrationError(
                .ambiguousRepository,
                "'\(path)' exists in registries \(candidates.map(\.registry).joined(separator: ", ")); name one")
        }
        return (repository, namespace, standing)
    }

    static func fullName(_ repository: Repository, _ namespace: Namespace) -> String {
        Repository.fullName(repository.name, namespace: namespace.name, kind: namespace.kind)
    }

    private static func details(_ repository: Repository, _ namespace: Namespace, _ reader: any StoreReading) throws
        -> RepositoryDetails
    {
        RepositoryDetails(
            id: repository.id, namespace: namespace.name, name: repository.name,
            fullName: fullName(repository, namespace), registry: repository.registry,
            description: repository.description, starCount: try reader.starCount(of: repository.id),
            tagCount: try reader.tagCount(in: repository.id), createdAt: repository.createdAt,
            updatedAt: repository.updatedAt)
    }
}

/// What the repository page shows beyond the repository (`RepositoryAdministration.page`).
public struct RepositoryPageContents: Sendable {
    /// The repository.
    public var details: RepositoryDetails
    /// What the caller may do in the repository's namespace (which buttons to show).
    public var permissions: NamespacePermissions
    /// Whether the caller starred the repository.
    public var isStarred: Bool
    /// The repository and its content version when it was read.
    public var stamp: RepositoryContentStamp
    /// The tags and pulls; nil when the caller said it knew this stamp.
    public var listing: RepositoryListingPage?
}

/// A repository at one content version (`ContentReading.contentVersion`): equal stamps, equal listings.
public struct RepositoryContentStamp: Sendable, Hashable {
    /// The repository.
    public var repositoryID: Repository.ID
    /// Its content version.
    public var version: Int

    /// The repository `repositoryID` at content version `version`.
    public init(repositoryID: Repository.ID, version: Int) {
        self.repositoryID = repositoryID
        self.version = version
    }
}

/// The part of the repository page that changes only with its tags: a page of them and the pulls per day.
public struct RepositoryListingPage: Sendable {
    /// A page of the tags grouped by digest, the most recently pushed digest first.
    public var groups: Page<TagDigestGroup>
    /// Pulls per UTC day, oldest first, days with pulls only.
    public var dailyPulls: [DailyPulls]
}

/// Where a repository is: a namespace and the name inside it, given apart (the REST API's
/// `repositories/{ns}/{repo}`), or one path to split by Portus's `full_name` rule (the CLI's `ns/repo`).
public struct RepositoryPath: Sendable, Hashable, CustomStringConvertible {
    /// The namespace's name; nil for the global namespace (or, with `resolvesNamespace`, for a path to split).
    public var namespace: String?
    /// The name inside the namespace (`app`, `group/app`), or the whole path when `resolvesNamespace`.
    public var name: String
    /// Whether `name` is a whole path whose first part may name the namespace.
    var resolvesNamespace: Bool

    /// The repository `name` of the namespace named `namespace` (nil: the global namespace).
    public init(namespace: String?, name: String) {
        self.namespace = namespace
        self.name = name
        self.resolvesNamespace = false
    }

    /// A whole path (`ns/repo`, or `repo` in the global namespace), split at the first `/` when that names a
    /// namespace.
    public init(_ path: String) {
        self.namespace = nil
        self.name = path
        self.resolvesNamespace = true
    }

    /// `ns/name`, or the name alone.
    public var description: String { namespace.map { "\($0)/\(name)" } ?? name }
}
