import Foundation

/// A transactional store of Portcullis's model, independent of the database behind it.
///
/// Threading contract: every method may be called concurrently from any task. `read` and `write`
/// run their closure **synchronously on the backend's own blocking thread**, never on Swift's
/// cooperative pool, inside exactly one transaction:
/// - `write` closures are serialized (one at a time per store) and see each other's effects; the
///   transaction commits when the closure returns and rolls back entirely when it throws, so a
///   half-written record is never visible. The closure's error is rethrown unchanged.
/// - `read` closures see one consistent snapshot and may run in parallel with each other and
///   with a write; they cannot modify anything.
/// - `claim` closures take queued work (`QueueClaiming`) in a transaction of their own, which a backend
///   need not serialize with writes (PostgreSQL does not: it locks the rows claimed, skipping locked ones).
/// The `StoreReading`/`StoreWriting` value handed to a closure is valid only during that call:
/// do not let it escape, and do not block inside the closure on other async work.
///
/// Errors: every failure is a `StoreError` (`.conflict` for unique clashes, `.notFound`,
/// `.unavailable` when the database is busy beyond its timeout or unreachable, `.corrupt`,
/// `.closed` after `close()`), except errors thrown by the caller's own closure, which pass through.
public protocol Store: Sendable {
    /// Runs `body` inside one read-only transaction and returns its result.
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReading) throws -> T) async throws -> T

    /// Runs `body` inside one write transaction; commits when it returns, rolls back when it throws.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriting) throws -> T) async throws -> T

    /// Runs `body` inside one transaction that claims queued work (see `QueueClaiming`); commits when it
    /// returns, rolls back when it throws. Unlike `write`, it need not be serialized with other writers.
    func claim<T: Sendable>(_ body: @escaping @Sendable (any QueueClaiming) throws -> T) async throws -> T

    /// Applies every pending schema migration, each in its own transaction; a no-op when up to date.
    ///
    /// Throws `.schemaTooNew` when the database was migrated by a newer binary, `.migrationFailed`
    /// (with the failing version in `subject`) when a step fails; that step leaves no trace.
    func migrate() async throws -> MigrationReport

    /// Reports whether the database is reachable and at the schema version this binary expects.
    ///
    /// Throws only when the database cannot be reached at all (`.unavailable`, `.corrupt`).
    func schemaStatus() async throws -> SchemaStatus

    /// Waits for queued work, then closes every connection; later calls throw `.closed`.
    func close() async

    /// The stamp of the authorization-relevant state (see `AuthorizationGeneration`); cheap and non-blocking.
    ///
    /// Changes committed through this store are reflected before `write` returns; changes committed by
    /// other processes sharing the database (the CLI beside a running server) within the backend's polling
    /// interval. Caches of authorization decisions (`AuthorizationCache`) are keyed on it.
    var authorizationGeneration: AuthorizationGeneration { get }

    /// The database's authorization change counter as this process last read it (nil before the first read).
    ///
    /// Unlike the generation, which is this process's own, the counter is the database's: every instance on one
    /// database reads the same values, so comparing two instances' counters says whether one has caught up
    /// with a change the other made (`/readyz` shows it).
    var authorizationCounterSeen: Int64? { get }
}

/// Typed, read-only queries over the model, valid inside one `Store.read`/`Store.write` closure.
///
/// Contract: called synchronously on the store's thread; methods return `nil` or an empty array
/// for "nothing found" and throw `StoreError` only when the database fails.
public protocol StoreReading:
    SearchReading, ContentReading, PeopleReading, FederationReading, TeamGroupLinkReading, WorkloadIdentityReading,
    LeaseReading
{
    // MARK: Users
    /// The account `username` names: the one spelt exactly so, else the only one whose name equals it
    /// but for the case of ASCII letters (names differing only in case are one account; logins may use
    /// either spelling). Nil when none, or when several stored before that rule make it ambiguous.
    func user(named username: String) throws -> User?
    /// Every user whose name equals `username` but for the case of ASCII letters, exact spelling first,
    /// then by id (at most one, unless names stored before the rule collide).
    func users(namedIgnoringCase username: String) throws -> [User]
    /// The user with this id, if any.
    func user(id: User.ID) throws -> User?
    /// Every user, ordered by username.
    func allUsers() throws -> [User]
    /// One page of every user in `order` (ties by id), so a listing of many accounts costs its page, not
    /// the table.
    func users(in order: UserOrder, descending: Bool, offset: Int, limit: Int) throws -> [User]
    /// How many users exist.
    func countUsers() throws -> Int
    /// The number of enabled administrators (used to refuse removing the last one).
    func countAdmins() throws -> Int
    /// The user linked to this federated identity, if any.
    func user(linkedTo providerID: String, subject: String) throws -> User?
    /// Every federated identity linked to a user, ordered by provider.
    func identityLinks(of userID: User.ID) throws -> [IdentityLink]
    /// Every identity link of one provider, ordered by subject (for group sync).
    func identityLinks(ofProvider providerID: String) throws -> [IdentityLink]
    /// The password-login record of an account from one client address, if there is one.
    func addressLoginState(of userID: User.ID, from clientAddress: String) throws -> AddressLoginState?

    // MARK: Teams
    /// The team with this exact name, if any.
    func team(named name: String) throws -> Team?
    /// The team with this id, if any.
    func team(id: Team.ID) throws -> Team?
    /// Every team, ordered by name; hidden (personal and global) teams only when asked for.
    func allTeams(includingHidden: Bool) throws -> [Team]
    /// The members of a team, ordered by username.
    func members(of teamID: Team.ID) throws -> [TeamMember]
    /// The teams a user belongs to with their role in each, ordered by team name.
    func memberships(of userID: User.ID) throws -> [TeamMembership]
    /// The user's role in the team, or nil when they are not a member (one row, whatever the team's size).
    func role(of userID: User.ID, in teamID: Team.ID) throws -> TeamRole?

    // MARK: Namespaces
    /// The namespace with this exact name, if any.
    func namespace(named name: String) throws -> Namespace?
    /// The namespace with this id, if any.
    func namespace(id: Namespace.ID) throws -> Namespace?
    /// The global namespace, if it was created.
    func globalNamespace() throws -> Namespace?
    /// The personal namespace of a user, if they have one.
    func personalNamespace(of userID: User.ID) throws -> Namespace?
    /// Every namespace, ordered by name.
    func allNamespaces() throws -> [Namespace]
    /// The namespaces a team owns, ordered by name.
    func namespaces(ownedBy teamID: Team.ID) throws -> [Namespace]

    // MARK: Repositories, tags, stars
    /// The repository with this name inside a namespace of one registry, if any.
    func repository(named name: String, in namespaceID: Namespace.ID, registry: String) throws -> Repository?
    /// The repository with this id, if any.
    func repository(id: Repository.ID) throws -> Repository?
    /// The repositories of a namespace (of every registry), ordered by name then registry.
    func repositories(in namespaceID: Namespace.ID) throws -> [Repository]
    /// The repositories one registry holds, ordered by id (namespace names are looked up separately).
    func repositories(ofRegistry registry: String) throws -> [Repository]
    /// The tag with this name in a repository, if any.
    func tag(named name: String, in repositoryID: Repository.ID) throws -> Tag?
    /// The tags of a repository, ordered by name.
    func tags(in repositoryID: Repository.ID) throws -> [Tag]
    /// The tags of a repository pointing at this manifest digest, ordered by name.
    func tags(withDigest digest: String, in repositoryID: Repository.ID) throws -> [Tag]
    /// Whether a user starred a repository.
    func hasStarred(_ userID: User.ID, _ repositoryID: Repository.ID) throws -> Bool
    /// How many users starred a repository.
    func starCount(of repositoryID: Repository.ID) throws -> Int

    // MARK: Tokens
    /// The application token whose secret hashes to this value, if any (revoked ones included).
    func applicationToken(secretHash: String) throws -> ApplicationToken?
    /// The application tokens of a user, ordered by name (revoked ones included).
    func applicationTokens(ownedBy userID: User.ID) throws -> [ApplicationToken]
    /// The robot account whose secret hashes to this value, if any (revoked and expired ones included).
    func robotAccount(secretHash: String) throws -> RobotAccount?
    /// The robot account with this id, if any.
    func robotAccount(id: RobotAccount.ID) throws -> RobotAccount?
    /// The robot account of a team with this name, if any.
    func robotAccount(named name: String, inTeam teamID: Team.ID) throws -> RobotAccount?
    /// The robot accounts of a team, ordered by name (revoked and expired ones included).
    func robotAccounts(ofTeam teamID: Team.ID) throws -> [RobotAccount]
    /// The refresh token whose secret hashes to this value, if any (revoked ones included).
    func refreshToken(secretHash: String) throws -> RefreshToken?
    /// The refresh tokens of a user that are not revoked (expired ones included), oldest first.
    func refreshTokens(of userID: User.ID) throws -> [RefreshToken]

    // MARK: Web sessions, first-run setup, daily pulls
    /// The web session whose cookie value hashes to this value, if any (revoked and expired ones included).
    func webSession(secretHash: String) throws -> WebSession?
    /// The web sessions of a user that are not revoked (expired ones included), newest first.
    func webSessions(of userID: User.ID) throws -> [WebSession]
    /// Whether a first-run setup code with this hash is stored.
    func setupCodeExists(hash: String) throws -> Bool
    /// The pulls of a repository's tags per UTC day, from the day holding `since` on: days with pulls only,
    /// oldest first. Pulls of tags deleted since still count (they were the repository's).
    func dailyPulls(ofRepository id: Repository.ID, since: Date) throws -> [DailyPulls]
    /// The pulls of one tag per UTC day, from the day holding `since` on: days with pulls only, oldest first.
    func dailyPulls(ofTag id: Tag.ID, since: Date) throws -> [DailyPulls]

    // MARK: Events
    /// The stored event with this event id from this registry, if any.
    func registryEvent(eventID: String, registry: String) throws -> RegistryEvent?
    /// Up to `limit` registry events in `state`, oldest first.
    func registryEvents(in state: RegistryEventState, limit: Int) throws -> [RegistryEvent]
    /// Up to `limit` audit events, newest first, optionally only those older than `beforeID` (paging).
    func auditEvents(limit: Int, before beforeID: AuditEvent.ID?) throws -> [AuditEvent]
    /// Up to `limit` audit events that happened before `date` with ids above `afterID`, oldest (lowest id)
    /// first: the pages of an archive.
    func auditEvents(before date: Date, after afterID: AuditEvent.ID?, limit: Int) throws -> [AuditEvent]
    /// The audit events `filter` matches, newest first, skipping `offset` and returning at most `limit`, with
    /// the number that match in all (for paging with a total).
    func auditEvents(matching filter: AuditEventFilter, offset: Int, limit: Int) throws -> AuditEventPage

    // MARK: Webhooks
    /// The webhook with this id, if any.
    func webhook(id: Webhook.ID) throws -> Webhook?
    /// The webhooks of a namespace, oldest first.
    func webhooks(in namespaceID: Namespace.ID) throws -> [Webhook]
    /// Every webhook, ordered by namespace, then oldest first.
    func allWebhooks() throws -> [Webhook]
    /// The delivery with this id, if any.
    func webhookDelivery(id: WebhookDelivery.ID) throws -> WebhookDelivery?
    /// Up to `limit` deliveries of a webhook, newest first.
    func webhookDeliveries(of webhookID: Webhook.ID, limit: Int) throws -> [WebhookDelivery]
    /// One page of a webhook's deliveries, newest first, with how many it has in all (the REST API's listing).
    func webhookDeliveries(of webhookID: Webhook.ID, offset: Int, limit: Int) throws -> WebhookDeliveryPage
    /// The attempt log of a delivery, first attempt first.
    func webhookAttempts(of deliveryID: WebhookDelivery.ID) throws -> [WebhookAttempt]
    /// The earliest time an outstanding delivery of an enabled webhook may be sent, if there is one.
    func nextWebhookDeliveryTime() throws -> Date?
}

/// Typed changes to the model, valid inside one `Store.write` closure.
///
/// Contract: called synchronously on the store's writer thread inside the write transaction.
/// Unique clashes throw `.conflict` naming the clashing column; changing a record that does not
/// exist throws `.notFound`; a missing referenced record throws `.constraintViolated`. A throw
/// that the closure lets propagate rolls back everything done in the transaction.
public protocol StoreWriting:
    StoreReading, FederationWriting, TeamGroupLinkWriting, WorkloadIdentityWriting, LeaseWriting, GuessingWindowWriting,
    QueueClaiming, QueueFinishing
{
    // MARK: Users
    /// Creates a user (no personal team or namespace: callers add those in the same transaction).
    func createUser(_ user: NewUser) throws -> User
    /// Replaces a user's password hash (`nil` makes the user external-only).
    func setPasswordHash(_ passwordHash: String?, for userID: User.ID) throws
    /// Grants or removes administrator rights.
    func setAdmin(_ isAdmin: Bool, for userID: User.ID) throws
    /// Enables or disables a user.
    func setEnabled(_ isEnabled: Bool, for userID: User.ID) throws
    /// Changes a user's email address.
    func setEmail(_ email: String?, for userID: User.ID) throws
    /// Changes a user's display name.
    func setDisplayName(_ displayName: String?, for userID: User.ID) throws
    /// Records a successful login: sets the last-login time, clears failures and any lock.
    func recordSuccessfulLogin(of userID: User.ID, at date: Date) throws
    /// Counts one failed password login and sets the lock, if any; returns the new failure count.
    func recordFailedLogin(of userID: User.ID, lockedUntil: Date?) throws -> Int
    /// Creates or replaces the password-login record of `state.userID` from `state.clientAddress`.
    func saveAddressLoginState(_ state: AddressLoginState) throws
    /// Deletes the account's per-address records that hold nothing worth keeping at `date`: no lock in force,
    /// no failure since `failuresSince` and no success since `successesSince`; returns how many went.
    func pruneAddressLoginStates(of userID: User.ID, at date: Date, failuresSince: Date, successesSince: Date) throws
        -> Int
    /// Deletes a user with their links, memberships, stars and tokens; authored tags and audit lines keep the name.
    func deleteUser(_ userID: User.ID) throws
    /// Links a federated identity to a user.
    func linkIdentity(providerID: String, subject: String, to userID: User.ID) throws -> IdentityLink
    /// Notes that a federated identity logged in.
    func touchIdentityLink(_ linkID: IdentityLink.ID, at date: Date) throws
    /// Removes a federated identity link.
    func unlinkIdentity(_ linkID: IdentityLink.ID) throws

    // MARK: Teams
    /// Creates a team.
    func createTeam(name: String, description: String?, isHidden: Bool) throws -> Team
    /// Changes a team's description.
    func setDescription(_ description: String?, forTeam teamID: Team.ID) throws
    /// Renames a team; `.conflict` when another team has the name.
    func rename(team teamID: Team.ID, to name: String) throws
    /// Deletes a team; fails with `.constraintViolated` while it still owns namespaces.
    func deleteTeam(_ teamID: Team.ID) throws
    /// Adds a user to a team; `.conflict` if they already are a member.
    func addTeamMember(team teamID: Team.ID, user userID: User.ID, role: TeamRole) throws -> TeamMember
    /// Adds a user to a team on behalf of a provider's group sync (`syncedFrom` is its id; `nil` is
    /// the same as a membership added by hand); `.conflict` if they already are a member.
    func addTeamMember(team teamID: Team.ID, user userID: User.ID, role: TeamRole, syncedFrom: String?) throws
        -> TeamMember
    /// Changes a member's role; `.notFound` if they are not a member.
    func setRole(_ role: TeamRole, team teamID: Team.ID, user userID: User.ID) throws
    /// Removes a member; `.notFound` if they are not a member.
    func removeTeamMember(team teamID: Team.ID, user userID: User.ID) throws

    // MARK: Namespaces
    /// Creates a namespace; `personalOwner` must be set exactly for `.personal` ones.
    func createNamespace(
        name: String, team teamID: Team.ID, visibility: NamespaceVisibility, kind: NamespaceKind,
        personalOwner: User.ID?, description: String?
    ) throws -> Namespace
    /// Changes who may pull from a namespace.
    func setVisibility(_ visibility: NamespaceVisibility, for namespaceID: Namespace.ID) throws
    /// Changes a namespace's description.
    func setDescription(_ description: String?, forNamespace namespaceID: Namespace.ID) throws
    /// Hands a namespace to another team.
    func setTeam(_ teamID: Team.ID, for namespaceID: Namespace.ID) throws
    /// Deletes a namespace with its repositories, tags and stars.
    func deleteNamespace(_ namespaceID: Namespace.ID) throws

    // MARK: Repositories, tags, stars
    /// Creates a repository in a namespace of one registry; `.conflict` if that registry already has it.
    func createRepository(name: String, in namespaceID: Namespace.ID, registry: String) throws -> Repository
    /// Deletes a repository with its tags and stars.
    func deleteRepository(_ repositoryID: Repository.ID) throws
    /// Changes a repository's description.
    func setDescription(_ description: String?, forRepository repositoryID: Repository.ID) throws
    /// Creates the tag or moves it to the pushed manifest; returns the stored tag.
    func recordTagPush(_ push: TagPush) throws -> Tag
    /// Deletes a tag.
    func deleteTag(_ tagID: Tag.ID) throws
    /// Counts one pull of a tag and moves its last-pulled time to `date` unless a later pull is recorded.
    func recordPull(ofTag tagID: Tag.ID, at date: Date) throws
    /// Stars a repository for a user; returns false if it was already starred.
    func star(_ repositoryID: Repository.ID, by userID: User.ID) throws -> Bool
    /// Removes a star; returns false if there was none.
    func unstar(_ repositoryID: Repository.ID, by userID: User.ID) throws -> Bool

    // MARK: Tokens
    /// Stores a new application token; `.conflict` on a duplicate name for the owner or a duplicate hash.
    func createApplicationToken(_ token: NewApplicationToken) throws -> ApplicationToken
    /// Notes that an application token authenticated.
    func touchApplicationToken(_ tokenID: ApplicationToken.ID, at date: Date) throws
    /// Revokes an application token (idempotent: the first revocation time is kept).
    func revokeApplicationToken(_ tokenID: ApplicationToken.ID, at date: Date) throws
    /// Stores a new robot account; `.conflict` on a duplicate name in the team or a duplicate hash.
    func createRobotAccount(_ robot: NewRobotAccount) throws -> RobotAccount
    /// Notes that a robot account authenticated.
    func touchRobotAccount(_ robotID: RobotAccount.ID, at date: Date) throws
    /// Revokes a robot account (idempotent: the first revocation time is kept).
    func revokeRobotAccount(_ robotID: RobotAccount.ID, at date: Date) throws
    /// Stores a new refresh token; `client` names what asked for it (a user agent), for listings.
    func createRefreshToken(userID: User.ID, service: String, secretHash: String, client: String?) throws
        -> RefreshToken
    /// Notes that a refresh token was exchanged.
    func touchRefreshToken(_ tokenID: RefreshToken.ID, at date: Date) throws
    /// Revokes a refresh token (idempotent).
    func revokeRefreshToken(_ tokenID: RefreshToken.ID, at date: Date) throws
    /// Revokes every refresh token of a user; returns how many were revoked.
    func revokeRefreshTokens(of userID: User.ID, at date: Date) throws -> Int
    /// Deletes refresh tokens that were revoked, issued before `createdBefore` (absolute expiry), or last used
    /// (or, never used, issued) before `idleBefore` (idle expiry); returns how many were deleted.
    func pruneRefreshTokens(createdBefore: Date, idleBefore: Date) throws -> Int

    // MARK: Web sessions, first-run setup
    /// Stores a new web session, started and last seen now; `.conflict` on a duplicate hash.
    func createWebSession(
        userID: User.ID, secretHash: String, csrfToken: String, expiresAt: Date, client: String?, address: String?
    ) throws -> WebSession
    /// Notes that a web session was used at `date` (its last-seen time never moves backwards).
    func touchWebSession(_ id: WebSession.ID, at date: Date) throws
    /// Ends a web session (idempotent: the first revocation time is kept).
    func revokeWebSession(_ id: WebSession.ID, at date: Date) throws
    /// Ends every live web session of a user but `except`; returns how many were ended.
    func revokeWebSessions(of userID: User.ID, except: WebSession.ID?, at date: Date) throws -> Int
    /// Deletes web sessions that were revoked, whose absolute end is before `date`, or, when `lastSeenBefore`
    /// is given, last seen before it (idle); returns how many were deleted.
    func pruneWebSessions(before date: Date, lastSeenBefore: Date?) throws -> Int
    /// Stores the hash of a first-run setup code (storing one twice is no error).
    func addSetupCode(hash: String, at date: Date) throws
    /// Deletes every first-run setup code (setup is done).
    func deleteSetupCodes() throws

    // MARK: Events
    /// Stores a registry notification as pending unless this registry's event id is already stored
    /// (idempotent per registry and event id: a duplicate is returned unchanged). `repository` is the name the
    /// notification targets (`alice/demo`), which orders the claims (see `claimRegistryEvents`); an event whose
    /// payload names none goes with every other such event of its registry under the empty name.
    func recordRegistryEvent(eventID: String, registry: String, repository: String, payload: String) throws
        -> RegistryEventInsertion
    /// Moves a registry event to a new state, counting the attempt.
    func setState(_ state: RegistryEventState, ofRegistryEvent eventID: RegistryEvent.ID, error: String?) throws
    /// Deletes registry events that left `pending` before `date`; returns how many were deleted. Pending events
    /// are never deleted. A deleted event's id no longer de-duplicates, so keep events far longer than a
    /// registry retries a delivery.
    func pruneRegistryEvents(finishedBefore date: Date) throws -> Int
    /// Appends one audit event.
    func appendAuditEvent(_ event: NewAuditEvent) throws -> AuditEvent
    /// Appends audit events in order; all or none, like every change in a transaction. Returns their ids,
    /// in the same order.
    @discardableResult func appendAuditEvents(_ events: [NewAuditEvent]) throws -> [AuditEvent.ID]
    /// Deletes audit events older than `date`; returns how many were deleted.
    func pruneAuditEvents(olderThan date: Date) throws -> Int
    /// Folds repeats into stored events: adds each `count` to its event's count and moves its last time
    /// forward to `lastTime`. A repeat whose event no longer exists (pruned) is skipped.
    func addAuditRepeats(_ repeats: [AuditRepeat]) throws
    /// Deletes at most `limit` events of `eventClass` that happened before `date`, oldest first; returns
    /// how many went (fewer than `limit`: none are left). Small batches keep the write lock short.
    func pruneAuditEvents(of eventClass: AuditEventClass, before date: Date, limit: Int) throws -> Int
    /// Deletes at most `limit` events that happened before `date` with ids up to `lastID`, oldest first
    /// (what an archive wrote); returns how many went.
    func pruneAuditEvents(before date: Date, throughID lastID: AuditEvent.ID, limit: Int) throws -> Int

    // MARK: Webhooks
    /// Creates a webhook with its headers; `.constraintViolated` when the namespace does not exist.
    func createWebhook(_ webhook: NewWebhook) throws -> Webhook
    /// Replaces the stored secret and header values of a webhook (its header names and order stay; `headers`
    /// must list the same headers). The values are stored as given: sealing them is the caller's policy.
    func setWebhookSecrets(_ webhookID: Webhook.ID, secret: String, headers: [WebhookHeader]) throws
    /// Enables or disables a webhook.
    func setEnabled(_ isEnabled: Bool, forWebhook webhookID: Webhook.ID) throws
    /// Changes a webhook's URL and events, and, when `headers` is given, replaces its headers (values stored
    /// as given: the caller seals them, then stores them with `setWebhookSecrets`).
    func updateWebhook(_ webhookID: Webhook.ID, url: String, events: [WebhookEvent], headers: [WebhookHeader]?) throws
    /// Deletes a webhook with its deliveries and their attempt logs.
    func deleteWebhook(_ webhookID: Webhook.ID) throws
    /// Queues a delivery in the `pending` state.
    func enqueueWebhookDelivery(_ delivery: NewWebhookDelivery) throws -> WebhookDelivery
    /// Deletes delivered and failed deliveries (with their attempt logs) last changed before `date`, keeping
    /// outstanding ones; returns how many were deleted.
    func pruneWebhookDeliveries(finishedBefore date: Date) throws -> Int
}

extension StoreReading {
    /// Every visible team, ordered by name (hidden personal and global teams left out).
    public func allTeams() throws -> [Team] { try allTeams(includingHidden: false) }
}

extension StoreWriting {
    /// The global namespace (images without a namespace, `busybox`), created when missing as Portus does
    /// when a registry is added: public, named `name`, owned by a hidden team of the same name (the
    /// administrators; the access policy lets only them push there). Says whether it was created.
    public func ensureGlobalNamespace(named name: String) throws -> (namespace: Namespace, created: Bool) {
        if let global = try globalNamespace() { return (global, false) }
        let team =
            try self.team(named: name)
            ?? createTeam(
                name: name, description: "Owners of the global namespace: the administrators.", isHidden: true)
        let global = try createNamespace(
            name: name, team: team.id, visibility: .public, kind: .global, personalOwner: nil,
            description: "The global namespace: images named without a namespace, such as busybox.")
        return (global, true)
    }

    /// Appends the events one by one (backends with a cheaper bulk insert override this).
    @discardableResult public func appendAuditEvents(_ events: [NewAuditEvent]) throws -> [AuditEvent.ID] {
        try events.map { try appendAuditEvent($0).id }
    }

    /// Stores a new refresh token without a client description.
    public func createRefreshToken(userID: User.ID, service: String, secretHash: String) throws -> RefreshToken {
        try createRefreshToken(userID: userID, service: service, secretHash: secretHash, client: nil)
    }

    /// Deletes web sessions that were revoked or whose absolute end is before `date`.
    public func pruneWebSessions(before date: Date) throws -> Int {
        try pruneWebSessions(before: date, lastSeenBefore: nil)
    }

    /// Creates a visible team without description.
    public func createTeam(name: String) throws -> Team {
        try createTeam(name: name, description: nil, isHidden: false)
    }

    /// Creates a regular or global namespace (no personal owner, no description).
    public func createNamespace(
        name: String, team teamID: Team.ID, visibility: NamespaceVisibility, kind: NamespaceKind = .regular
    ) throws -> Namespace {
        try createNamespace(
            name: name, team: teamID, visibility: visibility, kind: kind, personalOwner: nil, description: nil)
    }
}
