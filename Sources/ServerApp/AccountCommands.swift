import Administration
import Diagnostics
import Foundation
import Storage

/// `portcullis user …`: parse, call ``AccountAdministration``, print.
enum UserCommands {
    /// `user link NAME --provider ID --issuer URL --subject SUB`: links a federated identity by hand.
    static func link(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let provider = parsed.option("provider") ?? ""
        let issuer = parsed.option("issuer") ?? ""
        let subject = parsed.option("subject") ?? ""
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        guard !provider.isEmpty, !issuer.isEmpty, !subject.isEmpty else {
            throw CommandFailure(.usage, "user link needs --provider, --issuer and --subject")
        }
        guard context.configuration.providers.contains(where: { $0.enabled && $0.id == provider }) else {
            throw CommandFailure(.dataError, "no enabled provider has the id \(provider)")
        }
        try await context.withIdentityLinks { links, actor in
            try await links.link(username: username, providerID: provider, issuer: issuer, subject: subject, by: actor)
        }
        print("linked \(provider) identity \(subject) (issuer \(issuer)) to \(username)")
    }

    /// `user unlink NAME --provider ID --subject SUB`.
    static func unlink(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let provider = parsed.option("provider") ?? ""
        let subject = parsed.option("subject") ?? ""
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        guard !provider.isEmpty, !subject.isEmpty else {
            throw CommandFailure(.usage, "user unlink needs --provider and --subject")
        }
        try await context.withIdentityLinks { links, actor in
            try await links.unlink(username: username, providerID: provider, subject: subject, by: actor)
        }
        print("unlinked \(provider) identity \(subject) from \(username)")
    }

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
        // Refuse a bad name before asking for a password; the service checks it again, with uniqueness.
        do { try AccountAdministration.checkUsername(username) } catch let error as AdministrationError {
            throw CommandFailure(.dataError, error.reason)
        }
        let password = noPassword ? nil : try readPassword(fromStdin: fromStdin)
        let created = try await context.administration { services in
            try await services.accounts.create(
                NewAccount(
                    username: username, email: email, displayName: displayName, password: password, isAdmin: admin),
                by: services.actor)
        }
        let account = created.account
        print(
            "created user \(account.username)\(account.isAdmin ? " (admin)" : "") with personal namespace "
                + (created.personalNamespace ?? "-"))
    }

    static func list(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["desc"])
        let page = try parsed.page(sortedBy: AccountSortField.username)
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let accounts = try await context.administration { try await $0.accounts.list(page, by: $0.actor) }
        let rows = accounts.items.map { account in
            [
                account.username, account.email ?? "-", account.isAdmin ? "admin" : "user",
                account.isEnabled ? "enabled" : "disabled", account.hasPassword ? "password" : "external",
                account.lastLoginAt.map { $0.formatted(.iso8601) } ?? "never",
            ]
        }
        print(table(header: ["USERNAME", "EMAIL", "ROLE", "STATE", "LOGIN", "LAST LOGIN"], rows: rows), terminator: "")
        print(pagingFooter(accounts), terminator: "")
    }

    static func show(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let details = try await context.administration { try await $0.accounts.show(username, by: $0.actor) }
        let account = details.account
        var rows = [
            ["username", account.username], ["email", account.email ?? "-"],
            ["display name", account.displayName ?? "-"], ["role", account.isAdmin ? "admin" : "user"],
            ["state", account.isEnabled ? "enabled" : "disabled"],
            ["login", account.hasPassword ? "password" : "external"],
            ["created", account.createdAt.formatted(.iso8601)],
            ["last login", account.lastLoginAt.map { $0.formatted(.iso8601) } ?? "never"],
            ["personal namespace", details.personalNamespace ?? "-"],
        ]
        rows += details.memberships.map { ["team", "\($0.team) (\($0.role.rawValue))"] }
        print(table(header: ["FIELD", "VALUE"], rows: rows), terminator: "")
    }

    static func setPassword(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["password-stdin"])
        let username = try parsed.positional(0, "username")
        let fromStdin = parsed.flag("password-stdin")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let password = try readPassword(fromStdin: fromStdin)
        try await context.administration { try await $0.accounts.setPassword(password, for: username, by: $0.actor) }
        print("password of \(username) changed; their refresh tokens were revoked")
    }

    static func makeAdmin(_ arguments: [String]) async throws {
        let username = try await onUser(arguments) { try await $0.accounts.setAdmin(true, for: $1, by: $0.actor) }
        print("\(username) is now an administrator")
    }

    static func revokeAdmin(_ arguments: [String]) async throws {
        let username = try await onUser(arguments) { try await $0.accounts.setAdmin(false, for: $1, by: $0.actor) }
        print("\(username) is no longer an administrator")
    }

    static func enable(_ arguments: [String]) async throws {
        let username = try await onUser(arguments) { try await $0.accounts.setEnabled(true, for: $1, by: $0.actor) }
        print("\(username) is enabled")
    }

    static func disable(_ arguments: [String]) async throws {
        let username = try await onUser(arguments) { try await $0.accounts.setEnabled(false, for: $1, by: $0.actor) }
        print("\(username) is disabled; their refresh tokens were revoked")
    }

    static func delete(_ arguments: [String]) async throws {
        let username = try await onUser(arguments) { try await $0.accounts.delete($1, by: $0.actor) }
        print("deleted user \(username) with their tokens, links and memberships; audit lines keep the name")
    }

    /// Parses `NAME`, runs `body` with the services, and returns the name for the message.
    private static func onUser<T>(
        _ arguments: [String], _ body: (AdministrationServices, String) async throws -> T
    ) async throws -> String {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let username = try parsed.positional(0, "username")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        _ = try await context.administration { try await body($0, username) }
        return username
    }

    /// Reads a password from standard input or a prompt; the service checks and hashes it.
    private static func readPassword(fromStdin: Bool) throws -> Password {
        Password(
            fromStdin ? try PasswordInput.fromStandardInput() : try PasswordInput.prompt("Password", confirm: true))
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
