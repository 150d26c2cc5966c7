import Administration
import Diagnostics
import Foundation
import Storage

/// `portcullis robot …`: robot accounts, tokens owned by a team for CI systems without OIDC
/// (`RobotAccountService`). Each command parses, calls the service as the operator, and prints.
enum RobotCommands {
    /// `robot create NAME --team TEAM --action A… --expires-in D [--namespace N]… [--note TEXT] [--as USER]`: prints the
    /// token once, and the login name on standard error.
    static func create(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "robot name")
        let team = try required(&parsed, "team")
        let actions = parsed.repeatedOption("action")
        let namespaces = parsed.repeatedOption("namespace")
        let note = parsed.option("note")
        let actingAs = parsed.option("as")
        guard let expiresIn = parsed.option("expires-in") else {
            throw CommandFailure(.usage, "a robot needs --expires-in (such as 90d); every robot expires")
        }
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        guard !actions.isEmpty else { throw CommandFailure(.usage, "name its actions: --action pull|push|delete …") }
        let expiresAt = try TokenCommands.expiry(fromNow: expiresIn)
        let maxLifetime = context.configuration.token.robots.maxLifetime
        let created = try await run(context, as: actingAs) { store, caller in
            try await RobotAccountService(store: store, maxLifetime: maxLifetime.inSeconds).create(
                team: team, name: name, actions: Set(actions), namespaces: namespaces.isEmpty ? nil : Set(namespaces),
                expiresAt: expiresAt, note: note, by: caller)
        }
        printError(
            "created robot \(created.robot.loginName) (\(created.robot.actions.joined(separator: ",")))"
                + ", expiring \(created.robot.expiresAt.formatted(.iso8601)); its token is shown only now. "
                + "Log in with: docker login -u '\(created.robot.loginName)' --password-stdin")
        print(created.plaintext)
    }

    /// `robot list --team TEAM`: login names, prefixes, actions, namespaces, expiry, last use; never a token.
    static func list(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let team = try required(&parsed, "team")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let robots = try await run(context) { store, _ in
            try await RobotAccountService(store: store).list(team: team, by: .operatorAtShell)
        }
        print(
            table(
                header: ["LOGIN", "PREFIX", "ACTIONS", "NAMESPACES", "EXPIRES", "LAST USED", "STATE", "CREATED BY"],
                rows: robots.map(row)),
            terminator: "")
    }

    /// `robot show NAME --team TEAM`.
    static func show(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "robot name")
        let team = try required(&parsed, "team")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let robot = try await run(context) { store, _ in
            try await RobotAccountService(store: store).show(team: team, name: name, by: .operatorAtShell)
        }
        let fields = row(robot)
        let names = ["login", "prefix", "actions", "namespaces", "expires", "last used", "state", "created by"]
        for (label, value) in zip(names, fields) { print("\(label): \(value)") }
        print("created: \(robot.createdAt.formatted(.iso8601))")
        if let note = robot.note { print("note: \(WebhookCommands.printable(note))") }
    }

    /// `robot revoke NAME --team TEAM [--as USER]`: the token stops working at once.
    static func revoke(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "robot name")
        let team = try required(&parsed, "team")
        let actingAs = parsed.option("as")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        try await run(context, as: actingAs) { store, caller in
            try await RobotAccountService(store: store).revoke(team: team, name: name, by: caller)
        }
        print("revoked robot \(team)+\(name)")
    }

    private static func row(_ robot: RobotAccountSummary) -> [String] {
        let now = Date()
        let state = robot.revokedAt != nil ? "revoked" : (robot.isUsable(at: now) ? "active" : "expired")
        return [
            robot.loginName, robot.prefix + "…", robot.actions.joined(separator: ","),
            robot.namespaces?.joined(separator: ",") ?? "all of the team's", robot.expiresAt.formatted(.iso8601),
            robot.lastUsedAt.map { $0.formatted(.iso8601) } ?? "never", state,
            WebhookCommands.printable(robot.createdBy),
        ]
    }

    private static func required(_ parsed: inout ParsedArguments, _ option: String) throws -> String {
        guard let value = parsed.option(option) else { throw CommandFailure(.usage, "--\(option) is required") }
        return value
    }

    /// Opens the store, runs `body` as the operator or, with `--as USER`, as that account (whose rights the
    /// service then checks, and whom the robot and the audit record name), and maps refusals to exit statuses.
    private static func run<T>(
        _ context: AppContext, as username: String? = nil, _ body: (any Store, Caller) async throws -> T
    ) async throws -> T {
        do {
            return try await context.withStore { store in
                guard let username else { return try await body(store, .operatorAtShell) }
                guard let user = try await store.read({ try $0.user(named: username) }) else {
                    throw CommandFailure(.dataError, "no user named '\(username)'")
                }
                return try await body(store, .user(user))
            }
        } catch let error as RobotAccountError {
            throw CommandFailure(.dataError, error.reason)
        }
    }
}
