import Foundation
import Storage

// The federation parts of `StoreReading`/`StoreWriting` on both SQL backends (migration 15).
extension SQLTransaction {
    private static var loginStateColumns: String {
        """
        state_hash, browser_hash, provider_id, intent, user_id, pending, next, created_at, expires_at
        """
    }

    private static func decodeLoginState(_ row: Connection.Row) -> LoginState {
        LoginState(
            stateHash: row.text(0), browserHash: row.text(1), providerID: row.text(2),
            intent: LoginState.Intent(rawValue: row.text(3)) ?? .signIn, userID: row.optionalID(4),
            pending: row.text(5), next: row.text(6), createdAt: row.date(7), expiresAt: row.date(8))
    }

    private static var federatedColumns: String {
        """
        f.link_id, l.provider_id, l.subject, l.user_id, f.issuer, f.sealed_grant, f.checked_at, f.failing_since,
        f.suspended_at, f.suspension_reason, f.disabled_account
        """
    }

    private static func decodeFederated(_ row: Connection.Row) -> FederatedIdentity {
        FederatedIdentity(
            linkID: row.id(0), providerID: row.text(1), subject: row.text(2), userID: row.id(3), issuer: row.text(4),
            sealedGrant: row.optionalText(5), checkedAt: row.optionalDate(6), failingSince: row.optionalDate(7),
            suspendedAt: row.optionalDate(8), suspensionReason: row.optionalText(9), disabledAccount: row.bool(10))
    }

    package func loginState(stateHash: String) throws -> LoginState? {
        try first(
            "SELECT \(Self.loginStateColumns) FROM login_states WHERE state_hash = ?", [stateHash.sqlValue],
            Self.decodeLoginState)
    }

    package func federatedIdentity(linkID: IdentityLink.ID) throws -> FederatedIdentity? {
        try first(
            """
            SELECT \(Self.federatedColumns) FROM federated_identities f JOIN identity_links l ON l.id = f.link_id
            WHERE f.link_id = ?
            """, [linkID.sqlValue], Self.decodeFederated)
    }

    package func federatedIdentities(ofProvider providerID: String) throws -> [FederatedIdentity] {
        try rows(
            """
            SELECT \(Self.federatedColumns) FROM federated_identities f JOIN identity_links l ON l.id = f.link_id
            WHERE l.provider_id = ? ORDER BY f.checked_at IS NOT NULL, f.checked_at, f.link_id
            """, [providerID.sqlValue], Self.decodeFederated)
    }

    package func identityLink(ofSession sessionID: WebSession.ID) throws -> IdentityLink.ID? {
        try first("SELECT link_id FROM federated_sessions WHERE session_id = ?", [sessionID.sqlValue]) { $0.id(0) }
    }

    package func adminGrant(of userID: User.ID) throws -> String? {
        try first("SELECT provider_id FROM admin_grants WHERE user_id = ?", [userID.sqlValue]) { $0.text(0) }
    }

    package func createLoginState(_ state: LoginState) throws {
        try requireName(state.stateHash, "state hash")
        try requireName(state.browserHash, "browser hash")
        try execute(
            "INSERT INTO login_states (\(Self.loginStateColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                state.stateHash.sqlValue, state.browserHash.sqlValue, state.providerID.sqlValue,
                state.intent.rawValue.sqlValue, state.userID.sqlValue, state.pending.sqlValue, state.next.sqlValue,
                state.createdAt.sqlValue, state.expiresAt.sqlValue,
            ])
    }

    package func consumeLoginState(stateHash: String) throws -> LoginState? {
        guard let state = try loginState(stateHash: stateHash) else { return nil }
        // Inside the write transaction: of two callbacks with one state, exactly one deletes the row.
        guard try affected("DELETE FROM login_states WHERE state_hash = ?", [stateHash.sqlValue]) == 1 else {
            return nil
        }
        return state
    }

    package func pruneLoginStates(expiredBefore date: Date) throws -> Int {
        try affected("DELETE FROM login_states WHERE expires_at < ?", [date.sqlValue])
    }

    package func saveFederatedIdentity(_ identity: FederatedIdentity) throws {
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

    package func attachIdentityLink(_ linkID: IdentityLink.ID, toSession sessionID: WebSession.ID) throws {
        _ = try affected(
            """
            INSERT INTO federated_sessions (session_id, link_id) VALUES (?, ?)
            ON CONFLICT (session_id) DO UPDATE SET link_id = excluded.link_id
            """,
            [sessionID.sqlValue, linkID.sqlValue])
    }

    package func revokeWebSessions(ofIdentityLink linkID: IdentityLink.ID, at date: Date) throws -> Int {
        try affected(
            """
            UPDATE web_sessions SET revoked_at = ? WHERE revoked_at IS NULL
                AND id IN (SELECT session_id FROM federated_sessions WHERE link_id = ?)
            """, [date.sqlValue, linkID.sqlValue])
    }

    package func setAdminGrant(of userID: User.ID, provider: String?) throws {
        if let provider {
            _ = try affected(
                """
                INSERT INTO admin_grants (user_id, provider_id) VALUES (?, ?)
                ON CONFLICT (user_id) DO UPDATE SET provider_id = excluded.provider_id
                """,
                [userID.sqlValue, provider.sqlValue])
        } else {
            _ = try affected("DELETE FROM admin_grants WHERE user_id = ?", [userID.sqlValue])
        }
    }
}
