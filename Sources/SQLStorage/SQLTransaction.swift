import Foundation
import Storage

/// The `StoreWriting` handed to `read`/`write` closures: typed queries over one connection inside
/// one open transaction. Lives only for the duration of the closure (checked: later use throws).
///
/// Backend-neutral: every query is written once here (and in the sibling `SQL*.swift` extensions) and runs
/// on SQLite and PostgreSQL alike through `SQLConnection`; where the two spell SQL differently the text asks
/// `connection.dialect`. Generic over the connection, so SQLite's row reads stay direct calls, not boxes.
package final class SQLTransaction<Connection: SQLConnection>: StoreWriting {
    // Package-wide, not private, with the plumbing below: feature extensions in sibling files (SQLWebhooks.swift)
    // and each backend's own extensions build on them.
    package let connection: Connection
    package let now: @Sendable () -> Date
    /// The store's cache of deep listing orders (shared by every transaction of one store).
    package let repositoryOrders: RepositoryOrderCache
    package let isReadOnly: Bool
    private var isActive = true

    /// `isReadOnly` guards against a `read` closure casting its `StoreReading` to `StoreWriting`.
    package init(
        connection: Connection, isReadOnly: Bool, now: @escaping @Sendable () -> Date,
        repositoryOrders: RepositoryOrderCache
    ) {
        self.connection = connection
        self.repositoryOrders = repositoryOrders
        self.isReadOnly = isReadOnly
        self.now = now
    }

    /// The spellings of this connection's SQL where the backends differ.
    package var dialect: SQLDialect { connection.dialect }

    /// Marks the transaction finished so an escaped reference fails loudly instead of writing outside it.
    package func end() { isActive = false }

    // MARK: Plumbing

    package func checkActive() throws {
        guard isActive else {
            throw StoreError(.internal, "a store transaction was used after its closure returned")
        }
    }

    package func checkWritable() throws {
        try checkActive()
        if isReadOnly { throw StoreError(.internal, "a read transaction attempted to write") }
    }

    package func rows<T>(_ sql: String, _ values: [SQLValue] = [], _ decode: (Connection.Row) -> T) throws -> [T] {
        try checkActive()
        var result: [T] = []
        try connection.query(sql, values) { result.append(decode($0)) }
        return result
    }

    package func first<T>(_ sql: String, _ values: [SQLValue] = [], _ decode: (Connection.Row) -> T) throws -> T? {
        try rows(sql, values, decode).first
    }

    package func count(_ sql: String, _ values: [SQLValue] = []) throws -> Int {
        try checkActive()
        return Int(try connection.queryInt(sql, values) ?? 0)
    }

    /// Runs an INSERT into a table keyed by `id` and returns the new row id.
    package func insert(_ sql: String, _ values: [SQLValue]) throws -> Int64 {
        try checkWritable()
        return try connection.insert(sql, values)
    }

    /// Runs a write whose changed-row count does not matter (an INSERT into a table without an `id`, an upsert).
    package func execute(_ sql: String, _ values: [SQLValue]) throws {
        try checkWritable()
        try connection.run(sql, values)
    }

    /// Runs an UPDATE/DELETE that must touch a row; `.notFound` names `what` otherwise.
    package func change(_ what: String, _ sql: String, _ values: [SQLValue]) throws {
        try checkWritable()
        try connection.run(sql, values)
        if connection.changes == 0 { throw StoreError(.notFound, "\(what) does not exist", subject: what) }
    }

    /// Runs an UPDATE/DELETE and returns how many rows it touched.
    package func affected(_ sql: String, _ values: [SQLValue]) throws -> Int {
        try checkWritable()
        try connection.run(sql, values)
        return connection.changes
    }

    package func requireName(_ value: String, _ what: String) throws {
        if value.isEmpty { throw StoreError(.invalidInput, "\(what) must not be empty", subject: what) }
    }

    package func requireFound<T>(_ value: T?, _ what: String) throws -> T {
        guard let value else { throw StoreError(.notFound, "\(what) does not exist", subject: what) }
        return value
    }

    // MARK: Users

    package static var userColumns: String {
        """
        id, username, email, display_name, password_hash, is_admin, is_enabled, failed_login_count, \
        locked_until, created_at, updated_at, last_login_at
        """
    }

    package static func decodeUser(_ row: Connection.Row) -> User {
        User(
            id: row.id(0), username: row.text(1), email: row.optionalText(2), displayName: row.optionalText(3),
            passwordHash: row.optionalText(4), isAdmin: row.bool(5), isEnabled: row.bool(6),
            failedLoginCount: Int(row.int(7)), lockedUntil: row.optionalDate(8), createdAt: row.date(9),
            updatedAt: row.date(10), lastLoginAt: row.optionalDate(11))
    }

    package func user(named username: String) throws -> User? {
        // The exact spelling uses the unique index; only another spelling (or an unknown name) scans, which
        // for an unknown name costs far less than the dummy password check that follows it.
        if let exact = try first(
            "SELECT \(Self.userColumns) FROM users WHERE username = ?", [username.sqlValue], Self.decodeUser)
        {
            return exact
        }
        let folded = try users(namedIgnoringCase: username)
        return folded.count == 1 ? folded[0] : nil
    }

    package func users(namedIgnoringCase username: String) throws -> [User] {
        // NOCASE folds ASCII letters only: exactly the rule's alphabet, and older non-ASCII names compare
        // byte for byte as before.
        try rows(
            """
            SELECT \(Self.userColumns) FROM users WHERE \(dialect.equalsIgnoringCase("username"))
            ORDER BY username = ? DESC, id
            """, [username.sqlValue, username.sqlValue], Self.decodeUser)
    }

    package func user(id: User.ID) throws -> User? {
        try first("SELECT \(Self.userColumns) FROM users WHERE id = ?", [id.sqlValue], Self.decodeUser)
    }

    package func allUsers() throws -> [User] {
        try rows("SELECT \(Self.userColumns) FROM users ORDER BY username", [], Self.decodeUser)
    }

    package func countAdmins() throws -> Int {
        try count("SELECT count(*) FROM users WHERE is_admin = \(dialect.true) AND is_enabled = \(dialect.true)")
    }

    package func user(linkedTo providerID: String, subject: String) throws -> User? {
        try first(
            """
            SELECT \(Self.userColumns) FROM users
            WHERE id = (SELECT user_id FROM identity_links WHERE provider_id = ? AND subject = ?)
            """, [providerID.sqlValue, subject.sqlValue], Self.decodeUser)
    }

    private static var linkColumns: String {
        "id, provider_id, subject, user_id, created_at, last_seen_at"
    }

    private static func decodeLink(_ row: Connection.Row) -> IdentityLink {
        IdentityLink(
            id: row.id(0), providerID: row.text(1), subject: row.text(2), userID: row.id(3), createdAt: row.date(4),
            lastSeenAt: row.optionalDate(5))
    }

    package func identityLinks(of userID: User.ID) throws -> [IdentityLink] {
        try rows(
            "SELECT \(Self.linkColumns) FROM identity_links WHERE user_id = ? ORDER BY provider_id, subject",
            [userID.sqlValue], Self.decodeLink)
    }

    package func identityLinks(ofProvider providerID: String) throws -> [IdentityLink] {
        try rows(
            "SELECT \(Self.linkColumns) FROM identity_links WHERE provider_id = ? ORDER BY subject",
            [providerID.sqlValue], Self.decodeLink)
    }

    package func createUser(_ new: NewUser) throws -> User {
        try requireName(new.username, "username")
        let time = now()
        let id = try insert(
            """
            INSERT INTO users (username, email, display_name, password_hash, is_admin, is_enabled, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                new.username.sqlValue, new.email.sqlValue, new.displayName.sqlValue, new.passwordHash.sqlValue,
                new.isAdmin.sqlValue, new.isEnabled.sqlValue, time.sqlValue, time.sqlValue,
            ])
        return try requireFound(try user(id: User.ID(id)), "user")
    }

    private func updateUser(_ userID: User.ID, set assignment: String, _ values: [SQLValue]) throws {
        try change(
            "user", "UPDATE users SET \(assignment), updated_at = ? WHERE id = ?",
            values + [now().sqlValue, userID.sqlValue])
    }

    package func setPasswordHash(_ passwordHash: String?, for userID: User.ID) throws {
        try updateUser(userID, set: "password_hash = ?", [passwordHash.sqlValue])
    }

    package func setAdmin(_ isAdmin: Bool, for userID: User.ID) throws {
        try updateUser(userID, set: "is_admin = ?", [isAdmin.sqlValue])
    }

    package func setEnabled(_ isEnabled: Bool, for userID: User.ID) throws {
        try updateUser(userID, set: "is_enabled = ?", [isEnabled.sqlValue])
    }

    package func setEmail(_ email: String?, for userID: User.ID) throws {
        try updateUser(userID, set: "email = ?", [email.sqlValue])
    }

    package func setDisplayName(_ displayName: String?, for userID: User.ID) throws {
        try updateUser(userID, set: "display_name = ?", [displayName.sqlValue])
    }

    package func recordSuccessfulLogin(of userID: User.ID, at date: Date) throws {
        try updateUser(
            userID, set: "last_login_at = ?, failed_login_count = 0, locked_until = NULL", [date.sqlValue])
    }

    package func recordFailedLogin(of userID: User.ID, lockedUntil: Date?) throws -> Int {
        try updateUser(
            userID, set: "failed_login_count = failed_login_count + 1, locked_until = ?", [lockedUntil.sqlValue])
        return Int(try connection.queryInt("SELECT failed_login_count FROM users WHERE id = ?", [userID.sqlValue]) ?? 0)
    }

    package func deleteUser(_ userID: User.ID) throws {
        try change("user", "DELETE FROM users WHERE id = ?", [userID.sqlValue])
    }

    package func linkIdentity(providerID: String, subject: String, to userID: User.ID) throws -> IdentityLink {
        try requireName(providerID, "provider id")
        try requireName(subject, "subject")
        let id = try insert(
            "INSERT INTO identity_links (provider_id, subject, user_id, created_at) VALUES (?, ?, ?, ?)",
            [providerID.sqlValue, subject.sqlValue, userID.sqlValue, now().sqlValue])
        return try requireFound(
            try first("SELECT \(Self.linkColumns) FROM identity_links WHERE id = ?", [id.sqlValue], Self.decodeLink),
            "identity link")
    }

    package func touchIdentityLink(_ linkID: IdentityLink.ID, at date: Date) throws {
        try change(
            "identity link", "UPDATE identity_links SET last_seen_at = ? WHERE id = ?",
            [date.sqlValue, linkID.sqlValue])
    }

    package func unlinkIdentity(_ linkID: IdentityLink.ID) throws {
        try change("identity link", "DELETE FROM identity_links WHERE id = ?", [linkID.sqlValue])
    }

    // MARK: Teams

    private static var teamColumns: String {
        "id, name, description, is_hidden, created_at, updated_at"
    }

    package static func decodeTeam(_ row: Connection.Row, from offset: Int32 = 0) -> Team {
        Team(
            id: row.id(offset), name: row.text(offset + 1), description: row.optionalText(offset + 2),
            isHidden: row.bool(offset + 3), createdAt: row.date(offset + 4), updatedAt: row.date(offset + 5))
    }

    package func team(named name: String) throws -> Team? {
        try first("SELECT \(Self.teamColumns) FROM teams WHERE name = ?", [name.sqlValue]) { Self.decodeTeam($0) }
    }

    package func team(id: Team.ID) throws -> Team? {
        try first("SELECT \(Self.teamColumns) FROM teams WHERE id = ?", [id.sqlValue]) { Self.decodeTeam($0) }
    }

    package func allTeams(includingHidden: Bool) throws -> [Team] {
        try rows(
            "SELECT \(Self.teamColumns) FROM teams WHERE is_hidden = \(dialect.false) OR ? ORDER BY name",
            [includingHidden.sqlValue]
        ) { Self.decodeTeam($0) }
    }

    package func members(of teamID: Team.ID) throws -> [TeamMember] {
        try rows(
            """
            SELECT m.team_id, m.user_id, u.username, m.role, m.created_at, m.synced_from
            FROM team_members m JOIN users u ON u.id = m.user_id
            WHERE m.team_id = ? ORDER BY u.username
            """, [teamID.sqlValue]
        ) { row in
            TeamMember(
                teamID: row.id(0), userID: row.id(1), username: row.text(2),
                role: TeamRole(rawValue: row.text(3)) ?? .viewer, addedAt: row.date(4),
                syncedFrom: row.optionalText(5))
        }
    }

    package func role(of userID: User.ID, in teamID: Team.ID) throws -> TeamRole? {
        try first(
            "SELECT role FROM team_members WHERE team_id = ? AND user_id = ?", [teamID.sqlValue, userID.sqlValue]
        ) { TeamRole(rawValue: $0.text(0)) ?? .viewer }
    }

    package func memberships(of userID: User.ID) throws -> [TeamMembership] {
        try rows(
            """
            SELECT t.id, t.name, t.description, t.is_hidden, t.created_at, t.updated_at, m.role, m.synced_from
            FROM team_members m JOIN teams t ON t.id = m.team_id
            WHERE m.user_id = ? ORDER BY t.name
            """, [userID.sqlValue]
        ) { row in
            TeamMembership(
                team: Self.decodeTeam(row), role: TeamRole(rawValue: row.text(6)) ?? .viewer,
                syncedFrom: row.optionalText(7))
        }
    }

    package func createTeam(name: String, description: String?, isHidden: Bool) throws -> Team {
        try requireName(name, "team name")
        let time = now()
        let id = try insert(
            "INSERT INTO teams (name, description, is_hidden, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            [name.sqlValue, description.sqlValue, isHidden.sqlValue, time.sqlValue, time.sqlValue])
        return try requireFound(try team(id: Team.ID(id)), "team")
    }

    package func setDescription(_ description: String?, forTeam teamID: Team.ID) throws {
        try change(
            "team", "UPDATE teams SET description = ?, updated_at = ? WHERE id = ?",
            [description.sqlValue, now().sqlValue, teamID.sqlValue])
    }

    package func deleteTeam(_ teamID: Team.ID) throws {
        try change("team", "DELETE FROM teams WHERE id = ?", [teamID.sqlValue])
    }

    package func addTeamMember(team teamID: Team.ID, user userID: User.ID, role: TeamRole) throws -> TeamMember {
        try addTeamMember(team: teamID, user: userID, role: role, syncedFrom: nil)
    }

    package func addTeamMember(team teamID: Team.ID, user userID: User.ID, role: TeamRole, syncedFrom: String?) throws
        -> TeamMember
    {
        let time = now()
        try execute(
            "INSERT INTO team_members (team_id, user_id, role, created_at, synced_from) VALUES (?, ?, ?, ?, ?)",
            [teamID.sqlValue, userID.sqlValue, role.rawValue.sqlValue, time.sqlValue, syncedFrom.sqlValue])
        let username = try requireFound(try user(id: userID), "user").username
        return TeamMember(
            teamID: teamID, userID: userID, username: username, role: role, addedAt: time, syncedFrom: syncedFrom)
    }

    package func setRole(_ role: TeamRole, team teamID: Team.ID, user userID: User.ID) throws {
        try change(
            "team membership", "UPDATE team_members SET role = ? WHERE team_id = ? AND user_id = ?",
            [role.rawValue.sqlValue, teamID.sqlValue, userID.sqlValue])
    }

    package func removeTeamMember(team teamID: Team.ID, user userID: User.ID) throws {
        try change(
            "team membership", "DELETE FROM team_members WHERE team_id = ? AND user_id = ?",
            [teamID.sqlValue, userID.sqlValue])
    }

    // MARK: Namespaces

    package static var namespaceColumns: String {
        """
        id, name, team_id, visibility, kind, personal_owner_id, description, created_at, updated_at
        """
    }

    package static func decodeNamespace(_ row: Connection.Row) -> Namespace {
        Namespace(
            id: row.id(0), name: row.text(1), teamID: row.id(2),
            visibility: NamespaceVisibility(rawValue: row.text(3)) ?? .private,
            kind: NamespaceKind(rawValue: row.text(4)) ?? .regular, personalOwnerID: row.optionalID(5),
            description: row.optionalText(6), createdAt: row.date(7), updatedAt: row.date(8))
    }

    package func namespace(named name: String) throws -> Namespace? {
        try first(
            "SELECT \(Self.namespaceColumns) FROM namespaces WHERE name = ?", [name.sqlValue], Self.decodeNamespace)
    }

    package func namespace(id: Namespace.ID) throws -> Namespace? {
        try first("SELECT \(Self.namespaceColumns) FROM namespaces WHERE id = ?", [id.sqlValue], Self.decodeNamespace)
    }

    package func globalNamespace() throws -> Namespace? {
        try first("SELECT \(Self.namespaceColumns) FROM namespaces WHERE kind = 'global'", [], Self.decodeNamespace)
    }

    package func personalNamespace(of userID: User.ID) throws -> Namespace? {
        try first(
            "SELECT \(Self.namespaceColumns) FROM namespaces WHERE personal_owner_id = ?", [userID.sqlValue],
            Self.decodeNamespace)
    }

    package func allNamespaces() throws -> [Namespace] {
        try rows("SELECT \(Self.namespaceColumns) FROM namespaces ORDER BY name", [], Self.decodeNamespace)
    }

    package func namespaces(ownedBy teamID: Team.ID) throws -> [Namespace] {
        try rows(
            "SELECT \(Self.namespaceColumns) FROM namespaces WHERE team_id = ? ORDER BY name", [teamID.sqlValue],
            Self.decodeNamespace)
    }

    package func createNamespace(
        name: String, team teamID: Team.ID, visibility: NamespaceVisibility, kind: NamespaceKind,
        personalOwner: User.ID?, description: String?
    ) throws -> Namespace {
        try requireName(name, "namespace name")
        if (kind == .personal) != (personalOwner != nil) {
            throw StoreError(
                .invalidInput, "a personal namespace needs its owner, and only a personal namespace has one",
                subject: "namespaces.personal_owner_id")
        }
        if kind == .global && visibility == .private {
            throw StoreError(.invalidInput, "the global namespace cannot be private", subject: "namespaces.visibility")
        }
        let time = now()
        let id = try insert(
            """
            INSERT INTO namespaces (name, team_id, visibility, kind, personal_owner_id, description, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                name.sqlValue, teamID.sqlValue, visibility.rawValue.sqlValue, kind.rawValue.sqlValue,
                personalOwner.sqlValue, description.sqlValue, time.sqlValue, time.sqlValue,
            ])
        return try requireFound(try namespace(id: Namespace.ID(id)), "namespace")
    }

    package func setVisibility(_ visibility: NamespaceVisibility, for namespaceID: Namespace.ID) throws {
        if visibility == .private, try namespace(id: namespaceID)?.kind == .global {
            throw StoreError(.invalidInput, "the global namespace cannot be private", subject: "namespaces.visibility")
        }
        try change(
            "namespace", "UPDATE namespaces SET visibility = ?, updated_at = ? WHERE id = ?",
            [visibility.rawValue.sqlValue, now().sqlValue, namespaceID.sqlValue])
    }

    package func setDescription(_ description: String?, forNamespace namespaceID: Namespace.ID) throws {
        try change(
            "namespace", "UPDATE namespaces SET description = ?, updated_at = ? WHERE id = ?",
            [description.sqlValue, now().sqlValue, namespaceID.sqlValue])
    }

    package func setTeam(_ teamID: Team.ID, for namespaceID: Namespace.ID) throws {
        try change(
            "namespace", "UPDATE namespaces SET team_id = ?, updated_at = ? WHERE id = ?",
            [teamID.sqlValue, now().sqlValue, namespaceID.sqlValue])
    }

    package func deleteNamespace(_ namespaceID: Namespace.ID) throws {
        try change("namespace", "DELETE FROM namespaces WHERE id = ?", [namespaceID.sqlValue])
    }

    // MARK: Repositories, tags, stars

    package static var repositoryColumns: String {
        "id, namespace_id, name, registry, description, created_at, updated_at"
    }

    package static func decodeRepository(_ row: Connection.Row) -> Repository {
        Repository(
            id: row.id(0), namespaceID: row.id(1), name: row.text(2), registry: row.text(3),
            description: row.optionalText(4), createdAt: row.date(5), updatedAt: row.date(6))
    }

    package func repository(named name: String, in namespaceID: Namespace.ID, registry: String) throws -> Repository? {
        try first(
            "SELECT \(Self.repositoryColumns) FROM repositories WHERE registry = ? AND namespace_id = ? AND name = ?",
            [registry.sqlValue, namespaceID.sqlValue, name.sqlValue], Self.decodeRepository)
    }

    package func repository(id: Repository.ID) throws -> Repository? {
        try first(
            "SELECT \(Self.repositoryColumns) FROM repositories WHERE id = ?", [id.sqlValue], Self.decodeRepository)
    }

    package func repositories(in namespaceID: Namespace.ID) throws -> [Repository] {
        try rows(
            "SELECT \(Self.repositoryColumns) FROM repositories WHERE namespace_id = ? ORDER BY name, registry",
            [namespaceID.sqlValue], Self.decodeRepository)
    }

    package func repositories(ofRegistry registry: String) throws -> [Repository] {
        try rows(
            "SELECT \(Self.repositoryColumns) FROM repositories WHERE registry = ? ORDER BY id",
            [registry.sqlValue], Self.decodeRepository)
    }

    package static var tagColumns: String {
        """
        id, repository_id, name, digest, media_type, size, pushed_by_id, pushed_by_name, platforms, pull_count,
        last_pulled_at, created_at, updated_at
        """
    }

    package static func decodeTag(_ row: Connection.Row) -> Tag {
        Tag(
            id: row.id(0), repositoryID: row.id(1), name: row.text(2), digest: row.text(3),
            mediaType: row.optionalText(4), size: row.optionalInt(5), pushedByID: row.optionalID(6),
            pushedByName: row.optionalText(7), platforms: decodePlatforms(row.optionalText(8)),
            pullCount: Int(row.int(9)), lastPulledAt: row.optionalDate(10), createdAt: row.date(11),
            updatedAt: row.date(12))
    }

    /// Platforms are stored as a JSON array so any text a manifest names survives unchanged.
    private static func encodePlatforms(_ platforms: [String]) -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        guard !platforms.isEmpty, let data = try? encoder.encode(platforms) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    private static func decodePlatforms(_ text: String?) -> [String] {
        guard let text, let platforms = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
            return []
        }
        return platforms
    }

    package func tag(named name: String, in repositoryID: Repository.ID) throws -> Tag? {
        try first(
            "SELECT \(Self.tagColumns) FROM tags WHERE repository_id = ? AND name = ?",
            [repositoryID.sqlValue, name.sqlValue], Self.decodeTag)
    }

    package func tags(in repositoryID: Repository.ID) throws -> [Tag] {
        try rows(
            "SELECT \(Self.tagColumns) FROM tags WHERE repository_id = ? ORDER BY name", [repositoryID.sqlValue],
            Self.decodeTag)
    }

    package func tags(withDigest digest: String, in repositoryID: Repository.ID) throws -> [Tag] {
        try rows(
            "SELECT \(Self.tagColumns) FROM tags WHERE repository_id = ? AND digest = ? ORDER BY name",
            [repositoryID.sqlValue, digest.sqlValue], Self.decodeTag)
    }

    package func hasStarred(_ userID: User.ID, _ repositoryID: Repository.ID) throws -> Bool {
        try count(
            "SELECT count(*) FROM stars WHERE user_id = ? AND repository_id = ?",
            [userID.sqlValue, repositoryID.sqlValue]) > 0
    }

    package func starCount(of repositoryID: Repository.ID) throws -> Int {
        // Kept by migration 12's triggers.
        try count("SELECT star_count FROM repositories WHERE id = ?", [repositoryID.sqlValue])
    }

    package func createRepository(name: String, in namespaceID: Namespace.ID, registry: String) throws -> Repository {
        try requireName(name, "repository name")
        let time = now()
        let id = try insert(
            "INSERT INTO repositories (namespace_id, name, registry, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            [namespaceID.sqlValue, name.sqlValue, registry.sqlValue, time.sqlValue, time.sqlValue])
        return try requireFound(try repository(id: Repository.ID(id)), "repository")
    }

    package func deleteRepository(_ repositoryID: Repository.ID) throws {
        try change("repository", "DELETE FROM repositories WHERE id = ?", [repositoryID.sqlValue])
    }

    package func recordTagPush(_ push: TagPush) throws -> Tag {
        try requireName(push.name, "tag name")
        try requireName(push.digest, "digest")
        let time = push.pushedAt ?? now()
        try checkWritable()
        // An upsert keeps the tag's id, creation time and pull counters when it moves to a new manifest.
        try connection.run(
            """
            INSERT INTO tags (repository_id, name, digest, media_type, size, platforms, pushed_by_id, pushed_by_name,
                              created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (repository_id, name) DO UPDATE SET
                digest = excluded.digest, media_type = excluded.media_type, size = excluded.size,
                platforms = excluded.platforms, pushed_by_id = excluded.pushed_by_id,
                pushed_by_name = excluded.pushed_by_name, updated_at = excluded.updated_at
            """,
            [
                push.repositoryID.sqlValue, push.name.sqlValue, push.digest.sqlValue, push.mediaType.sqlValue,
                push.size.sqlValue, Self.encodePlatforms(push.platforms).sqlValue, push.pushedByID.sqlValue,
                push.pushedByName.sqlValue, time.sqlValue, time.sqlValue,
            ])
        return try requireFound(try tag(named: push.name, in: push.repositoryID), "tag")
    }

    package func deleteTag(_ tagID: Tag.ID) throws {
        try change("tag", "DELETE FROM tags WHERE id = ?", [tagID.sqlValue])
    }

    package func recordPull(ofTag tagID: Tag.ID, at date: Date) throws {
        // Events may arrive out of order; the last-pulled time never moves backwards.
        try change(
            "tag",
            """
            UPDATE tags SET pull_count = pull_count + 1,
                last_pulled_at = CASE WHEN last_pulled_at IS NULL OR last_pulled_at < ?1 THEN ?1 ELSE last_pulled_at END
            WHERE id = ?2
            """, [date.sqlValue, tagID.sqlValue])
        // The chart of pulls per day (migration 13): counted by the pull's own day, whatever order events come in.
        try countDailyPull(ofTag: tagID, at: date)
    }

    package func star(_ repositoryID: Repository.ID, by userID: User.ID) throws -> Bool {
        try affected(
            "INSERT INTO stars (user_id, repository_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [userID.sqlValue, repositoryID.sqlValue, now().sqlValue]) > 0
    }

    package func unstar(_ repositoryID: Repository.ID, by userID: User.ID) throws -> Bool {
        try affected(
            "DELETE FROM stars WHERE user_id = ? AND repository_id = ?", [userID.sqlValue, repositoryID.sqlValue]) > 0
    }

    // MARK: Tokens

    private static var applicationTokenColumns: String {
        """
        id, owner_id, name, secret_hash, prefix, scope, created_at, expires_at, last_used_at, revoked_at
        """
    }

    private static func decodeApplicationToken(_ row: Connection.Row) -> ApplicationToken {
        ApplicationToken(
            id: row.id(0), ownerID: row.id(1), name: row.text(2), secretHash: row.text(3), prefix: row.text(4),
            scope: row.optionalText(5), createdAt: row.date(6), expiresAt: row.optionalDate(7),
            lastUsedAt: row.optionalDate(8), revokedAt: row.optionalDate(9))
    }

    package func applicationToken(secretHash: String) throws -> ApplicationToken? {
        try first(
            "SELECT \(Self.applicationTokenColumns) FROM application_tokens WHERE secret_hash = ?",
            [secretHash.sqlValue], Self.decodeApplicationToken)
    }

    package func applicationTokens(ownedBy userID: User.ID) throws -> [ApplicationToken] {
        try rows(
            "SELECT \(Self.applicationTokenColumns) FROM application_tokens WHERE owner_id = ? ORDER BY name",
            [userID.sqlValue], Self.decodeApplicationToken)
    }

    package func createApplicationToken(_ token: NewApplicationToken) throws -> ApplicationToken {
        try requireName(token.name, "token name")
        try requireName(token.secretHash, "token hash")
        let id = try insert(
            """
            INSERT INTO application_tokens (owner_id, name, secret_hash, prefix, scope, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                token.ownerID.sqlValue, token.name.sqlValue, token.secretHash.sqlValue, token.prefix.sqlValue,
                token.scope.sqlValue, now().sqlValue, token.expiresAt.sqlValue,
            ])
        return try requireFound(
            try first(
                "SELECT \(Self.applicationTokenColumns) FROM application_tokens WHERE id = ?", [id.sqlValue],
                Self.decodeApplicationToken), "application token")
    }

    package func touchApplicationToken(_ tokenID: ApplicationToken.ID, at date: Date) throws {
        try change(
            "application token", "UPDATE application_tokens SET last_used_at = ? WHERE id = ?",
            [date.sqlValue, tokenID.sqlValue])
    }

    package func revokeApplicationToken(_ tokenID: ApplicationToken.ID, at date: Date) throws {
        try change(
            "application token", "UPDATE application_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
            [date.sqlValue, tokenID.sqlValue])
    }

    // MARK: Events

    private static var registryEventColumns: String {
        """
        id, event_id, registry, payload, received_at, state, processed_at, attempts, last_error
        """
    }

    private static func decodeRegistryEvent(_ row: Connection.Row) -> RegistryEvent {
        RegistryEvent(
            id: row.id(0), eventID: row.text(1), registry: row.text(2), payload: row.text(3), receivedAt: row.date(4),
            state: RegistryEventState(rawValue: row.text(5)) ?? .pending, processedAt: row.optionalDate(6),
            attempts: Int(row.int(7)), lastError: row.optionalText(8))
    }

    package func registryEvent(eventID: String, registry: String) throws -> RegistryEvent? {
        try first(
            "SELECT \(Self.registryEventColumns) FROM registry_events WHERE registry = ? AND event_id = ?",
            [registry.sqlValue, eventID.sqlValue], Self.decodeRegistryEvent)
    }

    package func registryEvents(in state: RegistryEventState, limit: Int) throws -> [RegistryEvent] {
        try rows(
            "SELECT \(Self.registryEventColumns) FROM registry_events WHERE state = ? ORDER BY id LIMIT ?",
            [state.rawValue.sqlValue, max(0, limit).sqlValue], Self.decodeRegistryEvent)
    }

    package func recordRegistryEvent(eventID: String, registry: String, payload: String) throws
        -> RegistryEventInsertion
    {
        try requireName(eventID, "event id")
        let inserted = try affected(
            """
            INSERT INTO registry_events (registry, event_id, payload, received_at, state) VALUES (?, ?, ?, ?, 'pending')
            ON CONFLICT (registry, event_id) DO NOTHING
            """, [registry.sqlValue, eventID.sqlValue, payload.sqlValue, now().sqlValue])
        let event = try requireFound(try registryEvent(eventID: eventID, registry: registry), "registry event")
        return inserted > 0 ? .inserted(event) : .duplicate(event)
    }

    package func setState(_ state: RegistryEventState, ofRegistryEvent eventID: RegistryEvent.ID, error: String?) throws
    {
        let processedAt: Date? = state == .pending ? nil : now()
        try change(
            "registry event",
            "UPDATE registry_events SET state = ?, processed_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
            [state.rawValue.sqlValue, processedAt.sqlValue, error.sqlValue, eventID.sqlValue])
    }

    package func pruneRegistryEvents(finishedBefore date: Date) throws -> Int {
        try affected(
            "DELETE FROM registry_events WHERE state != 'pending' AND coalesce(processed_at, received_at) < ?",
            [date.sqlValue])
    }
}
