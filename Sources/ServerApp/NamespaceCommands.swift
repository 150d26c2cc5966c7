import Administration
import Diagnostics
import Foundation
import Storage

/// `portcullis namespace …`: parse, call ``NamespaceAdministration``, print.
enum NamespaceCommands {
    static func create(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "namespace name")
        let teamName = parsed.option("team")
        let visibility = try parseVisibility(parsed.option("visibility") ?? NamespaceVisibility.private.rawValue)
        let description = parsed.option("description")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        guard let teamName else {
            throw CommandFailure(.usage, "--team is required: every namespace belongs to a team")
        }
        _ = try await context.administration {
            try await $0.namespaces.create(
                name, team: teamName, visibility: visibility, description: description, by: $0.actor)
        }
        print("created \(visibility.rawValue) namespace \(name) owned by team \(teamName)")
    }

    static func list(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["desc"])
        let page = try parsed.page(sortedBy: NamespaceSortField.name)
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let namespaces = try await context.administration { try await $0.namespaces.list(page, by: $0.actor) }
        let rows = namespaces.items.map { namespace in
            [
                namespace.name, namespace.team, namespace.visibility.rawValue, namespace.kind.rawValue,
                "\(namespace.repositoryCount)",
            ]
        }
        print(table(header: ["NAMESPACE", "TEAM", "VISIBILITY", "KIND", "REPOSITORIES"], rows: rows), terminator: "")
        print(pagingFooter(namespaces), terminator: "")
    }

    static func show(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "namespace name")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let namespace = try await context.administration { try await $0.namespaces.show(name, by: $0.actor) }
        let rows = [
            ["name", namespace.name], ["team", namespace.team], ["visibility", namespace.visibility.rawValue],
            ["kind", namespace.kind.rawValue], ["description", namespace.description ?? "-"],
            ["repositories", "\(namespace.repositoryCount)"], ["created", namespace.createdAt.formatted(.iso8601)],
        ]
        print(table(header: ["FIELD", "VALUE"], rows: rows), terminator: "")
    }

    static func setVisibility(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "namespace name")
        let visibility = try parseVisibility(try parsed.positional(1, "visibility (private, protected or public)"))
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 2)
        _ = try await context.administration {
            try await $0.namespaces.setVisibility(visibility, of: name, by: $0.actor)
        }
        print("namespace \(name) is now \(visibility.rawValue)")
    }

    static func setDescription(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "namespace name")
        let description = try parsed.positional(1, "description ('' to clear)")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 2)
        _ = try await context.administration {
            try await $0.namespaces.updateDescription(description.isEmpty ? nil : description, of: name, by: $0.actor)
        }
        print("description of namespace \(name) \(description.isEmpty ? "cleared" : "changed")")
    }

    static func transfer(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "namespace name")
        let team = try parsed.positional(1, "team name")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 2)
        _ = try await context.administration { try await $0.namespaces.transfer(name, to: team, by: $0.actor) }
        print("namespace \(name) now belongs to team \(team)")
    }

    static func delete(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "namespace name")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        try await context.administration { try await $0.namespaces.delete(name, by: $0.actor) }
        print("deleted namespace \(name)")
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

/// `portcullis repository show`: parse, call ``RepositoryAdministration``, print.
enum RepositoryShowCommand {
    static func run(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let path = try parsed.positional(0, "repository (NS/REPO)")
        let registry = parsed.option("registry")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let repository = try await context.administration {
            try await $0.repositories.show(path, registry: registry, by: $0.actor)
        }
        let rows = [
            ["repository", repository.fullName], ["namespace", repository.namespace],
            ["registry", repository.registry.isEmpty ? "-" : repository.registry],
            ["description", repository.description ?? "-"], ["stars", "\(repository.starCount)"],
            ["tags", "\(repository.tagCount)"], ["created", repository.createdAt.formatted(.iso8601)],
            ["updated", repository.updatedAt.formatted(.iso8601)],
        ]
        print(table(header: ["FIELD", "VALUE"], rows: rows), terminator: "")
    }
}

/// `portcullis audit search`: parse, call ``AuditQueries``, print.
enum AuditSearchCommand {
    static func run(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        var filter = AuditEventFilter(
            actor: parsed.option("actor"), action: parsed.option("action"), target: parsed.option("target"))
        for (name, keyPath) in [("since", \AuditEventFilter.since), ("until", \AuditEventFilter.until)] {
            guard let text = parsed.option(name) else { continue }
            guard let date = AuditArchiveCommand.parseDate(text) else {
                throw CommandFailure(.usage, "--\(name): '\(text)' is not a date (2026-01-31 or 2026-01-31T12:00:00Z)")
            }
            filter[keyPath: keyPath] = date
        }
        let (offset, limit) = try parsed.offsetAndLimit()
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let events = try await context.administration {
            try await $0.audit.list(filter, offset: offset, limit: limit, by: $0.actor)
        }
        let rows = events.items.map { event in
            [
                RFC3339.format(event.time), event.actorName ?? "-", event.action, event.target ?? "-",
                event.outcome.rawValue, event.detail ?? "",
            ]
        }
        print(table(header: ["TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAIL"], rows: rows), terminator: "")
        print(pagingFooter(events), terminator: "")
    }
}
