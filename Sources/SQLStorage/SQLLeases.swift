import Foundation
import Storage

// The lease and guessing-window parts of `StoreReading`/`StoreWriting` on both SQL backends (migration 19).
// Each method is a few statements of plain SQL inside the caller's write transaction, and both backends run one
// write transaction at a time across every instance (SQLite's database-wide write lock, PostgreSQL's
// transaction-scoped advisory lock): two instances racing for one lease are serialized, and the loser sees the
// row the winner wrote.
extension SQLTransaction {
    private static var leaseColumns: String { "name, holder, epoch, acquired_at, expires_at, last_run_at" }

    private static func decodeLease(_ row: Connection.Row) -> Lease {
        Lease(
            name: row.text(0), holder: row.text(1), epoch: row.int(2), acquiredAt: row.date(3),
            expiresAt: row.date(4), lastRunAt: row.optionalDate(5))
    }

    package func lease(named name: String) throws -> Lease? {
        try first("SELECT \(Self.leaseColumns) FROM leases WHERE name = ?", [name.sqlValue], Self.decodeLease)
    }

    package func allLeases() throws -> [Lease] {
        try rows("SELECT \(Self.leaseColumns) FROM leases ORDER BY name", [], Self.decodeLease)
    }

    package func acquireLease(_ name: String, holder: String, for duration: TimeInterval, at now: Date) throws -> Lease?
    {
        try checkWritable()
        try Self.requireLeaseNames(name, holder)
        guard duration > 0, duration.isFinite else {
            throw StoreError(.constraintViolated, "a lease lasts a positive time")
        }
        let expires = now.addingTimeInterval(duration)
        // Free (never taken): the first holder, epoch 1.
        _ = try affected(
            """
            INSERT INTO leases (name, holder, epoch, acquired_at, expires_at) VALUES (?, ?, 1, ?, ?)
            ON CONFLICT (name) DO NOTHING
            """, [name.sqlValue, holder.sqlValue, now.sqlValue, expires.sqlValue])
        // Ours (a renewal keeps the epoch and the time it was acquired) or expired (a new holder: epoch + 1).
        _ = try affected(
            """
            UPDATE leases SET
                epoch = CASE WHEN holder = ? THEN epoch ELSE epoch + 1 END,
                acquired_at = CASE WHEN holder = ? THEN acquired_at ELSE ? END,
                holder = ?, expires_at = ?
            WHERE name = ? AND (holder = ? OR expires_at <= ?)
            """,
            [
                holder.sqlValue, holder.sqlValue, now.sqlValue, holder.sqlValue, expires.sqlValue, name.sqlValue,
                holder.sqlValue, now.sqlValue,
            ])
        guard let lease = try lease(named: name), lease.isHeld(by: holder, at: now) else { return nil }
        return lease
    }

    package func releaseLease(_ name: String, holder: String, epoch: Int64, at now: Date) throws -> Bool {
        try affected(
            "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND epoch = ? AND expires_at > ?",
            [now.sqlValue, name.sqlValue, holder.sqlValue, epoch.sqlValue, now.sqlValue]) == 1
    }

    package func claimLeasedRun(_ name: String, holder: String, epoch: Int64, spacing: TimeInterval, at now: Date)
        throws
        -> Bool
    {
        try affected(
            """
            UPDATE leases SET last_run_at = ?
            WHERE name = ? AND holder = ? AND epoch = ? AND expires_at > ?
                AND (last_run_at IS NULL OR last_run_at <= ?)
            """,
            [
                now.sqlValue, name.sqlValue, holder.sqlValue, epoch.sqlValue, now.sqlValue,
                now.addingTimeInterval(-max(0, spacing)).sqlValue,
            ]) == 1
    }

    package func countGuessingFailure(from clientAddress: String, window: TimeInterval, at now: Date) throws
        -> GuessingWindow
    {
        try checkWritable()
        guard !clientAddress.isEmpty, clientAddress.utf8.count <= 255 else {
            throw StoreError(.constraintViolated, "a guessing window needs a client address of 1 to 255 bytes")
        }
        let ended = now.addingTimeInterval(-max(0, window))
        _ = try affected("DELETE FROM guessing_windows WHERE window_start <= ?", [ended.sqlValue])
        _ = try affected(
            """
            INSERT INTO guessing_windows (client_address, window_start, failures) VALUES (?, ?, 1)
            ON CONFLICT (client_address) DO UPDATE SET failures = guessing_windows.failures + 1
            """, [clientAddress.sqlValue, now.sqlValue])
        let counted = try first(
            "SELECT window_start, failures FROM guessing_windows WHERE client_address = ?", [clientAddress.sqlValue]
        ) { row in GuessingWindow(clientAddress: clientAddress, start: row.date(0), failures: Int(row.int(1))) }
        return try requireFound(counted, "guessing window")
    }

    private static func requireLeaseNames(_ name: String, _ holder: String) throws {
        for (value, what) in [(name, "lease name"), (holder, "lease holder")]
        where value.isEmpty || value.utf8.count > 200 {
            throw StoreError(.constraintViolated, "a \(what) is 1 to 200 bytes")
        }
    }
}
