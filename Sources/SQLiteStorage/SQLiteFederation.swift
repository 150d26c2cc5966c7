import Foundation
import Storage

extension SQLiteSchema {
    /// Migration 15: browser sign-in at external identity providers (issue 13).
    ///
    /// - `login_states` holds logins between the redirect and the callback, by the SHA-256 of `state` (the random
    ///   values themselves are never stored); a callback deletes its row, so a state works once. Expired rows are
    ///   pruned by the revalidation job.
    /// - `federated_identities` completes an `identity_links` row of a redirect provider: the issuer (the identity
    ///   is provider, issuer and subject, each its own column), the grant sealed with the server's key, and the
    ///   revalidation state. It goes with its link (CASCADE).
    /// - `federated_sessions` says which link a web session was started through (sign-out revokes that grant);
    ///   it goes with either.
    /// - `admin_grants` is the provenance of administrator rights granted by an admin group, as `synced_from` is
    ///   for team memberships: only such rights are taken away when the group no longer grants them.
    static let federation = """
        CREATE TABLE login_states (
            state_hash   TEXT PRIMARY KEY CHECK (length(state_hash) > 0),
            browser_hash TEXT NOT NULL CHECK (length(browser_hash) > 0),
            provider_id  TEXT NOT NULL CHECK (length(provider_id) > 0),
            intent       TEXT NOT NULL CHECK (intent IN ('sign_in', 'link')),
            user_id      INTEGER REFERENCES users (id) ON DELETE CASCADE,
            pending      TEXT NOT NULL CHECK (length(pending) <= 65536),
            next         TEXT NOT NULL CHECK (length(next) <= 2048),
            created_at   INTEGER NOT NULL,
            expires_at   INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX login_states_expiry ON login_states (expires_at);

        CREATE TABLE federated_identities (
            link_id           INTEGER PRIMARY KEY REFERENCES identity_links (id) ON DELETE CASCADE,
            issuer            TEXT NOT NULL CHECK (length(issuer) BETWEEN 1 AND 2048),
            sealed_grant      TEXT,
            checked_at        INTEGER,
            failing_since     INTEGER,
            suspended_at      INTEGER,
            suspension_reason TEXT CHECK (length(suspension_reason) <= 1024),
            disabled_account  INTEGER NOT NULL DEFAULT 0 CHECK (disabled_account IN (0, 1))
        ) STRICT;

        CREATE TABLE federated_sessions (
            session_id INTEGER PRIMARY KEY REFERENCES web_sessions (id) ON DELETE CASCADE,
            link_id    INTEGER NOT NULL REFERENCES identity_links (id) ON DELETE CASCADE
        ) STRICT;
        CREATE INDEX federated_sessions_link ON federated_sessions (link_id);

        CREATE TABLE admin_grants (
            user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
            provider_id TEXT NOT NULL CHECK (length(provider_id) > 0)
        ) STRICT;
        """
}
