import Diagnostics
import HTTPCore

/// The REST API `/api/v1`: a route table, the checks every route gets from it (authentication, access,
/// token restrictions, parameters, paging, strict JSON bodies), and the OpenAPI document made from the
/// same table.
///
/// Mounted on the router as a group with no middleware of its own (authentication runs inside the
/// handlers), so the router keeps no async middleware and the token endpoint's synchronous fast path
/// stays on. Every path under `/api/v1` answers JSON: unknown paths 404, known paths with another method
/// 405 with `Allow`.
///
/// ```swift
/// let api = RESTAPI(routes: SystemResources(…).routes, authenticator: …, logger: …)
/// api.register(on: &router)
/// ```
public struct RESTAPI: Sendable {
    /// Where the API lives.
    public static let prefix = "/api/v1"
    /// The largest JSON body accepted (bigger is 413 `BODY_TOO_LARGE`); well under the server's own limit,
    /// so the refusal still carries the API's error document and request id.
    public static let defaultJSONBodyLimit = 64 * 1024

    /// The routes, the document's path of the OpenAPI document among them.
    public let routes: [APIRoute]
    /// Who calls, and whether they may.
    public let authenticator: APIAuthenticator
    /// The version of the API contract the document states (`info.version`): changes when the contract
    /// does, not with every release of the server, so the checked-in document does not churn.
    public static let contractVersion = "1.0.0"
    /// The largest JSON body accepted.
    public let jsonBodyLimit: Int
    private let logger: Logger
    private let document: [UInt8]

    /// An API serving `routes` plus `GET /api/v1/openapi.json`.
    public init(
        routes: [APIRoute], authenticator: APIAuthenticator, jsonBodyLimit: Int = RESTAPI.defaultJSONBodyLimit,
        logger: Logger
    ) {
        let document = OpenAPIDocument.make(routes: routes + [Self.documentRoute(nil)], version: Self.contractVersion)
        let bytes = document.prettyEncoded()
        self.routes = routes + [Self.documentRoute(bytes)]
        self.authenticator = authenticator
        self.jsonBodyLimit = jsonBodyLimit
        self.logger = logger
        self.document = bytes
    }

    /// The OpenAPI 3.1 document, as served and checked in (`docs/openapi.json`).
    public var openAPIDocument: [UInt8] { document }

    /// `GET /openapi.json`: the document itself, anonymous (Harbor and GitLab publish theirs too).
    private static func documentRoute(_ bytes: [UInt8]?) -> APIRoute {
        APIRoute(
            .get, "/openapi.json", operationID: "getOpenAPIDocument", summary: "This API's OpenAPI 3.1 document.",
            tags: ["system"], access: .anonymous,
            responses: [APIResponseSpec(.ok, "The document.", .anyObject)]
        ) { _ in
            // The bytes as made once (never re-encoded), so the answer is exactly the checked-in file.
            .encoded(bytes ?? [])
        }
    }

    /// Adds every route under `/api/v1`, and the catch-alls that answer 404 and 405 as JSON.
    public func register(on router: inout Router) {
        router.group(Self.prefix) { group in
            for route in routes {
                group.on(route.method, route.routerPattern) { request in await handle(request, route: route) }
            }
            for method in HTTPMethod.supported {
                group.on(method, "/*rest") { request in await unmatched(request) }
            }
        }
        for method in HTTPMethod.supported {
            router.on(method, Self.prefix) { request in await unmatched(request) }
        }
    }

    /// 405 with `Allow` when some route has the path, else 404.
    func unmatched(_ request: HTTPRequest) async -> HTTPResponse {
        let path = String(request.path.dropFirst(Self.prefix.count))
        // As the router does, a literal segment wins over a parameter: `/users/me` is not `/users/{id}`.
        let matching = routes.filter { $0.matches(path) }
        let mostLiteral = matching.map(\.literalSegmentCount).max() ?? 0
        var allowed = Set(matching.filter { $0.literalSegmentCount == mostLiteral }.map(\.method))
        if allowed.contains(.get) { allowed.insert(.head) }
        let error =
            allowed.isEmpty
            ? APIError.notFound("No API resource lives at \(InertName.shown(request.path)).")
            : APIError.methodNotAllowed(allowed: allowed.sorted { $0.rawValue < $1.rawValue })
        return error.response()
    }

    /// Runs the checks, then the handler; every failure becomes an API error document.
    func handle(_ request: HTTPRequest, route: APIRoute) async -> HTTPResponse {
        do {
            let prepared = try await prepare(request, for: route)
            let answer = try await route.handler(prepared)
            var response = HTTPResponse(status: answer.status, headers: answer.headers)
            if let text = answer.textBody {
                response.body = text.bytes
                response.headers.replaceOrAdd(name: "Content-Type", value: text.contentType)
            } else if let encoded = answer.encodedBody {
                response.body = encoded
                response.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            } else if let body = answer.body {
                response.body = body.encoded()
                response.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            }
            return response
        } catch {
            if let answer = APIErrorMapping.apiError(for: error) { return answer.response() }
            logger.error(
                "API request failed",
                ["request_id": request.context.requestID, "route": route.path, "error": "\(error)"])
            return APIError.internalError(requestID: request.context.requestID).response()
        }
    }

    /// Authenticates, authorizes and checks parameters, page and body, in that order: who you are before
    /// what you sent, so an anonymous client learns nothing from validation errors of protected routes.
    func prepare(_ request: HTTPRequest, for route: APIRoute) async throws(APIError) -> APIRequest {
        let caller = try await authenticator.caller(of: request)
        try authenticator.authorize(caller, for: route)
        try checkParameters(request, route: route)
        var page: PageRequest?
        if let listing = route.listing { page = try PageRequest.parse(request.head, listing: listing) }
        var body: JSONValue?
        if let schema = route.requestBody { body = try decodeBody(request, schema: schema) }
        return APIRequest(
            http: request, caller: caller, pathParameters: request.context.pathParameters, page: page, body: body)
    }

    private func checkParameters(_ request: HTTPRequest, route: APIRoute) throws(APIError) {
        var problems: [APIErrorItem] = []
        for parameter in route.parameters {
            let text: String?
            switch parameter.location {
            case .path: text = request.context.pathParameters[parameter.name]
            case .query:
                let values = request.head.queryValues(parameter.name)
                if values.count > 1 {
                    problems.append(
                        APIErrorItem(
                            code: "PARAMETER_INVALID", message: "\(parameter.name) may be given once.",
                            field: parameter.name))
                    continue
                }
                text = values.first
            }
            guard let text else {
                if parameter.isRequired {
                    problems.append(
                        APIErrorItem(
                            code: "PARAMETER_REQUIRED", message: "\(parameter.name) is required.", field: parameter.name
                        ))
                }
                continue
            }
            problems += parameter.schema.problems(in: Self.typed(text, as: parameter.schema), field: parameter.name)
                .map { APIErrorItem(code: "PARAMETER_INVALID", message: $0.message, field: $0.field) }
        }
        if !problems.isEmpty { throw APIError(.badRequest, items: problems) }
    }

    /// A parameter's text as the JSON value its schema expects, or the text itself (which then fails
    /// the check with a type error).
    static func typed(_ text: String, as schema: JSONSchema) -> JSONValue {
        switch schema {
        case .integer: Int64(text).map(JSONValue.integer) ?? .string(text)
        case .boolean: text == "true" ? .bool(true) : text == "false" ? .bool(false) : .string(text)
        case .nullable(let inner), .named(_, let inner): typed(text, as: inner)
        default: .string(text)
        }
    }

    /// The body as JSON, checked: JSON media type (415), size (413), syntax (400 `JSON_MALFORMED`), then the
    /// schema (400 with every wrong, missing or unknown field named).
    func decodeBody(_ request: HTTPRequest, schema: JSONSchema) throws(APIError) -> JSONValue {
        let type = request.headers["Content-Type"].map { value in
            (value.split(separator: ";", omittingEmptySubsequences: false).first ?? "").trimmingSpaces().lowercased()
        }
        guard let type, type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
        else {
            throw APIError(
                .unsupportedMediaType, code: "UNSUPPORTED_MEDIA_TYPE",
                message: "The body must be JSON, sent with Content-Type: application/json.")
        }
        guard request.body.count <= jsonBodyLimit else {
            throw APIError(
                .payloadTooLarge, code: "BODY_TOO_LARGE",
                message: "The request body exceeds the limit of \(jsonBodyLimit) bytes.")
        }
        let value: JSONValue
        do { value = try JSONParser.parse(request.body) } catch {
            throw APIError(.badRequest, code: "JSON_MALFORMED", message: "The body is not valid JSON: \(error).")
        }
        let problems = schema.problems(in: value)
        if !problems.isEmpty { throw APIError(.badRequest, items: problems) }
        return value
    }
}
