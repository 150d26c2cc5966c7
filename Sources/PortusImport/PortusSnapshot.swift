import Foundation

// The rows of a Portus 2.4 database that the import reads, as Portus stores them (`db/schema.postgresql.rb` of
// SUSE/Portus, schema version 2019_01_09_112643). Field names follow Portus's columns; enums stay the integers
// Portus writes, so the importer, not the reader, decides what an unknown value means.

/// A row of Portus's `users`.
public struct PortusUser: Sendable, Hashable {
    /// `id`.
    public var id: Int
    /// `username`.
    public var username: String
    /// `email` (`""` or NULL for many LDAP users).
    public var email: String?
    /// `encrypted_password`: a Devise bcrypt hash (`$2a$…`), or `""` for an account that signs in only
    /// through LDAP (or a bot, which signs in only with application tokens).
    public var encryptedPassword: String
    /// `admin`.
    public var isAdmin: Bool
    /// `enabled`.
    public var isEnabled: Bool
    /// `namespace_id`: the personal namespace.
    public var namespaceID: Int?
    /// `display_name`.
    public var displayName: String?
    /// `bot`.
    public var isBot: Bool

    /// Describes a row.
    public init(
        id: Int, username: String, email: String? = nil, encryptedPassword: String = "", isAdmin: Bool = false,
        isEnabled: Bool = true, namespaceID: Int? = nil, displayName: String? = nil, isBot: Bool = false
    ) {
        self.id = id
        self.username = username
        self.email = email
        self.encryptedPassword = encryptedPassword
        self.isAdmin = isAdmin
        self.isEnabled = isEnabled
        self.namespaceID = namespaceID
        self.displayName = displayName
        self.isBot = isBot
    }
}

extension PortusUser {
    /// The name of Portus's internal API user (created by its seed; Portus calls the registry as it).
    public static let internalUsername = "portus"

    /// Whether Portus created this account at an LDAP login: no local password, not a bot, not `portus`.
    public var isLDAPAccount: Bool { encryptedPassword.isEmpty && !isBot && username != Self.internalUsername }
}

/// A row of Portus's `teams`.
public struct PortusTeam: Sendable, Hashable {
    /// `id`.
    public var id: Int
    /// `name`.
    public var name: String
    /// `hidden`: a personal team or the global team.
    public var isHidden: Bool
    /// `description`.
    public var description: String?
}

/// A row of Portus's `team_users`.
public struct PortusTeamMember: Sendable, Hashable {
    /// `team_id`.
    public var teamID: Int
    /// `user_id`.
    public var userID: Int
    /// `role`: 0 viewer, 1 contributor, 2 owner.
    public var role: Int
}

/// A row of Portus's `namespaces`.
public struct PortusNamespace: Sendable, Hashable {
    /// `id`.
    public var id: Int
    /// `name`.
    public var name: String
    /// `team_id`.
    public var teamID: Int?
    /// `global`.
    public var isGlobal: Bool
    /// `description`.
    public var description: String?
    /// `visibility`: 0 private, 1 protected, 2 public.
    public var visibility: Int?
}

/// A row of Portus's `repositories`.
public struct PortusRepository: Sendable, Hashable {
    /// `id`.
    public var id: Int
    /// `name` (inside its namespace; may contain `/`).
    public var name: String
    /// `namespace_id`.
    public var namespaceID: Int?
    /// `marked`: a deletion was under way.
    public var isMarked: Bool
    /// `description`.
    public var description: String?
}

/// A row of Portus's `tags`.
public struct PortusTag: Sendable, Hashable {
    /// `id`.
    public var id: Int
    /// `name`.
    public var name: String
    /// `repository_id`.
    public var repositoryID: Int
    /// `user_id`: the author, if still known.
    public var userID: Int?
    /// `username`: the author's name as recorded.
    public var username: String?
    /// `digest`: the manifest digest, empty when Portus could not fetch it.
    public var digest: String?
    /// `size`, in bytes.
    public var size: Int64?
    /// `marked`: a deletion was under way.
    public var isMarked: Bool
    /// `created_at`: when it was first pushed.
    public var createdAt: Date?
    /// `pulled_at` (Portus 2.5 and later; NULL in a 2.4 database, which has no such column).
    public var pulledAt: Date?
}

/// A row of Portus's `stars`.
public struct PortusStar: Sendable, Hashable {
    /// `user_id`.
    public var userID: Int
    /// `repository_id`.
    public var repositoryID: Int
}

/// A row of Portus's `webhooks` with its `webhook_headers`.
public struct PortusWebhook: Sendable, Hashable {
    /// `id`.
    public var id: Int
    /// `namespace_id`.
    public var namespaceID: Int?
    /// `name`.
    public var name: String
    /// `url`.
    public var url: String
    /// `username` for HTTP Basic authentication.
    public var username: String?
    /// `password` for HTTP Basic authentication, which Portus stored in plain text.
    public var password: String?
    /// `request_method`: 0 GET, 1 POST.
    public var requestMethod: Int?
    /// `content_type`: 0 `application/json`, 1 `application/x-www-form-urlencoded`.
    public var contentType: Int?
    /// `enabled`.
    public var isEnabled: Bool
    /// Its `webhook_headers` rows, in id order.
    public var headers: [PortusWebhookHeader]
}

/// A row of Portus's `webhook_headers`.
public struct PortusWebhookHeader: Sendable, Hashable {
    /// `name`.
    public var name: String
    /// `value`.
    public var value: String
}

/// A row of Portus's `activities` (PublicActivity).
public struct PortusActivity: Sendable, Hashable {
    /// `id`.
    public var id: Int
    /// `trackable_type` (`Repository`, `Namespace`, `Team`, `Webhook`, `ApplicationToken`, …).
    public var trackableType: String?
    /// `trackable_id`.
    public var trackableID: Int?
    /// `owner_type` (`User`).
    public var ownerType: String?
    /// `owner_id`: the acting user.
    public var ownerID: Int?
    /// `key`: `<model>.<action>`.
    public var key: String?
    /// `parameters`: a YAML-serialized Ruby hash (names kept after a deletion, old and new values).
    public var parameters: String?
    /// `recipient_type` (`Tag`, `User`, …).
    public var recipientType: String?
    /// `recipient_id`.
    public var recipientID: Int?
    /// `created_at`.
    public var createdAt: Date?
}

/// A row of Portus's `application_tokens` (the secret is a bcrypt hash and cannot be carried over).
public struct PortusApplicationToken: Sendable, Hashable {
    /// `user_id`.
    public var userID: Int
    /// `application`: the token's label.
    public var application: String
}

/// Everything the import reads from a Portus database, read in one snapshot.
public struct PortusSnapshot: Sendable {
    /// `users`, by id.
    public var users: [PortusUser] = []
    /// `teams`, by id.
    public var teams: [PortusTeam] = []
    /// `team_users`, by id.
    public var teamMembers: [PortusTeamMember] = []
    /// `namespaces`, by id.
    public var namespaces: [PortusNamespace] = []
    /// `repositories`, by id.
    public var repositories: [PortusRepository] = []
    /// `tags`, by id.
    public var tags: [PortusTag] = []
    /// `stars`, by id.
    public var stars: [PortusStar] = []
    /// `webhooks` with their headers, by id.
    public var webhooks: [PortusWebhook] = []
    /// `activities`, by id.
    public var activities: [PortusActivity] = []
    /// `application_tokens`, by id.
    public var applicationTokens: [PortusApplicationToken] = []
    /// How many rows the tables the import does not carry over hold (`comments`, `vulnerabilities`,
    /// `scan_results`, `webhook_deliveries`, `registry_events`), by table name.
    public var notImported: [(table: String, rows: Int)] = []
    /// The newest Rails migration applied (`schema_migrations`), if the table is there.
    public var schemaVersion: String?

    /// An empty snapshot.
    public init() {}
}
