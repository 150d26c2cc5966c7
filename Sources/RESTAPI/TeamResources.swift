import Administration
import Foundation
import Storage

/// `teams`: teams (list, show, create, update, delete), their members (`teams/{id}/members`) and robot
/// accounts (`teams/{id}/robots`). Handlers parse, call `TeamAdministration` or `RobotAccountService`, and
/// render; Portus's rules (an administrator is always an owner, the last owner stays, hidden teams are not
/// found) are the services'.
public struct TeamResources: Sendable {
    let store: any Store
    let teams: TeamAdministration
    let robots: RobotAccountService

    /// Resources over `teams` and `robots`, finding teams and users by id in `store`.
    public init(store: any Store, teams: TeamAdministration, robots: RobotAccountService) {
        self.store = store
        self.teams = teams
        self.robots = robots
    }

    static let teamID = PeopleSupport.idParameter("id", "The team's id.")
    static let userID = PeopleSupport.idParameter("user_id", "The member's user id.")
    static let robotID = PeopleSupport.idParameter("robot_id", "The robot's id.")
    static let role = JSONSchema.string(allowed: TeamRole.allCases.map(\.rawValue))

    static let teamSchema = JSONSchema.named(
        "Team",
        .object([
            .required("id", .integer()),
            .required("name", .anyString),
            .required("description", .nullable(.anyString)),
            .required("member_count", .integer()),
            .required("namespace_count", .integer()),
            .required("role", .nullable(role), "The caller's role in the team, or null."),
            .required("created_at", .timestamp),
        ]))

    static let memberSchema = JSONSchema.named(
        "TeamMember",
        .object([
            .required("user_id", .integer()), .required("username", .anyString), .required("role", role),
            .required("added_at", .timestamp),
        ]))

    /// The `TeamDetails` document: the team, its members and namespaces.
    public static let teamDetailsSchema = JSONSchema.named(
        "TeamDetails",
        .object([
            .required("team", teamSchema), .required("members", .array(memberSchema)),
            .required("namespaces", .array(.anyString)),
        ]))

    static let createTeamSchema = JSONSchema.named(
        "NewTeam",
        .object([
            .required("name", .string(minLength: 1, maxLength: 255)),
            .optional("description", .nullable(.string(maxLength: AdministrationLimits.descriptionLength))),
            .optional("owner", .string(minLength: 1, maxLength: 255), "Another first owner (administrators)."),
        ]))

    static let updateTeamSchema = JSONSchema.named(
        "TeamUpdate",
        .object([
            .optional("name", .string(minLength: 1, maxLength: 255)),
            .optional("description", .nullable(.string(maxLength: AdministrationLimits.descriptionLength))),
        ]))

    static let newMemberSchema = JSONSchema.named(
        "NewTeamMember",
        .object([
            .required("username", .string(minLength: 1, maxLength: 255)),
            .optional("role", role, "viewer unless given; an administrator is always an owner."),
        ]))

    /// The routes, in document order.
    public var routes: [APIRoute] {
        [
            APIRoute(
                .get, "/teams", operationID: "listTeams",
                summary: "Teams: every visible team for administrators, the caller's own for others.", tags: ["teams"],
                access: .user, listing: APIListing(sortFields: ["name", "created_at"], defaultSort: "name"),
                responses: [APIResponseSpec(.ok, "One page of teams.", .array(Self.teamSchema))]
            ) { [teams] request in
                let page = try await teams.list(
                    PeopleSupport.page(request, default: TeamSortField.name), by: PeopleSupport.actor(request))
                return .page(page.items.map(Self.json), total: page.total, of: request)
            },
            APIRoute(
                .post, "/teams", operationID: "createTeam", summary: "Creates a team; its creator becomes its owner.",
                tags: ["teams"], access: .user, requestBody: Self.createTeamSchema,
                responses: [APIResponseSpec(.created, "The team.", Self.teamDetailsSchema, headers: ["Location"])]
            ) { [teams] request in
                let body = request.body
                let details = try await teams.create(
                    try PeopleSupport.string(body, "name"),
                    description: PeopleSupport.optionalString(body, "description") ?? nil,
                    owner: body?["owner"]?.stringValue, by: PeopleSupport.actor(request))
                return .created(Self.json(details), location: "\(RESTAPI.prefix)/teams/\(details.team.id.rawValue)")
            },
            APIRoute(
                .get, "/teams/{id}", operationID: "getTeam",
                summary: "A team with its members and namespaces (members and administrators).", tags: ["teams"],
                access: .user, parameters: [Self.teamID],
                responses: [APIResponseSpec(.ok, "The team.", Self.teamDetailsSchema)]
            ) { [store, teams] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                return .ok(Self.json(try await teams.show(team.name, by: PeopleSupport.actor(request))))
            },
            APIRoute(
                .patch, "/teams/{id}", operationID: "updateTeam",
                summary: "Renames a team or changes its description (owners and administrators).", tags: ["teams"],
                access: .user, parameters: [Self.teamID], requestBody: Self.updateTeamSchema,
                responses: [APIResponseSpec(.ok, "The team as changed.", Self.teamDetailsSchema)]
            ) { [store, teams] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                let details = try await teams.update(
                    team.name, newName: request.body?["name"]?.stringValue,
                    description: PeopleSupport.optionalString(request.body, "description"),
                    by: PeopleSupport.actor(request))
                return .ok(Self.json(details))
            },
            APIRoute(
                .delete, "/teams/{id}", operationID: "deleteTeam",
                summary: "Deletes a team; its namespaces go to the team named by `heir` (owners and administrators).",
                tags: ["teams"], access: .user,
                parameters: [
                    Self.teamID,
                    .query(
                        "heir", .string(minLength: 1, maxLength: 255),
                        "The team (by name) to receive the namespaces; needed when the team owns any."),
                ],
                responses: [APIResponseSpec(.noContent, "Deleted.")]
            ) { [store, teams] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                try await teams.delete(
                    team.name, handingNamespacesTo: request.query("heir"), by: PeopleSupport.actor(request))
                return .noContent
            },
        ] + memberRoutes + groupRoutes + robotRoutes
    }

    private var memberRoutes: [APIRoute] {
        [
            APIRoute(
                .get, "/teams/{id}/members", operationID: "listTeamMembers",
                summary: "A team's members (members and administrators).", tags: ["teams"], access: .user,
                parameters: [Self.teamID],
                listing: APIListing(sortFields: ["username", "role", "added_at"], defaultSort: "username"),
                responses: [APIResponseSpec(.ok, "One page of members.", .array(Self.memberSchema))]
            ) { [store, teams] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                let members = try await teams.show(team.name, by: PeopleSupport.actor(request)).members
                let ordered = PeopleSupport.sorted(members, request) { member, field in
                    switch field {
                    case "role": member.role.rawValue
                    case "added_at": SystemResources.timestamp(member.addedAt)
                    default: member.username
                    }
                }
                return .page(PeopleSupport.slice(ordered, request).map(Self.json), total: members.count, of: request)
            },
            APIRoute(
                .post, "/teams/{id}/members", operationID: "addTeamMember",
                summary: "Adds a user to a team (owners and administrators).", tags: ["teams"], access: .user,
                parameters: [Self.teamID], requestBody: Self.newMemberSchema,
                responses: [APIResponseSpec(.created, "The membership.", Self.memberSchema, headers: ["Location"])]
            ) { [store, teams] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                let role = request.body?["role"]?.stringValue.flatMap(TeamRole.init(rawValue:)) ?? .viewer
                let member = try await teams.addMember(
                    try PeopleSupport.string(request.body, "username"), to: team.name, role: role,
                    by: PeopleSupport.actor(request))
                return .created(
                    Self.json(member),
                    location: "\(RESTAPI.prefix)/teams/\(team.id.rawValue)/members/\(member.userID.rawValue)")
            },
            APIRoute(
                .patch, "/teams/{id}/members/{user_id}", operationID: "changeTeamMemberRole",
                summary: "Changes a member's role; never demotes the last owner or an administrator.",
                tags: ["teams"], access: .user, parameters: [Self.teamID, Self.userID],
                requestBody: .named("TeamMemberUpdate", .object([.required("role", Self.role)])),
                responses: [APIResponseSpec(.ok, "The membership as changed.", Self.memberSchema)]
            ) { [store, teams] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                let user = try await PeopleSupport.user(PeopleSupport.id(request, "user_id"), in: store)
                guard let role = request.body?["role"]?.stringValue.flatMap(TeamRole.init(rawValue:)) else {
                    throw APIError(.badRequest, code: "FIELD_REQUIRED", message: "role is required.", field: "role")
                }
                let member = try await teams.setRole(
                    role, of: user.username, in: team.name, by: PeopleSupport.actor(request))
                return .ok(Self.json(member))
            },
            APIRoute(
                .delete, "/teams/{id}/members/{user_id}", operationID: "removeTeamMember",
                summary: "Removes a member; never the last owner (owners and administrators).", tags: ["teams"],
                access: .user, parameters: [Self.teamID, Self.userID],
                responses: [APIResponseSpec(.noContent, "Removed.")]
            ) { [store, teams] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                let user = try await PeopleSupport.user(PeopleSupport.id(request, "user_id"), in: store)
                try await teams.removeMember(user.username, from: team.name, by: PeopleSupport.actor(request))
                return .noContent
            },
        ]
    }

    /// The `Team` document.
    static func json(_ team: TeamSummary) -> JSONValue {
        .object([
            ("id", .integer(team.id.rawValue)),
            ("name", .string(team.name)),
            ("description", JSONValue.optional(team.description)),
            ("member_count", .integer(Int64(team.memberCount))),
            ("namespace_count", .integer(Int64(team.namespaceCount))),
            ("role", JSONValue.optional(team.yourRole?.rawValue)),
            ("created_at", JSONValue.timestamp(team.createdAt)),
        ])
    }

    /// The `TeamDetails` document.
    static func json(_ details: TeamDetails) -> JSONValue {
        .object([
            ("team", json(details.team)), ("members", .array(details.members.map(json))),
            ("namespaces", PeopleSupport.list(details.namespaces)),
        ])
    }

    /// The `TeamMember` document.
    static func json(_ member: TeamMember) -> JSONValue {
        .object([
            ("user_id", .integer(member.userID.rawValue)), ("username", .string(member.username)),
            ("role", .string(member.role.rawValue)), ("added_at", JSONValue.timestamp(member.addedAt)),
        ])
    }
}
