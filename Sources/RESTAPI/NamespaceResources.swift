import Administration
import Foundation
import HTTPCore
import Storage

/// `namespaces`: list (policy-scoped), create, show, update (description, visibility, team), delete;
/// `namespaces/{ns}/repositories` and `namespaces/{ns}/activities`. Handlers parse, call
/// `NamespaceAdministration`, render.
public struct NamespaceResources: Sendable {
    private let namespaces: NamespaceAdministration

    /// Resources over `namespaces`.
    public init(namespaces: NamespaceAdministration) {
        self.namespaces = namespaces
    }

    static let visibilitySchema = JSONSchema.string(allowed: ["private", "protected", "public"])

    /// The namespace document.
    public static let namespaceSchema = JSONSchema.named(
        "Namespace",
        .object([
            .required("id", .integer()),
            .required("name", .anyString),
            .required("team", .anyString, "The owning team's name."),
            .required("visibility", visibilitySchema),
            .required("kind", .string(allowed: ["regular", "personal", "global"])),
            .required("global", .boolean),
            .required("description", .nullable(.anyString)),
            .required("repository_count", .integer(minimum: 0)),
            .required("created_at", .timestamp),
        ]))

    /// A repository as a namespace's listing shows it: the `Repository` document.
    public static var repositoryListingSchema: JSONSchema { RepositoryResources.repositorySchema }

    static let activitySchema = JSONSchema.named(
        "Activity",
        .object([
            .required("id", .integer()),
            .required("time", .timestamp),
            .required("action", .anyString, "What happened (`tag.push`, `namespace.change_visibility`)."),
            .required("outcome", .anyString),
            .required("actor", .nullable(.anyString)),
            .required("target", .nullable(.anyString)),
        ]))

    static let description = JSONSchema.nullable(.string(maxLength: AdministrationLimits.descriptionLength))

    static let createSchema = JSONSchema.named(
        "NamespaceCreation",
        .object([
            .required("name", .string(minLength: 1, maxLength: 255)),
            .required("team", .string(minLength: 1, maxLength: 255), "The owning team's name."),
            .optional("visibility", visibilitySchema, "private unless given."),
            .optional("description", description),
        ]))

    static let updateSchema = JSONSchema.named(
        "NamespaceUpdate",
        .object([
            .optional("description", description),
            .optional("visibility", visibilitySchema),
            .optional("team", .string(minLength: 1, maxLength: 255), "Hand the namespace to this team."),
        ]))

    static let nsParameter = APIParameter.path(
        "ns", .string(minLength: 1, maxLength: 255, pattern: ContentAPI.textPattern), "The namespace's name.")

    /// The routes, in document order.
    public var routes: [APIRoute] {
        let namespaces = namespaces
        let listing = APIListing(sortFields: ["name", "created_at"], defaultSort: "name")
        return [
            APIRoute(
                .get, "/namespaces", operationID: "listNamespaces",
                summary: "The namespaces the caller may see (all for administrators).", tags: ["namespaces"],
                access: .user, listing: listing,
                responses: [APIResponseSpec(.ok, "One page of namespaces.", .array(Self.namespaceSchema))]
            ) { request in
                let caller = try ContentAPI.requiredCaller(request)
                let page = try await ContentAPI.call {
                    try await namespaces.list(
                        ContentAPI.servicePage(request, default: NamespaceSortField.name), by: caller)
                }
                return ContentAPI.page(page, of: request, Self.json)
            },
            APIRoute(
                .post, "/namespaces", operationID: "createNamespace",
                summary: "Creates a namespace owned by a team (private unless told otherwise).", tags: ["namespaces"],
                access: .user, requestBody: Self.createSchema,
                responses: [APIResponseSpec(.created, "The namespace.", Self.namespaceSchema, headers: ["Location"])]
            ) { request in
                let caller = try ContentAPI.requiredCaller(request)
                let body = request.body ?? .object([])
                let name = body["name"]?.stringValue ?? ""
                try ContentAPI.checkNamespaceRestriction(request, name)
                let visibility =
                    body["visibility"]?.stringValue.flatMap(NamespaceVisibility.init(rawValue:)) ?? .private
                let summary = try await ContentAPI.call {
                    try await namespaces.create(
                        name, team: body["team"]?.stringValue ?? "", visibility: visibility,
                        description: body["description"]?.stringValue, by: caller)
                }
                return .created(Self.json(summary), location: "/namespaces/\(summary.name)")
            },
            APIRoute(
                .get, "/namespaces/{ns}", operationID: "getNamespace", summary: "A namespace the caller may see.",
                tags: ["namespaces"], access: .user, parameters: [Self.nsParameter],
                responses: [APIResponseSpec(.ok, "The namespace.", Self.namespaceSchema)]
            ) { request in
                let (caller, name) = try Self.target(request)
                return .ok(Self.json(try await ContentAPI.call { try await namespaces.show(name, by: caller) }))
            },
            APIRoute(
                .patch, "/namespaces/{ns}", operationID: "updateNamespace",
                summary: "Changes the description, the visibility and the owning team: each checked, all or none.",
                tags: ["namespaces"], access: .user, parameters: [Self.nsParameter], requestBody: Self.updateSchema,
                responses: [APIResponseSpec(.ok, "The namespace as changed.", Self.namespaceSchema)]
            ) { request in
                let (caller, name) = try Self.target(request)
                let body = request.body ?? .object([])
                let changes = NamespaceChanges(
                    description: body["description"].map { $0.stringValue },
                    visibility: body["visibility"]?.stringValue.flatMap(NamespaceVisibility.init(rawValue:)),
                    team: body["team"]?.stringValue)
                let summary = try await ContentAPI.call { try await namespaces.update(name, changes, by: caller) }
                return .ok(Self.json(summary))
            },
            APIRoute(
                .delete, "/namespaces/{ns}", operationID: "deleteNamespace",
                summary: "Deletes an empty namespace (409 while it holds repositories).", tags: ["namespaces"],
                access: .user, parameters: [Self.nsParameter],
                responses: [APIResponseSpec(.noContent, "Deleted.")]
            ) { request in
                let (caller, name) = try Self.target(request)
                try await ContentAPI.call { try await namespaces.delete(name, by: caller) }
                return .noContent
            },
            APIRoute(
                .get, "/namespaces/{ns}/repositories", operationID: "listNamespaceRepositories",
                summary: "The namespace's repositories with tag and star counts, paged by the database.",
                tags: ["namespaces", "repositories"], access: .user, parameters: [Self.nsParameter],
                listing: APIListing(sortFields: ["name", "created_at", "updated_at"], defaultSort: "name"),
                responses: [APIResponseSpec(.ok, "One page of repositories.", .array(Self.repositoryListingSchema))]
            ) { request in
                let (caller, name) = try Self.target(request)
                let page = try await ContentAPI.call {
                    try await namespaces.repositories(
                        of: name, ContentAPI.servicePage(request, default: RepositorySortField.name), by: caller)
                }
                return ContentAPI.page(page, of: request) { Self.json($0, namespace: name) }
            },
            APIRoute(
                .get, "/namespaces/{ns}/activities", operationID: "listNamespaceActivities",
                summary:
                    "What happened in the namespace (audit events about it, its repositories and tags), newest first.",
                tags: ["namespaces"], access: .user, parameters: [Self.nsParameter],
                listing: APIListing(sortFields: ["time"], defaultSort: "-time"),
                responses: [APIResponseSpec(.ok, "One page of events.", .array(Self.activitySchema))]
            ) { request in
                let (caller, name) = try Self.target(request)
                let paging = ContentAPI.servicePage(request, default: RepositorySortField.name)
                let page = try await ContentAPI.call {
                    try await namespaces.activities(of: name, offset: paging.offset, limit: paging.limit, by: caller)
                }
                return ContentAPI.page(page, of: request, Self.json)
            },
        ]
    }

    private static func target(_ request: APIRequest) throws(APIError) -> (Caller, String) {
        let caller = try ContentAPI.requiredCaller(request)
        let name = request.pathParameters["ns"] ?? ""
        try ContentAPI.checkNamespaceRestriction(request, name)
        return (caller, name)
    }

    /// The `Namespace` document.
    static func json(_ namespace: NamespaceSummary) -> JSONValue {
        .object([
            ("id", .integer(namespace.id.rawValue)),
            ("name", .string(namespace.name)),
            ("team", .string(namespace.team)),
            ("visibility", .string(namespace.visibility.rawValue)),
            ("kind", .string(namespace.kind.rawValue)),
            ("global", .bool(namespace.kind == .global)),
            ("description", JSONValue.optional(namespace.description)),
            ("repository_count", .integer(Int64(namespace.repositoryCount))),
            ("created_at", JSONValue.timestamp(namespace.createdAt)),
        ])
    }

    /// The `RepositoryListing` document of a repository of the namespace named `namespace`.
    static func json(_ listing: RepositoryListing, namespace: String) -> JSONValue {
        let repository = listing.repository
        let isGlobal = namespace == NamespaceNaming.globalNamespaceName
        return .object([
            ("id", .integer(repository.id.rawValue)),
            ("name", .string(repository.name)),
            ("full_name", .string(isGlobal ? repository.name : "\(namespace)/\(repository.name)")),
            ("namespace", .string(namespace)),
            ("registry", .string(repository.registry)),
            ("description", JSONValue.optional(repository.description)),
            ("tag_count", .integer(Int64(listing.tagCount))),
            ("star_count", .integer(Int64(listing.starCount))),
            ("created_at", JSONValue.timestamp(repository.createdAt)),
            ("updated_at", JSONValue.timestamp(repository.updatedAt)),
        ])
    }

    static func json(_ event: AuditEvent) -> JSONValue {
        .object([
            ("id", .integer(event.id.rawValue)),
            ("time", JSONValue.timestamp(event.time)),
            ("action", .string(event.action)),
            ("outcome", .string(event.outcome.rawValue)),
            ("actor", JSONValue.optional(event.actorName)),
            ("target", JSONValue.optional(event.target)),
        ])
    }
}
