import Administration
import Foundation
import Storage

/// `teams/{id}/robots`: a team's robot accounts over `RobotAccountService` (owners and administrators create
/// and revoke, members list and show; the token is in the creation's answer only).
extension TeamResources {
    /// The `RobotAccount` document (never its token).
    public static let robotSchema = JSONSchema.named(
        "RobotAccount",
        .object([
            .required("id", .integer()),
            .required("name", .anyString),
            .required("login_name", .anyString, "What it logs in as: <team>+<name>."),
            .required("prefix", .anyString, "The visible start of its token."),
            .required("actions", .array(.anyString)),
            .required("namespaces", .nullable(.array(.anyString)), "The team namespaces it is limited to, or null."),
            .required("note", .nullable(.anyString)),
            .required("created_by", .anyString),
            .required("created_at", .timestamp),
            .required("expires_at", .timestamp),
            .required("last_used_at", .nullable(.timestamp)),
            .required("revoked_at", .nullable(.timestamp)),
        ]))

    static let createdRobotSchema = JSONSchema.named(
        "CreatedRobotAccount",
        .object([
            .required("token", .anyString, "The robot's token (its docker login password): shown this once."),
            .required("robot", robotSchema),
        ]))

    static let newRobotSchema = JSONSchema.named(
        "NewRobotAccount",
        .object([
            .required("name", .string(minLength: 1, maxLength: 64)),
            .required(
                "actions",
                .array(.string(allowed: RobotAccountService.permittedActions.sorted()), maxItems: 3),
                "pull, push (brings pull) and delete."),
            .required("expires_at", .timestamp, "At most token.robots.maxLifetime away."),
            .optional("namespaces", .nullable(.array(.string(minLength: 1, maxLength: 255), maxItems: 100))),
            .optional("note", .nullable(.string(maxLength: RobotAccountService.maximumNoteLength))),
        ]))

    var robotRoutes: [APIRoute] {
        [
            APIRoute(
                .get, "/teams/{id}/robots", operationID: "listTeamRobots",
                summary: "A team's robot accounts, without tokens (members and administrators).", tags: ["robots"],
                access: .user, parameters: [Self.teamID],
                listing: APIListing(sortFields: ["name", "created_at", "expires_at"], defaultSort: "name"),
                responses: [APIResponseSpec(.ok, "One page of robots.", .array(Self.robotSchema))]
            ) { [store, robots] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                let all = try await robots.list(team: team.name, by: PeopleSupport.actor(request))
                let ordered = PeopleSupport.sorted(all, request) { robot, field in
                    switch field {
                    case "created_at": SystemResources.timestamp(robot.createdAt)
                    case "expires_at": SystemResources.timestamp(robot.expiresAt)
                    default: robot.name
                    }
                }
                return .page(PeopleSupport.slice(ordered, request).map(Self.json), total: all.count, of: request)
            },
            APIRoute(
                .post, "/teams/{id}/robots", operationID: "createTeamRobot",
                summary: "Creates a robot account; its token is in this answer only (owners and administrators).",
                tags: ["robots"], access: .user, parameters: [Self.teamID], requestBody: Self.newRobotSchema,
                responses: [
                    APIResponseSpec(
                        .created, "The robot and its token.", Self.createdRobotSchema, headers: ["Location"])
                ]
            ) { [store, robots] request in
                let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
                let body = request.body
                guard let expiresAt = try PeopleSupport.date(body, "expires_at") else {
                    throw APIError(
                        .badRequest, code: "FIELD_REQUIRED", message: "expires_at is required.", field: "expires_at")
                }
                let created = try await robots.create(
                    team: team.name, name: try PeopleSupport.string(body, "name"),
                    actions: PeopleSupport.stringSet(body, "actions") ?? [],
                    namespaces: PeopleSupport.stringSet(body, "namespaces"), expiresAt: expiresAt,
                    note: PeopleSupport.optionalString(body, "note") ?? nil, by: PeopleSupport.actor(request))
                var response = APIResponse.created(
                    .object([("token", .string(created.plaintext)), ("robot", Self.json(created.robot))]),
                    location: "\(RESTAPI.prefix)/teams/\(team.id.rawValue)/robots/\(created.robot.id.rawValue)")
                response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
                return response
            },
            APIRoute(
                .get, "/teams/{id}/robots/{robot_id}", operationID: "getTeamRobot",
                summary: "One robot account, without its token (members and administrators).", tags: ["robots"],
                access: .user, parameters: [Self.teamID, Self.robotID],
                responses: [APIResponseSpec(.ok, "The robot.", Self.robotSchema)]
            ) { [store, robots] request in
                let (team, name) = try await Self.robot(request, store: store, robots: robots)
                let robot = try await robots.show(team: team.name, name: name, by: PeopleSupport.actor(request))
                return .ok(Self.json(robot))
            },
            APIRoute(
                .delete, "/teams/{id}/robots/{robot_id}", operationID: "revokeTeamRobot",
                summary: "Revokes a robot account; its token stops working at once (owners and administrators).",
                tags: ["robots"], access: .user, parameters: [Self.teamID, Self.robotID],
                responses: [APIResponseSpec(.noContent, "Revoked (or already revoked).")]
            ) { [store, robots] request in
                let (team, name) = try await Self.robot(request, store: store, robots: robots)
                try await robots.revoke(team: team.name, name: name, by: PeopleSupport.actor(request))
                return .noContent
            },
        ]
    }

    /// The team and robot name of a `/teams/{id}/robots/{robot_id}` request, or 404. Reading the list is
    /// the service's membership check, so a stranger learns nothing about the team's robots.
    private static func robot(_ request: APIRequest, store: any Store, robots: RobotAccountService) async throws
        -> (Team, String)
    {
        let team = try await PeopleSupport.team(PeopleSupport.id(request, "id"), in: store)
        let robotID = try PeopleSupport.id(request, "robot_id")
        let all = try await robots.list(team: team.name, by: PeopleSupport.actor(request))
        guard let robot = all.first(where: { $0.id.rawValue == robotID }) else {
            throw APIError.notFound("Team \(team.id) has no robot \(robotID).")
        }
        return (team, robot.name)
    }

    /// The `RobotAccount` document (never the token or its hash).
    static func json(_ robot: RobotAccountSummary) -> JSONValue {
        .object([
            ("id", .integer(robot.id.rawValue)),
            ("name", .string(robot.name)),
            ("login_name", .string(robot.loginName)),
            ("prefix", .string(robot.prefix)),
            ("actions", PeopleSupport.list(robot.actions)),
            ("namespaces", robot.namespaces.map(PeopleSupport.list) ?? .null),
            ("note", JSONValue.optional(robot.note)),
            ("created_by", .string(robot.createdBy)),
            ("created_at", JSONValue.timestamp(robot.createdAt)),
            ("expires_at", JSONValue.timestamp(robot.expiresAt)),
            ("last_used_at", JSONValue.timestamp(robot.lastUsedAt)),
            ("revoked_at", JSONValue.timestamp(robot.revokedAt)),
        ])
    }
}
