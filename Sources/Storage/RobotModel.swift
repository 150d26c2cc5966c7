import Foundation

/// A robot account: a token owned by a team rather than a person (Harbor's and Quay's robots), for CI
/// systems that have no OIDC token to offer.
///
/// A robot logs in as `<team>+<name>` and acts within its team's namespaces only, with the actions it was
/// given. It outlives the person who made it: `createdByID` becomes nil when that account is deleted, the
/// copied `createdByName` stays for the record.
public struct RobotAccount: Sendable, Hashable, Identifiable, CustomStringConvertible {
    /// The identifier of a stored robot account.
    public typealias ID = RecordID<RobotAccount>

    /// The database identifier.
    public var id: ID
    /// The team the robot belongs to and acts for.
    public var teamID: Team.ID
    /// The robot's own name, unique within its team.
    public var name: String
    /// The lowercase hex SHA-256 of the secret (the secret itself is never stored).
    public var secretHash: String
    /// The visible start of the secret, so people can tell robots' tokens apart.
    public var prefix: String
    /// The registry actions the robot may be granted (`pull`, `push`, `delete`), sorted.
    public var actions: [String]
    /// The team namespaces the robot is limited to, sorted; nil for every namespace of its team.
    public var namespaces: [String]?
    /// Free text shown in listings, if any.
    public var note: String?
    /// The account that made the robot, while it exists.
    public var createdByID: User.ID?
    /// The name of the account that made the robot, kept when that account goes.
    public var createdByName: String
    /// When the robot was made.
    public var createdAt: Date
    /// When the robot stops working (a robot always has an expiry).
    public var expiresAt: Date
    /// When it last authenticated, if ever.
    public var lastUsedAt: Date?
    /// When it was revoked, if it was.
    public var revokedAt: Date?

    /// Creates a robot value (normally only a store does this).
    public init(
        id: ID, teamID: Team.ID, name: String, secretHash: String, prefix: String, actions: [String],
        namespaces: [String]?, note: String?, createdByID: User.ID?, createdByName: String, createdAt: Date,
        expiresAt: Date, lastUsedAt: Date?, revokedAt: Date?
    ) {
        self.id = id
        self.teamID = teamID
        self.name = name
        self.secretHash = secretHash
        self.prefix = prefix
        self.actions = actions
        self.namespaces = namespaces
        self.note = note
        self.createdByID = createdByID
        self.createdByName = createdByName
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }

    /// Whether the robot may authenticate at `date` (not revoked, not expired).
    public func isUsable(at date: Date) -> Bool {
        revokedAt == nil && date < expiresAt
    }

    /// A log-safe summary without the hash.
    public var description: String {
        "RobotAccount(id: \(id), team: \(teamID), name: \(name), prefix: \(prefix))"
    }
}

/// The fields needed to store a new robot account.
public struct NewRobotAccount: Sendable, Hashable {
    /// The team the robot acts for.
    public var teamID: Team.ID
    /// The robot's name, unique within its team.
    public var name: String
    /// The lowercase hex SHA-256 of the secret.
    public var secretHash: String
    /// The visible start of the secret.
    public var prefix: String
    /// The registry actions granted, sorted.
    public var actions: [String]
    /// The team namespaces the robot is limited to, or nil for all of them.
    public var namespaces: [String]?
    /// Free text, if any.
    public var note: String?
    /// Who made it.
    public var createdByID: User.ID?
    /// The maker's name, kept when the account goes.
    public var createdByName: String
    /// When it stops working.
    public var expiresAt: Date

    /// Describes a robot to store.
    public init(
        teamID: Team.ID, name: String, secretHash: String, prefix: String, actions: [String],
        namespaces: [String]? = nil, note: String? = nil, createdByID: User.ID?, createdByName: String,
        expiresAt: Date
    ) {
        self.teamID = teamID
        self.name = name
        self.secretHash = secretHash
        self.prefix = prefix
        self.actions = actions
        self.namespaces = namespaces
        self.note = note
        self.createdByID = createdByID
        self.createdByName = createdByName
        self.expiresAt = expiresAt
    }
}
