import IdentityCore
import Storage

/// What the policy needs to know about an existing namespace, seen from one principal.
public struct NamespaceFacts: Sendable, Hashable {
    /// The stored namespace name (matched against an application token's namespace restriction).
    public var name: String
    /// Who may pull without being a member.
    public var visibility: NamespaceVisibility
    /// Global, personal or regular.
    public var kind: NamespaceKind
    /// Whether this is the principal's own personal namespace.
    public var isOwnPersonalNamespace: Bool
    /// The principal's role in the namespace's team, or nil when not a member (or anonymous).
    public var role: TeamRole?

    /// Describes a namespace.
    public init(
        name: String, visibility: NamespaceVisibility, kind: NamespaceKind, isOwnPersonalNamespace: Bool = false,
        role: TeamRole? = nil
    ) {
        self.name = name
        self.visibility = visibility
        self.kind = kind
        self.isOwnPersonalNamespace = isOwnPersonalNamespace
        self.role = role
    }
}

/// The resource a scope is checked against.
public enum PolicyTarget: Sendable, Hashable {
    /// `registry:catalog`: the list of every repository.
    case catalog
    /// A repository in an existing namespace.
    case namespace(NamespaceFacts)
    /// A repository in a namespace that does not exist (yet); the name is the requested namespace,
    /// nil for the global namespace.
    case missingNamespace(named: String?)
}

/// The Portus authorization matrix (portus-behaviour.md §3.1) as a pure function, with
/// Portcullis's fixes.
///
/// - **pull**: public namespaces to anyone (anonymous too, unless `anonymousPull` is off);
///   protected ones to every logged-in user; private ones to team members and admins. The global
///   namespace is pullable by every logged-in user whatever its visibility (Portus `pull?`).
/// - **push**: never anonymous; admins always. Otherwise by push policy: `allow-teams` lets team
///   owners and contributors push, `allow-personal` only the user's own personal namespace,
///   `admin-only` nobody else. The global namespace is admins only under every policy (its team's
///   owners are the admins in Portus; Portcullis does not rely on that team's rows). Visibility
///   plays no part.
/// - **delete**: needs `deleteEnabled`; then admins, team owners, and contributors when
///   `deleteContributors` is on. Independent of the push policy, as in Portus. In the global
///   namespace, admins only.
/// - **`*`** on a repository: the registry treats `*` as "every action", so it is granted only
///   when pull, push **and** delete all are. (Portus granted `*` on `delete?` alone, which handed
///   push to anyone who could delete, even under `admin-only`.) Registries before 2.7 ask `*` for
///   deletes; such a delete now also needs push rights.
/// - **`registry:catalog:*`**: admins only, and only the action `*`.
/// - A user's own personal namespace counts as owned by them even if their personal team's row
///   is missing; other users' roles in a personal team are honoured as Portus does.
/// - **Missing namespaces** (a push to `newns/img` before `newns` exists): as in Portus, admins get
///   pull, push and (with `deleteEnabled`) delete and `*`; everyone else nothing. The registry
///   event handler or catalog sync must then create the namespace (Portus makes it an orphan
///   namespace: private, owned by the global team); a non-admin has to create it first.
/// - Unknown actions are never granted, and the result is always a subset of `requested`.
/// - Finally the result is intersected with what the principal's `restriction` (application tokens)
///   permits on the target (`AccessRestriction.permittedActions(on:)`): a restricted credential never
///   receives more than its restriction names, on every kind of resource.
///
/// - A **robot** (`Principal.robot`) holds the owner role in its team's namespaces and nothing anywhere
///   else, public namespaces included; its restriction (actions, chosen namespaces) then applies as above.
///
/// Disabled users never reach the policy: they fail authentication.
public enum AccessPolicy {
    /// The subset of `requested` that `principal` (nil: anonymous) may do on `target`.
    public static func allowedActions(
        _ requested: Set<String>, on target: PolicyTarget, for principal: Principal?,
        settings: AuthorizationSettings
    ) -> Set<String> {
        let allowed: Set<String>
        switch target {
        case .catalog:
            allowed = principal?.isAdmin == true ? [RegistryAction.all] : []
        case .missingNamespace:
            allowed =
                principal?.isAdmin == true
                ? repositoryActions(pull: true, push: true, delete: settings.deleteEnabled) : []
        case .namespace(let facts):
            allowed = repositoryActions(
                pull: mayPull(facts, principal, settings), push: mayPush(facts, principal, settings),
                delete: mayDelete(facts, principal, settings))
        }
        let granted = requested.intersection(allowed)
        // A robot acts only in its team's namespaces (where the resolver gave it the team's role): public
        // and protected namespaces elsewhere, the catalog and missing namespaces are closed to it.
        if principal?.robot != nil {
            guard case .namespace(let facts) = target, facts.role != nil else { return [] }
        }
        guard let restriction = principal?.restriction else { return granted }
        return granted.intersection(restriction.permittedActions(on: target))
    }

    // MARK: - The matrix

    private static func repositoryActions(pull: Bool, push: Bool, delete: Bool) -> Set<String> {
        var actions: Set<String> = []
        if pull { actions.insert(RegistryAction.pull) }
        if push { actions.insert(RegistryAction.push) }
        if delete { actions.insert(RegistryAction.delete) }
        if pull && push && delete { actions.insert(RegistryAction.all) }
        return actions
    }

    /// The role the principal effectively holds: their own personal namespace counts as owned.
    private static func effectiveRole(_ facts: NamespaceFacts) -> TeamRole? {
        facts.isOwnPersonalNamespace ? .owner : facts.role
    }

    private static func mayPull(_ facts: NamespaceFacts, _ principal: Principal?, _ settings: AuthorizationSettings)
        -> Bool
    {
        guard let principal else { return settings.anonymousPull && facts.visibility == .public }
        switch facts.visibility {
        case .public, .protected: return true
        case .private: return principal.isAdmin || facts.kind == .global || effectiveRole(facts) != nil
        }
    }

    private static func mayPush(_ facts: NamespaceFacts, _ principal: Principal?, _ settings: AuthorizationSettings)
        -> Bool
    {
        guard let principal else { return false }
        if principal.isAdmin { return true }
        if facts.kind == .global { return false }
        switch settings.pushPolicy {
        case .allowTeams:
            return effectiveRole(facts).map { $0 >= .contributor } ?? false
        case .allowPersonal:
            return facts.isOwnPersonalNamespace
        case .adminOnly:
            return false
        }
    }

    private static func mayDelete(_ facts: NamespaceFacts, _ principal: Principal?, _ settings: AuthorizationSettings)
        -> Bool
    {
        guard let principal, settings.deleteEnabled else { return false }
        if principal.isAdmin { return true }
        if facts.kind == .global { return false }
        switch effectiveRole(facts) {
        case .owner: return true
        case .contributor: return settings.deleteContributors
        case .viewer, nil: return false
        }
    }
}
