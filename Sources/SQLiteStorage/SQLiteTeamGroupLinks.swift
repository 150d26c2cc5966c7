import Foundation
import Storage

extension SQLiteSchema {
    /// Migration 16: provider groups named as team members (`TeamGroupLink`). They go with their team (CASCADE);
    /// a group is named once per team and provider. Adding or removing one advances the authorization
    /// generation, so identities whose mapping is cached as settled are synced again at their next login.
    static let teamGroupLinks =
        """
        CREATE TABLE team_group_links (
            id          INTEGER PRIMARY KEY,
            team_id     INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
            provider_id TEXT NOT NULL CHECK (length(provider_id) BETWEEN 1 AND 64),
            group_name  TEXT NOT NULL CHECK (length(group_name) BETWEEN 1 AND 256),
            role        TEXT NOT NULL CHECK (role IN ('owner', 'contributor', 'viewer')),
            created_at  INTEGER NOT NULL,
            created_by  TEXT,
            UNIQUE (team_id, provider_id, group_name)
        ) STRICT;
        CREATE INDEX team_group_links_provider ON team_group_links (provider_id);

        """
        + generationTriggers([
            ("team_group_links_created", "INSERT ON team_group_links"),
            ("team_group_links_deleted", "DELETE ON team_group_links"),
        ])
}

// Team group links over SQLite (migration 16).
extension SQLiteTransaction {
    private static let teamGroupLinkSelect = """
        SELECT l.id, l.team_id, t.name, l.provider_id, l.group_name, l.role, l.created_at, l.created_by
        FROM team_group_links l JOIN teams t ON t.id = l.team_id
        """

    private static func decodeTeamGroupLink(_ row: SQLiteRow) -> TeamGroupLink {
        TeamGroupLink(
            id: row.id(0), teamID: row.id(1), teamName: row.text(2), providerID: row.text(3), group: row.text(4),
            role: TeamRole(rawValue: row.text(5)) ?? .viewer, createdAt: row.date(6), createdBy: row.optionalText(7))
    }

    func teamGroupLinks(ofTeam teamID: Team.ID) throws -> [TeamGroupLink] {
        try checkActive()
        return try rows(
            "\(Self.teamGroupLinkSelect) WHERE l.team_id = ? ORDER BY l.provider_id, l.group_name",
            [teamID.sqlValue], Self.decodeTeamGroupLink)
    }

    func teamGroupLinks(ofProvider providerID: String) throws -> [TeamGroupLink] {
        try checkActive()
        return try rows(
            "\(Self.teamGroupLinkSelect) WHERE l.provider_id = ? ORDER BY t.name, l.group_name",
            [providerID.sqlValue], Self.decodeTeamGroupLink)
    }

    func createTeamGroupLink(
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

    func deleteTeamGroupLink(_ id: TeamGroupLink.ID, ofTeam teamID: Team.ID) throws {
        try change(
            "team group link", "DELETE FROM team_group_links WHERE id = ? AND team_id = ?",
            [id.sqlValue, teamID.sqlValue])
    }
}
