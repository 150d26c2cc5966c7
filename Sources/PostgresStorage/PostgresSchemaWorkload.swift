extension PostgresSchema {
    /// Migration 18: CI workload identity (issue 14). `workload_token_uses` remembers the `jti`s of single-use
    /// policies until their tokens expire (the primary key makes a replay a conflict, whichever instance sees
    /// it); `workload_refresh_tokens` holds the refresh tokens of workload logins (see SQLite's migration 18).
    static let workloadIdentity = """
        CREATE TABLE workload_token_uses (
            issuer     TEXT NOT NULL CHECK (length(issuer) BETWEEN 1 AND 64),
            jti        TEXT NOT NULL CHECK (length(jti) BETWEEN 1 AND 512),
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (issuer, jti)
        );
        CREATE INDEX workload_token_uses_expiry ON workload_token_uses (expires_at);
        CREATE TABLE workload_refresh_tokens (
            id          \(key),
            secret_hash TEXT NOT NULL UNIQUE CHECK (length(secret_hash) = 64),
            policy      TEXT NOT NULL CHECK (length(policy) BETWEEN 1 AND 64),
            issuer      TEXT NOT NULL CHECK (length(issuer) BETWEEN 1 AND 64),
            jti         TEXT CHECK (length(jti) <= 512),
            service     TEXT NOT NULL,
            claims      TEXT NOT NULL CHECK (length(claims) <= 65536),
            created_at  BIGINT NOT NULL,
            expires_at  BIGINT NOT NULL,
            revoked_at  BIGINT
        );
        CREATE INDEX workload_refresh_tokens_policy ON workload_refresh_tokens (policy);
        CREATE INDEX workload_refresh_tokens_expiry ON workload_refresh_tokens (expires_at);
        """
}
