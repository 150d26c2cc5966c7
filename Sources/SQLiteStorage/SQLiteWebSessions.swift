import Foundation
import Storage

extension SQLiteSchema {
    /// Migration 13: the web UI's server-side sessions, the first-run setup codes, and pulls per tag and UTC day.
    ///
    /// - `web_sessions` keeps only the SHA-256 of the cookie value (unique: the lookup of every page view) and
    ///   goes with its user (CASCADE), so deleting an account ends its sessions without the service's help.
    ///   `client` and `address` are bounded here too, as a backstop to the service's truncation.
    /// - `setup_codes` holds the hashes of the one-time codes that let the first administrator be created; each
    ///   instance that starts on an empty database adds one, and creating the administrator deletes them all.
    /// - `tag_pulls_daily` counts pulls per tag and day (`day` is the day's start in milliseconds, UTC), for the
    ///   repository page's chart. `recordPull` adds to it in the same statement batch that bumps `pull_count`
    ///   (an upsert, not a trigger: the pull's own time picks the day, and events arrive out of order). It
    ///   goes with its tag; the migration starts it empty, as history before it was never kept per day.
    static let webSessions = """
        CREATE TABLE web_sessions (
            id           INTEGER PRIMARY KEY,
            user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            secret_hash  TEXT NOT NULL UNIQUE CHECK (length(secret_hash) > 0),
            csrf_token   TEXT NOT NULL CHECK (length(csrf_token) > 0),
            created_at   INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL,
            expires_at   INTEGER NOT NULL,
            revoked_at   INTEGER,
            client       TEXT CHECK (length(client) <= 1024),
            address      TEXT CHECK (length(address) <= 255)
        ) STRICT;
        CREATE INDEX web_sessions_user ON web_sessions (user_id);

        CREATE TABLE setup_codes (
            code_hash  TEXT PRIMARY KEY CHECK (length(code_hash) > 0),
            created_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE tag_pulls_daily (
            tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
            day    INTEGER NOT NULL,
            count  INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (tag_id, day)
        ) STRICT, WITHOUT ROWID;
        """
}

// The web-session, setup-code and daily-pull parts of `StoreReading`/`StoreWriting` over SQLite (migration 13).
extension SQLiteTransaction {
    private static let webSessionColumns = """
        id, user_id, secret_hash, csrf_token, created_at, last_seen_at, expires_at, revoked_at, client, address
        """

    private static func decodeWebSession(_ row: SQLiteRow) -> WebSession {
        WebSession(
            id: row.id(0), userID: row.id(1), secretHash: row.text(2), csrfToken: row.text(3), createdAt: row.date(4),
            lastSeenAt: row.date(5), expiresAt: row.date(6), revokedAt: row.optionalDate(7),
            client: row.optionalText(8), address: row.optionalText(9))
    }

    /// Milliseconds in a day: `day` columns are the start of a UTC day in the store's millisecond timestamps.
    static let millisecondsPerDay: Int64 = 86_400_000

    /// The start (UTC) of the day holding `date`, as stored.
    static func dayStart(_ date: Date) -> SQLValue {
        guard case .integer(let milliseconds) = date.sqlValue else { return date.sqlValue }
        // Floor division, so a date before 1970 still lands on its own day.
        let days = milliseconds >= 0 ? milliseconds / millisecondsPerDay : (milliseconds + 1) / millisecondsPerDay - 1
        return .integer(days * millisecondsPerDay)
    }

    func webSession(secretHash: String) throws -> WebSession? {
        try first(
            "SELECT \(Self.webSessionColumns) FROM web_sessions WHERE secret_hash = ?", [secretHash.sqlValue],
            Self.decodeWebSession)
    }

    func webSessions(of userID: User.ID) throws -> [WebSession] {
        try rows(
            """
            SELECT \(Self.webSessionColumns) FROM web_sessions WHERE user_id = ? AND revoked_at IS NULL
            ORDER BY created_at DESC, id DESC
            """, [userID.sqlValue], Self.decodeWebSession)
    }

    func setupCodeExists(hash: String) throws -> Bool {
        try count("SELECT count(*) FROM setup_codes WHERE code_hash = ?", [hash.sqlValue]) > 0
    }

    func dailyPulls(ofRepository id: Repository.ID, since: Date) throws -> [DailyPulls] {
        try rows(
            """
            SELECT day, count FROM repository_pulls_daily WHERE repository_id = ? AND day >= ? ORDER BY day
            """, [id.sqlValue, Self.dayStart(since)], Self.decodeDailyPulls)
    }

    func dailyPulls(ofTag id: Tag.ID, since: Date) throws -> [DailyPulls] {
        try rows(
            "SELECT day, count FROM tag_pulls_daily WHERE tag_id = ? AND day >= ? ORDER BY day",
            [id.sqlValue, Self.dayStart(since)], Self.decodeDailyPulls)
    }

    private static func decodeDailyPulls(_ row: SQLiteRow) -> DailyPulls {
        DailyPulls(day: row.date(0), count: Int(row.int(1)))
    }

    /// Adds one pull to the tag's count for the UTC day of `date` (called by `recordPull` once the tag is known
    /// to exist).
    func countDailyPull(ofTag tagID: Tag.ID, at date: Date) throws {
        _ = try affected(
            """
            INSERT INTO tag_pulls_daily (tag_id, day, count) VALUES (?, ?, 1)
            ON CONFLICT (tag_id, day) DO UPDATE SET count = count + 1
            """, [tagID.sqlValue, Self.dayStart(date)])
    }

    func createWebSession(
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

    func touchWebSession(_ id: WebSession.ID, at date: Date) throws {
        try change(
            "web session", "UPDATE web_sessions SET last_seen_at = max(last_seen_at, ?) WHERE id = ?",
            [date.sqlValue, id.sqlValue])
    }

    func revokeWebSession(_ id: WebSession.ID, at date: Date) throws {
        try change(
            "web session", "UPDATE web_sessions SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
            [date.sqlValue, id.sqlValue])
    }

    func revokeWebSessions(of userID: User.ID, except: WebSession.ID?, at date: Date) throws -> Int {
        try affected(
            "UPDATE web_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?",
            [date.sqlValue, userID.sqlValue, except.sqlValue])
    }

    func pruneWebSessions(before date: Date, lastSeenBefore: Date?) throws -> Int {
        try affected(
            "DELETE FROM web_sessions WHERE revoked_at IS NOT NULL OR expires_at < ? OR last_seen_at < ?",
            [date.sqlValue, lastSeenBefore.sqlValue])
    }

    func addSetupCode(hash: String, at date: Date) throws {
        try requireName(hash, "setup code hash")
        _ = try affected(
            "INSERT INTO setup_codes (code_hash, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [hash.sqlValue, date.sqlValue])
    }

    func deleteSetupCodes() throws {
        _ = try affected("DELETE FROM setup_codes", [])
    }
}
