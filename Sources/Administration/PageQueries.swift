import Authorization
import Storage

extension AccountAdministration {
    /// One page of the accounts whose username, e-mail or display name contains `text` (all when empty),
    /// ordered by username (admins only): the admin UI's user list and its search box.
    public func search(_ text: String?, offset: Int = 0, limit: Int = 25, by actor: Caller) async throws
        -> Page<AccountSummary>
    {
        try PageRequest<AccountSortField>(offset: offset, limit: limit, sort: .username).validate()
        let settings = settings
        let text = text?.trimmingCharacters(in: .whitespaces)
        return try await store.read { reader in
            try ResolvedCaller(actor, in: reader).require(.administer, settings)
            let found = try reader.userPage(matching: text, offset: offset, limit: limit)
            return Page(items: found.items.map(AccountSummary.init), total: found.total, offset: offset, limit: limit)
        }
    }
}

/// What the caller may do to one team, as the policy decides it now: the pages show only the buttons that
/// would work (the services decide again when the button is pressed).
public struct TeamPermissions: Sendable, Hashable {
    /// Change its name and description.
    public var mayEdit: Bool
    /// Add and remove members, change roles.
    public var mayManageMembers: Bool
    /// Delete it.
    public var mayDelete: Bool
    /// Create and revoke its robot accounts (owners and admins, as `RobotAccountService` rules).
    public var mayManageRobots: Bool
    /// See its robot accounts (members and admins).
    public var maySeeRobots: Bool
}

extension TeamAdministration {
    /// Whether `actor` may create a team of their own.
    public func mayCreate(by actor: Caller) async throws -> Bool {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            return ResourcePolicy.decide(.createTeam(withOwner: false), by: acting.caller, settings: settings)
                == .allowed
        }
    }

    /// What `actor` may do to the team named `name` (nothing when it does not exist).
    public func permissions(of name: String, by actor: Caller) async throws -> TeamPermissions {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            guard let team = try reader.team(named: name) else {
                return TeamPermissions(
                    mayEdit: false, mayManageMembers: false, mayDelete: false, mayManageRobots: false,
                    maySeeRobots: false)
            }
            let standing = try acting.standing(in: team, reader)
            func allows(_ action: ResourceAction) -> Bool {
                ResourcePolicy.decide(action, by: acting.caller, settings: settings) == .allowed
            }
            return TeamPermissions(
                mayEdit: allows(.updateTeam(standing)), mayManageMembers: allows(.manageMembers(standing)),
                mayDelete: allows(.deleteTeam(standing)),
                mayManageRobots: !team.isHidden && (acting.isAdmin || standing.role == .owner),
                maySeeRobots: !team.isHidden && (acting.isAdmin || standing.role != nil))
        }
    }
}
