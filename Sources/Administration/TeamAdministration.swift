import Authorization
import Diagnostics
import Foundation
import Storage

/// A team as listed.
public struct TeamSummary: Sendable, Hashable {
    /// The team id.
    public var id: Team.ID
    /// The team name.
    public var name: String
    /// The description, if any.
    public var description: String?
    /// How many members it has.
    public var memberCount: Int
    /// How many namespaces it owns.
    public var namespaceCount: Int
    /// The actor's role in it, if they are a member.
    public var yourRole: TeamRole?
    /// When it was created.
    public var createdAt: Date
}

/// A team with its members and namespaces.
public struct TeamDetails: Sendable, Hashable {
    /// The team.
    public var team: TeamSummary
    /// The members, ordered by username.
    public var members: [TeamMember]
    /// The names of the namespaces it owns, ordered.
    public var namespaces: [String]
}

/// The fields teams sort by.
public typealias TeamSortField = NameSortField

/// Teams and memberships, with Portus's member rules: an administrator added to a team is always an owner
/// and cannot be demoted; the last owner can be neither removed nor demoted; hidden (personal and global)
/// teams take no members by hand. Each operation runs in one write transaction, and writes are
/// serialized by the store, so two concurrent changes to one team both land and never leave it ownerless.
///
/// Throws `AdministrationError` for refusals and rule violations, `StoreError` when the database fails.
public struct TeamAdministration: Sendable {
    let store: any Store
    let settings: ResourcePolicySettings

    /// Creates the service.
    public init(store: any Store, settings: ResourcePolicySettings = .init()) {
        self.store = store
        self.settings = settings
    }

    /// Creates a team. A user creating it becomes its owner; naming another `owner` is for admins only (the
    /// operator may create a team without owners, for administrators to fill).
    public func create(
        _ name: String, description: String? = nil, owner: String? = nil, by actor: Caller
    ) async throws -> TeamDetails {
        guard NamespaceNaming.isValid(name) else {
            throw AdministrationError(
                .invalidTeamName, "'\(name)' is not a valid team name (lower-case letters, digits, '.', '_', '-')")
        }
        try AdministrationLimits.checkDescription(description)
        let settings = settings
        return try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            let ownerUser = try owner.map { try AccountAdministration.user($0, writer) }
            let namesOther = ownerUser != nil && ownerUser?.id != acting.actor.userID
            try acting.require(.createTeam(withOwner: namesOther), settings)
            if try writer.team(named: name) != nil {
                throw AdministrationError(.teamNameTaken, "a team named '\(name)' already exists")
            }
            let team = try writer.createTeam(name: name, description: description, isHidden: false)
            if let first = ownerUser ?? acting.user {
                _ = try writer.addTeamMember(team: team.id, user: first.id, role: .owner)
            }
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "team.create", target: "team:\(name)", detail: [("owner", (ownerUser ?? acting.user)?.username)]))
            return try Self.details(team, acting, writer)
        }
    }

    /// One page of the teams the actor may see: every visible team for admins, their own for others.
    public func list(_ page: PageRequest<TeamSortField>, by actor: Caller) async throws -> Page<TeamSummary> {
        try page.validate()
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            guard acting.caller.isLoggedIn else {
                throw AdministrationError(.forbidden, ResourceDenial.loginRequired.message, denial: .loginRequired)
            }
            // Paged and counted in SQL, so only the page's teams are summarised (each summary reads its
            // members and namespaces): a thousand teams cost what twenty-five do.
            let viewer: SearchViewer =
                acting.isAdmin ? .administrator : acting.actor.userID.map { .user($0) } ?? .anonymous
            let found = try reader.teamPage(
                visibleTo: viewer, byCreation: page.sort == .createdAt, descending: page.descending,
                offset: page.offset, limit: page.limit)
            return Page(
                items: try found.items.map { try Self.summary($0, acting, reader) }, total: found.total,
                offset: page.offset, limit: page.limit)
        }
    }

    /// The team named `name` with its members (admins and members).
    public func show(_ name: String, by actor: Caller) async throws -> TeamDetails {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let team = try Self.visibleTeam(name, acting, settings, reader)
            return try Self.details(team, acting, reader)
        }
    }

    /// Changes a team's description (admins, or owners while `policy.userPermission.manageTeam` is on).
    public func updateDescription(_ description: String?, of name: String, by actor: Caller) async throws -> TeamDetails
    {
        try await update(name, description: .some(description), by: actor)
    }

    /// Renames a team (admins, or owners while `policy.userPermission.manageTeam` is on). Hidden teams keep
    /// their names: a personal team is named after its user, the global one after the global namespace.
    public func rename(_ name: String, to newName: String, by actor: Caller) async throws -> TeamDetails {
        try await update(name, newName: newName, by: actor)
    }

    /// Renames a team and changes its description in one transaction (admins, or owners while
    /// `policy.userPermission.manageTeam` is on): nil leaves a field as it is, `description: .some(nil)`
    /// clears it. Either every change lands or none does.
    public func update(
        _ name: String, newName: String? = nil, description: String?? = nil, by actor: Caller
    ) async throws -> TeamDetails {
        if let newName, !NamespaceNaming.isValid(newName) {
            throw AdministrationError(
                .invalidTeamName, "'\(newName)' is not a valid team name (lower-case letters, digits, '.', '_', '-')")
        }
        if case .some(let text) = description { try AdministrationLimits.checkDescription(text) }
        let settings = settings
        return try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            let team = try Self.visibleTeam(name, acting, settings, writer)
            try acting.require(.updateTeam(try acting.standing(in: team, writer)), settings)
            if let newName, newName != team.name {
                if try writer.team(named: newName) != nil {
                    throw AdministrationError(.teamNameTaken, "a team named '\(newName)' already exists")
                }
                try writer.rename(team: team.id, to: newName)
                _ = try writer.appendAuditEvent(
                    acting.audit(
                        "team.change_team_name", target: "team:\(newName)", detail: [("old_name", team.name)]))
            }
            if case .some(let text) = description, text != team.description {
                try writer.setDescription(text, forTeam: team.id)
                _ = try writer.appendAuditEvent(
                    acting.audit(
                        "team.change_team_description", target: "team:\(newName ?? team.name)",
                        detail: [("description", text ?? "")]))
            }
            return try Self.details(try writer.team(id: team.id) ?? team, acting, writer)
        }
    }

    /// Deletes a team (needs `policy.delete.enabled`; admins and owners). Its namespaces go to the team named
    /// `heir`, which the actor must own; without an heir a team that owns namespaces is not deleted.
    public func delete(_ name: String, handingNamespacesTo heir: String? = nil, by actor: Caller) async throws {
        let settings = settings
        try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            let team = try Self.visibleTeam(name, acting, settings, writer)
            try acting.require(.deleteTeam(try acting.standing(in: team, writer)), settings)
            let namespaces = try writer.namespaces(ownedBy: team.id)
            if let heir {
                guard let receiving = try writer.team(named: heir), receiving.id != team.id else {
                    throw AdministrationError(.teamNotFound, "no other team named '\(heir)'")
                }
                let standing = try acting.standing(in: receiving, writer)
                for namespace in namespaces {
                    try acting.require(
                        .transferNamespace(try acting.standing(in: namespace, writer), receiving: standing), settings)
                    try writer.setTeam(receiving.id, for: namespace.id)
                }
            } else if !namespaces.isEmpty {
                throw AdministrationError(
                    .ownsNamespaces,
                    "team \(team.name) owns \(namespaces.map(\.name).joined(separator: ", ")); "
                        + "name a team to receive them, or delete them first")
            }
            try writer.deleteTeam(team.id)
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "team.delete", target: "team:\(team.name)",
                    detail: [
                        ("namespaces_to", heir),
                        ("namespaces", namespaces.isEmpty ? nil : namespaces.map(\.name).joined(separator: ",")),
                    ]))
        }
    }

    /// Adds `username` to the team with `role` (admins and owners). An administrator is always added as owner.
    public func addMember(
        _ username: String, to name: String, role: TeamRole = .viewer, by actor: Caller
    ) async throws -> TeamMember {
        let settings = settings
        return try await store.write { writer in
            let (acting, team) = try Self.managed(name, actor, settings, writer)
            let user = try AccountAdministration.user(username, writer)
            if try writer.role(of: user.id, in: team.id) != nil {
                throw AdministrationError(.alreadyMember, "\(user.username) is already a member of \(team.name)")
            }
            let effective: TeamRole = user.isAdmin ? .owner : role
            let member = try writer.addTeamMember(team: team.id, user: user.id, role: effective)
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "team.add_member", target: "team:\(team.name)",
                    detail: [("member", user.username), ("role", effective.rawValue)]))
            return member
        }
    }

    /// Removes `username` from the team (admins and owners); never its last owner.
    public func removeMember(_ username: String, from name: String, by actor: Caller) async throws {
        let settings = settings
        try await store.write { writer in
            let (acting, team) = try Self.managed(name, actor, settings, writer)
            let members = try writer.members(of: team.id)
            let user = try AccountAdministration.user(username, writer)
            guard let member = members.first(where: { $0.userID == user.id }) else {
                throw AdministrationError(.notMember, "\(user.username) is not a member of \(team.name)")
            }
            if member.role == .owner, members.filter({ $0.role == .owner }).count <= 1 {
                throw AdministrationError(.lastOwner, "cannot remove the only owner of team \(team.name)")
            }
            try writer.removeTeamMember(team: team.id, user: member.userID)
            _ = try writer.appendAuditEvent(
                acting.audit("team.remove_member", target: "team:\(team.name)", detail: [("member", member.username)]))
        }
    }

    /// Changes the role of `username` in the team (admins and owners). An administrator stays owner; the last
    /// owner cannot be demoted.
    public func setRole(_ role: TeamRole, of username: String, in name: String, by actor: Caller) async throws
        -> TeamMember
    {
        let settings = settings
        return try await store.write { writer in
            let (acting, team) = try Self.managed(name, actor, settings, writer)
            let user = try AccountAdministration.user(username, writer)
            let members = try writer.members(of: team.id)
            guard let member = members.first(where: { $0.userID == user.id }) else {
                throw AdministrationError(.notMember, "\(user.username) is not a member of \(team.name)")
            }
            if member.role == role { return member }
            if user.isAdmin {
                throw AdministrationError(
                    .adminDemotion, "\(user.username) cannot be demoted because they are an administrator")
            }
            if member.role == .owner, members.filter({ $0.role == .owner }).count <= 1 {
                throw AdministrationError(.lastOwner, "cannot demote the only owner of team \(team.name)")
            }
            try writer.setRole(role, team: team.id, user: user.id)
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "team.change_member_role", target: "team:\(team.name)",
                    detail: [
                        ("member", user.username), ("old_role", member.role.rawValue), ("new_role", role.rawValue),
                    ]))
            var changed = member
            changed.role = role
            return changed
        }
    }

    // MARK: - Helpers

    /// The team named `name` if the actor may see it; a team they may not see is "not found", so names do
    /// not leak. Hidden teams are not found for non-admins.
    static func visibleTeam(
        _ name: String, _ acting: ResolvedCaller, _ settings: ResourcePolicySettings, _ reader: any StoreReading
    ) throws -> Team {
        guard let team = try reader.team(named: name) else {
            throw AdministrationError(.teamNotFound, "no team named '\(name)'")
        }
        let standing = try acting.standing(in: team, reader)
        if case .denied(let denial) = ResourcePolicy.decide(.showTeam(standing), by: acting.caller, settings: settings)
        {
            if denial == .loginRequired {
                throw AdministrationError(.forbidden, denial.message, denial: denial)
            }
            throw AdministrationError(.teamNotFound, "no team named '\(name)'")
        }
        return team
    }

    /// The actor and the team, once the policy lets the actor manage its members.
    static func managed(
        _ name: String, _ actor: Caller, _ settings: ResourcePolicySettings, _ writer: any StoreWriting
    ) throws -> (ResolvedCaller, Team) {
        let acting = try ResolvedCaller(actor, in: writer)
        let team = try visibleTeam(name, acting, settings, writer)
        if team.isHidden {
            throw AdministrationError(.hiddenTeam, "personal and global teams take no members")
        }
        try acting.require(.manageMembers(try acting.standing(in: team, writer)), settings)
        return (acting, team)
    }

    private static func summary(_ team: Team, _ acting: ResolvedCaller, _ reader: any StoreReading) throws
        -> TeamSummary
    {
        let members = try reader.members(of: team.id)
        return TeamSummary(
            id: team.id, name: team.name, description: team.description, memberCount: members.count,
            namespaceCount: try reader.namespaces(ownedBy: team.id).count,
            yourRole: acting.actor.userID.flatMap { id in members.first { $0.userID == id }?.role },
            createdAt: team.createdAt)
    }

    private static func details(_ team: Team, _ acting: ResolvedCaller, _ reader: any StoreReading) throws
        -> TeamDetails
    {
        TeamDetails(
            team: try summary(team, acting, reader), members: try reader.members(of: team.id),
            namespaces: try reader.namespaces(ownedBy: team.id).map(\.name))
    }
}
