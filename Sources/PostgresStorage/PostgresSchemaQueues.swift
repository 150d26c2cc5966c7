extension PostgresSchema {
    /// Migration 20: queues drained by every instance (see SQLite's migration 20): the repository a registry
    /// event targets, the holder and expiry of its claim, and the claim counts that fence what a worker records.
    static let queues = """
        ALTER TABLE registry_events ADD COLUMN repository TEXT NOT NULL DEFAULT '';
        ALTER TABLE registry_events ADD COLUMN claimed_by TEXT;
        ALTER TABLE registry_events ADD COLUMN claim_expires_at BIGINT;
        ALTER TABLE registry_events ADD COLUMN claims BIGINT NOT NULL DEFAULT 0 CHECK (claims >= 0);
        CREATE INDEX registry_events_pending_repository ON registry_events (registry, repository, id)
            WHERE state = 'pending';

        ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT;
        ALTER TABLE webhook_deliveries ADD COLUMN claims BIGINT NOT NULL DEFAULT 0 CHECK (claims >= 0);
        """
}
