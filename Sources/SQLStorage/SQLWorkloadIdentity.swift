import Foundation
import Storage

// Workload identity on both SQL backends (migration 18).
extension SQLTransaction {
    package func workloadRefreshToken(secretHash: String) throws -> WorkloadRefreshToken? {
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

    package func recordWorkloadTokenUse(issuer: String, jti: String, expiresAt: Date, at date: Date) throws -> Bool {
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

    package func createWorkloadRefreshToken(_ token: WorkloadRefreshToken) throws -> WorkloadRefreshToken.ID {
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

    package func revokeWorkloadRefreshTokens(ofPolicy policy: String, at date: Date) throws -> Int {
        try affected(
            "UPDATE workload_refresh_tokens SET revoked_at = ? WHERE policy = ? AND revoked_at IS NULL",
            [date.sqlValue, policy.sqlValue])
    }

    package func pruneWorkloadIdentity(expiredBefore date: Date) throws -> Int {
        try affected("DELETE FROM workload_token_uses WHERE expires_at < ?", [date.sqlValue])
            + affected("DELETE FROM workload_refresh_tokens WHERE expires_at < ?", [date.sqlValue])
    }
}
