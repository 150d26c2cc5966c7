extension PostgresSchema {
    /// Migration 19: several instances on one database (see SQLite's migration 19): `leases`, one row per
    /// singleton job with its holder, expiry and fencing epoch, and `guessing_windows`, failed password logins
    /// per client address counted across instances.
    static let leases = """
        CREATE TABLE leases (
            name        TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
            holder      TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 200),
            epoch       BIGINT NOT NULL CHECK (epoch >= 1),
            acquired_at BIGINT NOT NULL,
            expires_at  BIGINT NOT NULL,
            last_run_at BIGINT
        );

        CREATE TABLE guessing_windows (
            client_address TEXT PRIMARY KEY CHECK (length(client_address) BETWEEN 1 AND 255),
            window_start   BIGINT NOT NULL,
            failures       BIGINT NOT NULL CHECK (failures >= 1)
        );
        CREATE INDEX guessing_windows_start ON guessing_windows (window_start);
        """
}
