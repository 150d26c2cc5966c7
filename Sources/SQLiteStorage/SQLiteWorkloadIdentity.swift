import Foundation
import Storage

extension SQLiteSchema {
    /// Migration 18: CI workload identity. `workload_token_uses` remembers the `jti`s of single-use policies
    /// until their tokens expire (the primary key makes a replay a conflict, whichever instance sees it);
    /// `workload_refresh_tokens` holds the refresh tokens of workload logins, bound to a policy (by name: it
    /// lives in configuration) and the job token's `jti`, with its scalar claims for re-evaluation.
    static let workloadIdentity = """
        CREATE TABLE workload_token_uses (
            issuer     TEXT NOT NULL CHECK (length(issuer) BETWEEN 1 AND 64),
            jti        TEXT NOT NULL CHECK (length(jti) BETWEEN 1 AND 512),
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (issuer, jti)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX workload_token_uses_expiry ON workload_token_uses (expires_at);
        CREATE TABLE workload_refresh_tokens (
            id          INTEGER PRIMARY KEY,
            secret_hash TEXT NOT NULL UNIQUE CHECK (length(secret_hash) = 64),
            policy      TEXT NOT NULL CHECK (length(policy) BETWEEN 1 AND 64),
            issuer      TEXT NOT NULL CHECK (length(issuer) BETWEEN 1 AND 64),
            jti         TEXT CHECK (length(jti) <= 512),
            service     TEXT NOT NULL,
            claims      TEXT NOT NULL CHECK (length(claims) <= 65536),
            created_at  INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            revoked_at  INTEGER
        ) STRICT;
        CREATE INDEX workload_refresh_tokens_policy ON workload_refresh_tokens (policy);
        CREATE INDEX workload_refresh_tokens_expiry ON workload_refresh_tokens (expires_at);

        """
}

// Workload identity over SQLite (migration 18).
extension SQLiteTransaction {
    func workloadRefreshToken(secretHash: String) throws -> WorkloadRefreshToken? {
        try first(
            """
            SELECT id, secret_hash, policy, issuer, jti, service, claims, created_at, expires_at, revoked_at
            FROM workload_refresh_tokens WHERE secret_hash = ?
            """, [secretHash.sqlValue]
        ) { row in
            WorkloadRefreshToken(
                id: row.id(0), secretHash: row.text(1), policy: row.text(2), issuer: row.text(3),
                jti: row.optionalText(4), service: row.text(5), claims: row.text(6), createdAt: row.date(7),
                expiresAt: row.date(8), revokedAt: row.optionalDate(9))
        }
    }

    func recordWorkloadTokenUse(issuer: String, jti: String, expiresAt: Date, at date: Date) throws -> Bool {
        try requireName(issuer, "issuer")
        try requireName(jti, "jti")
        // A record whose token expired may be taken over: after expiry the token itself is refused anyway.
        _ = try affected(
            "DELETE FROM workload_token_uses WHERE issuer = ? AND jti = ? AND expires_at <= ?",
            [issuer.sqlValue, jti.sqlValue, date.sqlValue])
        return try affected(
            "INSERT INTO workload_token_uses (issuer, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [issuer.sqlValue, jti.sqlValue, expiresAt.sqlValue]) == 1
    }

    func createWorkloadRefreshToken(_ token: WorkloadRefreshToken) throws -> WorkloadRefreshToken.ID {
        try requireName(token.policy, "policy")
        let id = try insert(
            """
            INSERT INTO workload_refresh_tokens
                (secret_hash, policy, issuer, jti, service, claims, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                token.secretHash.sqlValue, token.policy.sqlValue, token.issuer.sqlValue, token.jti.sqlValue,
                token.service.sqlValue, token.claims.sqlValue, token.createdAt.sqlValue, token.expiresAt.sqlValue,
            ])
        return WorkloadRefreshToken.ID(id)
    }

    func revokeWorkloadRefreshTokens(ofPolicy policy: String, at date: Date) throws -> Int {
        try affected(
            "UPDATE workload_refresh_tokens SET revoked_at = ? WHERE policy = ? AND revoked_at IS NULL",
            [date.sqlValue, policy.sqlValue])
    }

    func pruneWorkloadIdentity(expiredBefore date: Date) throws -> Int {
        try affected("DELETE FROM workload_token_uses WHERE expires_at < ?", [date.sqlValue])
            + affected("DELETE FROM workload_refresh_tokens WHERE expires_at < ?", [date.sqlValue])
    }
}
