import Foundation

// Value types of the stored model. They are plain data: rules such as "a team keeps an owner" or
// "creating a user also creates their personal namespace" belong to the callers, which compose the
// typed operations of `StoreWriting` inside one transaction.

// MARK: - Users

/// A local account: everyone who can log in, however they authenticate.
public struct User: Sendable, Hashable, Identifiable, CustomStringConvertible {
    /// The identifier of a stored user.
    public typealias ID = RecordID<User>

    /// The database identifier.
    public var id: ID
    /// The unique login name.
    public var username: String
    /// The contact address, if known (external users may have none).
    public var email: String?
    /// A human-friendly name shown in the UI, if set.
    public var displayName: String?
    /// The opaque password hash (`$2b$…`, `$y$…`); `nil` for users who only log in through a federated provider.
    public var passwordHash: String?
    /// Whether the user is a Portcullis administrator.
    public var isAdmin: Bool
    /// Whether the user may log in at all.
    public var isEnabled: Bool
    /// Consecutive failed password logins since the last success.
    public var failedLoginCount: Int
    /// Until when password logins are refused after too many failures, if locked.
    public var lockedUntil: Date?
    /// When the account was created.
    public var createdAt: Date
    /// When the account row last changed.
    public var updatedAt: Date
    /// When the user last logged in successfully, if ever.
    public var lastLoginAt: Date?

    /// Creates a user value (normally only a store does this).
    public init(
        id: ID, username: String, email: String?, displayName: String?, passwordHash: String?, isAdmin: Bool,
        isEnabled: Bool, failedLoginCount: Int, lockedUntil: Date?, createdAt: Date, updatedAt: Date,
        lastLoginAt: Date?
    ) {
        self.id = id
        self.username = username
        self.email = email
        self.displayName = displayName
        self.passwordHash = passwordHash
        self.isAdmin = isAdmin
        self.isEnabled = isEnabled
        self.failedLoginCount = failedLoginCount
        self.lockedUntil = lockedUntil
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastLoginAt = lastLoginAt
    }

    /// A log-safe summary: the password hash is never part of it.
    public var description: String {
        "User(id: \(id), username: \(username), admin: \(isAdmin), enabled: \(isEnabled))"
    }
}

/// The fields needed to create a user; everything else starts at its default.
public struct NewUser: Sendable, Hashable, CustomStringConvertible {
    /// The unique login name.
    public var username: String
    /// The contact address, if any.
    public var email: String?
    /// The name shown in the UI, if any.
    public var displayName: String?
    /// The opaque password hash, or `nil` for an external-only user.
    public var passwordHash: String?
    /// Whether the user starts as an administrator.
    public var isAdmin: Bool
    /// Whether the user starts enabled.
    public var isEnabled: Bool

    /// Describes a user to create.
    public init(
        username: String, email: String? = nil, displayName: String? = nil, passwordHash: String? = nil,
        isAdmin: Bool = false, isEnabled: Bool = true
    ) {
        self.username = username
        self.email = email
        self.displayName = displayName
        self.passwordHash = passwordHash
        self.isAdmin = isAdmin
        self.isEnabled = isEnabled
    }

    /// A log-safe summary: the password hash is never part of it.
    public var description: String { "NewUser(username: \(username), admin: \(isAdmin))" }
}

/// A federated identity `(provider, subject)` bound to one local user.
public struct IdentityLink: Sendable, Hashable, Identifiable {
    /// The identifier of a stored identity link.
    public typealias ID = RecordID<IdentityLink>

    /// The database identifier.
    public var id: ID
    /// The configured provider id (`corp-ldap`); never changes once used.
    public var providerID: String
    /// The provider's stable key for the person (LDAP entryUUID, OIDC `iss`+`sub`).
    public var subject: String
    /// The local user this identity logs in as.
    public var userID: User.ID
    /// When the link was made.
    public var createdAt: Date
    /// When this identity last logged in, if ever.
    public var lastSeenAt: Date?

    /// Creates a link value (normally only a store does this).
    public init(id: ID, providerID: String, subject: String, userID: User.ID, createdAt: Date, lastSeenAt: Date?) {
        self.id = id
        self.providerID = providerID
        self.subject = subject
        self.userID = userID
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
    }
}

// MARK: - Teams

/// A group of users that owns namespaces.
public struct Team: Sendable, Hashable, Identifiable {
    /// The identifier of a stored team.
    public typealias ID = RecordID<Team>

    /// The database identifier.
    public var id: ID
    /// The unique team name.
    public var name: String
    /// Free text shown in the UI, if any.
    public var description: String?
    /// Whether the team is internal (a personal team or the global team) and hidden from lists.
    public var isHidden: Bool
    /// When the team was created.
    public var createdAt: Date
    /// When the team row last changed.
    public var updatedAt: Date

    /// Creates a team value (normally only a store does this).
    public init(id: ID, name: String, description: String?, isHidden: Bool, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.name = name
        self.description = description
        self.isHidden = isHidden
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What a member may do in a team's namespaces (Portus semantics: viewers pull, contributors also
/// push, owners also manage).
public enum TeamRole: String, Sendable, Hashable, CaseIterable, Comparable {
    /// May pull.
    case viewer
    /// May pull and push.
    case contributor
    /// May pull, push and manage the team and its namespaces.
    case owner

    private var rank: Int { Self.allCases.firstIndex(of: self)! }

    /// Orders roles by power: viewer < contributor < owner.
    public static func < (lhs: TeamRole, rhs: TeamRole) -> Bool { lhs.rank < rhs.rank }
}

/// One user's membership of one team, with the user's name for display.
public struct TeamMember: Sendable, Hashable {
    /// The team.
    public var teamID: Team.ID
    /// The member.
    public var userID: User.ID
    /// The member's username at read time.
    public var username: String
    /// The member's role in the team.
    public var role: TeamRole
    /// When the user joined the team.
    public var addedAt: Date
    /// The provider whose group sync made this membership, or `nil` for one added by hand (which sync
    /// never changes or removes).
    public var syncedFrom: String?

    /// Creates a membership value (normally only a store does this).
    public init(
        teamID: Team.ID, userID: User.ID, username: String, role: TeamRole, addedAt: Date, syncedFrom: String? = nil
    ) {
        self.teamID = teamID
        self.userID = userID
        self.username = username
        self.role = role
        self.addedAt = addedAt
        self.syncedFrom = syncedFrom
    }
}

/// One team a given user belongs to, with the role held there.
public struct TeamMembership: Sendable, Hashable {
    /// The team.
    public var team: Team
    /// The user's role in it.
    public var role: TeamRole
    /// The provider whose group sync made this membership, or `nil` for one added by hand.
    public var syncedFrom: String?

    /// Creates a membership value (normally only a store does this).
    public init(team: Team, role: TeamRole, syncedFrom: String? = nil) {
        self.team = team
        self.role = role
        self.syncedFrom = syncedFrom
    }
}

// MARK: - Namespaces, repositories, tags, stars

/// Who may pull from a namespace without being a team member.
public enum NamespaceVisibility: String, Sendable, Hashable, CaseIterable {
    /// Only team members (and admins).
    case `private`
    /// Every logged-in user may pull.
    case protected
    /// Everyone, including anonymous clients, may pull.
    case `public`
}

/// The role a namespace plays.
public enum NamespaceKind: String, Sendable, Hashable, CaseIterable {
    /// The one namespace of unprefixed images (`docker pull busybox`); admins push there.
    case global
    /// A user's own namespace, named after them.
    case personal
    /// An ordinary team namespace.
    case regular
}

/// The first path component of an image name, owned by a team.
public struct Namespace: Sendable, Hashable, Identifiable {
    /// The identifier of a stored namespace.
    public typealias ID = RecordID<Namespace>

    /// The database identifier.
    public var id: ID
    /// The unique namespace name.
    public var name: String
    /// The owning team.
    public var teamID: Team.ID
    /// Who may pull without membership.
    public var visibility: NamespaceVisibility
    /// The role this namespace plays.
    public var kind: NamespaceKind
    /// For a personal namespace, the user it belongs to (`nil` once that user is deleted).
    public var personalOwnerID: User.ID?
    /// Free text shown in the UI, if any.
    public var description: String?
    /// When the namespace was created.
    public var createdAt: Date
    /// When the namespace row last changed.
    public var updatedAt: Date

    /// Creates a namespace value (normally only a store does this).
    public init(
        id: ID, name: String, teamID: Team.ID, visibility: NamespaceVisibility, kind: NamespaceKind,
        personalOwnerID: User.ID?, description: String?, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.teamID = teamID
        self.visibility = visibility
        self.kind = kind
        self.personalOwnerID = personalOwnerID
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An image repository inside a namespace.
public struct Repository: Sendable, Hashable, Identifiable {
    /// The identifier of a stored repository.
    public typealias ID = RecordID<Repository>

    /// A repository's full name as the registry and users spell it: `repo` in the global namespace
    /// (`busybox`), `ns/repo` elsewhere.
    public static func fullName(_ name: String, namespace: String, kind: NamespaceKind) -> String {
        kind == .global ? name : namespace + "/" + name
    }

    /// The database identifier.
    public var id: ID
    /// The namespace it lives in.
    public var namespaceID: Namespace.ID
    /// The name inside the namespace (may itself contain `/`).
    public var name: String
    /// The configured name of the registry holding it (repositories are per registry; empty for rows
    /// stored before registries were told apart).
    public var registry: String
    /// Free text shown in the UI, if any.
    public var description: String?
    /// When the repository was first seen.
    public var createdAt: Date
    /// When the repository row last changed.
    public var updatedAt: Date

    /// Creates a repository value (normally only a store does this).
    public init(
        id: ID, namespaceID: Namespace.ID, name: String, registry: String = "", description: String?, createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.namespaceID = namespaceID
        self.name = name
        self.registry = registry
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A tag of a repository and the manifest it points to.
public struct Tag: Sendable, Hashable, Identifiable {
    /// The identifier of a stored tag.
    public typealias ID = RecordID<Tag>

    /// The database identifier.
    public var id: ID
    /// The repository.
    public var repositoryID: Repository.ID
    /// The tag name (case-sensitive).
    public var name: String
    /// The manifest digest (`sha256:…`).
    public var digest: String
    /// The manifest media type, if known.
    public var mediaType: String?
    /// The image size in bytes (config plus layers), if known.
    public var size: Int64?
    /// The user who pushed it, if known and still existing.
    public var pushedByID: User.ID?
    /// The pusher's username as recorded at push time (kept after the user is deleted).
    public var pushedByName: String?
    /// For an index or manifest list, the platforms it serves (`os/arch[/variant]`); empty otherwise.
    public var platforms: [String]
    /// How many pulls of this tag the registry reported.
    public var pullCount: Int
    /// When the registry last reported a pull of this tag, if ever.
    public var lastPulledAt: Date?
    /// When the tag was first pushed.
    public var createdAt: Date
    /// When the tag last moved.
    public var updatedAt: Date

    /// Creates a tag value (normally only a store does this).
    public init(
        id: ID, repositoryID: Repository.ID, name: String, digest: String, mediaType: String?, size: Int64?,
        pushedByID: User.ID?, pushedByName: String?, platforms: [String] = [], pullCount: Int = 0,
        lastPulledAt: Date? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.platforms = platforms
        self.pullCount = pullCount
        self.lastPulledAt = lastPulledAt
        self.id = id
        self.repositoryID = repositoryID
        self.name = name
        self.digest = digest
        self.mediaType = mediaType
        self.size = size
        self.pushedByID = pushedByID
        self.pushedByName = pushedByName
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What a push says about a tag; used to create it or move it.
public struct TagPush: Sendable, Hashable {
    /// The repository.
    public var repositoryID: Repository.ID
    /// The tag name.
    public var name: String
    /// The manifest digest.
    public var digest: String
    /// The manifest media type, if known.
    public var mediaType: String?
    /// The image size in bytes, if known.
    public var size: Int64?
    /// The pushing user, if known.
    public var pushedByID: User.ID?
    /// The pushing user's name as the registry reported it, if any.
    public var pushedByName: String?
    /// For an index or manifest list, the platforms it serves (`os/arch[/variant]`).
    public var platforms: [String]
    /// When the push happened (the event's time), or `nil` for "now".
    public var pushedAt: Date?

    /// Describes a push.
    public init(
        repositoryID: Repository.ID, name: String, digest: String, mediaType: String? = nil, size: Int64? = nil,
        pushedByID: User.ID? = nil, pushedByName: String? = nil, platforms: [String] = [], pushedAt: Date? = nil
    ) {
        self.platforms = platforms
        self.pushedAt = pushedAt
        self.repositoryID = repositoryID
        self.name = name
        self.digest = digest
        self.mediaType = mediaType
        self.size = size
        self.pushedByID = pushedByID
        self.pushedByName = pushedByName
    }
}

// MARK: - Tokens

/// A long-lived secret a user creates to `docker login` without their password.
public struct ApplicationToken: Sendable, Hashable, Identifiable, CustomStringConvertible {
    /// The identifier of a stored application token.
    public typealias ID = RecordID<ApplicationToken>

    /// The database identifier.
    public var id: ID
    /// The user the token acts as.
    public var ownerID: User.ID
    /// The label, unique per owner.
    public var name: String
    /// The lowercase hex SHA-256 of the secret (the secret itself is never stored).
    public var secretHash: String
    /// The visible start of the secret, so users can tell tokens apart.
    public var prefix: String
    /// An optional restriction (namespaces/actions) as JSON text, interpreted by the token authority.
    public var scope: String?
    /// When the token was created.
    public var createdAt: Date
    /// When it stops working, if ever.
    public var expiresAt: Date?
    /// When it last authenticated, if ever.
    public var lastUsedAt: Date?
    /// When it was revoked, if it was.
    public var revokedAt: Date?

    /// Creates a token value (normally only a store does this).
    public init(
        id: ID, ownerID: User.ID, name: String, secretHash: String, prefix: String, scope: String?,
        createdAt: Date, expiresAt: Date?, lastUsedAt: Date?, revokedAt: Date?
    ) {
        self.id = id
        self.ownerID = ownerID
        self.name = name
        self.secretHash = secretHash
        self.prefix = prefix
        self.scope = scope
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }

    /// Whether the token may authenticate at `date` (not revoked, not expired).
    public func isUsable(at date: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { date < $0 } ?? true)
    }

    /// A log-safe summary without the hash.
    public var description: String {
        "ApplicationToken(id: \(id), owner: \(ownerID), name: \(name), prefix: \(prefix))"
    }
}

/// The fields needed to store a new application token.
public struct NewApplicationToken: Sendable, Hashable {
    /// The user the token acts as.
    public var ownerID: User.ID
    /// The label, unique per owner.
    public var name: String
    /// The lowercase hex SHA-256 of the secret.
    public var secretHash: String
    /// The visible start of the secret.
    public var prefix: String
    /// An optional restriction as JSON text.
    public var scope: String?
    /// When it stops working, if ever.
    public var expiresAt: Date?

    /// Describes a token to store.
    public init(
        ownerID: User.ID, name: String, secretHash: String, prefix: String, scope: String? = nil,
        expiresAt: Date? = nil
    ) {
        self.ownerID = ownerID
        self.name = name
        self.secretHash = secretHash
        self.prefix = prefix
        self.scope = scope
        self.expiresAt = expiresAt
    }
}

/// An opaque OAuth2 refresh token issued to the Docker client, stored hashed.
public struct RefreshToken: Sendable, Hashable, Identifiable, CustomStringConvertible {
    /// The identifier of a stored refresh token.
    public typealias ID = RecordID<RefreshToken>

    /// The database identifier.
    public var id: ID
    /// The user it was issued to.
    public var userID: User.ID
    /// The registry service it is bound to.
    public var service: String
    /// The lowercase hex SHA-256 of the secret.
    public var secretHash: String
    /// When it was issued.
    public var createdAt: Date
    /// When it was last exchanged, if ever.
    public var lastUsedAt: Date?
    /// When it was revoked, if it was.
    public var revokedAt: Date?
    /// What asked for it (the client's user agent, bounded), if it said; attacker-chosen text.
    public var client: String?

    /// Creates a refresh token value (normally only a store does this).
    public init(
        id: ID, userID: User.ID, service: String, secretHash: String, createdAt: Date, lastUsedAt: Date?,
        revokedAt: Date?, client: String? = nil
    ) {
        self.id = id
        self.userID = userID
        self.service = service
        self.secretHash = secretHash
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
        self.client = client
    }

    /// A log-safe summary without the hash.
    public var description: String { "RefreshToken(id: \(id), user: \(userID), service: \(service))" }
}

// MARK: - Events

/// Where a stored registry notification is in its processing.
public enum RegistryEventState: String, Sendable, Hashable, CaseIterable {
    /// Stored, not yet processed.
    case pending
    /// Processed successfully.
    case processed
    /// Processing failed; `lastError` says why.
    case failed
    /// Deliberately not processed (an action or media type Portcullis does not track).
    case ignored
}

/// One registry notification as received, used for de-duplication and as the work queue.
public struct RegistryEvent: Sendable, Hashable, Identifiable {
    /// The identifier of a stored registry event.
    public typealias ID = RecordID<RegistryEvent>

    /// The database identifier.
    public var id: ID
    /// The registry's own event id (unique per registry).
    public var eventID: String
    /// The configured name of the registry that sent it.
    public var registry: String
    /// The raw event JSON.
    public var payload: String
    /// When it was received.
    public var receivedAt: Date
    /// Its processing state.
    public var state: RegistryEventState
    /// When it reached its current state, if it was processed.
    public var processedAt: Date?
    /// How many times processing was attempted.
    public var attempts: Int
    /// Why the last attempt failed, if it did.
    public var lastError: String?

    /// Creates an event value (normally only a store does this).
    public init(
        id: ID, eventID: String, registry: String = "", payload: String, receivedAt: Date, state: RegistryEventState,
        processedAt: Date?, attempts: Int, lastError: String?
    ) {
        self.id = id
        self.eventID = eventID
        self.registry = registry
        self.payload = payload
        self.receivedAt = receivedAt
        self.state = state
        self.processedAt = processedAt
        self.attempts = attempts
        self.lastError = lastError
    }
}

/// The result of storing a registry notification.
public enum RegistryEventInsertion: Sendable, Hashable {
    /// The event was new and is now stored.
    case inserted(RegistryEvent)
    /// An event with the same id was already stored; it is returned unchanged.
    case duplicate(RegistryEvent)

    /// The stored event either way.
    public var event: RegistryEvent {
        switch self {
        case .inserted(let event), .duplicate(let event): event
        }
    }
}

/// How an audited action ended.
public enum AuditOutcome: String, Sendable, Hashable, CaseIterable {
    /// It was done.
    case success
    /// It was refused by policy or wrong credentials.
    case denied
    /// It failed for another reason.
    case failure
}

/// One line of the audit log.
public struct AuditEvent: Sendable, Hashable, Identifiable {
    /// The identifier of a stored audit event.
    public typealias ID = RecordID<AuditEvent>

    /// The database identifier (monotonic: later events have larger ids).
    public var id: ID
    /// When it happened.
    public var time: Date
    /// The acting user, if known and still existing.
    public var actorID: User.ID?
    /// The actor's name as recorded (kept after the user is deleted; `nil` for anonymous or system).
    public var actorName: String?
    /// The dotted action name (`user.create`, `token.issue`).
    public var action: String
    /// What was acted on (`user:alice`, `repository:team/app`), if anything.
    public var target: String?
    /// How it ended.
    public var outcome: AuditOutcome
    /// The client address, if the action came over the network.
    public var clientIP: String?
    /// Extra structured detail as JSON text, if any. Never contains secrets.
    public var detail: String?
    /// How many identical events this line stands for: more than 1 when repeated successful token issuances
    /// within `audit.coalesceWindow` were folded into it (`time` is the first, `lastTime` the last).
    public var count: Int
    /// When the last of the `count` events happened; `nil` when it is `time` (a single event).
    public var lastTime: Date?

    /// Creates an audit event value (normally only a store does this).
    public init(
        id: ID, time: Date, actorID: User.ID?, actorName: String?, action: String, target: String?,
        outcome: AuditOutcome, clientIP: String?, detail: String?, count: Int = 1, lastTime: Date? = nil
    ) {
        self.id = id
        self.count = count
        self.lastTime = lastTime
        self.time = time
        self.actorID = actorID
        self.actorName = actorName
        self.action = action
        self.target = target
        self.outcome = outcome
        self.clientIP = clientIP
        self.detail = detail
    }
}

/// The fields of an audit event to append; the store assigns the id (and the time if not given).
public struct NewAuditEvent: Sendable, Hashable {
    /// When it happened; `nil` means the store's current time.
    public var time: Date?
    /// The acting user, if known.
    public var actorID: User.ID?
    /// The actor's name, if any.
    public var actorName: String?
    /// The dotted action name.
    public var action: String
    /// What was acted on, if anything.
    public var target: String?
    /// How it ended.
    public var outcome: AuditOutcome
    /// The client address, if any.
    public var clientIP: String?
    /// Extra structured detail as JSON text, if any. Never put secrets here.
    public var detail: String?

    /// Describes an audit event.
    public init(
        action: String, outcome: AuditOutcome, actorID: User.ID? = nil, actorName: String? = nil,
        target: String? = nil, clientIP: String? = nil, detail: String? = nil, time: Date? = nil
    ) {
        self.time = time
        self.actorID = actorID
        self.actorName = actorName
        self.action = action
        self.target = target
        self.outcome = outcome
        self.clientIP = clientIP
        self.detail = detail
    }
}
