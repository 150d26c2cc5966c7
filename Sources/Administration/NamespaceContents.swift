import Authorization
import Foundation
import Storage

/// The fields a namespace's repositories sort by: the store's orders, whose raw values are the API's names.
public typealias RepositorySortField = RepositoryListOrder

extension RepositoryListOrder: SortField {}

extension NamespaceAdministration {
    /// One page of the repositories of the namespace named `name` with their tag and star counts, if the actor
    /// may see the namespace (else "not found"). Paged and counted by the store, so a page of a namespace of
    /// ten thousand repositories costs what a page costs.
    public func repositories(
        of name: String, _ page: PageRequest<RepositorySortField>, by actor: Caller
    ) async throws -> Page<RepositoryListing> {
        try page.validate()
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (namespace, _) = try Self.visible(name, acting, settings, reader)
            let found = try reader.repositoryPage(
                in: namespace.id, order: page.sort, descending: page.descending, offset: page.offset, limit: page.limit)
            return Page(items: found.items, total: found.total, offset: page.offset, limit: page.limit)
        }
    }

    /// The audit events about the namespace named `name`, its repositories and their tags, newest first (Portus's
    /// namespace activities), for whoever may see the namespace.
    public func activities(of name: String, offset: Int, limit: Int, by actor: Caller) async throws
        -> Page<AuditEvent>
    {
        try PageRequest<RepositorySortField>(offset: offset, limit: limit, sort: .name).validate()
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (namespace, _) = try Self.visible(name, acting, settings, reader)
            let found = try reader.auditEvents(aboutNamespace: namespace.name, offset: offset, limit: limit)
            return Page(items: found.items, total: found.total, offset: offset, limit: limit)
        }
    }
}
