import Foundation
import Storage

// Team group links on both SQL backends (migration 16).
extension SQLTransaction {
    private static var teamGroupLinkSelect: String {
        """
        SELECT l.id, l.team_id, t.name, l.provider_id, l.group_name, l.role, l.created_at, l.created_by
        FROM team_group_links l JOIN teams t ON t.id = l.team_id
        """
    }

    private static func decodeTeamGroupLink(_ row: Connection.Row) -> TeamGroupLink {
        TeamGroupLink(
            id: row.id(0), teamID: row.id(1), teamName: row.text(2), providerID: row.text(3), group: row.text(4),
            role: TeamRole(rawValue: row.text(5)) ?? .viewer, createdAt: row.date(6), createdBy: row.optionalText(7))
    }

    package func teamGroupLinks(ofTeam teamID: Team.ID) throws -> [TeamGroupLink] {
        try checkActive()
        return try rows(
            "\(Self.teamGroupLinkSelect) WHERE l.team_id = ? ORDER BY l.provider_id, l.group_name",
            [teamID.sqlValue], Self.decodeTeamGroupLink)
    }

    package func teamGroupLinks(ofProvider providerID: String) throws -> [TeamGroupLink] {
        try checkActive()
        return try rows(
            "\(Self.teamGroupLinkSelect) WHERE l.provider_id = ? ORDER BY t.name, l.group_name",
            [providerID.sqlValue], Self.decodeTeamGroupLink)
    }

    package func createTeamGroupLink(
        team teamID: Team.ID, provider providerID: String, group: String, role: TeamRole, createdBy: String?, at: Date
    ) throws -> TeamGroupLink {
        try requireName(providerID, "provider")
        try requireName(group, "group")
        let exists = try first(
            "SELECT 1 FROM team_group_links WHERE team_id = ? AND provider_id = ? AND group_name = ?",
            [teamID.sqlValue, providerID.sqlValue, group.sqlValue]
        ) { _ in true }
        if exists == true {
            throw StoreError(.conflict, "\(providerID):\(group) is a member of the team already", subject: "group")
        }
        let id = try insert(
            """
            INSERT INTO team_group_links (team_id, provider_id, group_name, role, created_at, created_by)
            VALUES (?, ?, ?, ?, ?, ?)
            """,
            [
                teamID.sqlValue, providerID.sqlValue, group.sqlValue, role.rawValue.sqlValue, at.sqlValue,
                createdBy.sqlValue,
            ])
        guard
            let link = try first("\(Self.teamGroupLinkSelect) WHERE l.id = ?", [id.sqlValue], Self.decodeTeamGroupLink)
        else { throw StoreError(.internal, "a new team group link could not be read back") }
        return link
    }

    package func deleteTeamGroupLink(_ id: TeamGroupLink.ID, ofTeam teamID: Team.ID) throws {
        try change(
            "team group link", "DELETE FROM team_group_links WHERE id = ? AND team_id = ?",
            [id.sqlValue, teamID.sqlValue])
    }
}
