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
