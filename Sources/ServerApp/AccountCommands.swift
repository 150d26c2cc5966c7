import CryptoCore
import Diagnostics
import Foundation
import IdentityCore
import Storage

/// Account rules the commands (and later the API and UI) share: creating a user also creates their
/// hidden personal team and private personal namespace, in the same transaction.
enum Accounts {
    /// Creates `user` with a personal team (owned by them) and a private personal namespace named
    /// after the username by Portus's rules (keeping `-`), suffixed with a number when taken.
    ///
    /// Every path that makes an account comes through here, so every one applies `Username`'s rule and
    /// case-insensitive uniqueness before anything is written.
    /// - Throws: `CommandFailure(.dataError)` naming the problem with the name; `StoreError` from the store.
    static func createUser(_ user: NewUser, in store: any StoreWriting) throws -> (User, Namespace) {
        try checkNewUsername(user.username, in: store)
        guard let base = NamespaceNaming.namespaceName(forUsername: user.username) else {
            throw CommandFailure(
                .dataError, "username '\(user.username)' has no letters or digits to name a namespace after")
        }
        let created = try store.createUser(user)
        let name = try NamespaceNaming.firstFreeName(base: base) { candidate in
            try store.namespace(named: candidate) != nil || store.team(named: candidate) != nil
        }
        let team = try store.createTeam(name: name, description: "Personal team of \(user.username).", isHidden: true)
        _ = try store.addTeamMember(team: team.id, user: created.id, role: .owner)
        let namespace = try store.createNamespace(
            name: name, team: team.id, visibility: .private, kind: .personal, personalOwner: created.id,
            description: "This personal namespace belongs to \(user.username).")
        return (created, namespace)
    }
}

extension Accounts {
    /// Refuses a username that breaks `Username`'s rule or that an account already has in any spelling.
    static func checkNewUsername(_ username: String, in store: any StoreReading) throws {
        if let problem = Username.problem(with: username) {
            throw CommandFailure(
                .dataError, "invalid username \(Username.quoted(username)): \(problem.message)")
        }
        if let holder = try store.users(namedIgnoringCase: username).first {
            throw CommandFailure(
                .dataError,
                holder.username == username
                    ? "a user named '\(username)' already exists"
                    : "the username '\(username)' is taken: '\(holder.username)' exists, and names differing "
                        + "only in case are the same account")
        }
    }
}

extension Accounts {
    /// The name of the global namespace (images without a namespace, `busybox`) and its hidden team.
    static let globalNamespaceName = "portcullis-global"

    /// Creates the global namespace on first start (see `StoreWriting.ensureGlobalNamespace(named:)`).
    static func ensureGlobalNamespace(in store: any StoreWriting) throws {
        _ = try store.ensureGlobalNamespace(named: globalNamespaceName)
    }
}

/// `portcullis user …`
enum UserCommands {
    /// The password method for accounts created here: bcrypt, as Portus (Devise) used.
    static let passwordMethod = PasswordHash.Method.bcrypt(cost: 12)

    static func create(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["admin", "password-stdin", "no-password"])
        let username = try parsed.positional(0, "username")
        let email = parsed.option("email")
        let displayName = parsed.option("display-name")
        let admin = parsed.flag("admin")
        let fromStdin = parsed.flag("password-stdin")
        let noPassword = parsed.flag("no-password")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        guard !(fromStdin && noPassword) else {
            throw CommandFailure(.usage, "--password-stdin and --no-password exclude each other")
        }
        // Refuse a bad name before asking for a password; the transaction checks it again, with uniqueness.
        if let problem = Username.problem(with: username) {
            throw CommandFailure(.dataError, "invalid username \(Username.quoted(username)): \(problem.message)")
        }
        let hash = noPassword ? nil : try await hashedPassword(fromStdin: fromStdin, pool: context)
        let (user, namespace) = try await context.write { writer in
            try Accounts.createUser(
                NewUser(username: username, email: email, displayName: displayName, passwordHash: hash, isAdmin: admin),
                in: writer)
        }
        print(
            "created user \(user.username)\(user.isAdmin ? " (admin)" : "") with personal namespace \(namespace.name)")
    }

    static func list(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let users = try await context.read { try $0.allUsers() }
        let rows = users.map { user in
            [
                user.username, user.email ?? "-", user.isAdmin ? "admin" : "user",
                user.isEnabled ? "enabled" : "disabled",
                user.passwordHash == nil ? "external" : "password",
                user.lastLoginAt.map { $0.formatted(.iso8601) } ?? "never",
            ]
        }
        print(table(header: ["USERNAME", "EMAIL", "ROLE", "STATE", "LOGIN", "LAST LOGIN"], rows: rows), terminator: "")
    }

    static func setPassword(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["password-stdin"])
        let username = try parsed.positional(0, "username")
        let fromStdin = parsed.flag("password-stdin")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let hash = try await hashedPassword(fromStdin: fromStdin, pool: context)
        try await changeUser(username, context: context) { writer, user in
            try writer.setPasswordHash(hash, for: user.id)
            // A new password ends every session that the old one started.
            _ = try writer.revokeRefreshTokens(of: user.id, at: Date())
        }
        print("password of \(username) changed; their refresh tokens were revoked")
    }

    static func makeAdmin(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        try await changeUser(username, context: context) { writer, user in try writer.setAdmin(true, for: user.id) }
        print("\(username) is now an administrator")
    }

    static func disable(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        try await changeUser(username, context: context) { writer, user in
            if user.isAdmin, user.isEnabled, try writer.countAdmins() <= 1 {
                throw CommandFailure(
                    .dataError, "\(username) is the last enabled administrator; make another admin first")
            }
            try writer.setEnabled(false, for: user.id)
            _ = try writer.revokeRefreshTokens(of: user.id, at: Date())
        }
        print("\(username) is disabled; their refresh tokens were revoked")
    }

    /// Reads a password (stdin or prompt), checks it, and hashes it on a CPU thread.
    private static func hashedPassword(fromStdin: Bool, pool context: AppContext) async throws -> String {
        let password =
            fromStdin ? try PasswordInput.fromStandardInput() : try PasswordInput.prompt("Password", confirm: true)
        guard password.count >= 8 else {
            throw CommandFailure(.dataError, "the password must have at least 8 characters")
        }
        guard password.utf8.count <= 72 else {
            throw CommandFailure(.dataError, "the password is longer than bcrypt's 72-byte limit")
        }
        return try await context.cpuPool.run { try PasswordHash.make(password: password, method: passwordMethod) }
    }

    private static func changeUser(
        _ username: String, context: AppContext,
        _ change: @escaping @Sendable (any StoreWriting, User) throws -> Void
    ) async throws {
        try await context.write { writer in
            guard let user = try writer.user(named: username) else {
                throw CommandFailure(.dataError, "no user named '\(username)'")
            }
            try change(writer, user)
        }
    }
}

/// `portcullis team …`
enum TeamCommands {
    static func create(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "team name")
        let owner = parsed.option("owner")
        let description = parsed.option("description")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        guard NamespaceNaming.isValid(name) else {
            throw CommandFailure(
                .dataError, "'\(name)' is not a valid team name (lower-case letters, digits, '.', '_', '-')")
        }
        try await context.write { writer in
            let team = try writer.createTeam(name: name, description: description, isHidden: false)
            if let owner {
                guard let user = try writer.user(named: owner) else {
                    throw CommandFailure(.dataError, "no user named '\(owner)'")
                }
                _ = try writer.addTeamMember(team: team.id, user: user.id, role: .owner)
            }
        }
        print("created team \(name)\(owner.map { " owned by \($0)" } ?? "")")
    }

    static func addMember(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let teamName = try parsed.positional(0, "team name")
        let username = try parsed.positional(1, "username")
        let roleName = parsed.option("role") ?? TeamRole.viewer.rawValue
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 2)
        guard let role = TeamRole(rawValue: roleName) else {
            throw CommandFailure(
                .usage, "--role must be one of: \(TeamRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try await context.write { writer in
            guard let team = try writer.team(named: teamName), !team.isHidden else {
                throw CommandFailure(.dataError, "no team named '\(teamName)'")
            }
            guard let user = try writer.user(named: username) else {
                throw CommandFailure(.dataError, "no user named '\(username)'")
            }
            _ = try writer.addTeamMember(team: team.id, user: user.id, role: role)
        }
        print("added \(username) to \(teamName) as \(role.rawValue)")
    }
}

/// `portcullis namespace …`
enum NamespaceCommands {
    static func create(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "namespace name")
        let teamName = parsed.option("team")
        let visibilityName = parsed.option("visibility") ?? NamespaceVisibility.private.rawValue
        let description = parsed.option("description")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        guard let teamName else {
            throw CommandFailure(.usage, "--team is required: every namespace belongs to a team")
        }
        let visibility = try parseVisibility(visibilityName)
        guard NamespaceNaming.isValid(name) else {
            throw CommandFailure(
                .dataError, "'\(name)' is not a valid namespace name (lower-case letters, digits, '.', '_', '-')")
        }
        try await context.write { writer in
            guard let team = try writer.team(named: teamName), !team.isHidden else {
                throw CommandFailure(.dataError, "no team named '\(teamName)'")
            }
            _ = try writer.createNamespace(
                name: name, team: team.id, visibility: visibility, kind: .regular, personalOwner: nil,
                description: description)
        }
        print("created \(visibility.rawValue) namespace \(name) owned by team \(teamName)")
    }

    static func setVisibility(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "namespace name")
        let visibility = try parseVisibility(try parsed.positional(1, "visibility (private, protected or public)"))
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 2)
        try await context.write { writer in
            guard let namespace = try writer.namespace(named: name) else {
                throw CommandFailure(.dataError, "no namespace named '\(name)'")
            }
            if namespace.kind == .global && visibility == .private {
                throw CommandFailure(.dataError, "the global namespace cannot be private")
            }
            try writer.setVisibility(visibility, for: namespace.id)
        }
        print("namespace \(name) is now \(visibility.rawValue)")
    }

    private static func parseVisibility(_ text: String) throws(CommandFailure) -> NamespaceVisibility {
        guard let visibility = NamespaceVisibility(rawValue: text) else {
            throw CommandFailure(
                .usage,
                "visibility must be one of: \(NamespaceVisibility.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return visibility
    }
}

/// Runs `body`, turning store errors into command failures with the right exit status.
func mapStoreErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as StoreError {
        switch error.code {
        case .conflict: throw CommandFailure(.dataError, "already exists: \(error)")
        case .notFound, .constraintViolated, .invalidInput: throw CommandFailure(.dataError, "\(error)")
        default: throw CommandFailure(.unavailable, "database error: \(error)")
        }
    }
}

/// Renders rows as left-aligned columns separated by two spaces. Every cell is made inert first
/// (``InertText``): cells hold names, URLs and reasons that others chose, and a line break or an escape
/// sequence in one must not forge a row or drive the operator's terminal.
func table(header: [String], rows: [[String]]) -> String {
    let all = ([header] + rows).map { $0.map { InertText.escaped($0) } }
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n") + "\n"
}
