import Storage

// Portus's web/API permission matrix (portus-behaviour.md §3.2) as a pure function: no store, no clock,
// no configuration reader. The application services gather the facts (the caller's role in a team, the
// kind of a namespace) in their transaction and ask here; the REST API and the CLI never decide alone.
// This file stays free of the token endpoint's types so that it moves to `Authorization` unchanged.

/// Who is asking, as far as the resource policy cares.
public enum ResourceCaller: Sendable, Hashable {
    /// Nobody logged in (the API without credentials, `explore`).
    case anonymous
    /// A logged-in account; `isAdmin` is its administrator flag (the operator at the CLI counts as one).
    case user(isAdmin: Bool)

    /// Whether the caller is an administrator.
    public var isAdmin: Bool {
        if case .user(let isAdmin) = self { return isAdmin }
        return false
    }

    /// Whether anyone is logged in.
    public var isLoggedIn: Bool { self != .anonymous }
}

/// What the policy needs to know about a namespace, seen from one caller.
public struct NamespaceStanding: Sendable, Hashable {
    /// Who may pull without being a member.
    public var visibility: NamespaceVisibility
    /// Global, personal or regular.
    public var kind: NamespaceKind
    /// The caller's role in the namespace's team; nil when not a member (or anonymous).
    public var role: TeamRole?

    /// Describes a namespace; a user's own personal namespace comes with `role: .owner` (they own its team).
    public init(visibility: NamespaceVisibility, kind: NamespaceKind = .regular, role: TeamRole? = nil) {
        self.visibility = visibility
        self.kind = kind
        self.role = role
    }
}

/// What the policy needs to know about a team, seen from one caller.
public struct TeamStanding: Sendable, Hashable {
    /// Whether the team is hidden (a personal team or the global team).
    public var isHidden: Bool
    /// The caller's role in the team; nil when not a member.
    public var role: TeamRole?

    /// Describes a team.
    public init(isHidden: Bool = false, role: TeamRole? = nil) {
        self.isHidden = isHidden
        self.role = role
    }
}

/// One thing a caller may want to do through the web UI, the REST API or the CLI (portus-behaviour.md §3.2).
public enum ResourceAction: Sendable, Hashable {
    /// Whether a namespace appears in the caller's namespace list (and may be shown).
    case showNamespace(NamespaceStanding)
    /// Create a namespace owned by a team (`team` is the chosen team; it is created private).
    case createNamespace(team: TeamStanding)
    /// Change a namespace's description.
    case updateNamespace(NamespaceStanding)
    /// Hand a namespace from its team to another one (`receiving` is the new team).
    case transferNamespace(NamespaceStanding, receiving: TeamStanding)
    /// Change a namespace's visibility.
    case changeVisibility(NamespaceStanding)
    /// Delete a namespace with its repositories.
    case deleteNamespace(NamespaceStanding)
    /// Whether a repository of this namespace appears in a repository list.
    case listRepository(NamespaceStanding)
    /// Show a repository or one of its tags.
    case showRepository(NamespaceStanding)
    /// Change a repository's description.
    case updateRepository(NamespaceStanding)
    /// Delete a repository or a tag.
    case deleteRepository(NamespaceStanding)
    /// Create a team (`withOwner`: naming someone else as its owner).
    case createTeam(withOwner: Bool)
    /// Change a team's name or description.
    case updateTeam(TeamStanding)
    /// Delete a team.
    case deleteTeam(TeamStanding)
    /// Show a team and its members (and whether it appears in the caller's team list).
    case showTeam(TeamStanding)
    /// Add, remove or change the role of a team member.
    case manageMembers(TeamStanding)
    /// Create or delete a webhook of a namespace.
    case createWebhook(NamespaceStanding)
    /// Change or toggle a webhook of a namespace.
    case updateWebhook(NamespaceStanding)
    /// Show a namespace's webhooks and their deliveries.
    case showWebhook(NamespaceStanding)
    /// Read, create, change or delete other accounts, registries and the audit log.
    case administer
    /// Disable or enable an account (`own`: the caller's own).
    case setEnabled(own: Bool, enabling: Bool)
}

/// Why the policy said no: what is missing, for a 403's message and the audit log.
public enum ResourceDenial: String, Sendable, Hashable, CaseIterable {
    /// The action needs a login.
    case loginRequired = "login_required"
    /// The action needs an administrator.
    case adminRequired = "admin_required"
    /// The action needs the owner role in the team.
    case ownerRequired = "owner_required"
    /// The action needs membership of the team (or a visibility that shows it).
    case memberRequired = "member_required"
    /// The push policy does not let the caller push into the namespace, which the action needs.
    case pushRequired = "push_required"
    /// A `policy.userPermission.*` switch turns the action off for non-administrators.
    case switchedOff = "switched_off"
    /// `policy.delete.enabled` is off: nothing is deleted by anyone.
    case deleteDisabled = "delete_disabled"
    /// Hidden teams (personal and global) are managed by Portcullis, not by people.
    case hiddenTeam = "hidden_team"
    /// The global namespace cannot be deleted or made private, nor change hands.
    case globalNamespace = "global_namespace"
    /// A personal namespace stays with its user: it cannot be deleted or change hands.
    case personalNamespace = "personal_namespace"
    /// Anonymous browsing (`policy.anonymousBrowsing`) is off.
    case anonymousBrowsingOff = "anonymous_browsing_off"

    /// A sentence saying what is missing.
    public var message: String {
        switch self {
        case .loginRequired: "this needs a login"
        case .adminRequired: "this needs an administrator"
        case .ownerRequired: "this needs the owner role in the team"
        case .memberRequired: "this needs membership of the team"
        case .pushRequired: "this needs push rights in the namespace under the configured push policy"
        case .switchedOff: "a policy.userPermission setting allows this to administrators only"
        case .deleteDisabled: "deletion is turned off (policy.delete.enabled)"
        case .hiddenTeam: "personal and global teams are managed by Portcullis"
        case .globalNamespace: "the global namespace cannot be changed this way"
        case .personalNamespace: "a personal namespace cannot be removed or change hands"
        case .anonymousBrowsingOff: "anonymous browsing is turned off (policy.anonymousBrowsing)"
        }
    }
}

/// The answer: allowed, or denied with what is missing.
public enum ResourceDecision: Sendable, Hashable {
    /// Go ahead.
    case allowed
    /// Refused, saying why.
    case denied(ResourceDenial)

    /// Whether the action is allowed.
    public var isAllowed: Bool { self == .allowed }
}

/// The switches the resource policy reads: Portus's `user_permission.*`, `delete.*`, the push policy and
/// anonymous browsing, with Portus's defaults (configured under `policy.*`).
public struct ResourcePolicySettings: Sendable, Hashable {
    /// Who may push (`policy.pushImages`); namespace creation and editing need push rights.
    public var pushPolicy: PushPolicy
    /// `policy.delete.enabled` (default true, as Portus).
    public var deleteEnabled: Bool
    /// `policy.delete.contributors` (default false).
    public var deleteContributors: Bool
    /// `policy.anonymousBrowsing` (default true).
    public var anonymousBrowsing: Bool
    /// `policy.userPermission.changeVisibility`.
    public var changeVisibility: Bool
    /// `policy.userPermission.createTeam`.
    public var createTeam: Bool
    /// `policy.userPermission.manageTeam`.
    public var manageTeam: Bool
    /// `policy.userPermission.createNamespace`.
    public var createNamespace: Bool
    /// `policy.userPermission.manageNamespace`.
    public var manageNamespace: Bool
    /// `policy.userPermission.createWebhook`.
    public var createWebhook: Bool
    /// `policy.userPermission.manageWebhook`.
    public var manageWebhook: Bool

    /// Creates settings; every switch defaults to Portus's default.
    public init(
        pushPolicy: PushPolicy = .allowTeams, deleteEnabled: Bool = true, deleteContributors: Bool = false,
        anonymousBrowsing: Bool = true, changeVisibility: Bool = true, createTeam: Bool = true,
        manageTeam: Bool = true, createNamespace: Bool = true, manageNamespace: Bool = true,
        createWebhook: Bool = true, manageWebhook: Bool = true
    ) {
        self.pushPolicy = pushPolicy
        self.deleteEnabled = deleteEnabled
        self.deleteContributors = deleteContributors
        self.anonymousBrowsing = anonymousBrowsing
        self.changeVisibility = changeVisibility
        self.createTeam = createTeam
        self.manageTeam = manageTeam
        self.createNamespace = createNamespace
        self.manageNamespace = manageNamespace
        self.createWebhook = createWebhook
        self.manageWebhook = manageWebhook
    }
}

/// Portus's web/API permission matrix (portus-behaviour.md §3.2), with the departures that
/// docs/permissions.md lists: a pure function of the caller, the facts and the settings.
///
/// Administrators may do everything except what no one may (delete with `policy.delete.enabled` off,
/// delete or privatise the global namespace, manage hidden teams' members).
public enum ResourcePolicy {
    /// Whether `caller` may do `action` under `settings`, and if not, what is missing.
    public static func decide(
        _ action: ResourceAction, by caller: ResourceCaller, settings: ResourcePolicySettings = .init()
    ) -> ResourceDecision {
        switch action {
        case .showNamespace(let namespace), .showRepository(let namespace), .listRepository(let namespace):
            return mayShow(namespace, caller, settings)
        case .createNamespace(let team):
            return mayCreateNamespace(in: team, caller, settings)
        case .updateNamespace(let namespace):
            return owning(namespace, caller, switchOn: settings.manageNamespace)
                .then { mayPush(into: namespace, caller, settings) }
        case .transferNamespace(let namespace, let receiving):
            if namespace.kind == .global { return .denied(.globalNamespace) }
            if namespace.kind == .personal { return .denied(.personalNamespace) }
            return owning(namespace, caller, switchOn: settings.manageNamespace)
                .then { receiving.isHidden ? .denied(.hiddenTeam) : .allowed }
                .then { caller.isAdmin || receiving.role == .owner ? .allowed : .denied(.ownerRequired) }
        case .changeVisibility(let namespace):
            // Admins may open or close the global namespace (the service keeps it from turning private).
            if namespace.kind == .global, caller.isLoggedIn, !caller.isAdmin { return .denied(.globalNamespace) }
            return owning(namespace, caller, switchOn: settings.changeVisibility)
        case .deleteNamespace(let namespace):
            guard settings.deleteEnabled else { return .denied(.deleteDisabled) }
            if namespace.kind == .global { return .denied(.globalNamespace) }
            if namespace.kind == .personal { return .denied(.personalNamespace) }
            return mayDelete(in: namespace.role, caller, settings)
        case .updateRepository(let namespace):
            return owning(namespace, caller, switchOn: true)
        case .deleteRepository(let namespace):
            guard settings.deleteEnabled else { return .denied(.deleteDisabled) }
            return mayDelete(in: namespace.role, caller, settings)
        case .createTeam(let withOwner):
            guard caller.isLoggedIn else { return .denied(.loginRequired) }
            if caller.isAdmin { return .allowed }
            if withOwner { return .denied(.adminRequired) }
            return settings.createTeam ? .allowed : .denied(.switchedOff)
        case .updateTeam(let team), .manageMembers(let team):
            if team.isHidden { return .denied(.hiddenTeam) }
            return teamOwner(team, caller, switchOn: settings.manageTeam)
        case .deleteTeam(let team):
            guard settings.deleteEnabled else { return .denied(.deleteDisabled) }
            if team.isHidden { return .denied(.hiddenTeam) }
            return teamOwner(team, caller, switchOn: true)
        case .showTeam(let team):
            guard caller.isLoggedIn else { return .denied(.loginRequired) }
            if caller.isAdmin { return .allowed }
            return team.role != nil ? .allowed : .denied(.memberRequired)
        case .createWebhook(let namespace):
            return owning(namespace, caller, switchOn: settings.createWebhook)
        case .updateWebhook(let namespace):
            return owning(namespace, caller, switchOn: settings.manageWebhook)
        case .showWebhook(let namespace):
            guard caller.isLoggedIn else { return .denied(.loginRequired) }
            return caller.isAdmin || namespace.role != nil ? .allowed : .denied(.memberRequired)
        case .administer:
            guard caller.isLoggedIn else { return .denied(.loginRequired) }
            return caller.isAdmin ? .allowed : .denied(.adminRequired)
        case .setEnabled(let own, let enabling):
            guard caller.isLoggedIn else { return .denied(.loginRequired) }
            // Users may disable themselves (the last-admin rule is the service's); only admins re-enable.
            return caller.isAdmin || (own && !enabling) ? .allowed : .denied(.adminRequired)
        }
    }

    // MARK: - The cells

    /// Pull's matrix (§3.1), which showing follows: anonymous callers see public namespaces while anonymous
    /// browsing is on, logged-in ones public and protected namespaces and their teams', admins everything.
    private static func mayShow(
        _ namespace: NamespaceStanding, _ caller: ResourceCaller, _ settings: ResourcePolicySettings
    ) -> ResourceDecision {
        switch caller {
        case .anonymous:
            guard namespace.visibility == .public else { return .denied(.loginRequired) }
            return settings.anonymousBrowsing ? .allowed : .denied(.anonymousBrowsingOff)
        case .user(let isAdmin):
            if isAdmin || namespace.visibility != .private || namespace.role != nil { return .allowed }
            return namespace.kind == .global ? .allowed : .denied(.memberRequired)
        }
    }

    /// Push's matrix (§3.1) as a decision.
    private static func mayPush(
        into namespace: NamespaceStanding, _ caller: ResourceCaller, _ settings: ResourcePolicySettings
    ) -> ResourceDecision {
        guard caller.isLoggedIn else { return .denied(.loginRequired) }
        if caller.isAdmin { return .allowed }
        if namespace.kind == .global { return .denied(.adminRequired) }
        switch settings.pushPolicy {
        case .allowTeams:
            return (namespace.role ?? .viewer) >= .contributor ? .allowed : .denied(.pushRequired)
        case .allowPersonal:
            return namespace.kind == .personal && namespace.role == .owner ? .allowed : .denied(.pushRequired)
        case .adminOnly:
            return .denied(.pushRequired)
        }
    }

    private static func mayCreateNamespace(
        in team: TeamStanding, _ caller: ResourceCaller, _ settings: ResourcePolicySettings
    ) -> ResourceDecision {
        guard caller.isLoggedIn else { return .denied(.loginRequired) }
        if team.isHidden { return .denied(.hiddenTeam) }
        if caller.isAdmin { return .allowed }
        guard settings.createNamespace else { return .denied(.switchedOff) }
        // Push on the new namespace: a regular namespace of `team`, as the caller stands in it.
        return mayPush(into: NamespaceStanding(visibility: .private, role: team.role), caller, settings)
    }

    /// Admin, or (the switch on and) the owner of the namespace's team.
    private static func owning(
        _ namespace: NamespaceStanding, _ caller: ResourceCaller, switchOn: Bool
    ) -> ResourceDecision {
        guard caller.isLoggedIn else { return .denied(.loginRequired) }
        if caller.isAdmin { return .allowed }
        guard namespace.role == .owner else { return .denied(.ownerRequired) }
        return switchOn ? .allowed : .denied(.switchedOff)
    }

    /// Admin, or (the switch on and) the owner of the team.
    private static func teamOwner(_ team: TeamStanding, _ caller: ResourceCaller, switchOn: Bool) -> ResourceDecision {
        guard caller.isLoggedIn else { return .denied(.loginRequired) }
        if caller.isAdmin { return .allowed }
        guard team.role == .owner else { return .denied(.ownerRequired) }
        return switchOn ? .allowed : .denied(.switchedOff)
    }

    /// Admins and owners; contributors when `policy.delete.contributors` is on.
    private static func mayDelete(
        in role: TeamRole?, _ caller: ResourceCaller, _ settings: ResourcePolicySettings
    ) -> ResourceDecision {
        guard caller.isLoggedIn else { return .denied(.loginRequired) }
        if caller.isAdmin { return .allowed }
        switch role {
        case .owner: return .allowed
        case .contributor: return settings.deleteContributors ? .allowed : .denied(.ownerRequired)
        case .viewer, nil: return .denied(.ownerRequired)
        }
    }
}

extension ResourceDecision {
    /// This decision when it refuses, else `next()`'s: checks read left to right, the first refusal wins.
    fileprivate func then(_ next: () -> ResourceDecision) -> ResourceDecision {
        isAllowed ? next() : self
    }
}
