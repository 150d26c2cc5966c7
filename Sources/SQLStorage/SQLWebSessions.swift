import Foundation
import Storage

// The web-session, setup-code and daily-pull parts of `StoreReading`/`StoreWriting` on both SQL backends (migration 13).
extension SQLTransaction {
    private static var webSessionColumns: String {
        """
        id, user_id, secret_hash, csrf_token, created_at, last_seen_at, expires_at, revoked_at, client, address
        """
    }

    private static func decodeWebSession(_ row: Connection.Row) -> WebSession {
        WebSession(
            id: row.id(0), userID: row.id(1), secretHash: row.text(2), csrfToken: row.text(3), createdAt: row.date(4),
            lastSeenAt: row.date(5), expiresAt: row.date(6), revokedAt: row.optionalDate(7),
            client: row.optionalText(8), address: row.optionalText(9))
    }

    /// Milliseconds in a day: `day` columns are the start of a UTC day in the store's millisecond timestamps.
    package static var millisecondsPerDay: Int64 {
        86_400_000
    }

    /// The start (UTC) of the day holding `date`, as stored.
    package static func dayStart(_ date: Date) -> SQLValue {
        guard case .integer(let milliseconds) = date.sqlValue else { return date.sqlValue }
        // Floor division, so a date before 1970 still lands on its own day.
        let days = milliseconds >= 0 ? milliseconds / millisecondsPerDay : (milliseconds + 1) / millisecondsPerDay - 1
        return .integer(days * millisecondsPerDay)
    }

    package func webSession(secretHash: String) throws -> WebSession? {
        try first(
            "SELECT \(Self.webSessionColumns) FROM web_sessions WHERE secret_hash = ?", [secretHash.sqlValue],
            Self.decodeWebSession)
    }

    package func webSessions(of userID: User.ID) throws -> [WebSession] {
        try rows(
            """
            SELECT \(Self.webSessionColumns) FROM web_sessions WHERE user_id = ? AND revoked_at IS NULL
            ORDER BY created_at DESC, id DESC
            """, [userID.sqlValue], Self.decodeWebSession)
    }

    package func setupCodeExists(hash: String) throws -> Bool {
        try count("SELECT count(*) FROM setup_codes WHERE code_hash = ?", [hash.sqlValue]) > 0
    }

    package func dailyPulls(ofRepository id: Repository.ID, since: Date) throws -> [DailyPulls] {
        try rows(
            """
            SELECT day, count FROM repository_pulls_daily WHERE repository_id = ? AND day >= ? ORDER BY day
            """, [id.sqlValue, Self.dayStart(since)], Self.decodeDailyPulls)
    }

    package func dailyPulls(ofTag id: Tag.ID, since: Date) throws -> [DailyPulls] {
        try rows(
            "SELECT day, count FROM tag_pulls_daily WHERE tag_id = ? AND day >= ? ORDER BY day",
            [id.sqlValue, Self.dayStart(since)], Self.decodeDailyPulls)
    }

    private static func decodeDailyPulls(_ row: Connection.Row) -> DailyPulls {
        DailyPulls(day: row.date(0), count: Int(row.int(1)))
    }

    /// Adds one pull to the tag's count for the UTC day of `date` (called by `recordPull` once the tag is known
    /// to exist).
    package func countDailyPull(ofTag tagID: Tag.ID, at date: Date) throws {
        _ = try affected(
            """
            INSERT INTO tag_pulls_daily (tag_id, day, count) VALUES (?, ?, 1)
            ON CONFLICT (tag_id, day) DO UPDATE SET count = tag_pulls_daily.count + 1
            """, [tagID.sqlValue, Self.dayStart(date)])
    }

    package func createWebSession(
        userID: User.ID, secretHash: String, csrfToken: String, expiresAt: Date, client: String?, address: String?
    ) throws -> WebSession {
        try requireName(secretHash, "session hash")
        try requireName(csrfToken, "CSRF token")
        let time = now()
        let id = try insert(
            """
            INSERT INTO web_sessions (user_id, secret_hash, csrf_token, created_at, last_seen_at, expires_at, client,
                address) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                userID.sqlValue, secretHash.sqlValue, csrfToken.sqlValue, time.sqlValue, time.sqlValue,
                expiresAt.sqlValue, client.sqlValue, address.sqlValue,
            ])
        return try requireFound(
            try first(
                "SELECT \(Self.webSessionColumns) FROM web_sessions WHERE id = ?", [id.sqlValue],
                Self.decodeWebSession), "web session")
    }

    package func touchWebSession(_ id: WebSession.ID, at date: Date) throws {
        try change(
            "web session",
            "UPDATE web_sessions SET last_seen_at = \(dialect.greatest("last_seen_at", "?")) WHERE id = ?",
            [date.sqlValue, id.sqlValue])
    }

    package func revokeWebSession(_ id: WebSession.ID, at date: Date) throws {
        try change(
            "web session", "UPDATE web_sessions SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
            [date.sqlValue, id.sqlValue])
    }

    package func revokeWebSessions(of userID: User.ID, except: WebSession.ID?, at date: Date) throws -> Int {
        try affected(
            """
            UPDATE web_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL
                AND \(dialect.isDistinct("id", "?"))
            """,
            [date.sqlValue, userID.sqlValue, except.sqlValue])
    }

    package func pruneWebSessions(before date: Date, lastSeenBefore: Date?) throws -> Int {
        try affected(
            "DELETE FROM web_sessions WHERE revoked_at IS NOT NULL OR expires_at < ? OR last_seen_at < ?",
            [date.sqlValue, lastSeenBefore.sqlValue])
    }

    package func addSetupCode(hash: String, at date: Date) throws {
        try requireName(hash, "setup code hash")
        _ = try affected(
            "INSERT INTO setup_codes (code_hash, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [hash.sqlValue, date.sqlValue])
    }

    package func deleteSetupCodes() throws {
        _ = try affected("DELETE FROM setup_codes", [])
    }
}
