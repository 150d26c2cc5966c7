import ApplicationTokens
import Foundation
import IdentityCore
import Storage

/// `portcullis token …`: application tokens, usable as the `docker login` password.
enum TokenCommands {
    /// `token create USER NAME [--expires-in D] [--namespace N]… [--action A]…`: prints the token once.
    static func create(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let name = try parsed.positional(1, "token name")
        let expiresIn = parsed.option("expires-in")
        let namespaces = parsed.repeatedOption("namespace")
        let actions = parsed.repeatedOption("action")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 2)
        var expiresAt: Date?
        if let expiresIn {
            guard let duration = ConfigDuration(parsing: expiresIn), duration.seconds > 0 else {
                throw CommandFailure(.usage, "--expires-in must be a duration such as 30d, 12h or 3600")
            }
            expiresAt = Date().addingTimeInterval(duration.timeInterval)
        }
        let allowed: Set<String> = ["pull", "push", "delete", "*"]
        if let bad = actions.first(where: { !allowed.contains($0) }) {
            throw CommandFailure(.usage, "--action '\(bad)' is not one of: pull, push, delete, *")
        }
        let restriction = AccessRestriction(
            namespaces: namespaces.isEmpty ? nil : Set(namespaces), actions: actions.isEmpty ? nil : Set(actions))
        let (plaintext, token) = try await withOwner(username, context: context) { store, owner in
            try await ApplicationTokenIssuer(store: store).create(
                owner: owner.id, name: name, expiresAt: expiresAt,
                restriction: restriction.isUnrestricted ? nil : restriction)
        }
        printError(
            "created token \(token.name) for \(username)"
                + (token.expiresAt.map { ", expiring \($0.formatted(.iso8601))" } ?? "")
                + "; it is shown only now. Use it as the password: docker login -u \(username) --password-stdin")
        print(plaintext)
    }

    /// `token list USER`: names, prefixes, expiry and last use; never the secret.
    static func list(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let tokens = try await withOwner(username, context: context) { store, owner in
            try await ApplicationTokenIssuer(store: store).list(owner: owner.id)
        }
        let rows = tokens.map { token in
            [
                token.name, token.prefix + "…", token.createdAt.formatted(.iso8601),
                token.expiresAt.map { $0.formatted(.iso8601) } ?? "never",
                token.lastUsedAt.map { $0.formatted(.iso8601) } ?? "never",
                token.revokedAt == nil ? (token.scope ?? "unrestricted") : "revoked",
            ]
        }
        print(
            table(header: ["NAME", "PREFIX", "CREATED", "EXPIRES", "LAST USED", "RESTRICTION"], rows: rows),
            terminator: "")
    }

    /// `token revoke USER NAME`.
    static func revoke(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let name = try parsed.positional(1, "token name")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 2)
        try await withOwner(username, context: context) { store, owner in
            try await ApplicationTokenIssuer(store: store).revoke(owner: owner.id, name: name)
        }
        print("revoked token \(name) of \(username)")
    }

    /// Opens the store, finds the owner, runs `body`, and maps token and store errors to exit statuses.
    private static func withOwner<T>(
        _ username: String, context: AppContext, _ body: (any Store, User) async throws -> T
    ) async throws -> T {
        do {
            return try await context.withStore { store in
                guard let owner = try await store.read({ try $0.user(named: username) }) else {
                    throw CommandFailure(.dataError, "no user named '\(username)'")
                }
                return try await body(store, owner)
            }
        } catch let error as ApplicationTokenError {
            throw CommandFailure(.dataError, error.reason)
        }
    }
}
