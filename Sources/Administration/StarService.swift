import Storage

/// A repository's star state for the caller after a star or unstar.
public struct RepositoryStar: Sendable, Hashable {
    /// The repository.
    public var repositoryID: Repository.ID
    /// Its full name (`ns/repo`, or `repo` in the global namespace).
    public var name: String
    /// Whether the caller has it starred now.
    public var isStarred: Bool
    /// Whether this call changed anything (false: it already was so).
    public var changed: Bool
    /// How many users starred it.
    public var starCount: Int
}

/// Stars (Portus §9.2): a logged-in user stars and unstars repositories they may see; both are idempotent
/// (PUT/DELETE semantics: starring twice leaves one star, unstarring what is not starred is no error). Stars go
/// with their repository or user (the store cascades). Not audited: a star grants nothing.
///
/// Throws `SearchError` (`.authenticationRequired` for anonymous callers, `.repositoryNotFound` for unknown or
/// invisible repositories, `.ambiguousRepository`, `.invalidPage`), `StoreError` when the database fails.
public struct StarService: Sendable {
    private let store: any Store

    /// A service over `store`.
    public init(store: any Store) {
        self.store = store
    }

    /// Stars `reference` (`ns/repo` or `repo` in the global namespace) for the caller; `registry` picks one when
    /// several registries hold that name.
    public func star(_ reference: String, registry: String? = nil, as caller: Caller) async throws -> RepositoryStar {
        try await change(reference, registry: registry, as: caller, starring: true)
    }

    /// Removes the caller's star from `reference`, if any.
    public func unstar(_ reference: String, registry: String? = nil, as caller: Caller) async throws
        -> RepositoryStar
    {
        try await change(reference, registry: registry, as: caller, starring: false)
    }

    /// The repositories the caller starred and may still see, most recently starred first.
    public func starred(as caller: Caller, page: PageNumber = PageNumber()) async throws -> SearchPage {
        guard let userID = caller.userID else {
            throw SearchError(.authenticationRequired, "log in to list starred repositories")
        }
        let offset = try page.offset()
        let (viewer, namespaces) = (caller.viewer, caller.namespaces)
        return try await store.read {
            try $0.starredRepositories(
                of: userID, visibleTo: viewer, within: namespaces, offset: offset, limit: page.perPage)
        }
    }

    private func change(_ reference: String, registry: String?, as caller: Caller, starring: Bool) async throws
        -> RepositoryStar
    {
        guard let userID = caller.userID else {
            throw SearchError(.authenticationRequired, "log in to star repositories")
        }
        return try await store.write { writer in
            let (repository, name) = try Self.visibleRepository(reference, registry: registry, caller, writer)
            let changed =
                starring ? try writer.star(repository.id, by: userID) : try writer.unstar(repository.id, by: userID)
            return RepositoryStar(
                repositoryID: repository.id, name: name, isStarred: starring, changed: changed,
                starCount: try writer.starCount(of: repository.id))
        }
    }

    /// The repository `reference` names, if the caller may see it (Portus's repository show rule: admins all;
    /// logged-in users public, protected and their teams' namespaces; anonymous callers public ones).
    static func visibleRepository(
        _ reference: String, registry: String?, _ caller: Caller, _ reader: any StoreReading
    ) throws -> (Repository, String) {
        let notFound = SearchError(.repositoryNotFound, "no repository named \(reference) is visible to you")
        var candidates: [(Namespace, String)] = []
        if let slash = reference.firstIndex(of: "/"),
            let namespace = try reader.namespace(named: String(reference[..<slash]))
        {
            candidates.append((namespace, String(reference[reference.index(after: slash)...])))
        }
        if let global = try reader.globalNamespace() { candidates.append((global, reference)) }
        for (namespace, name) in candidates where !name.isEmpty {
            var found = try reader.repositories(in: namespace.id).filter { $0.name == name }
            if let registry { found = found.filter { $0.registry == registry } }
            guard !found.isEmpty else { continue }
            guard try isVisible(namespace, to: caller, reader) else { throw notFound }
            guard found.count == 1 else {
                throw SearchError(
                    .ambiguousRepository,
                    "several registries hold \(reference): \(found.map(\.registry).joined(separator: ", "))")
            }
            let fullName = namespace.kind == .global ? name : "\(namespace.name)/\(name)"
            return (found[0], fullName)
        }
        throw notFound
    }

    static func isVisible(_ namespace: Namespace, to caller: Caller, _ reader: any StoreReading) throws -> Bool {
        if caller.isAdmin || namespace.visibility == .public { return true }
        guard let userID = caller.userID else { return false }
        if namespace.visibility == .protected { return true }
        return try reader.memberships(of: userID).contains { $0.team.id == namespace.teamID }
    }
}
