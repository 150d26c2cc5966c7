import Foundation
import Storage

extension SQLiteSchema {
    /// Migration 19: several instances on one database. `leases` holds one row per singleton job (who holds
    /// it, until when, the fencing epoch, when the job last ran); `guessing_windows` counts failed password
    /// logins per client address across instances. Plain portable SQL: PostgreSQL's step is the same.
    static let leases = """
        CREATE TABLE leases (
            name        TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
            holder      TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 200),
            epoch       INTEGER NOT NULL CHECK (epoch >= 1),
            acquired_at INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            last_run_at INTEGER
        ) STRICT;

        CREATE TABLE guessing_windows (
            client_address TEXT PRIMARY KEY CHECK (length(client_address) BETWEEN 1 AND 255),
            window_start   INTEGER NOT NULL,
            failures       INTEGER NOT NULL CHECK (failures >= 1)
        ) STRICT;
        CREATE INDEX guessing_windows_start ON guessing_windows (window_start);
        """
}
