import IdentityCore

/// The local account a token request acts as, once authentication and account lookup are done.
///
/// Only enabled accounts become principals: a disabled user is refused before the policy runs.
public struct Principal: Sendable, Hashable, CustomStringConvertible {
    /// The local user's database id.
    public var userID: Int64
    /// The local username (the token's `sub`).
    public var username: String
    /// Whether the user is a Portcullis administrator.
    public var isAdmin: Bool
    /// Extra limits of the credential used (an application token's namespaces and actions), if any.
    public var restriction: AccessRestriction?
    /// What kind of secret authenticated this request.
    public var credential: CredentialKind
    /// The robot account this principal is, if it is one (then `userID` is 0 and names no account).
    public var robot: RobotActor?

    /// Creates a principal.
    public init(
        userID: Int64, username: String, isAdmin: Bool, restriction: AccessRestriction? = nil,
        credential: CredentialKind = .password, robot: RobotActor? = nil
    ) {
        self.robot = robot
        self.userID = userID
        self.username = username
        self.isAdmin = isAdmin
        self.restriction = restriction
        self.credential = credential
    }

    /// Whether this login may be extended with a refresh token: only a password login without
    /// restrictions. A refresh token acts with the user's full rights and outlives the credential, so
    /// handing one to an application token would survive the token's expiry or revocation.
    public var mayReceiveRefreshToken: Bool {
        credential == .password && (restriction?.isUnrestricted ?? true)
    }

    /// A robot principal: acts for `team` (as a team owner would, within its restriction), is no admin,
    /// and names no user account.
    public static func robot(_ robot: RobotActor, loginName: String, restriction: AccessRestriction) -> Principal {
        Principal(
            userID: 0, username: loginName, isAdmin: false, restriction: restriction, credential: .applicationToken,
            robot: robot)
    }

    /// A log-safe summary.
    public var description: String {
        "Principal(\(username) #\(userID)\(isAdmin ? ", admin" : "")\(restriction.map { _ in ", restricted" } ?? ""))"
    }
}

/// The robot account a principal is: a token owned by a team (`RobotAccount`).
public struct RobotActor: Sendable, Hashable {
    /// The robot's id.
    public var robotID: Int64
    /// The team it acts for.
    public var teamID: Int64

    /// Names a robot.
    public init(robotID: Int64, teamID: Int64) {
        self.robotID = robotID
        self.teamID = teamID
    }
}

/// Who may push images (Portus `user_permission.push_images.policy`); admins always may.
public enum PushPolicy: String, Sendable, Hashable, CaseIterable {
    /// Owners and contributors of a namespace's team (so every user in their own personal namespace).
    case allowTeams = "allow-teams"
    /// Every user in their own personal namespace only, even where they own or contribute to a team.
    case allowPersonal = "allow-personal"
    /// Administrators only.
    case adminOnly = "admin-only"
}

/// The configuration switches the access policy reads (Portus `user_permission`, `delete`).
public struct AuthorizationSettings: Sendable, Hashable {
    /// Who may push. Default: `.allowTeams`.
    public var pushPolicy: PushPolicy
    /// Whether anything may be deleted through the registry at all. Default: false (as Portus).
    public var deleteEnabled: Bool
    /// Whether team contributors, not only owners and admins, may delete. Default: false.
    public var deleteContributors: Bool
    /// Whether anonymous clients may pull from public namespaces. Default: true.
    public var anonymousPull: Bool

    /// Creates settings; every switch defaults to Portus's default.
    public init(
        pushPolicy: PushPolicy = .allowTeams, deleteEnabled: Bool = false, deleteContributors: Bool = false,
        anonymousPull: Bool = true
    ) {
        self.pushPolicy = pushPolicy
        self.deleteEnabled = deleteEnabled
        self.deleteContributors = deleteContributors
        self.anonymousPull = anonymousPull
    }
}

extension AccessRestriction {
    /// Every action a credential with this restriction may be granted on `target`, whatever the user may
    /// do there: the policy's answer is intersected with it, so a restricted credential never receives
    /// more than the restriction names.
    ///
    /// - Outside the restriction's namespaces nothing (a missing namespace counts by its requested name;
    ///   the catalog spans every namespace, so a namespace-restricted credential never lists it).
    /// - On a repository, the named actions; `*` when the restriction names `*`, or names `pull`, `push`
    ///   and `delete` (what the registry means by `*`); everything when it names `*` or no actions.
    /// - On the catalog (`registry:catalog:*`), which is none of pull, push or delete, `*` only when the
    ///   restriction names `*` or no actions: a pull-only token of an administrator cannot list it.
    public func permittedActions(on target: PolicyTarget) -> Set<String> {
        if let namespaces {
            let namespace: String?
            switch target {
            case .catalog: namespace = nil
            case .namespace(let facts): namespace = facts.name
            case .missingNamespace(let name): namespace = name
            }
            guard let namespace, namespaces.contains(namespace) else { return [] }
        }
        let names = actions ?? [RegistryAction.all]
        switch target {
        case .catalog:
            return names.contains(RegistryAction.all) ? [RegistryAction.all] : []
        case .namespace, .missingNamespace:
            let repositoryActions: Set<String> = [RegistryAction.pull, RegistryAction.push, RegistryAction.delete]
            if names.contains(RegistryAction.all) { return repositoryActions.union([RegistryAction.all]) }
            let permitted = names.intersection(repositoryActions)
            return permitted == repositoryActions ? permitted.union([RegistryAction.all]) : permitted
        }
    }
}
