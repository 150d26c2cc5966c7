import Foundation
import Storage

// The per-address lockout part of `StoreReading`/`StoreWriting` on both SQL backends (table of schema migration 6).
extension SQLTransaction {
    package func addressLoginState(of userID: User.ID, from clientAddress: String) throws -> AddressLoginState? {
        try first(
            """
            SELECT failed_count, lock_count, locked_until, last_failure_at, last_success_at
            FROM login_address_states WHERE user_id = ? AND client_address = ?
            """, [userID.sqlValue, clientAddress.sqlValue]
        ) { row in
            AddressLoginState(
                userID: userID, clientAddress: clientAddress, failedCount: Int(row.int(0)), lockCount: Int(row.int(1)),
                lockedUntil: row.optionalDate(2), lastFailureAt: row.optionalDate(3), lastSuccessAt: row.optionalDate(4)
            )
        }
    }

    package func saveAddressLoginState(_ state: AddressLoginState) throws {
        try checkWritable()
        guard !state.clientAddress.isEmpty, state.clientAddress.utf8.count <= 255 else {
            throw StoreError(.constraintViolated, "a login record needs a client address of 1 to 255 bytes")
        }
        try connection.run(
            """
            INSERT INTO login_address_states
                (user_id, client_address, failed_count, lock_count, locked_until, last_failure_at, last_success_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (user_id, client_address) DO UPDATE SET
                failed_count = excluded.failed_count, lock_count = excluded.lock_count,
                locked_until = excluded.locked_until, last_failure_at = excluded.last_failure_at,
                last_success_at = excluded.last_success_at
            """,
            [
                state.userID.sqlValue, state.clientAddress.sqlValue, max(0, state.failedCount).sqlValue,
                max(0, state.lockCount).sqlValue, state.lockedUntil.sqlValue, state.lastFailureAt.sqlValue,
                state.lastSuccessAt.sqlValue,
            ])
    }

    package func pruneAddressLoginStates(of userID: User.ID, at date: Date, failuresSince: Date, successesSince: Date)
        throws
        -> Int
    {
        try checkWritable()
        try connection.run(
            """
            DELETE FROM login_address_states
            WHERE user_id = ? AND (locked_until IS NULL OR locked_until <= ?)
                AND (last_failure_at IS NULL OR last_failure_at < ?)
                AND (last_success_at IS NULL OR last_success_at < ?)
            """, [userID.sqlValue, date.sqlValue, failuresSince.sqlValue, successesSince.sqlValue])
        return connection.changes
    }
}
