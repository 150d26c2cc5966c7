import HTTPCore

/// Who may call a route.
public enum APIAccess: String, Sendable, Hashable {
    /// Anyone, credentials or not (bad credentials are still refused with 401).
    case anonymous
    /// Any authenticated account.
    case user
    /// Administrators only.
    case admin
}

/// What a route does, as a restricted application token must permit it.
///
/// A token whose restriction names registry actions only (`pull`, `push`, `delete`) may read through the
/// API but not write: a CI token made to pull images must not be able to change accounts or namespaces.
/// A token restricted to `api:read` reads; `api:write`, `*` or no action restriction also writes.
public enum APIAction: String, Sendable, Hashable {
    /// Reading: `GET` routes.
    case read = "api:read"
    /// Changing something: every unsafe method.
    case write = "api:write"
}

/// Where a parameter travels.
public enum APIParameterLocation: String, Sendable, Hashable {
    /// A `{name}` segment of the path template.
    case path
    /// A query parameter.
    case query
}

/// A path or query parameter of a route: its name, type and meaning, checked before the handler runs
/// and written into the document.
public struct APIParameter: Sendable {
    /// The name (`ns`, `q`).
    public var name: String
    /// Where it travels.
    public var location: APIParameterLocation
    /// Its type (`string`, `integer` or `boolean` schemas only).
    public var schema: JSONSchema
    /// Whether it must be given (path parameters always must).
    public var isRequired: Bool
    /// What it means.
    public var summary: String

    /// A `{name}` path segment.
    public static func path(_ name: String, _ schema: JSONSchema = .string(minLength: 1), _ summary: String)
        -> APIParameter
    {
        APIParameter(name: name, location: .path, schema: schema, isRequired: true, summary: summary)
    }

    /// A query parameter.
    public static func query(
        _ name: String, _ schema: JSONSchema, required: Bool = false, _ summary: String
    ) -> APIParameter {
        APIParameter(name: name, location: .query, schema: schema, isRequired: required, summary: summary)
    }
}

/// How a list route pages and sorts: `page` (1-based), `per_page` (default 25, at most 100) and `sort`
/// over `sortFields` (`sort=name,-created_at`).
public struct APIListing: Sendable {
    /// The fields `sort` may name.
    public var sortFields: [String]
    /// The order when `sort` is absent (`name`, `-created_at`).
    public var defaultSort: String

    /// A listing sortable by `sortFields`, ordered by `defaultSort` unless asked otherwise.
    public init(sortFields: [String], defaultSort: String) {
        self.sortFields = sortFields
        self.defaultSort = defaultSort
    }
}

/// One documented answer of a route.
public struct APIResponseSpec: Sendable {
    /// The status.
    public var status: HTTPStatus
    /// What it means.
    public var summary: String
    /// The JSON body's schema; nil for no body.
    public var schema: JSONSchema?
    /// Response headers worth documenting (`Location`).
    public var headers: [String]
    /// Text representations offered besides JSON when `Accept` asks for them (`text/csv`).
    public var textMediaTypes: [String]

    /// An answer with `status`, described by `summary`, with a body of `schema` (or, when `Accept` asks for one
    /// of `textMediaTypes`, that text).
    public init(
        _ status: HTTPStatus, _ summary: String, _ schema: JSONSchema? = nil, headers: [String] = [],
        textMediaTypes: [String] = []
    ) {
        self.status = status
        self.summary = summary
        self.schema = schema
        self.headers = headers
        self.textMediaTypes = textMediaTypes
    }
}

/// What a handler sees: the request, the caller (nil for anonymous calls), the checked parameters, the
/// page asked for and the checked body.
public struct APIRequest: Sendable {
    /// The HTTP request as received.
    public var http: HTTPRequest
    /// Who is calling, or nil.
    public var caller: APICaller?
    /// Path parameters by name, as sent (percent-decoded).
    public var pathParameters: [String: String]
    /// The page, for list routes.
    public var page: PageRequest?
    /// The request body, checked against the route's schema; nil for routes without one.
    public var body: JSONValue?

    /// The caller of a route that requires one.
    public func requireCaller() throws(APIError) -> APICaller {
        guard let caller else { throw APIError.unauthorized() }
        return caller
    }

    /// The text of query parameter `name`, or nil.
    public func query(_ name: String) -> String? { http.head.queryValue(name) }
}

/// What a handler answers: a status, a JSON body or none, and headers.
public struct APIResponse: Sendable {
    /// The status.
    public var status: HTTPStatus
    /// The body, or nil for none.
    public var body: JSONValue?
    /// Extra headers.
    public var headers: HTTPHeaders
    /// A body already encoded as JSON, sent instead of `body` when set.
    public var encodedBody: [UInt8]?
    /// A body that is not JSON, with its media type (`text/csv`), sent instead of `body` when set.
    public var textBody: (bytes: [UInt8], contentType: String)?

    /// Creates a response.
    public init(status: HTTPStatus = .ok, body: JSONValue?, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    /// 200 with `body`.
    public static func ok(_ body: JSONValue) -> APIResponse { APIResponse(body: body) }

    /// 201 with `body` and `Location: location` (a path under `/api/v1`).
    public static func created(_ body: JSONValue, location: String) -> APIResponse {
        APIResponse(status: .created, body: body, headers: ["Location": location])
    }

    /// 200 with JSON already encoded.
    public static func encoded(_ json: [UInt8]) -> APIResponse {
        var response = APIResponse(body: nil)
        response.encodedBody = json
        return response
    }

    /// 200 with `text` as `contentType` (`text/csv; charset=utf-8`) and `headers`.
    public static func text(_ text: String, contentType: String, headers: HTTPHeaders = HTTPHeaders()) -> APIResponse {
        var response = APIResponse(body: nil, headers: headers)
        response.textBody = (Array(text.utf8), contentType)
        return response
    }

    /// 202 with `body` and `Location: location`: accepted, to be seen there.
    public static func accepted(_ body: JSONValue, location: String) -> APIResponse {
        APIResponse(status: .accepted, body: body, headers: ["Location": location])
    }

    /// 204 without a body.
    public static let noContent = APIResponse(status: .noContent, body: nil)

    /// 200 with one page of a list: the items as a JSON array, and the paging headers (`X-Total-Count`,
    /// `Link`, `X-Page`, `X-Per-Page`, `X-Total`, `X-Total-Pages`) for `total` items in all.
    public static func page(_ items: [JSONValue], total: Int, of request: APIRequest) -> APIResponse {
        let page = request.page ?? PageRequest(page: 1, perPage: max(items.count, 1), sort: [])
        return APIResponse(body: .array(items), headers: page.headers(total: total, for: request.http))
    }
}

/// A route's handler: answers or throws an `APIError` (or a service's `CodedError`, mapped by
/// `APIErrorMapping`; anything else is logged and answered 500).
public typealias APIHandler = @Sendable (APIRequest) async throws -> APIResponse

/// One entry of the route table: everything the router, the checks and the OpenAPI document need.
public struct APIRoute: Sendable {
    /// The method.
    public var method: HTTPMethod
    /// The path under `/api/v1`, with `{name}` parameters (`/namespaces/{ns}`).
    public var path: String
    /// The document's `operationId` (`getCurrentUser`).
    public var operationID: String
    /// One line saying what it does.
    public var summary: String
    /// The document's tags (`users`, `system`).
    public var tags: [String]
    /// Who may call it.
    public var access: APIAccess
    /// What a restricted token must permit.
    public var action: APIAction
    /// Path and query parameters besides paging.
    public var parameters: [APIParameter]
    /// Paging and sorting, for list routes.
    public var listing: APIListing?
    /// The JSON body's schema, for routes that take one.
    public var requestBody: JSONSchema?
    /// The successful answers (errors are documented for every route).
    public var responses: [APIResponseSpec]
    /// The handler.
    public var handler: APIHandler

    /// Creates a route; `action` defaults to `read` for `GET` and `write` for everything else.
    public init(
        _ method: HTTPMethod, _ path: String, operationID: String, summary: String, tags: [String],
        access: APIAccess, action: APIAction? = nil, parameters: [APIParameter] = [], listing: APIListing? = nil,
        requestBody: JSONSchema? = nil, responses: [APIResponseSpec], handler: @escaping APIHandler
    ) {
        self.method = method
        self.path = path
        self.operationID = operationID
        self.summary = summary
        self.tags = tags
        self.access = access
        self.action = action ?? (method == .get || method == .head ? .read : .write)
        self.parameters = parameters
        self.listing = listing
        self.requestBody = requestBody
        self.responses = responses
        self.handler = handler
    }

    /// The router's pattern for the template: `{ns}` becomes `:ns`.
    public var routerPattern: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }.joined(separator: "/")
    }

    /// How many segments of the template are literal (not `{name}`): the more, the more specific.
    var literalSegmentCount: Int {
        path.split(separator: "/").filter { !($0.hasPrefix("{") && $0.hasSuffix("}")) }.count
    }

    /// Whether `path` (under `/api/v1`) fits the template, segment by segment.
    func matches(_ path: String) -> Bool {
        let template = self.path.split(separator: "/", omittingEmptySubsequences: false)
        let given = path.split(separator: "/", omittingEmptySubsequences: false)
        guard template.count == given.count else { return false }
        return zip(template, given).allSatisfy { pattern, segment in
            pattern.hasPrefix("{") ? !segment.isEmpty : pattern == segment
        }
    }
}
