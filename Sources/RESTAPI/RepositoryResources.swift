import Administration
import Diagnostics
import Foundation
import HTTPCore
import Storage

/// What a deletion through the registry removed.
public struct APIDeletionOutcome: Sendable, Hashable {
    /// The manifest digests the registry deleted.
    public var digests: [String]
    /// The tags that went with them.
    public var removedTags: [String]
    /// Whether the repository itself went.
    public var repositoryRemoved: Bool

    /// Creates an outcome.
    public init(digests: [String], removedTags: [String], repositoryRemoved: Bool) {
        self.digests = digests
        self.removedTags = removedTags
        self.repositoryRemoved = repositoryRemoved
    }
}

/// Deletes repositories and tags at their registry first, then in the database (ServerApp wires
/// `RegistryIntegration.RepositoryDeletion`; this module holds no HTTP client).
///
/// Contract: asks the policy for the acting user, asks the registry, and changes the database only once the
/// registry accepted. Throws `APIError`s: 403 `DENIED` when the policy refuses, 422 when the registry refuses
/// (deletion disabled there, the manifest already gone), 503 `UNAVAILABLE` when it cannot be reached.
public protocol APIRepositoryDeleting: Sendable {
    /// Deletes every manifest of the repository `fullName` (`ns/app`, `busybox`) of `registry`, then the repository.
    func deleteRepository(_ fullName: String, registry: String, by caller: APICaller) async throws -> APIDeletionOutcome
    /// Deletes the manifest `fullName:tag` of `registry` points at, with every tag pointing at it.
    func deleteTag(_ tag: String, in fullName: String, registry: String, by caller: APICaller) async throws
        -> APIDeletionOutcome
}

/// `repositories/{ns}/{repo}` (show, update the description, delete), `…/tags` (paged, or grouped by digest),
/// `…/tags/{tag}` (show, delete), `…/star` (PUT/DELETE) and `users/me/stars`.
///
/// `{ns}` is the namespace's name, or `_` for the global namespace; `{repo}` is the name inside it, a nested
/// name's `/` written `%252F` (see `ContentAPI.repositoryPath`).
public struct RepositoryResources: Sendable {
    private let repositories: RepositoryAdministration
    private let stars: StarService
    private let deleter: (any APIRepositoryDeleting)?

    /// Resources over the services; `deleter` is nil when no registry is configured (deletes answer 503).
    public init(repositories: RepositoryAdministration, stars: StarService, deleter: (any APIRepositoryDeleting)?) {
        self.repositories = repositories
        self.stars = stars
        self.deleter = deleter
    }

    /// The repository document.
    public static let repositorySchema = JSONSchema.named(
        "Repository",
        .object([
            .required("id", .integer()),
            .required("name", .anyString, "The name inside the namespace."),
            .required("full_name", .anyString, "The image path (`ns/app`, or `app` in the global namespace)."),
            .required("namespace", .anyString),
            .required("registry", .anyString),
            .required("description", .nullable(.anyString)),
            .required("star_count", .integer(minimum: 0)),
            .required("tag_count", .integer(minimum: 0)),
            .required("created_at", .timestamp),
            .required("updated_at", .timestamp),
        ]))

    /// The tag document.
    public static let tagSchema = JSONSchema.named(
        "Tag",
        .object([
            .required("id", .integer()),
            .required("name", .anyString),
            .required("digest", .anyString, "The manifest digest (`sha256:…`)."),
            .required("media_type", .nullable(.anyString), "The manifest's media type."),
            .required("platforms", .array(.anyString), "For an index: `os/arch[/variant]` of each image."),
            .required("size", .nullable(.integer(minimum: 0)), "Config plus layers, in bytes."),
            .required("pushed_by", .nullable(.anyString)),
            .required("pushed_at", .timestamp, "When the tag last moved."),
            .required("created_at", .timestamp, "When the tag was first pushed."),
            .required("last_pulled_at", .nullable(.timestamp)),
            .required("pull_count", .integer(minimum: 0)),
        ]))

    static let tagGroupSchema = JSONSchema.named(
        "TagGroup",
        .object([.required("digest", .anyString), .required("tags", .array(tagSchema))]))

    static let starSchema = JSONSchema.named(
        "Star",
        .object([
            .required("repository", .anyString, "The repository's full name."),
            .required("starred", .boolean),
            .required("changed", .boolean, "Whether this call changed anything."),
            .required("star_count", .integer(minimum: 0)),
        ]))

    static let deletionSchema = JSONSchema.named(
        "Deletion",
        .object([
            .required("digests", .array(.anyString)), .required("removed_tags", .array(.anyString)),
            .required("repository_removed", .boolean),
        ]))

    static let starredSchema = JSONSchema.named(
        "StarredRepository",
        .object([
            .required("id", .integer()), .required("full_name", .anyString),
            .required("description", .nullable(.anyString)), .required("registry", .nullable(.anyString)),
            .required("star_count", .integer(minimum: 0)),
        ]))

    static let updateSchema = JSONSchema.named(
        "RepositoryUpdate",
        .object([.required("description", .nullable(.string(maxLength: AdministrationLimits.descriptionLength)))]))

    static let parameters: [APIParameter] = [
        .path(
            "ns", .string(minLength: 1, maxLength: 255, pattern: ContentAPI.namespacePattern),
            "The namespace's name, or `_` for the global namespace."),
        .path(
            "repo", .string(minLength: 1, maxLength: 1024, pattern: ContentAPI.textPattern),
            "The name inside the namespace; `/` written `%252F`."),
        .query(
            "registry", .string(minLength: 1, maxLength: 255, pattern: ContentAPI.textPattern),
            "The registry, when several hold the name."),
    ]
    static let tagParameter = APIParameter.path(
        "tag", .string(minLength: 1, maxLength: 128, pattern: ContentAPI.tagPattern), "The tag's name.")

    /// The routes, in document order.
    public var routes: [APIRoute] {
        let repositories = repositories, stars = stars, deleter = deleter
        let base = "/repositories/{ns}/{repo}"
        return [
            APIRoute(
                .get, base, operationID: "getRepository",
                summary: "A repository with its description, star count and tag count.", tags: ["repositories"],
                access: .anonymous, parameters: Self.parameters,
                responses: [APIResponseSpec(.ok, "The repository.", Self.repositorySchema)]
            ) { request in
                let path = try ContentAPI.repositoryPath(request)
                let details = try await ContentAPI.call {
                    try await repositories.show(
                        path, registry: request.query("registry"), by: ContentAPI.serviceCaller(request.caller))
                }
                return .ok(Self.json(details))
            },
            APIRoute(
                .patch, base, operationID: "updateRepository", summary: "Changes the repository's description.",
                tags: ["repositories"], access: .user, parameters: Self.parameters, requestBody: Self.updateSchema,
                responses: [APIResponseSpec(.ok, "The repository as changed.", Self.repositorySchema)]
            ) { request in
                let path = try ContentAPI.repositoryPath(request)
                let caller = try ContentAPI.requiredCaller(request)
                let details = try await ContentAPI.call {
                    try await repositories.updateDescription(
                        request.body?["description"]?.stringValue, of: path, registry: request.query("registry"),
                        by: caller)
                }
                return .ok(Self.json(details))
            },
            APIRoute(
                .delete, base, operationID: "deleteRepository",
                summary: "Deletes the repository at its registry (every manifest), then here.", tags: ["repositories"],
                access: .user, parameters: Self.parameters,
                responses: [APIResponseSpec(.ok, "What the registry deleted.", Self.deletionSchema)]
            ) { request in
                let (details, apiCaller) = try await Self.deletable(request, repositories)
                guard let deleter else { throw Self.noRegistry }
                let outcome = try await deleter.deleteRepository(
                    details.fullName, registry: details.registry, by: apiCaller)
                return .ok(Self.json(outcome))
            },
            APIRoute(
                .get, base + "/tags", operationID: "listRepositoryTags",
                summary: "The repository's tags, paged by the database; `grouped=true` groups them by digest.",
                tags: ["repositories"], access: .anonymous,
                parameters: Self.parameters + [
                    .query("grouped", .boolean, "One entry per manifest digest, most recently pushed first.")
                ],
                listing: APIListing(sortFields: ["name", "pushed_at", "size"], defaultSort: "name"),
                responses: [
                    APIResponseSpec(
                        .ok, "One page of tags, or of digest groups when grouped.",
                        .anyOf([.array(Self.tagSchema), .array(Self.tagGroupSchema)]))
                ]
            ) { request in
                let path = try ContentAPI.repositoryPath(request)
                let caller = ContentAPI.serviceCaller(request.caller)
                let registry = request.query("registry")
                let paging = ContentAPI.servicePage(request, default: TagSortField.name)
                if request.query("grouped") == "true" {
                    let page = try await ContentAPI.call {
                        try await repositories.tagGroups(
                            of: path, registry: registry, offset: paging.offset, limit: paging.limit, by: caller)
                    }
                    return ContentAPI.page(page, of: request) { group in
                        .object([("digest", .string(group.digest)), ("tags", .array(group.tags.map(Self.json)))])
                    }
                }
                let page = try await ContentAPI.call {
                    try await repositories.tags(of: path, registry: registry, paging, by: caller)
                }
                return ContentAPI.page(page, of: request, Self.json)
            },
            APIRoute(
                .get, base + "/tags/{tag}", operationID: "getRepositoryTag", summary: "One tag of the repository.",
                tags: ["repositories"], access: .anonymous, parameters: Self.parameters + [Self.tagParameter],
                responses: [APIResponseSpec(.ok, "The tag.", Self.tagSchema)]
            ) { request in
                let path = try ContentAPI.repositoryPath(request)
                let tag = try ContentAPI.tagName(request)
                let found = try await ContentAPI.call {
                    try await repositories.tag(
                        tag, of: path, registry: request.query("registry"),
                        by: ContentAPI.serviceCaller(request.caller))
                }
                return .ok(Self.json(found))
            },
            APIRoute(
                .delete, base + "/tags/{tag}", operationID: "deleteRepositoryTag",
                summary: "Deletes the manifest the tag points at, at the registry, with every tag pointing at it.",
                tags: ["repositories"], access: .user, parameters: Self.parameters + [Self.tagParameter],
                responses: [APIResponseSpec(.ok, "What the registry deleted.", Self.deletionSchema)]
            ) { request in
                let (details, apiCaller) = try await Self.deletable(request, repositories)
                let tag = try ContentAPI.tagName(request)
                _ = try await ContentAPI.call {
                    try await repositories.tag(
                        tag, of: ContentAPI.repositoryPath(request), registry: details.registry,
                        by: ContentAPI.serviceCaller(apiCaller))
                }
                guard let deleter else { throw Self.noRegistry }
                let outcome = try await deleter.deleteTag(
                    tag, in: details.fullName, registry: details.registry, by: apiCaller)
                return .ok(Self.json(outcome))
            },
            APIRoute(
                .put, base + "/star", operationID: "starRepository",
                summary: "Stars the repository for the caller (idempotent).", tags: ["repositories", "stars"],
                access: .user, parameters: Self.parameters,
                responses: [APIResponseSpec(.ok, "The caller's star state.", Self.starSchema)]
            ) { request in try await Self.star(request, stars, starring: true) },
            APIRoute(
                .delete, base + "/star", operationID: "unstarRepository",
                summary: "Removes the caller's star (idempotent).", tags: ["repositories", "stars"], access: .user,
                parameters: Self.parameters,
                responses: [APIResponseSpec(.ok, "The caller's star state.", Self.starSchema)]
            ) { request in try await Self.star(request, stars, starring: false) },
            APIRoute(
                .get, "/users/me/stars", operationID: "listMyStars",
                summary: "The repositories the caller starred and may still see, most recently starred first.",
                tags: ["users", "stars"], access: .user,
                listing: APIListing(sortFields: ["starred_at"], defaultSort: "-starred_at"),
                responses: [APIResponseSpec(.ok, "One page of repositories.", .array(Self.starredSchema))]
            ) { request in
                let caller = try ContentAPI.requiredCaller(request)
                let page = request.page ?? PageRequest(page: 1, perPage: PageRequest.defaultPerPage, sort: [])
                let found = try await ContentAPI.call {
                    try await stars.starred(as: caller, page: PageNumber(page: page.page, perPage: page.perPage))
                }
                return .page(found.hits.map(Self.starredJSON), total: found.total, of: request)
            },
        ]
    }

    static let noRegistry = APIError.unavailable("No registry is configured, so nothing can be deleted there.")

    /// The repository a delete names, visible to the caller, and the caller (whose token must permit writing).
    private static func deletable(_ request: APIRequest, _ repositories: RepositoryAdministration) async throws
        -> (RepositoryDetails, APICaller)
    {
        let apiCaller = try request.requireCaller()
        let path = try ContentAPI.repositoryPath(request)
        let details = try await ContentAPI.call {
            try await repositories.show(
                path, registry: request.query("registry"), by: ContentAPI.serviceCaller(apiCaller))
        }
        return (details, apiCaller)
    }

    private static func star(_ request: APIRequest, _ stars: StarService, starring: Bool) async throws -> APIResponse {
        let path = try ContentAPI.repositoryPath(request)
        let caller = try ContentAPI.requiredCaller(request)
        let reference = path.namespace.map { "\($0)/\(path.name)" } ?? path.name
        let registry = request.query("registry")
        do {
            let result =
                starring
                ? try await ContentAPI.call { try await stars.star(reference, registry: registry, as: caller) }
                : try await ContentAPI.call { try await stars.unstar(reference, registry: registry, as: caller) }
            return .ok(
                .object([
                    ("repository", .string(result.name)), ("starred", .bool(result.isStarred)),
                    ("changed", .bool(result.changed)), ("star_count", .integer(Int64(result.starCount))),
                ]))
        } catch let error as SearchError where error.code == .repositoryNotFound {
            throw APIError.notFound("No repository named \(InertName.shown(path.description)) is visible to you.")
        }
    }

    /// The `Repository` document.
    static func json(_ details: RepositoryDetails) -> JSONValue {
        .object([
            ("id", .integer(details.id.rawValue)),
            ("name", .string(details.name)),
            ("full_name", .string(details.fullName)),
            ("namespace", .string(details.namespace)),
            ("registry", .string(details.registry)),
            ("description", JSONValue.optional(details.description)),
            ("star_count", .integer(Int64(details.starCount))),
            ("tag_count", .integer(Int64(details.tagCount))),
            ("created_at", JSONValue.timestamp(details.createdAt)),
            ("updated_at", JSONValue.timestamp(details.updatedAt)),
        ])
    }

    /// The `Tag` document.
    static func json(_ tag: Tag) -> JSONValue {
        .object([
            ("id", .integer(tag.id.rawValue)),
            ("name", .string(tag.name)),
            ("digest", .string(tag.digest)),
            ("media_type", JSONValue.optional(tag.mediaType)),
            ("platforms", .array(tag.platforms.map { .string($0) })),
            ("size", tag.size.map { .integer($0) } ?? .null),
            ("pushed_by", JSONValue.optional(tag.pushedByName)),
            ("pushed_at", JSONValue.timestamp(tag.updatedAt)),
            ("created_at", JSONValue.timestamp(tag.createdAt)),
            ("last_pulled_at", JSONValue.timestamp(tag.lastPulledAt)),
            ("pull_count", .integer(Int64(tag.pullCount))),
        ])
    }

    static func json(_ outcome: APIDeletionOutcome) -> JSONValue {
        .object([
            ("digests", .array(outcome.digests.map { .string($0) })),
            ("removed_tags", .array(outcome.removedTags.map { .string($0) })),
            ("repository_removed", .bool(outcome.repositoryRemoved)),
        ])
    }

    static func starredJSON(_ hit: SearchHit) -> JSONValue {
        .object([
            ("id", .integer(hit.id)), ("full_name", .string(hit.name)),
            ("description", JSONValue.optional(hit.description)), ("registry", JSONValue.optional(hit.registry)),
            ("star_count", .integer(Int64(hit.starCount ?? 0))),
        ])
    }
}
