import Foundation
import Storage

extension SQLiteSchema {
    /// Migration 8: a count and a last time per line, so repeated identical token issuances share one row
    /// (existing rows become single events: count 1, no last time), and an index that lets retention
    /// delete one class (`token.issue` above all) oldest first without scanning the others.
    static let auditVolume = """
        ALTER TABLE audit_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1);
        ALTER TABLE audit_events ADD COLUMN last_time INTEGER;
        CREATE INDEX audit_events_action_time ON audit_events (action, time);
        """
}
