import Administration
import Diagnostics
import Foundation
import Storage

/// `portcullis team …`: parse, call ``TeamAdministration``, print.
enum TeamCommands {
    static func create(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "team name")
        let owner = parsed.option("owner")
        let description = parsed.option("description")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        _ = try await context.administration {
            try await $0.teams.create(name, description: description, owner: owner, by: $0.actor)
        }
        print("created team \(name)\(owner.map { " owned by \($0)" } ?? "")")
    }

    static func list(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["desc"])
        let page = try parsed.page(sortedBy: TeamSortField.name)
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let teams = try await context.administration { try await $0.teams.list(page, by: $0.actor) }
        let rows = teams.items.map { team in
            [team.name, "\(team.memberCount)", "\(team.namespaceCount)", team.description ?? ""]
        }
        print(table(header: ["TEAM", "MEMBERS", "NAMESPACES", "DESCRIPTION"], rows: rows), terminator: "")
        print(pagingFooter(teams), terminator: "")
    }

    static func show(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "team name")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let details = try await context.administration { try await $0.teams.show(name, by: $0.actor) }
        print("team \(InertText.escaped(details.team.name))")
        if let description = details.team.description { print("description: \(InertText.escaped(description))") }
        print(
            "namespaces: \(details.namespaces.isEmpty ? "-" : InertText.escaped(details.namespaces.joined(separator: ", ")))"
        )
        let rows = details.members.map { member in
            [
                member.username, member.role.rawValue, member.syncedFrom.map { "sync:\($0)" } ?? "manual",
                member.addedAt.formatted(.iso8601),
            ]
        }
        print(table(header: ["MEMBER", "ROLE", "SOURCE", "ADDED"], rows: rows), terminator: "")
    }

    static func addMember(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let teamName = try parsed.positional(0, "team name")
        let username = try parsed.positional(1, "username")
        let role = try parseRole(parsed.option("role") ?? TeamRole.viewer.rawValue)
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 2)
        let member = try await context.administration {
            try await $0.teams.addMember(username, to: teamName, role: role, by: $0.actor)
        }
        print(
            "added \(username) to \(teamName) as \(member.role.rawValue)"
                + (member.role != role ? " (administrators are always owners)" : ""))
    }

    static func removeMember(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let teamName = try parsed.positional(0, "team name")
        let username = try parsed.positional(1, "username")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 2)
        try await context.administration { try await $0.teams.removeMember(username, from: teamName, by: $0.actor) }
        print("removed \(username) from \(teamName)")
    }

    static func groups(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "team name")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let links = try await context.administration { try await $0.teams.groupLinks(of: name, by: $0.actor) }
        let rows = links.map { link in
            [
                link.providerID, link.group, link.role.rawValue, link.createdAt.formatted(.iso8601),
                link.createdBy ?? "-",
            ]
        }
        print(table(header: ["PROVIDER", "GROUP", "ROLE", "ADDED", "BY"], rows: rows), terminator: "")
    }

    static func addGroup(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let teamName = try parsed.positional(0, "team name")
        let (provider, group) = try providerGroup(&parsed)
        let role = try parseRole(parsed.option("role") ?? TeamRole.viewer.rawValue)
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let link = try await context.administration {
            try await $0.teams.addGroup(group, of: provider, to: teamName, role: role, by: $0.actor)
        }
        print("the group \(link.group) of \(provider) is a member of \(teamName) as \(link.role.rawValue)")
    }

    static func removeGroup(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let teamName = try parsed.positional(0, "team name")
        let (provider, group) = try providerGroup(&parsed)
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        try await context.administration {
            try await $0.teams.removeGroup(group, of: provider, from: teamName, by: $0.actor)
        }
        print("removed the group \(group) of \(provider) from \(teamName)")
    }

    private static func providerGroup(_ parsed: inout ParsedArguments) throws -> (provider: String, group: String) {
        guard let provider = parsed.option("provider"), let group = parsed.option("group") else {
            throw CommandFailure(.usage, "name the group: --provider ID --group NAME")
        }
        return (provider, group)
    }

    static func setRole(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let teamName = try parsed.positional(0, "team name")
        let username = try parsed.positional(1, "username")
        let role = try parseRole(try parsed.positional(2, "role (owner, contributor or viewer)"))
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 3)
        _ = try await context.administration {
            try await $0.teams.setRole(role, of: username, in: teamName, by: $0.actor)
        }
        print("\(username) is now \(role.rawValue) of \(teamName)")
    }

    static func update(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "team name")
        let newName = parsed.option("name")
        let description = parsed.option("description")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        guard newName != nil || description != nil else {
            throw CommandFailure(.usage, "say what changes: --name NEW and/or --description TEXT ('' clears it)")
        }
        try await context.administration { services in
            if let description {
                _ = try await services.teams.updateDescription(
                    description.isEmpty ? nil : description, of: name, by: services.actor)
            }
            if let newName { _ = try await services.teams.rename(name, to: newName, by: services.actor) }
        }
        print("team \(newName ?? name) updated")
    }

    static func delete(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "team name")
        let heir = parsed.option("namespaces-to")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        try await context.administration { try await $0.teams.delete(name, handingNamespacesTo: heir, by: $0.actor) }
        print("deleted team \(name)\(heir.map { "; its namespaces now belong to \($0)" } ?? "")")
    }

    private static func parseRole(_ text: String) throws(CommandFailure) -> TeamRole {
        guard let role = TeamRole(rawValue: text) else {
            throw CommandFailure(
                .usage, "the role must be one of: \(TeamRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return role
    }
}
