import Diagnostics
import Foundation

/// One identity provider entry; `config` is decoded later by the provider type's plugin.
public struct ProviderSettings: Sendable, Hashable, SchemaRecord {
    /// The stable id (`[a-z0-9][a-z0-9-]*`); stored in identity links, so never change it.
    public var id = ""
    /// The provider type (`local`, `ldap`, `oidc`, …) naming the plugin.
    public var type = ""
    /// Password providers are tried in ascending order. Default 0 (ties keep file order).
    public var order = 0
    /// Whether the provider is used. Default true.
    public var enabled = true
    /// The name shown on the login page; `nil` shows the id.
    public var displayName: String?
    /// The type-specific block, with positions, for ``ConfigNodeDecoder``.
    public var config = ConfigNode.emptyMapping(at: SourceLocation(file: "", line: 0, column: 0))
    /// How the provider's identities become local accounts (federated providers such as `ldap` only).
    public var mapping = MappingSettings()
    /// Where the entry was written.
    public var location = SourceLocation(file: "", line: 0, column: 0)
    /// The entry's key path in the merged configuration (`providers[2]`), for issues.
    public var keyPath = "providers"

    /// An entry with placeholders (`id` and `type` are required in a fragment).
    public init() {}

    mutating func record(location: SourceLocation, keyPath: String) {
        self.location = location
        self.keyPath = keyPath
        config = .emptyMapping(at: location)
    }

    static let fields: [Field<ProviderSettings>] = [
        .value("id", \.id, .identifier, required: true, "Stable id stored in identity links; never change it."),
        .value("type", \.type, .identifier, required: true, "Provider type (local, ldap, oauth2, oidc, …)."),
        .value("order", \.order, .integer(-1_000_000...1_000_000), "Password providers are tried in ascending order."),
        .value("enabled", \.enabled, .boolean, "Whether the provider is used."),
        .optional("displayName", \.displayName, .string, "Name on the login page; defaults to the id."),
        .value("config", \.config, .opaqueMapping, "Type-specific settings, validated by the provider type."),
        .section("mapping", \.mapping, MappingSettings.fields),
    ]
}

/// How a federated provider's identities become local accounts: provisioning, admins, email, group sync.
///
/// ```yaml
/// mapping:
///   autoProvision: true
///   adminGroups: ["cn=registry-admins,ou=groups,dc=example,dc=org"]
///   adminBases: ["ou=admins,ou=people,dc=example,dc=org"]
///   emailDomain: example.org        # or fromDN: the dc= parts of the user's DN
///   groupSync:
///     mode: authoritative
///     interval: 10m
///     preProvision: true
///     rules:
///       - {group: "developers", team: devs, role: contributor, create: true}
///       - {group: "cn=*-leads,ou=groups,dc=example,dc=org", team: devs, role: owner}
/// ```
public struct MappingSettings: Sendable, Hashable {
    /// Whether a first login creates the account with its personal namespace. Default true.
    public var autoProvision = true
    /// Group DN or name globs whose members become administrators. Default none.
    public var adminGroups: [String] = []
    /// DNs under which every user entry becomes an administrator. Default none.
    public var adminBases: [String] = []
    /// The domain of guessed email addresses (`<username>@<domain>`), or `fromDN` for the dc= parts of the
    /// user's DN (Portus `guess_email`); `nil` guesses nothing. Default nil.
    public var emailDomain: String?
    /// Group → team sync.
    public var groupSync = GroupSyncSettings()
    /// `refuse` a first login whose username is taken (default), or `suffix` it (`name-2`, `name-3`, …).
    public var usernameCollision = UsernameCollision.refuse
    /// Whether a browser sign-in whose email address the provider did not verify is refused. Default true.
    public var requireVerifiedEmail = true

    /// What a first login does when its username belongs to another account.
    public enum UsernameCollision: String, Sendable, Hashable, CaseIterable {
        /// Refuse with a page saying so (an administrator links or renames).
        case refuse
        /// Take the first free `name-2`, `name-3`, … (up to 99).
        case suffix
    }

    /// The defaults: provision, no admins, no guessed email, no sync rules.
    public init() {}

    static let fields: [Field<MappingSettings>] = [
        .value(
            "autoProvision", \.autoProvision, .boolean, "A first login creates the account and its personal namespace."),
        .value(
            "adminGroups", \.adminGroups, .list(of: .string),
            "Group DN or name globs (* and ?) whose members become administrators; sync removes only what it gave."),
        .value(
            "adminBases", \.adminBases, .list(of: .string),
            "DNs under which every user entry becomes an administrator; sync removes only what it gave."),
        .optional(
            "emailDomain", \.emailDomain, .string,
            "Guess missing emails as username@domain; fromDN takes the dc= parts of the user's DN."),
        .section("groupSync", \.groupSync, GroupSyncSettings.fields),
        .value(
            "usernameCollision", \.usernameCollision, .oneOf(UsernameCollision.self),
            "A first sign-in whose username is taken: refuse it, or suffix it (name-2, name-3, …)."),
        .value(
            "requireVerifiedEmail", \.requireVerifiedEmail, .boolean,
            "Refuse browser sign-ins whose email address the provider has not verified."),
    ]
}

/// Group → team sync of one provider.
public struct GroupSyncSettings: Sendable, Hashable {
    /// additive (Portus: add and promote only) or authoritative (synced memberships follow the directory).
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Members are added and promoted, never removed.
        case additive
        /// Synced memberships follow the directory; hand-made ones stay.
        case authoritative
    }

    /// The mode. Default additive.
    public var mode = Mode.additive
    /// How often every linked account is synced in the background; 0 syncs only at login. Default 0.
    public var interval: Duration = .zero
    /// Whether background sync creates accounts for group members who never logged in. Default false.
    public var preProvision = false
    /// The rules, tried all: a user gets the highest role any matching rule gives for a team.
    public var rules: [GroupSyncRuleSettings] = []

    /// The defaults: additive, at login only, no rules.
    public init() {}

    static let fields: [Field<GroupSyncSettings>] = [
        .value(
            "mode", \.mode, .oneOf(Mode.self),
            "additive adds and promotes only; authoritative also removes memberships sync made when the group no longer grants them."
        ),
        .value(
            "interval", \.interval, .duration(.zero...(.seconds(7 * 86_400))),
            "Background sync of every linked account this often; 0s syncs at login only."),
        .value(
            "preProvision", \.preProvision, .boolean,
            "Background and CLI sync also create accounts for group members who never logged in."),
        .records("rules", \.rules, "Group → team rules; the highest role of all matching rules wins."),
    ]
}

/// One group → team rule.
public struct GroupSyncRuleSettings: Sendable, Hashable, SchemaRecord {
    /// A group DN glob (contains `=`) or group name glob; `*` and `?` are wildcards.
    public var group = ""
    /// The team members join.
    public var team = ""
    /// Their role there. Default viewer (Portus `group_sync.default_role`).
    public var role = Role.viewer
    /// Whether sync creates the team when it is missing. Default false.
    public var create = false

    /// A team role.
    public enum Role: String, Sendable, Hashable, CaseIterable {
        /// Pull.
        case viewer
        /// Pull and push.
        case contributor
        /// Pull, push and manage.
        case owner
    }

    /// A rule with placeholders (`group` and `team` are required in a fragment).
    public init() {}

    static let fields: [Field<GroupSyncRuleSettings>] = [
        .value("group", \.group, .string, required: true, "Group DN glob (contains =) or group name glob."),
        .value("team", \.team, .string, required: true, "The team members of matching groups join."),
        .value("role", \.role, .oneOf(Role.self), "Their role: viewer, contributor or owner."),
        .value("create", \.create, .boolean, "Create the team if it does not exist."),
    ]
}
