import Foundation

/// The configured id of a provider instance (`local`, `corp-ldap`); persisted in identity links, so it
/// never changes once users have logged in through it.
public struct ProviderID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The id as configured.
    public let rawValue: String
    /// Wraps a configured id.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps a literal id.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The id itself.
    public var description: String { rawValue }
}

/// Where an authenticated identity's account lives.
public enum IdentityOrigin: Sendable, Hashable {
    /// A Portcullis account authenticated directly (local password, application token): the user id.
    case localAccount(userID: Int64)
    /// An identity from an external directory or IdP, mapped to an account through identity links.
    case federated
    /// A robot account (a token owned by a team, not a person): the robot's id. It acts for its team and
    /// is never mapped to a user.
    case robot(robotID: Int64)
}

/// Limits an authentication carries beyond the user's own rights (an application token restricted
/// to some namespaces or actions). `nil` fields mean "no restriction of that kind".
public struct AccessRestriction: Sendable, Hashable, Codable {
    /// The namespaces the credential may touch, or nil for all the user may touch.
    public var namespaces: Set<String>?
    /// The registry actions (`pull`, `push`, `delete`, `*`) the credential may be granted, or nil for all.
    public var actions: Set<String>?

    /// Creates a restriction.
    public init(namespaces: Set<String>? = nil, actions: Set<String>? = nil) {
        self.namespaces = namespaces
        self.actions = actions
    }

    /// Whether this restriction limits nothing.
    public var isUnrestricted: Bool { namespaces == nil && actions == nil }
}

/// What kind of secret proved an identity; decides what the session may be extended with.
public enum CredentialKind: Sendable, Hashable {
    /// The user's own password (local or directory).
    case password
    /// A delegated, revocable credential (an application token): never exchanged for longer-lived ones.
    case applicationToken
    /// A browser login at an external identity provider.
    case externalLogin
}

/// Who a provider says the user is. Never carries a secret.
public struct ExternalIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The provider instance that vouched for this identity.
    public var provider: ProviderID
    /// A stable key for the user at that provider (LDAP entryUUID, OIDC `iss`+`sub`, a local user id),
    /// never a display name.
    public var subject: String
    /// The login name as the provider knows it.
    public var username: String
    /// The email address, if known.
    public var email: String?
    /// Whether the provider verified the email address.
    public var emailVerified: Bool
    /// A human-friendly name, if known.
    public var displayName: String?
    /// Group names the provider reports (LDAP groups, OIDC `groups` claim).
    public var groups: [String]
    /// Where the account lives.
    public var origin: IdentityOrigin
    /// Extra limits of the credential used, if any.
    public var restriction: AccessRestriction?
    /// What kind of secret proved this identity.
    public var credential: CredentialKind
    /// The user's directory entry (an LDAP DN), for providers that have one; nil otherwise.
    public var distinguishedName: String?

    /// Creates an identity.
    public init(
        provider: ProviderID, subject: String, username: String, email: String? = nil, emailVerified: Bool = false,
        displayName: String? = nil, groups: [String] = [], origin: IdentityOrigin = .federated,
        restriction: AccessRestriction? = nil, credential: CredentialKind = .password, distinguishedName: String? = nil
    ) {
        self.distinguishedName = distinguishedName
        self.provider = provider
        self.subject = subject
        self.username = username
        self.email = email
        self.emailVerified = emailVerified
        self.displayName = displayName
        self.groups = groups
        self.origin = origin
        self.restriction = restriction
        self.credential = credential
    }

    /// A log-safe summary.
    public var description: String { "ExternalIdentity(\(provider)/\(subject), username: \(username))" }
}
