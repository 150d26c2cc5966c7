import Authorization
import Diagnostics
import Storage

/// Why an administration operation refused or failed. Input and rule violations carry a code per
/// aggregate (`team.last_owner`); policy refusals say what is missing (`denial`). Database failures stay
/// `StoreError`s.
public struct AdministrationError: CodedError, Hashable, Sendable {
    /// The stable kind of failure.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The policy refuses the actor this operation; `denial` says what is missing (HTTP 403).
        case forbidden = "administration.forbidden"
        /// The acting account was deleted or disabled since it authenticated (HTTP 401).
        case unauthenticated = "administration.unauthenticated"
        /// Paging out of range: a negative offset, or a limit outside 1…`PageRequest.maximumLimit`.
        case invalidPaging = "administration.invalid_paging"
        /// No account has this name.
        case userNotFound = "account.not_found"
        /// The username breaks `IdentityCore.Username`'s rule, or has no letter or digit to name a namespace.
        case invalidUsername = "account.invalid_username"
        /// An account has this name already (in any case spelling).
        case usernameTaken = "account.username_taken"
        /// The password is shorter than 8 characters or longer than bcrypt's 72 bytes.
        case invalidPassword = "account.invalid_password"
        /// The e-mail address is empty, too long, has no `@`, or holds spaces or control characters.
        case invalidEmail = "account.invalid_email"
        /// The display name is too long or holds control characters.
        case invalidDisplayName = "account.invalid_display_name"
        /// The change would leave no enabled administrator.
        case lastAdmin = "account.last_admin"
        /// Administrators cannot take their own admin flag (another admin must).
        case ownAdminFlag = "account.own_admin_flag"
        /// No (visible) team has this name.
        case teamNotFound = "team.not_found"
        /// The team name breaks the naming rule.
        case invalidTeamName = "team.invalid_name"
        /// A team has this name already.
        case teamNameTaken = "team.name_taken"
        /// Personal and global teams take no members by hand.
        case hiddenTeam = "team.hidden"
        /// The user is a member already.
        case alreadyMember = "team.already_member"
        /// The user is not a member.
        case notMember = "team.not_member"
        /// The change would leave the team without an owner.
        case lastOwner = "team.last_owner"
        /// An administrator in a team is always an owner.
        case adminDemotion = "team.admin_demotion"
        /// The team still owns namespaces and no team to receive them was named.
        case ownsNamespaces = "team.owns_namespaces"
        /// A provider group named as a team member is malformed (no provider, an empty or wildcard group).
        case invalidGroup = "team.invalid_group"
        /// The provider group is named as a member of the team already.
        case groupAlreadyMember = "team.group_already_member"
        /// The team names no such provider group.
        case groupNotMember = "team.group_not_member"
        /// No namespace has this name (or the actor may not see it).
        case namespaceNotFound = "namespace.not_found"
        /// The namespace name breaks Portus's naming rule.
        case invalidNamespaceName = "namespace.invalid_name"
        /// A namespace has this name already.
        case namespaceNameTaken = "namespace.name_taken"
        /// The global namespace cannot be private.
        case globalPrivate = "namespace.global_private"
        /// The namespace still holds repositories: they are deleted at the registry first.
        case namespaceNotEmpty = "namespace.not_empty"
        /// No repository has this name (or the actor may not see it).
        case repositoryNotFound = "repository.not_found"
        /// Several registries hold a repository of this name: name the registry.
        case ambiguousRepository = "repository.ambiguous"
        /// The repository has no tag of this name.
        case tagNotFound = "repository.tag_not_found"
        /// A description is longer than `AdministrationLimits.descriptionLength` or holds control characters.
        case invalidDescription = "administration.invalid_description"
        /// The account has no live web session with this id (it ended, expired, or is another account's).
        case sessionNotFound = "session.not_found"
        /// The first-run setup code was refused: it is not one the server printed, or it was already used.
        case setupCodeRejected = "setup.code_rejected"
        /// First-run setup is over: an account exists, so the first administrator cannot be created this way.
        case setupAlreadyDone = "setup.already_done"
        /// config.d declares no workload identity policy of this name.
        case workloadPolicyNotFound = "workload.policy_not_found"
    }

    /// The stable kind of failure.
    public let code: Code
    /// What exactly was wrong, for people (names are quoted as given; front doors make them inert).
    public let reason: String
    /// For `.forbidden`: what the actor lacks.
    public let denial: ResourceDenial?

    /// Creates an error.
    public init(_ code: Code, _ reason: String = "", denial: ResourceDenial? = nil) {
        self.code = code
        self.reason = reason
        self.denial = denial
    }

    /// Whether this error means "not found" (a front door answers 404).
    public var isNotFound: Bool {
        [
            .userNotFound, .teamNotFound, .namespaceNotFound, .repositoryNotFound, .tagNotFound, .sessionNotFound,
            .workloadPolicyNotFound,
        ].contains(code)
    }

    /// Whether this error is a clash with what exists (a front door answers 409).
    public var isConflict: Bool {
        [
            .usernameTaken, .teamNameTaken, .namespaceNameTaken, .alreadyMember, .lastOwner, .lastAdmin,
            .ownsNamespaces,
            .namespaceNotEmpty, .setupAlreadyDone,
        ].contains(code)
    }
}

/// What an account's contact address and display name may be.
public enum ProfileRules {
    /// The longest e-mail address (RFC 5321's path limit).
    public static let emailLength = 254
    /// The longest display name, in characters.
    public static let displayNameLength = 255

    /// Throws `account.invalid_email` for an address that cannot be one.
    public static func checkEmail(_ email: String) throws {
        let scalars = email.unicodeScalars
        guard !email.isEmpty, email.utf8.count <= emailLength, email.contains("@"),
            !scalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control })
        else {
            throw AdministrationError(
                .invalidEmail, "an e-mail address is up to \(emailLength) bytes with an '@' and no spaces")
        }
    }

    /// Throws `account.invalid_display_name` for a name too long or with control characters.
    public static func checkDisplayName(_ name: String) throws {
        guard name.count <= displayNameLength,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw AdministrationError(
                .invalidDisplayName,
                "a display name is up to \(displayNameLength) characters without control characters")
        }
    }
}

/// Limits on free text the services store.
public enum AdministrationLimits {
    /// The longest description (team, namespace, repository), in characters.
    public static let descriptionLength = 4096

    /// Refuses a description that is too long or carries control characters other than line breaks and tabs.
    static func checkDescription(_ text: String?) throws {
        guard let text else { return }
        guard text.count <= descriptionLength else {
            throw AdministrationError(
                .invalidDescription, "the description is longer than \(descriptionLength) characters")
        }
        let allowed: Set<Unicode.Scalar> = ["\n", "\t"]
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && !allowed.contains($0) }) {
            throw AdministrationError(.invalidDescription, "the description holds control characters")
        }
    }
}
