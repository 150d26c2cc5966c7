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

}
