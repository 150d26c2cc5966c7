import Authorization
import Diagnostics
import Foundation
import Storage

/// A namespace as listed.
public struct NamespaceSummary: Sendable, Hashable {
    /// The namespace id.
    public var id: Namespace.ID
    /// The namespace name.
    public var name: String
    /// The owning team's name.
    public var team: String
    /// Who may pull without membership.
    public var visibility: NamespaceVisibility
    /// Global, personal or regular.
    public var kind: NamespaceKind
    /// The description, if any.
    public var description: String?
    /// How many repositories it holds (over every registry).
    public var repositoryCount: Int
    /// When it was created.
    public var createdAt: Date
}

/// The fields namespaces sort by.
public typealias NamespaceSortField = NameSortField

/// Namespaces: create, list, show, update description, visibility, transfer to another team, delete.
/// Names follow Portus's rule with `-` kept (``NamespaceNaming``).
///
/// Throws `AdministrationError` for refusals and rule violations, `StoreError` when the database fails.
public struct NamespaceAdministration: Sendable {
    let store: any Store
    let settings: ResourcePolicySettings

    /// Creates the service.
    public init(store: any Store, settings: ResourcePolicySettings = .init()) {
        self.store = store
        self.settings = settings
    }

    /// Creates a namespace owned by the team named `team` (private unless told otherwise). Needs
    /// `policy.userPermission.createNamespace` and push rights in the team for non-admins, as in Portus.
    public func create(
        _ name: String, team: String, visibility: NamespaceVisibility = .private, description: String? = nil,
        by actor: Caller
    ) async throws -> NamespaceSummary {
        guard NamespaceNaming.isValid(name) else {
            throw AdministrationError(
                .invalidNamespaceName,
                "'\(name)' is not a valid namespace name (lower-case letters, digits, '.', '_', '-')")
        }
        try AdministrationLimits.checkDescription(description)
        let settings = settings
        return try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            guard let owner = try writer.team(named: team), !owner.isHidden || acting.isAdmin else {
                throw AdministrationError(.teamNotFound, "no team named '\(team)'")
            }
            try acting.require(.createNamespace(team: try acting.standing(in: owner, writer)), settings)
            if try writer.namespace(named: name) != nil {
                throw AdministrationError(.namespaceNameTaken, "a namespace named '\(name)' already exists")
            }
            let namespace = try writer.createNamespace(
                name: name, team: owner.id, visibility: visibility, kind: .regular, personalOwner: nil,
                description: description)
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "namespace.create", target: "namespace:\(name)",
                    detail: [("team", owner.name), ("visibility", visibility.rawValue)]))
            return try Self.summary(namespace, writer)
        }
    }

    /// One page of the namespaces the actor may see (every one for admins; public, protected and their
    /// teams' for users; public ones for anonymous browsing).
    public func list(_ page: PageRequest<NamespaceSortField>, by actor: Caller) async throws
        -> Page<NamespaceSummary>
    {
        try page.validate()
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            // Paged and counted in SQL with the visibility rule of Portus's §3.2 scopes (the same predicate
            // search applies), rather than every namespace filtered here.
            let viewer: SearchViewer =
                acting.isAdmin ? .administrator : acting.actor.userID.map { .user($0) } ?? .anonymous
            if acting.actor.userID == nil && !acting.isAdmin && !settings.anonymousBrowsing {
                return Page(items: [], total: 0, offset: page.offset, limit: page.limit)
            }
            let found = try reader.namespacePage(
                visibleTo: viewer, within: actor.namespaces, byCreation: page.sort == .createdAt,
                descending: page.descending,
                offset: page.offset, limit: page.limit)
            return Page(
                items: try found.items.map { try Self.summary($0, reader) }, total: found.total, offset: page.offset,
                limit: page.limit)
        }
    }

    /// The namespace named `name`, if the actor may see it (else "not found", so names do not leak).
    public func show(_ name: String, by actor: Caller) async throws -> NamespaceSummary {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (namespace, _) = try Self.visible(name, acting, settings, reader)
            return try Self.summary(namespace, reader)
        }
    }

    /// Changes the description (admins; owners with `manageNamespace` and push rights).
    public func updateDescription(_ description: String?, of name: String, by actor: Caller) async throws
        -> NamespaceSummary
    {
        try await update(name, NamespaceChanges(description: .some(description)), by: actor)
    }

    /// Changes who may pull (admins; owners with `changeVisibility`). The global namespace is never private.
    public func setVisibility(_ visibility: NamespaceVisibility, of name: String, by actor: Caller) async throws
        -> NamespaceSummary
    {
        try await update(name, NamespaceChanges(visibility: visibility), by: actor)
    }

    /// Hands the namespace to the team named `team` (admins; owners with `manageNamespace` who also own the
    /// receiving team). Personal and global namespaces stay where they are.
    public func transfer(_ name: String, to team: String, by actor: Caller) async throws -> NamespaceSummary {
        try await update(name, NamespaceChanges(team: team), by: actor)
    }

    /// Applies `changes` in one transaction, each checked against the policy and audited on its own, in the order
    /// description, visibility, team: all of them or, when one is refused, none.
    public func update(_ name: String, _ changes: NamespaceChanges, by actor: Caller) async throws
        -> NamespaceSummary
    {
        if let description = changes.description { try AdministrationLimits.checkDescription(description) }
        let settings = settings
        return try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            let (namespace, standing) = try Self.visible(name, acting, settings, writer)
            var events: [NewAuditEvent] = []
            let target = "namespace:\(namespace.name)"
            if let description = changes.description {
                try acting.require(.updateNamespace(standing), settings)
                try writer.setDescription(description, forNamespace: namespace.id)
                events.append(
                    acting.audit(
                        "namespace.change_namespace_description", target: target,
                        detail: [("description", description ?? "")]))
            }
            if let visibility = changes.visibility {
                try acting.require(.changeVisibility(standing), settings)
                if namespace.kind == .global && visibility == .private {
                    throw AdministrationError(.globalPrivate, "the global namespace cannot be private")
                }
                try writer.setVisibility(visibility, for: namespace.id)
                events.append(
                    acting.audit(
                        "namespace.change_visibility", target: target,
                        detail: [("old", namespace.visibility.rawValue), ("new", visibility.rawValue)]))
            }
            if let team = changes.team {
                guard let receiving = try writer.team(named: team) else {
                    throw AdministrationError(.teamNotFound, "no team named '\(team)'")
                }
                let previous = try writer.team(id: namespace.teamID)
                try acting.require(
                    .transferNamespace(standing, receiving: try acting.standing(in: receiving, writer)), settings)
                try writer.setTeam(receiving.id, for: namespace.id)
                events.append(
                    acting.audit(
                        "namespace.change_team", target: target,
                        detail: [("old_team", previous?.name), ("new_team", receiving.name)]))
            }
            try writer.appendAuditEvents(events)
            return try Self.summary(try writer.namespace(id: namespace.id) ?? namespace, writer)
        }
    }

    /// Deletes an empty namespace (`policy.delete.enabled`; admins, owners, contributors with
    /// `policy.delete.contributors`). Repositories live in the registry, which this layer does not reach: a
    /// namespace that still holds some is refused until they are deleted through the registry path
    /// (`portcullis repository delete`). Personal and global namespaces are never deleted.
    public func delete(_ name: String, by actor: Caller) async throws {
        let settings = settings
        try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            let (namespace, standing) = try Self.visible(name, acting, settings, writer)
            try acting.require(.deleteNamespace(standing), settings)
            let repositories = try writer.repositoryCount(in: namespace.id)
            if repositories > 0 {
                throw AdministrationError(
                    .namespaceNotEmpty,
                    "namespace \(namespace.name) holds \(repositories) repositories; delete them first")
            }
            try writer.deleteNamespace(namespace.id)
            _ = try writer.appendAuditEvent(acting.audit("namespace.delete", target: "namespace:\(namespace.name)"))
        }
    }

    // MARK: - Helpers

    /// The namespace named `name` and the actor's standing in it, if the actor may see it.
    static func visible(
        _ name: String, _ acting: ResolvedCaller, _ settings: ResourcePolicySettings, _ reader: any StoreReading
    ) throws -> (Namespace, NamespaceStanding) {
        guard let namespace = try reader.namespace(named: name) else {
            throw AdministrationError(.namespaceNotFound, "no namespace named '\(name)'")
        }
        let standing = try acting.standing(in: namespace, reader)
        switch ResourcePolicy.decide(.showNamespace(standing), by: acting.caller, settings: settings) {
        case .allowed: return (namespace, standing)
        case .denied(.loginRequired) where namespace.visibility != .private:
            throw AdministrationError(.forbidden, ResourceDenial.loginRequired.message, denial: .loginRequired)
        case .denied:
            throw AdministrationError(.namespaceNotFound, "no namespace named '\(name)'")
        }
    }

    static func summary(_ namespace: Namespace, _ reader: any StoreReading) throws -> NamespaceSummary {
        NamespaceSummary(
            id: namespace.id, name: namespace.name, team: try reader.team(id: namespace.teamID)?.name ?? "?",
            visibility: namespace.visibility, kind: namespace.kind, description: namespace.description,
            repositoryCount: try reader.repositoryCount(in: namespace.id), createdAt: namespace.createdAt)
    }
}

/// What one namespace update changes; nil members stay as they are.
public struct NamespaceChanges: Sendable, Hashable {
    /// The new description (`.some(nil)` clears it).
    public var description: String??
    /// The new visibility.
    public var visibility: NamespaceVisibility?
    /// The name of the team to hand the namespace to.
    public var team: String?

    /// Describes an update.
    public init(description: String?? = nil, visibility: NamespaceVisibility? = nil, team: String? = nil) {
        self.description = description
        self.visibility = visibility
        self.team = team
    }
}
