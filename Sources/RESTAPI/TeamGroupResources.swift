import Administration
import Foundation
import Storage

/// `teams/{id}/groups`: provider groups named as a team's members before anyone of them signs in
/// (`TeamGroupLink`); `TeamAdministration` holds the rules (owners and administrators, no wildcards).
extension TeamResources {
    static let groupID = PeopleSupport.idParameter("group_id", "The provider group link's id.")

    static let groupSchema = JSONSchema.named(
        "TeamGroup",
        .object([
            .required("id", .integer()), .required("provider", .anyString, "The configured provider id."),
            .required("group", .anyString, "The group's name as the provider reports it."),
            .required("role", role), .required("created_at", .timestamp),
            .required("created_by", .nullable(.anyString)),
        ]))

    static let newGroupSchema = JSONSchema.named(
        "NewTeamGroup",
        .object([
            .required("provider", .string(minLength: 1, maxLength: 64)),
            .required("group", .string(minLength: 1, maxLength: 256), "Exact; no * or ?."),
            .optional("role", role, "Default viewer."),
        ]))

    var groupRoutes: [APIRoute] {
        [
            APIRoute(
                .get, "/teams/{id}/groups", operationID: "listTeamGroups",
                summary: "The provider groups named as the team's members (members and administrators).",
                tags: ["teams"], access: .user, parameters: [Self.teamID],
                responses: [APIResponseSpec(.ok, "The team's provider groups.", .array(Self.groupSchema))]
            ) { [store, teams] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                let groups = try await teams.groupLinks(of: team.name, by: PeopleSupport.actor(request))
                return .page(groups.map(Self.json), total: groups.count, of: request)
            },
            APIRoute(
                .post, "/teams/{id}/groups", operationID: "addTeamGroup",
                summary: "Names a provider group a member of the team; its people join when next synced.",
                tags: ["teams"], access: .user, parameters: [Self.teamID], requestBody: Self.newGroupSchema,
                responses: [APIResponseSpec(.created, "The provider group.", Self.groupSchema, headers: ["Location"])]
            ) { [store, teams] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                let role = request.body?["role"]?.stringValue.flatMap(TeamRole.init(rawValue:)) ?? .viewer
                let group = try await teams.addGroup(
                    try PeopleSupport.string(request.body, "group"),
                    of: try PeopleSupport.string(request.body, "provider"),
                    to: team.name, role: role, by: PeopleSupport.actor(request))
                return .created(
                    Self.json(group),
                    location: "\(RESTAPI.prefix)/teams/\(team.id.rawValue)/groups/\(group.id.rawValue)")
            },
            APIRoute(
                .delete, "/teams/{id}/groups/{group_id}", operationID: "removeTeamGroup",
                summary: "Removes a provider group from the team's members (owners and administrators).",
                tags: ["teams"], access: .user, parameters: [Self.teamID, Self.groupID],
                responses: [APIResponseSpec(.noContent, "Removed.")]
            ) { [store, teams] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                try await teams.removeGroup(
                    TeamGroupLink.ID(try PeopleSupport.id(request, "group_id")), from: team.name,
                    by: PeopleSupport.actor(request))
                return .noContent
            },
        ]
    }

    /// The `TeamGroup` document.
    static func json(_ group: TeamGroupLink) -> JSONValue {
        .object([
            ("id", .integer(group.id.rawValue)), ("provider", .string(group.providerID)),
            ("group", .string(group.group)), ("role", .string(group.role.rawValue)),
            ("created_at", JSONValue.timestamp(group.createdAt)), ("created_by", JSONValue.optional(group.createdBy)),
        ])
    }
}
