import Administration
import Authorization
import Diagnostics
import Foundation
import HTTPCore
import RegistryCore
import Storage

/// What the content resources (namespaces, repositories, tags, stars, search) share: the acting party as the
/// services know it, pages in the services' terms, the documents, and the repository path rules.
enum ContentAPI {
    /// The path spelling of the global namespace in `repositories/{ns}/{repo}`: `_`, as Docker Hub spells its
    /// library (`hub.docker.com/_/busybox`). No namespace can be named so (names start with a letter or digit).
    static let globalNamespaceSegment = "_"

    /// Text without NUL (which the HTTP parser refuses in paths and queries before the API sees them).
    static let textPattern = "^[^\\x00]*$"
    /// A namespace name or `_`.
    static let namespacePattern = "^(_|[a-z0-9]+([._-][a-z0-9]+)*)$"
    /// A tag name (the distribution grammar).
    static let tagPattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"

    /// The three patterns above as the project's own validators of those names (`NamespaceNaming`, the
    /// registry's `TagName`), which `PatternCache` uses instead of a regular expression: every content route
    /// checks one to three of them, and ICU matching cost more than the rest of the check. `PatternCacheTests`
    /// holds each to its pattern over a corpus of awkward names.
    static let patternMatchers: [String: @Sendable (String) -> Bool] = [
        textPattern: { !$0.utf8.contains(0) },
        namespacePattern: { $0 == globalNamespaceSegment || NamespaceNaming.isValid($0) },
        tagPattern: { TagName.isValid($0) },
    ]

    /// The caller as the services see it: the user, or nobody.
    static func serviceCaller(_ caller: APICaller?) -> Caller {
        guard let caller else { return .anonymous }
        return .user(
            id: User.ID(caller.userID), username: caller.username, isAdmin: caller.isAdmin,
            namespaces: caller.restriction?.namespaces)
    }

    /// The caller, required (for routes whose access is `user`), as the services see it.
    static func requiredCaller(_ request: APIRequest) throws(APIError) -> Caller {
        serviceCaller(try request.requireCaller())
    }

    /// Refuses a token restricted to other namespaces than `namespace` (403 saying so).
    static func checkNamespaceRestriction(_ request: APIRequest, _ namespace: String?) throws(APIError) {
        guard let caller = request.caller, let restricted = caller.restriction?.namespaces else { return }
        let name = namespace ?? NamespaceNaming.globalNamespaceName
        guard restricted.contains(name) else {
            throw APIError.denied(
                "The token used is limited to the namespaces \(restricted.sorted().joined(separator: ", ")).")
        }
    }

    /// The page asked for, in the services' terms, sorted by the first `sort` key.
    static func servicePage<Field: SortField>(_ request: APIRequest, default field: Field)
        -> Administration.PageRequest<
            Field
        >
    {
        let page = request.page ?? PageRequest(page: 1, perPage: PageRequest.defaultPerPage, sort: [])
        let key = page.sort.first
        return Administration.PageRequest(
            offset: page.offset, limit: page.perPage, sort: key.flatMap { Field(rawValue: $0.field) } ?? field,
            descending: key?.descending ?? false)
    }

    /// Runs a service call and turns its refusals into API errors where the table alone would lose something:
    /// a 401 keeps its `WWW-Authenticate` challenge.
    static func call<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as AdministrationError where error.code == .unauthenticated {
            throw APIError.unauthorized("The account no longer exists or is disabled.")
        } catch let error as AdministrationError where error.code == .forbidden {
            if case .loginRequired = error.denial { throw APIError.unauthorized() }
            throw APIError.denied(sentence(error.reason))
        } catch let error as SearchError where error.code == .authenticationRequired {
            throw APIError.unauthorized("Log in to browse: anonymous browsing is off (policy.anonymousBrowsing).")
        }
    }

    static func sentence(_ text: String) -> String {
        guard !text.isEmpty else { return "Denied." }
        let first = text.prefix(1).uppercased() + text.dropFirst()
        return first.hasSuffix(".") ? first : first + "."
    }

    // MARK: Repository paths

    /// The repository named by the `ns` and `repo` path parameters. `ns` is a namespace's name or `_` for the
    /// global namespace; `repo` is the name inside it, with each `/` of a nested name written `%2F` and then
    /// encoded once more (`group%252Fapp`, as Harbor asks), because the server decodes the path once before
    /// routing. The decoded name must follow the distribution grammar component by component, so `..`, `.`,
    /// empty components and other encoding tricks are refused with a 400 before anything is looked up.
    static func repositoryPath(_ request: APIRequest) throws(APIError) -> RepositoryPath {
        let namespaceText = request.pathParameters["ns"] ?? ""
        let encoded = request.pathParameters["repo"] ?? ""
        guard namespaceText == globalNamespaceSegment || NamespaceNaming.isValid(namespaceText) else {
            throw APIError.invalidParameter(
                "ns", code: "NAMESPACE_NAME_INVALID",
                "ns must be a namespace name (lower-case letters, digits, '.', '_', '-') or _ for the global namespace."
            )
        }
        guard let name = encoded.removingPercentEncoding, ScopeParser.isValidRepositoryName(name) else {
            throw APIError.invalidParameter(
                "repo", code: "REPOSITORY_NAME_INVALID",
                "repo must be a repository name: lower-case components of letters and digits joined by '.', '_', "
                    + "'__' or '-', separated by '/' written as %252F.")
        }
        let namespace = namespaceText == globalNamespaceSegment ? nil : namespaceText
        try checkNamespaceRestriction(request, namespace)
        return RepositoryPath(namespace: namespace, name: name)
    }

    /// The tag named by the `tag` path parameter, checked against the distribution grammar (`[A-Za-z0-9_]`
    /// then up to 127 of `[A-Za-z0-9_.-]`).
    static func tagName(_ request: APIRequest) throws(APIError) -> String {
        let tag = request.pathParameters["tag"] ?? ""
        guard TagName.isValid(tag) else {
            throw APIError.invalidParameter(
                "tag", code: "TAG_NAME_INVALID",
                "tag must be a tag name: a letter, digit or '_', then up to 127 of those, '.' and '-'.")
        }
        return tag
    }

    /// The path of a repository under `/api/v1` (`/repositories/ns/app`, `/repositories/_/busybox`), nested names
    /// encoded as the route expects.
    static func location(namespace: String, name: String, isGlobal: Bool) -> String {
        let encodedName = name.replacingOccurrences(of: "/", with: "%252F")
        return "/repositories/\(isGlobal ? globalNamespaceSegment : namespace)/\(encodedName)"
    }

    // MARK: Documents

    /// A page answer of `items` with the paging headers.
    static func page<Item>(_ page: Page<Item>, of request: APIRequest, _ json: (Item) -> JSONValue) -> APIResponse {
        .page(page.items.map(json), total: page.total, of: request)
    }
}

/// Every content resource (namespaces, repositories, tags, stars, search, explore) over one store, as the server
/// and the tests mount them.
public enum ContentRoutes {
    /// The routes over `store` under the resource policy `settings` (its `anonymousBrowsing` also governs
    /// search and explore); deletions go through `deleter` (nil: they answer 503).
    public static func make(
        store: any Store, settings: ResourcePolicySettings, deleter: (any APIRepositoryDeleting)?
    ) -> [APIRoute] {
        NamespaceResources(namespaces: NamespaceAdministration(store: store, settings: settings)).routes
            + RepositoryResources(
                repositories: RepositoryAdministration(store: store, settings: settings),
                stars: StarService(store: store), deleter: deleter
            ).routes
            + SearchResources(search: SearchService(store: store, anonymousBrowsing: settings.anonymousBrowsing)).routes
    }
}
