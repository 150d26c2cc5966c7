import Administration
import Foundation
import HTTPCore
import Storage

/// `search?q=` (repositories, `ns/repo:tag`, namespaces, teams, each filtered by what the caller may see) and
/// `explore` (public repositories), over `SearchService`'s trigram index: a page costs what its rows cost,
/// however many repositories and tags the database holds.
public struct SearchResources: Sendable {
    private let search: SearchService

    /// Resources over `search`.
    public init(search: SearchService) {
        self.search = search
    }

    /// One hit of any section.
    static let hitSchema = JSONSchema.named(
        "SearchHit",
        .object([
            .required("kind", .string(allowed: SearchKind.allCases.map(\.rawValue))),
            .required("id", .integer()),
            .required("name", .anyString, "`ns/repo`, `ns/repo:tag`, a namespace's or a team's name."),
            .required("description", .nullable(.anyString)),
            .required("visibility", .nullable(.string(allowed: ["private", "protected", "public"]))),
            .required("registry", .nullable(.anyString)),
            .required("digest", .nullable(.anyString), "For tags."),
            .required("star_count", .nullable(.integer(minimum: 0)), "For repositories."),
        ]))

    static let sectionSchema = JSONSchema.named(
        "SearchSection",
        .object([
            .required("total", .integer(minimum: 0)),
            .required("total_exact", .boolean, "False when the total is a lower bound (very many matches)."),
            .required("items", .array(hitSchema)),
        ]))

    /// The search answer document.
    public static let resultsSchema = JSONSchema.named(
        "SearchResults",
        .object([
            .required("query", .anyString),
            .optional("repositories", sectionSchema), .optional("tags", sectionSchema),
            .optional("namespaces", sectionSchema), .optional("teams", sectionSchema),
        ]))

    static let sectionNames: [SearchKind: String] = [
        .repository: "repositories", .tag: "tags", .namespace: "namespaces", .team: "teams",
    ]

    /// The routes, in document order.
    public var routes: [APIRoute] {
        let search = search
        let listing = APIListing(sortFields: ["id"], defaultSort: "id")
        let query = APIParameter.query(
            "q", .string(minLength: 1, maxLength: 1024, pattern: ContentAPI.textPattern), required: true,
            "3 to 255 characters, taken literally (no wildcards); `ns/repo:tag` finds tags.")
        return [
            APIRoute(
                .get, "/search", operationID: "search",
                summary:
                    "Repositories, tags, namespaces and teams whose names contain q, as far as the caller may see.",
                tags: ["search"], access: .anonymous,
                parameters: [
                    query,
                    .query(
                        "kind", .string(minLength: 1, maxLength: 64, pattern: ContentAPI.textPattern),
                        "Sections to search, comma-separated: repositories, tags, namespaces, teams. By default "
                            + "repositories, namespaces and teams, and tags too when q holds a `:` (`web/app:v1`, `:v1`)."
                    ),
                ],
                listing: listing,
                responses: [APIResponseSpec(.ok, "One page of each section searched.", Self.resultsSchema)]
            ) { request in
                let kinds = try Self.kinds(request.query("kind"))
                let page = request.page ?? PageRequest(page: 1, perPage: PageRequest.defaultPerPage, sort: [])
                let results = try await ContentAPI.call {
                    try await search.search(
                        request.query("q") ?? "", as: ContentAPI.serviceCaller(request.caller), kinds: kinds,
                        page: PageNumber(page: page.page, perPage: page.perPage))
                }
                var members: [(String, JSONValue)] = [("query", .string(results.query))]
                for kind in SearchKind.allCases {
                    guard let section = results.sections[kind], let name = Self.sectionNames[kind] else { continue }
                    members.append(
                        (
                            name,
                            .object([
                                ("total", .integer(Int64(section.total))), ("total_exact", .bool(section.isTotalExact)),
                                ("items", .array(section.hits.map(Self.json))),
                            ])
                        ))
                }
                return .ok(.object(members))
            },
            APIRoute(
                .get, "/explore", operationID: "explore",
                summary: "Public repositories, optionally those whose name contains q; anonymous when "
                    + "policy.anonymousBrowsing is on.",
                tags: ["search"], access: .anonymous,
                parameters: [
                    .query(
                        "q", .string(minLength: 1, maxLength: 1024, pattern: ContentAPI.textPattern),
                        "3 to 255 characters: only names containing it.")
                ],
                listing: listing,
                responses: [APIResponseSpec(.ok, "One page of public repositories.", .array(Self.hitSchema))]
            ) { request in
                let page = request.page ?? PageRequest(page: 1, perPage: PageRequest.defaultPerPage, sort: [])
                let found = try await ContentAPI.call {
                    try await search.explore(
                        request.query("q"), as: ContentAPI.serviceCaller(request.caller),
                        page: PageNumber(page: page.page, perPage: page.perPage))
                }
                return .page(found.hits.map(Self.json), total: found.total, of: request)
            },
        ]
    }

    /// The sections `kind` names (nil when absent: the service's default sections); an unknown name is a 400.
    static func kinds(_ text: String?) throws(APIError) -> Set<SearchKind>? {
        guard let text else { return nil }
        var kinds = Set<SearchKind>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let kind = sectionNames.first(where: { $0.value == part })?.key else {
                throw APIError.invalidParameter(
                    "kind", "kind lists sections among repositories, tags, namespaces and teams, comma-separated.")
            }
            kinds.insert(kind)
        }
        return kinds
    }

    static func json(_ hit: SearchHit) -> JSONValue {
        .object([
            ("kind", .string(hit.kind.rawValue)),
            ("id", .integer(hit.id)),
            ("name", .string(hit.name)),
            ("description", JSONValue.optional(hit.description)),
            ("visibility", JSONValue.optional(hit.visibility?.rawValue)),
            ("registry", JSONValue.optional(hit.registry)),
            ("digest", JSONValue.optional(hit.digest)),
            ("star_count", hit.starCount.map { .integer(Int64($0)) } ?? .null),
        ])
    }
}
