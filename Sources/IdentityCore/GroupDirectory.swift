/// A group as a directory knows it: its distinguished name and its short name.
///
/// Mapping rules may match either: the DN is unique, the name (an LDAP `cn`) is what people write.
public struct DirectoryGroup: Sendable, Hashable, CustomStringConvertible {
    /// The group's distinguished name (`cn=developers,ou=groups,dc=example,dc=org`), as the server wrote it.
    public var dn: String
    /// The group's name (the value of the configured name attribute, usually `cn`: `developers`).
    public var name: String

    /// Creates a group.
    public init(dn: String, name: String) {
        self.dn = dn
        self.name = name
    }

    /// `developers (cn=developers,ou=groups,dc=example,dc=org)`
    public var description: String { "\(name) (\(dn))" }
}

/// A provider that can list group memberships without a login: for group sync, and for provisioning
/// group members who never logged in.
///
/// What identities carry: the `groups` of an `ExternalIdentity` from such a provider are group
/// **DNs** (unique, so a same-named group elsewhere in the tree cannot grant anything);
/// ``groups(of:)`` gives each group's DN together with its name, for rules written against names.
///
/// Contract:
/// - Called concurrently from many tasks; must not block the caller's thread.
/// - Never needs or returns a password; identities returned by ``members(of:)`` have the same
///   `subject`, `username`, `email` and `displayName` a login of that user would give.
/// - A user or group the directory no longer has gives an empty list, not an error.
/// - Throws `ProviderError(.unavailable)` when the directory cannot be reached or times out, and
///   `ProviderError(.misconfigured)` when the configured search cannot work (bad base DN, refused bind).
public protocol GroupDirectory: IdentityProvider {
    /// The groups `identity` (an identity this provider returned earlier) is a member of, nested
    /// groups included when the provider is configured to follow them.
    func groups(of identity: ExternalIdentity) async throws -> [DirectoryGroup]
    /// The users who are members of `group`, members of nested groups included when the provider is
    /// configured to follow them; entries that are not users (or not found) are left out.
    func members(of group: DirectoryGroup) async throws -> [ExternalIdentity]
}

/// A provider that finds a person by the username they log in with, without their password: to link an
/// account carried over from another system (a Portus import) to the identity its owner will log in as.
///
/// Contract:
/// - Called concurrently from many tasks; must not block the caller's thread.
/// - Returns the identity a login of that name would give (same `subject`, `username`, `email`), or nil when
///   no entry, or more than one, has the name.
/// - Throws `ProviderError(.unavailable)` when the directory cannot be reached, `ProviderError(.misconfigured)`
///   when the configured search cannot work.
public protocol DirectoryUserLookup: IdentityProvider {
    /// The identity whose login name is `username`, if exactly one has it.
    func identity(forUsername username: String) async throws -> ExternalIdentity?
}
