import Authorization
import CryptoCore
import Diagnostics
import Foundation
import IdentityCore
import Storage
import Threading

/// An account as listed: never its password hash.
public struct AccountSummary: Sendable, Hashable {
    /// The account id.
    public var id: User.ID
    /// The login name.
    public var username: String
    /// The contact address, if any.
    public var email: String?
    /// The display name, if any.
    public var displayName: String?
    /// Whether it is an administrator.
    public var isAdmin: Bool
    /// Whether it may log in.
    public var isEnabled: Bool
    /// Whether it has a local password (else it logs in only through a provider or tokens).
    public var hasPassword: Bool
    /// When it was created.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date
    /// When it last logged in, if ever.
    public var lastLoginAt: Date?

    init(_ user: User) {
        id = user.id
        username = user.username
        email = user.email
        displayName = user.displayName
        isAdmin = user.isAdmin
        isEnabled = user.isEnabled
        hasPassword = user.passwordHash != nil
        createdAt = user.createdAt
        updatedAt = user.updatedAt
        lastLoginAt = user.lastLoginAt
    }
}

/// An account with its personal namespace and its teams.
public struct AccountDetails: Sendable, Hashable {
    /// The account.
    public var account: AccountSummary
    /// Its personal namespace's name, if it has one.
    public var personalNamespace: String?
    /// The visible teams it belongs to, ordered by name.
    public var memberships: [AccountMembership]
}

/// One team an account belongs to.
public struct AccountMembership: Sendable, Hashable {
    /// The team's name.
    public var team: String
    /// The account's role there.
    public var role: TeamRole
}

/// What a new account is made of; the password (if any) is hashed by the service, never stored as given.
public struct NewAccount: Sendable {
    /// The login name (checked against `IdentityCore.Username`).
    public var username: String
    /// The contact address.
    public var email: String?
    /// The display name.
    public var displayName: String?
    /// The password; nil makes an account that logs in only through a provider or application tokens.
    public var password: Password?
    /// Whether it starts as an administrator.
    public var isAdmin: Bool

    /// Describes an account.
    public init(
        username: String, email: String? = nil, displayName: String? = nil, password: Password? = nil,
        isAdmin: Bool = false
    ) {
        self.username = username
        self.email = email
        self.displayName = displayName
        self.password = password
        self.isAdmin = isAdmin
    }
}

/// The fields accounts sort by.
public enum AccountSortField: String, SortField {
    /// By login name.
    case username
    /// By creation time.
    case createdAt = "created_at"
    /// By last login (never-logged-in accounts first).
    case lastLoginAt = "last_login_at"
}

/// A password as typed, on its way to being hashed: never printed (its description is `***`).
public struct Password: Sendable, CustomStringConvertible {
    /// The password itself.
    public let text: String

    /// Wraps a password.
    public init(_ text: String) { self.text = text }

    /// Always `***`.
    public var description: String { "***" }
}

/// Password rules for local accounts: what Portus (Devise) required, within bcrypt's limit.
public enum PasswordRules {
    /// The hash method for passwords set here: bcrypt at cost 12, as Portus used (cost 10) made slower.
    public static let method = PasswordHash.Method.bcrypt(cost: 12)
    /// The fewest characters a password has.
    public static let minimumLength = 8
    /// The most bytes bcrypt reads (it ignores the rest silently, so longer ones are refused).
    public static let maximumBytes = 72

    /// Throws `account.invalid_password` for a password outside the rules.
    public static func check(_ password: String) throws {
        guard password.count >= minimumLength else {
            throw AdministrationError(
                .invalidPassword, "the password must have at least \(minimumLength) characters")
        }
        guard password.utf8.count <= maximumBytes else {
            throw AdministrationError(
                .invalidPassword, "the password is longer than bcrypt's \(maximumBytes)-byte limit")
        }
    }
}

/// Accounts: create (with personal team and namespace), show, list, enable/disable, admin flag, password,
/// delete. Each operation re-reads the actor, asks `ResourcePolicy`, runs one transaction and audits in it.
///
/// Throws `AdministrationError` for refusals and rule violations, `StoreError` when the database fails.
public struct AccountAdministration: Sendable {
    let store: any Store
    let settings: ResourcePolicySettings
    private let hashing: BlockingPool
    private let now: @Sendable () -> Date
    /// Lowercased usernames no account may take, with what holds them (the CI trust policies: a `docker login`
    /// under a policy's name must be that policy's, never a person's).
    private let reservedUsernames: [String: String]

    /// Creates the service; `hashing` runs bcrypt off Swift's cooperative pool. `reservedUsernames` maps
    /// lowercased names to what holds them ("CI trust policy 'ci-acme-api'").
    public init(
        store: any Store, settings: ResourcePolicySettings = .init(), hashing: BlockingPool,
        now: @escaping @Sendable () -> Date = { Date() }, reservedUsernames: [String: String] = [:]
    ) {
        self.store = store
        self.settings = settings
        self.hashing = hashing
        self.now = now
        self.reservedUsernames = reservedUsernames
    }

    /// Creates an account with its hidden personal team and private personal namespace (admins only).
    public func create(_ account: NewAccount, by actor: Caller) async throws -> AccountDetails {
        try Self.checkUsername(account.username)
        try Self.checkNotReserved(account.username, reservedUsernames)
        if let email = account.email { try ProfileRules.checkEmail(email) }
        if let name = account.displayName { try ProfileRules.checkDisplayName(name) }
        let hash: String? = if let password = account.password { try await hashed(password) } else { nil }
        let settings = settings
        return try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            try acting.require(.administer, settings)
            let (user, namespace) = try Self.provision(
                NewUser(
                    username: account.username, email: account.email, displayName: account.displayName,
                    passwordHash: hash, isAdmin: account.isAdmin),
                in: writer)
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "user.create", target: "user:\(user.username)",
                    detail: [("admin", account.isAdmin ? "true" : nil), ("namespace", namespace.name)]))
            return try Self.details(user, writer)
        }
    }

    /// The account named `username` (admins, or the account itself).
    public func show(_ username: String, by actor: Caller) async throws -> AccountDetails {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let user = try Self.user(username, reader)
            if acting.actor.userID != user.id { try acting.require(.administer, settings) }
            return try Self.details(user, reader)
        }
    }

    /// One page of every account (admins only).
    public func list(_ page: PageRequest<AccountSortField>, by actor: Caller) async throws -> Page<AccountSummary> {
        try page.validate()
        let settings = settings
        return try await store.read { reader in
            try ResolvedCaller(actor, in: reader).require(.administer, settings)
            let order: UserOrder =
                switch page.sort {
                case .username: .username
                case .createdAt: .createdAt
                case .lastLoginAt: .lastLoginAt
                }
            let users = try reader.users(
                in: order, descending: page.descending, offset: page.offset, limit: page.limit)
            return Page(
                items: users.map(AccountSummary.init), total: try reader.countUsers(), offset: page.offset,
                limit: page.limit)
        }
    }

    /// Enables or disables an account. Users may disable themselves; only admins disable others or
    /// re-enable. The last enabled administrator cannot be disabled. Disabling revokes refresh tokens and ends
    /// web sessions.
    public func setEnabled(_ isEnabled: Bool, for username: String, by actor: Caller) async throws -> AccountSummary {
        let settings = settings, date = now()
        return try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            let user = try Self.user(username, writer)
            try acting.require(.setEnabled(own: acting.actor.userID == user.id, enabling: isEnabled), settings)
            if !isEnabled, user.isAdmin, user.isEnabled, try writer.countAdmins() <= 1 {
                throw AdministrationError(
                    .lastAdmin, "\(user.username) is the last enabled administrator; make another admin first")
            }
            try writer.setEnabled(isEnabled, for: user.id)
            if !isEnabled {
                _ = try writer.revokeRefreshTokens(of: user.id, at: date)
                _ = try writer.revokeWebSessions(of: user.id, except: nil, at: date)
            } else {
                // An administrator's decision ends suspensions by revalidation: the identities are checked again.
                for link in try writer.identityLinks(of: user.id) {
                    guard var record = try writer.federatedIdentity(linkID: link.id), record.suspendedAt != nil else {
                        continue
                    }
                    record.suspendedAt = nil
                    record.suspensionReason = nil
                    record.disabledAccount = false
                    record.failingSince = nil
                    try writer.saveFederatedIdentity(record)
                }
            }
            _ = try writer.appendAuditEvent(
                acting.audit(isEnabled ? "user.enable" : "user.disable", target: "user:\(user.username)"))
            return AccountSummary(try writer.user(id: user.id) ?? user)
        }
    }

    /// Grants or removes administrator rights (admins only, not on themselves; never the last admin's).
    public func setAdmin(_ isAdmin: Bool, for username: String, by actor: Caller) async throws -> AccountSummary {
        let settings = settings
        return try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            try acting.require(.administer, settings)
            let user = try Self.user(username, writer)
            if acting.actor.userID == user.id {
                throw AdministrationError(.ownAdminFlag, "administrators cannot change their own admin flag")
            }
            if !isAdmin, user.isAdmin, user.isEnabled, try writer.countAdmins() <= 1 {
                throw AdministrationError(.lastAdmin, "\(user.username) is the last enabled administrator")
            }
            try writer.setAdmin(isAdmin, for: user.id)
            try writer.setAdminGrant(of: user.id, provider: nil)
            if isAdmin {
                // Portus: an administrator in a team is always an owner.
                for membership in try writer.memberships(of: user.id) where membership.role != .owner {
                    try writer.setRole(.owner, team: membership.team.id, user: user.id)
                }
            }
            _ = try writer.appendAuditEvent(
                acting.audit(isAdmin ? "user.admin_grant" : "user.admin_revoke", target: "user:\(user.username)"))
            return AccountSummary(try writer.user(id: user.id) ?? user)
        }
    }

    /// Changes an account's contact address and display name (admins, or the account itself): a nil
    /// argument leaves the field as it is, `.some(nil)` clears it. Both change in one transaction or neither.
    public func updateProfile(
        email: String?? = nil, displayName: String?? = nil, for username: String, by actor: Caller
    ) async throws -> AccountSummary {
        if case .some(.some(let email)) = email { try ProfileRules.checkEmail(email) }
        if case .some(.some(let name)) = displayName { try ProfileRules.checkDisplayName(name) }
        let settings = settings
        return try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            let user = try Self.user(username, writer)
            if acting.actor.userID != user.id { try acting.require(.administer, settings) }
            var changed: [(String, String?)] = []
            if let email, email != user.email {
                try writer.setEmail(email, for: user.id)
                changed.append(("email", email ?? ""))
            }
            if let displayName, displayName != user.displayName {
                try writer.setDisplayName(displayName, for: user.id)
                changed.append(("display_name", displayName ?? ""))
            }
            if !changed.isEmpty {
                _ = try writer.appendAuditEvent(
                    acting.audit("user.update", target: "user:\(user.username)", detail: changed))
            }
            return AccountSummary(try writer.user(id: user.id) ?? user)
        }
    }

    /// Sets a new password (admins, or the account itself), revokes the account's refresh tokens and ends its
    /// web sessions but `keeping` (the session of the account changing its own password, so it stays signed in
    /// there and nowhere else).
    public func setPassword(
        _ password: Password, for username: String, by actor: Caller, keeping session: WebSession.ID? = nil
    ) async throws {
        let hash = try await hashed(password)
        let settings = settings, date = now()
        try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            let user = try Self.user(username, writer)
            if acting.actor.userID != user.id { try acting.require(.administer, settings) }
            try writer.setPasswordHash(hash, for: user.id)
            // A new password ends every session that the old one started.
            _ = try writer.revokeRefreshTokens(of: user.id, at: date)
            _ = try writer.revokeWebSessions(
                of: user.id, except: acting.actor.userID == user.id ? session : nil, at: date)
            _ = try writer.appendAuditEvent(acting.audit("user.password_change", target: "user:\(user.username)"))
        }
    }

    /// Deletes an account (admins only) with its links, memberships, stars and tokens. Refused for the last
    /// enabled administrator and for the last owner of a visible team. An empty personal namespace goes with
    /// it; one that holds repositories stays, owned by its hidden team, for an administrator to clear.
    public func delete(_ username: String, by actor: Caller) async throws {
        let settings = settings
        try await store.write { writer in
            let acting = try ResolvedCaller(actor, in: writer)
            try acting.require(.administer, settings)
            let user = try Self.user(username, writer)
            if user.isAdmin, user.isEnabled, try writer.countAdmins() <= 1 {
                throw AdministrationError(.lastAdmin, "\(user.username) is the last enabled administrator")
            }
            for membership in try writer.memberships(of: user.id)
            where !membership.team.isHidden && membership.role == .owner {
                let owners = try writer.members(of: membership.team.id).filter { $0.role == .owner }
                if owners.count <= 1 {
                    throw AdministrationError(
                        .lastOwner,
                        "\(user.username) is the only owner of team \(membership.team.name); make another owner first")
                }
            }
            let personal = try writer.personalNamespace(of: user.id)
            try writer.deleteUser(user.id)
            var detail: [(String, String?)] = []
            if let personal, try writer.repositories(in: personal.id).isEmpty {
                try writer.deleteNamespace(personal.id)
                if try writer.namespaces(ownedBy: personal.teamID).isEmpty { try writer.deleteTeam(personal.teamID) }
                detail.append(("namespace_deleted", personal.name))
            } else if let personal {
                detail.append(("namespace_kept", personal.name))
            }
            _ = try writer.appendAuditEvent(
                acting.audit("user.delete", target: "user:\(user.username)", detail: detail))
        }
    }

    // MARK: - Provisioning (shared with federated logins and group sync)

    /// Creates `user` with a personal team (owned by them) and a private personal namespace named after the
    /// username by Portus's rules (keeping `-`), suffixed with a number when taken, in the caller's
    /// transaction. Every path that makes an account comes through here (the CLI, the API, LDAP logins and
    /// group sync), so every one applies `Username`'s rule and case-insensitive uniqueness before anything
    /// is written. Writes no audit event: the caller records why the account was made.
    ///
    /// `namespaceName` asks for that namespace name instead of the derived one (an import keeping the image
    /// paths of the system it came from); it is used when it is a valid namespace name no namespace holds, else
    /// the derived name is. The hidden team then takes the first of that name, `name0`, `name1`, … no team holds
    /// (Portus, too, named personal teams apart from their namespaces).
    public static func provision(
        _ user: NewUser, namespaceName: String? = nil, in writer: any StoreWriting
    ) throws -> (User, Namespace) {
        try checkUsername(user.username)
        if let holder = try writer.users(namedIgnoringCase: user.username).first {
            throw AdministrationError(
                .usernameTaken,
                holder.username == user.username
                    ? "a user named '\(user.username)' already exists"
                    : "the username '\(user.username)' is taken: '\(holder.username)' exists, and names differing "
                        + "only in case are the same account")
        }
        guard let base = NamespaceNaming.namespaceName(forUsername: user.username) else {
            throw AdministrationError(
                .invalidUsername, "username '\(user.username)' has no letters or digits to name a namespace after")
        }
        let created = try writer.createUser(user)
        let name: String
        let teamName: String
        if let wanted = namespaceName, NamespaceNaming.isValid(wanted), try writer.namespace(named: wanted) == nil {
            name = wanted
            teamName = try NamespaceNaming.firstFreeName(base: wanted) { try writer.team(named: $0) != nil }
        } else {
            name = try NamespaceNaming.firstFreeName(base: base) { candidate in
                try writer.namespace(named: candidate) != nil || writer.team(named: candidate) != nil
            }
            teamName = name
        }
        let team = try writer.createTeam(
            name: teamName, description: "Personal team of \(user.username).", isHidden: true)
        _ = try writer.addTeamMember(team: team.id, user: created.id, role: .owner)
        let namespace = try writer.createNamespace(
            name: name, team: team.id, visibility: .private, kind: .personal, personalOwner: created.id,
            description: "This personal namespace belongs to \(user.username).")
        return (created, namespace)
    }

    /// Throws `account.username_taken` when `username` (in any case) is in `reserved` (lowercased name → what
    /// holds it: a CI trust policy, whose name is a `docker login` username).
    public static func checkNotReserved(_ username: String, _ reserved: [String: String]) throws {
        if let holder = reserved[username.lowercased()] {
            throw AdministrationError(
                .usernameTaken, "the username '\(username)' is taken by \(holder); choose another")
        }
    }

    /// Throws `account.invalid_username` for a name that breaks `Username`'s rule.
    public static func checkUsername(_ username: String) throws {
        if let problem = Username.problem(with: username) {
            throw AdministrationError(
                .invalidUsername, "invalid username \(Username.quoted(username)): \(problem.message)")
        }
    }

    // MARK: - Helpers

    private func hashed(_ password: Password) async throws -> String {
        try await Self.hash(password, on: hashing)
    }

    /// Checks `password` against the rules and hashes it on `pool` (shared with first-run setup).
    static func hash(_ password: Password, on pool: BlockingPool) async throws -> String {
        let text = password.text
        try PasswordRules.check(text)
        return try await pool.run { try PasswordHash.make(password: text, method: PasswordRules.method) }
    }

    static func user(_ username: String, _ reader: any StoreReading) throws -> User {
        guard let user = try reader.user(named: username) else {
            throw AdministrationError(.userNotFound, "no user named '\(username)'")
        }
        return user
    }

    static func details(_ user: User, _ reader: any StoreReading) throws -> AccountDetails {
        AccountDetails(
            account: AccountSummary(user), personalNamespace: try reader.personalNamespace(of: user.id)?.name,
            memberships: try reader.memberships(of: user.id).filter { !$0.team.isHidden }.map {
                AccountMembership(team: $0.team.name, role: $0.role)
            })
    }
}
