import IdentityCore
import Storage

/// One requested scope and what the policy granted of it.
public struct GrantedScope: Sendable, Hashable {
    /// The scope as requested (after parsing and merging).
    public var requested: ResourceScope
    /// The same resource with the granted actions only; empty when nothing was granted.
    public var granted: ResourceScope

    /// Pairs a request with its grant.
    public init(requested: ResourceScope, granted: ResourceScope) {
        self.requested = requested
        self.granted = granted
    }

    /// Whether nothing of the scope was granted.
    public var isDenied: Bool { granted.actions.isEmpty }

    /// The token's `access` claim: the granted scopes, leaving out those granted nothing.
    public static func accessClaim(_ grants: [GrantedScope]) -> [ResourceScope] {
        grants.filter { !$0.isDenied }.map(\.granted)
    }
}

/// Loads what the policy needs from the store and applies `AccessPolicy` to each scope.
///
/// Threading contract: synchronous; call it inside one `Store.read` closure so every scope is
/// decided against the same snapshot. Throws only what the `StoreReading` calls throw
/// (`StoreError`); a denial is a grant with no actions, never an error.
public enum AccessResolver {
    /// Decides every scope for `principal` (nil: anonymous), in the order given.
    ///
    /// Unknown resource types and registry resources other than `catalog` are granted nothing
    /// without touching the store. Each namespace is read once however many scopes name it.
    public static func resolve(
        _ scopes: [ResourceScope], for principal: Principal?, reader: any StoreReading,
        settings: AuthorizationSettings
    ) throws -> [GrantedScope] {
        var context = Lookup(principal: principal, reader: reader)
        return try scopes.map { scope in
            let actions: Set<String>
            if let target = try context.target(of: scope) {
                actions = AccessPolicy.allowedActions(scope.actions, on: target, for: principal, settings: settings)
            } else {
                actions = []
            }
            var granted = scope
            granted.actions = actions
            return GrantedScope(requested: scope, granted: granted)
        }
    }

    /// Per-request cache over the reader: the principal's memberships and each namespace looked up.
    private struct Lookup {
        let principal: Principal?
        let reader: any StoreReading
        var rolesByTeam: [Team.ID: TeamRole]?
        var targets: [String?: PolicyTarget] = [:]

        init(principal: Principal?, reader: any StoreReading) {
            self.principal = principal
            self.reader = reader
        }

        mutating func target(of scope: ResourceScope) throws -> PolicyTarget? {
            switch scope.type {
            case ResourceScope.registryType:
                return scope.name == "catalog" ? .catalog : nil
            case ResourceScope.repositoryType:
                let namespaceName = scope.namespaceName
                if let cached = targets[namespaceName] { return cached }
                let target = try namespaceTarget(namespaceName)
                targets[namespaceName] = target
                return target
            default:
                return nil
            }
        }

        private mutating func namespaceTarget(_ name: String?) throws -> PolicyTarget {
            let found = try name.map { try reader.namespace(named: $0) } ?? reader.globalNamespace()
            guard let namespace = found else { return .missingNamespace(named: name) }
            var facts = NamespaceFacts(name: namespace.name, visibility: namespace.visibility, kind: namespace.kind)
            if let principal {
                facts.isOwnPersonalNamespace =
                    principal.robot == nil && namespace.kind == .personal
                    && namespace.personalOwnerID?.rawValue == principal.userID
                facts.role = try roles(of: principal)[namespace.teamID]
            }
            return .namespace(facts)
        }

        private mutating func roles(of principal: Principal) throws -> [Team.ID: TeamRole] {
            if let rolesByTeam { return rolesByTeam }
            // A robot holds its team's rights (an owner's) in its team's namespaces, and no membership else.
            if let robot = principal.robot {
                let roles = [Team.ID(robot.teamID): TeamRole.owner]
                rolesByTeam = roles
                return roles
            }
            let memberships = try reader.memberships(of: User.ID(principal.userID))
            let roles = Dictionary(memberships.map { ($0.team.id, $0.role) }, uniquingKeysWith: { max($0, $1) })
            rolesByTeam = roles
            return roles
        }
    }
}

/// Whom an authenticated identity acts as.
public enum PrincipalResolution: Sendable, Hashable {
    /// An enabled local account.
    case principal(Principal)
    /// The account exists but is disabled: answer as a failed login (401), not as anonymous.
    case disabled
    /// No local account: a federated identity with no identity link (provisioning comes later), or
    /// a local account deleted since it authenticated.
    case noAccount
}

/// Maps an authenticated `ExternalIdentity` to the local account it acts as.
///
/// Threading contract: synchronous; call it inside a `Store.read` closure. Throws only what the
/// `StoreReading` calls throw (`StoreError`).
public enum PrincipalResolver {
    /// The principal for `identity`: a `.localAccount` origin names the user directly, a federated
    /// one goes through its identity link `(provider, subject)`, never through username or email.
    /// The username and admin flag come from the stored account, the restriction from the identity.
    public static func resolve(_ identity: ExternalIdentity, reader: any StoreReading) throws -> PrincipalResolution {
        let user: User?
        switch identity.origin {
        case .localAccount(let userID):
            user = try reader.user(id: User.ID(userID))
        case .federated:
            user = try reader.user(linkedTo: identity.provider.rawValue, subject: identity.subject)
        case .robot(let robotID):
            return try resolveRobot(robotID, reader: reader)
        }
        guard let user else { return .noAccount }
        guard user.isEnabled else { return .disabled }
        return .principal(
            Principal(
                userID: user.id.rawValue, username: user.username, isAdmin: user.isAdmin,
                restriction: identity.restriction, credential: identity.credential))
    }

    /// A robot acts for its team, whoever made it: it resolves while the robot and its team exist, with the
    /// robot's stored restriction (not the identity's, which a cache may hold from before a change).
    private static func resolveRobot(_ robotID: Int64, reader: any StoreReading) throws
        -> PrincipalResolution
    {
        guard let robot = try reader.robotAccount(id: RobotAccount.ID(robotID)),
            let team = try reader.team(id: robot.teamID)
        else { return .noAccount }
        guard robot.revokedAt == nil else { return .disabled }
        return .principal(
            .robot(
                RobotActor(robotID: robotID, teamID: team.id.rawValue),
                loginName: RobotAccount.loginName(team: team.name, robot: robot.name), restriction: robot.restriction))
    }
}
