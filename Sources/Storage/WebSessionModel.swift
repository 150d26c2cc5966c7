import Foundation

/// A signed-in browser session of the web UI, kept in the store so any instance can serve it.
///
/// The cookie's secret is never stored: only its SHA-256, so a copy of the database does not sign anyone
/// in. Whether a session still works also depends on the configured timeouts and on its user being enabled;
/// the application service (`WebSessionService`) decides that, the store only keeps the times.
public struct WebSession: Sendable, Hashable, Identifiable, CustomStringConvertible {
    /// The identifier of a stored web session.
    public typealias ID = RecordID<WebSession>

    /// The database identifier (shown in the sessions list; not a secret).
    public var id: ID
    /// The account it signs in.
    public var userID: User.ID
    /// The lowercase hex SHA-256 of the cookie value.
    public var secretHash: String
    /// The token forms and script calls of this session must echo (a per-session CSRF token).
    public var csrfToken: String
    /// When it started (sign-in).
    public var createdAt: Date
    /// When it was last used, written at most once per `WebSessionService.touchInterval`.
    public var lastSeenAt: Date
    /// Its absolute end, set at sign-in.
    public var expiresAt: Date
    /// When it was ended (sign-out, "sign out everywhere", the account disabled), if it was.
    public var revokedAt: Date?
    /// The browser's user agent at sign-in, bounded; attacker-chosen text.
    public var client: String?
    /// The client address at sign-in, if known.
    public var address: String?

    /// Creates a web session value (normally only a store does this).
    public init(
        id: ID, userID: User.ID, secretHash: String, csrfToken: String, createdAt: Date, lastSeenAt: Date,
        expiresAt: Date, revokedAt: Date? = nil, client: String? = nil, address: String? = nil
    ) {
        self.id = id
        self.userID = userID
        self.secretHash = secretHash
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.client = client
        self.address = address
    }

    /// A log-safe summary: neither the hash nor the CSRF token.
    public var description: String { "WebSession(\(id), user \(userID))" }
}

/// How often a repository's or tag's images were pulled on one UTC day (the chart of pulls per day).
public struct DailyPulls: Sendable, Hashable {
    /// The day's start, midnight UTC.
    public var day: Date
    /// The pulls counted that day.
    public var count: Int

    /// Describes one day's pulls.
    public init(day: Date, count: Int) {
        self.day = day
        self.count = count
    }
}
