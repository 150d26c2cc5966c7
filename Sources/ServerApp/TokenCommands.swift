import Administration
import Configuration
import Diagnostics
import Foundation
import IdentityCore
import Storage
import TokenAuthority

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
        let expiresAt = try expiresIn.map { try expiry(fromNow: $0) }
        let restriction = AccessRestriction(
            namespaces: namespaces.isEmpty ? nil : Set(namespaces), actions: actions.isEmpty ? nil : Set(actions))
        let maxPerUser = context.configuration.token.applicationTokens.maxPerUser
        let created = try await withOwner(username, context: context) { store, owner in
            try await ApplicationTokenService(store: store, maxPerUser: maxPerUser).create(
                owner: owner.id, name: name, expiresAt: expiresAt,
                restriction: restriction.isUnrestricted ? nil : restriction, by: .operatorAtShell)
        }
        printError(
            "created token \(created.token.name) for \(username)"
                + (created.token.expiresAt.map { ", expiring \($0.formatted(.iso8601))" } ?? "")
                + "; it is shown only now. Use it as the password: docker login -u \(username) --password-stdin")
        print(created.plaintext)
    }

    /// `token list USER`: names, prefixes, expiry and last use; never the secret.
    static func list(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let tokens = try await withOwner(username, context: context) { store, owner in
            try await ApplicationTokenService(store: store).list(owner: owner.id, by: .operatorAtShell)
        }
        let rows = tokens.map { token in
            [
                token.name, token.prefix + "…", token.createdAt.formatted(.iso8601),
                token.expiresAt.map { $0.formatted(.iso8601) } ?? "never",
                token.lastUsedAt.map { $0.formatted(.iso8601) } ?? "never",
                token.revokedAt == nil ? describe(token.restriction) : "revoked",
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
            try await ApplicationTokenService(store: store).revoke(owner: owner.id, name: name, by: .operatorAtShell)
        }
        print("revoked token \(name) of \(username)")
    }

    /// A `--expires-in` value as the date that far from now.
    static func expiry(fromNow text: String) throws -> Date {
        guard let duration = ConfigDuration(parsing: text), duration.seconds > 0 else {
            throw CommandFailure(.usage, "--expires-in must be a duration such as 30d, 12h or 3600")
        }
        return Date().addingTimeInterval(duration.timeInterval)
    }

    /// A restriction as a listing shows it: `namespaces=a,b actions=pull`, or `unrestricted`.
    static func describe(_ restriction: AccessRestriction?) -> String {
        guard let restriction, !restriction.isUnrestricted else { return "unrestricted" }
        var parts: [String] = []
        if let namespaces = restriction.namespaces {
            parts.append("namespaces=" + namespaces.sorted().joined(separator: ","))
        }
        if let actions = restriction.actions { parts.append("actions=" + actions.sorted().joined(separator: ",")) }
        return parts.joined(separator: " ")
    }

    /// `token refresh list USER` and `token refresh revoke USER ID`: the refresh tokens docker keeps after a
    /// login (`offline_token=true`).
    static func refresh(_ arguments: [String]) async throws {
        switch arguments.first {
        case "list": try await listRefreshTokens(Array(arguments.dropFirst()))
        case "revoke": try await revokeRefreshToken(Array(arguments.dropFirst()))
        default: throw CommandFailure(.usage, "'token refresh' needs a subcommand: list, revoke")
        }
    }

    /// `token refresh list USER`: id, service, client, created, last used and expiry of each live token.
    private static func listRefreshTokens(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let policy = context.configuration.token.refresh.policy
        let tokens = try await withOwner(username, context: context) { store, owner in
            try await RefreshTokenService(store: store, policy: policy).list(of: owner.id)
        }
        let rows = tokens.map { token in
            [
                token.id.description, token.service, WebhookCommands.printable(token.client ?? "-"),
                token.createdAt.formatted(.iso8601),
                token.lastUsedAt.map { $0.formatted(.iso8601) } ?? "never", token.expiresAt.formatted(.iso8601),
            ]
        }
        print(
            table(header: ["ID", "SERVICE", "CLIENT", "CREATED", "LAST USED", "EXPIRES"], rows: rows),
            terminator: "")
    }

    /// `token refresh revoke USER ID`.
    private static func revokeRefreshToken(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let idText = try parsed.positional(1, "refresh token id")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 2)
        guard let raw = Int64(idText), raw > 0 else {
            throw CommandFailure(.usage, "the refresh token id must be a number, as 'token refresh list' shows it")
        }
        let policy = context.configuration.token.refresh.policy
        let revoked = try await withOwner(username, context: context) { store, owner in
            try await RefreshTokenService(store: store, policy: policy).revoke(
                RefreshToken.ID(raw), of: owner.id, actor: "cli:\(NSUserName())")
        }
        guard revoked else { throw CommandFailure(.dataError, "\(username) has no live refresh token \(raw)") }
        print("revoked refresh token \(raw) of \(username)")
    }

    /// The job `serve` runs hourly: deletes revoked and expired refresh tokens.
    static func pruneJob(_ service: RefreshTokenService, logger: Logger) -> BackgroundJob {
        BackgroundJob(name: "refresh-token-prune", interval: .seconds(3600), logger: logger.named("jobs")) {
            let pruned = try await service.prune()
            if pruned > 0 { logger.info("revoked and expired refresh tokens pruned", ["count": String(pruned)]) }
        }
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
            // A restriction the service refuses is a bad --action or --namespace: a usage error.
            throw CommandFailure(error.code == .invalidRestriction ? .usage : .dataError, error.reason)
        }
    }
}

extension Caller {
    /// The operator running a command: whoever can open the database acts as an admin.
    static var operatorAtShell: Caller { .commandLine(osUser: NSUserName()) }
}

extension RefreshTokenSettings {
    /// The configured expiry and limit, as the refresh-token service applies them.
    var policy: RefreshTokenPolicy {
        RefreshTokenPolicy(idleExpiry: idleExpiry, absoluteExpiry: absoluteExpiry, maxPerUser: maxPerUser)
    }
}
