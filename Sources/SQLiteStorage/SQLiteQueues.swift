import Foundation
import Storage

extension SQLiteSchema {
    /// Migration 20: queues drained by every instance (see `QueueClaiming`). A registry event records the
    /// repository it targets, which orders the claims (events stored before this step have none and are taken
    /// one at a time, in order, like the events of one repository), and who holds its claim until when; a
    /// webhook delivery records who holds its claim (its next attempt is the lease, as before). `claims` counts
    /// the claims of a row: with the holder it is the fencing token the outcome is recorded under. Plain
    /// portable SQL: PostgreSQL's step is the same.
    static let queues = """
        ALTER TABLE registry_events ADD COLUMN repository TEXT NOT NULL DEFAULT '';
        ALTER TABLE registry_events ADD COLUMN claimed_by TEXT;
        ALTER TABLE registry_events ADD COLUMN claim_expires_at INTEGER;
        ALTER TABLE registry_events ADD COLUMN claims INTEGER NOT NULL DEFAULT 0 CHECK (claims >= 0);
        CREATE INDEX registry_events_pending_repository ON registry_events (registry, repository, id)
            WHERE state = 'pending';

        ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT;
        ALTER TABLE webhook_deliveries ADD COLUMN claims INTEGER NOT NULL DEFAULT 0 CHECK (claims >= 0);
        """
}
