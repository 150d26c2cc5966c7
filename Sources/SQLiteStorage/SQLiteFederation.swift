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

// The federation parts of `StoreReading`/`StoreWriting` over SQLite (migration 15).
extension SQLiteTransaction {
    private static let loginStateColumns = """
        state_hash, browser_hash, provider_id, intent, user_id, pending, next, created_at, expires_at
        """

    private static func decodeLoginState(_ row: SQLiteRow) -> LoginState {
        LoginState(
            stateHash: row.text(0), browserHash: row.text(1), providerID: row.text(2),
            intent: LoginState.Intent(rawValue: row.text(3)) ?? .signIn, userID: row.optionalID(4),
            pending: row.text(5), next: row.text(6), createdAt: row.date(7), expiresAt: row.date(8))
    }

    private static let federatedColumns = """
        f.link_id, l.provider_id, l.subject, l.user_id, f.issuer, f.sealed_grant, f.checked_at, f.failing_since,
        f.suspended_at, f.suspension_reason, f.disabled_account
        """

    private static func decodeFederated(_ row: SQLiteRow) -> FederatedIdentity {
        FederatedIdentity(
            linkID: row.id(0), providerID: row.text(1), subject: row.text(2), userID: row.id(3), issuer: row.text(4),
            sealedGrant: row.optionalText(5), checkedAt: row.optionalDate(6), failingSince: row.optionalDate(7),
            suspendedAt: row.optionalDate(8), suspensionReason: row.optionalText(9), disabledAccount: row.bool(10))
    }

    func loginState(stateHash: String) throws -> LoginState? {
        try first(
            "SELECT \(Self.loginStateColumns) FROM login_states WHERE state_hash = ?", [stateHash.sqlValue],
            Self.decodeLoginState)
    }

    func federatedIdentity(linkID: IdentityLink.ID) throws -> FederatedIdentity? {
        try first(
            """
            SELECT \(Self.federatedColumns) FROM federated_identities f JOIN identity_links l ON l.id = f.link_id
            WHERE f.link_id = ?
            """, [linkID.sqlValue], Self.decodeFederated)
    }

    func federatedIdentities(ofProvider providerID: String) throws -> [FederatedIdentity] {
        try rows(
            """
            SELECT \(Self.federatedColumns) FROM federated_identities f JOIN identity_links l ON l.id = f.link_id
            WHERE l.provider_id = ? ORDER BY f.checked_at IS NOT NULL, f.checked_at, f.link_id
            """, [providerID.sqlValue], Self.decodeFederated)
    }

    func identityLink(ofSession sessionID: WebSession.ID) throws -> IdentityLink.ID? {
        try first("SELECT link_id FROM federated_sessions WHERE session_id = ?", [sessionID.sqlValue]) { $0.id(0) }
    }

    func adminGrant(of userID: User.ID) throws -> String? {
        try first("SELECT provider_id FROM admin_grants WHERE user_id = ?", [userID.sqlValue]) { $0.text(0) }
    }

    func createLoginState(_ state: LoginState) throws {
        try requireName(state.stateHash, "state hash")
        try requireName(state.browserHash, "browser hash")
        _ = try insert(
            "INSERT INTO login_states (\(Self.loginStateColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                state.stateHash.sqlValue, state.browserHash.sqlValue, state.providerID.sqlValue,
                state.intent.rawValue.sqlValue, state.userID.sqlValue, state.pending.sqlValue, state.next.sqlValue,
                state.createdAt.sqlValue, state.expiresAt.sqlValue,
            ])
    }

    func consumeLoginState(stateHash: String) throws -> LoginState? {
        guard let state = try loginState(stateHash: stateHash) else { return nil }
        // Inside the write transaction: of two callbacks with one state, exactly one deletes the row.
        guard try affected("DELETE FROM login_states WHERE state_hash = ?", [stateHash.sqlValue]) == 1 else {
            return nil
        }
        return state
    }

    func pruneLoginStates(expiredBefore date: Date) throws -> Int {
        try affected("DELETE FROM login_states WHERE expires_at < ?", [date.sqlValue])
    }

    func saveFederatedIdentity(_ identity: FederatedIdentity) throws {
        try requireName(identity.issuer, "issuer")
        _ = try affected(
            """
            INSERT INTO federated_identities (link_id, issuer, sealed_grant, checked_at, failing_since, suspended_at,
                suspension_reason, disabled_account) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (link_id) DO UPDATE SET issuer = excluded.issuer, sealed_grant = excluded.sealed_grant,
                checked_at = excluded.checked_at, failing_since = excluded.failing_since,
                suspended_at = excluded.suspended_at, suspension_reason = excluded.suspension_reason,
                disabled_account = excluded.disabled_account
            """,
            [
                identity.linkID.sqlValue, identity.issuer.sqlValue, identity.sealedGrant.sqlValue,
                identity.checkedAt.sqlValue, identity.failingSince.sqlValue, identity.suspendedAt.sqlValue,
                identity.suspensionReason.sqlValue, identity.disabledAccount.sqlValue,
            ])
    }

    func attachIdentityLink(_ linkID: IdentityLink.ID, toSession sessionID: WebSession.ID) throws {
        _ = try affected(
            "INSERT OR REPLACE INTO federated_sessions (session_id, link_id) VALUES (?, ?)",
            [sessionID.sqlValue, linkID.sqlValue])
    }

    func revokeWebSessions(ofIdentityLink linkID: IdentityLink.ID, at date: Date) throws -> Int {
        try affected(
            """
            UPDATE web_sessions SET revoked_at = ? WHERE revoked_at IS NULL
                AND id IN (SELECT session_id FROM federated_sessions WHERE link_id = ?)
            """, [date.sqlValue, linkID.sqlValue])
    }

    func setAdminGrant(of userID: User.ID, provider: String?) throws {
        if let provider {
            _ = try affected(
                "INSERT OR REPLACE INTO admin_grants (user_id, provider_id) VALUES (?, ?)",
                [userID.sqlValue, provider.sqlValue])
        } else {
            _ = try affected("DELETE FROM admin_grants WHERE user_id = ?", [userID.sqlValue])
        }
    }
}
