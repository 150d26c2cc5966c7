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
