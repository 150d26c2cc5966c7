import Foundation
import Storage

extension SQLiteSchema {
    /// Migration 13: the web UI's server-side sessions, the first-run setup codes, and pulls per tag and UTC day.
    ///
    /// - `web_sessions` keeps only the SHA-256 of the cookie value (unique: the lookup of every page view) and
    ///   goes with its user (CASCADE), so deleting an account ends its sessions without the service's help.
    ///   `client` and `address` are bounded here too, as a backstop to the service's truncation.
    /// - `setup_codes` holds the hashes of the one-time codes that let the first administrator be created; each
    ///   instance that starts on an empty database adds one, and creating the administrator deletes them all.
    /// - `tag_pulls_daily` counts pulls per tag and day (`day` is the day's start in milliseconds, UTC), for the
    ///   repository page's chart. `recordPull` adds to it in the same statement batch that bumps `pull_count`
    ///   (an upsert, not a trigger: the pull's own time picks the day, and events arrive out of order). It
    ///   goes with its tag; the migration starts it empty, as history before it was never kept per day.
    static let webSessions = """
        CREATE TABLE web_sessions (
            id           INTEGER PRIMARY KEY,
            user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            secret_hash  TEXT NOT NULL UNIQUE CHECK (length(secret_hash) > 0),
            csrf_token   TEXT NOT NULL CHECK (length(csrf_token) > 0),
            created_at   INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL,
            expires_at   INTEGER NOT NULL,
            revoked_at   INTEGER,
            client       TEXT CHECK (length(client) <= 1024),
            address      TEXT CHECK (length(address) <= 255)
        ) STRICT;
        CREATE INDEX web_sessions_user ON web_sessions (user_id);

        CREATE TABLE setup_codes (
            code_hash  TEXT PRIMARY KEY CHECK (length(code_hash) > 0),
            created_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE tag_pulls_daily (
            tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
            day    INTEGER NOT NULL,
            count  INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (tag_id, day)
        ) STRICT, WITHOUT ROWID;
        """
}
