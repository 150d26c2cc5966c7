import Foundation

/// A group at an identity provider named as a member of a team (`provider:group`), before anyone of it signs in
/// (migration 16): when a person's groups are synced from that provider, belonging to the group makes them a
/// member of the team with `role`, with the membership's provenance that provider's, as the configured
/// `mapping.groupSync` rules do. Team owners add and remove these on the team's page.
public struct TeamGroupLink: Sendable, Hashable, Identifiable {
    /// The identifier of a stored team group link.
    public typealias ID = RecordID<TeamGroupLink>

    /// The database identifier.
    public var id: ID
    /// The team.
    public var teamID: Team.ID
    /// The team's name.
    public var teamName: String
    /// The configured provider id (`corp-ldap`, `company-sso`).
    public var providerID: String
    /// The group's name as that provider reports it.
    public var group: String
    /// The role the group's members get.
    public var role: TeamRole
    /// When it was added.
    public var createdAt: Date
    /// Who added it, if known.
    public var createdBy: String?

    /// Creates a link value (normally only a store does this).
    public init(
        id: ID, teamID: Team.ID, teamName: String, providerID: String, group: String, role: TeamRole, createdAt: Date,
        createdBy: String?
    ) {
        self.id = id
        self.teamID = teamID
        self.teamName = teamName
        self.providerID = providerID
        self.group = group
        self.role = role
        self.createdAt = createdAt
        self.createdBy = createdBy
    }
}

/// Team group links in `StoreReading` (migration 16).
public protocol TeamGroupLinkReading {
    /// The provider groups named as members of a team, by provider and group.
    func teamGroupLinks(ofTeam teamID: Team.ID) throws -> [TeamGroupLink]
    /// Every team group link of one provider, by team and group.
    func teamGroupLinks(ofProvider providerID: String) throws -> [TeamGroupLink]
}

/// Team group links in `StoreWriting` (migration 16).
public protocol TeamGroupLinkWriting: TeamGroupLinkReading {
    /// Names `group` of `providerID` a member of the team with `role`; `.conflict` when it is named already.
    func createTeamGroupLink(
        team teamID: Team.ID, provider providerID: String, group: String, role: TeamRole, createdBy: String?, at: Date
    ) throws -> TeamGroupLink
    /// Removes a team group link of the team; `.notFound` when the team has no such link.
    func deleteTeamGroupLink(_ id: TeamGroupLink.ID, ofTeam teamID: Team.ID) throws
}
