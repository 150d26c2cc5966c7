import HTTPCore

/// Writes the OpenAPI 3.1 document of a route table: the one source of truth for both the router and
/// the contract clients (and `schemathesis`) hold the server to.
///
/// Every operation also documents the error answers any route can give (400, 401, 403, 413, 415, 429,
/// and a `default` for the rest), all with the `Errors` schema, and the paging headers for lists.
public enum OpenAPIDocument {
    /// The error document every failure answers with.
    public static let errorsSchema = JSONSchema.named(
        "Errors",
        .object([
            .required(
                "errors",
                .array(
                    .named(
                        "Error",
                        .object([
                            .required(
                                "code", .string(minLength: 1), "A stable UPPER_SNAKE code clients may branch on."),
                            .required("message", .anyString, "What went wrong, for people."),
                            .optional("field", .anyString, "The request field at fault, when there is one."),
                        ]))))
        ]))

    /// The document of `routes` (paths under `/api/v1`), stating `version`.
    public static func make(routes: [APIRoute], version: String) -> JSONValue {
        var components: [(String, JSONValue)] = []
        _ = errorsSchema.document(components: &components)
        var paths: [(String, [(String, JSONValue)])] = []
        // In path order, whatever order the front door registered its groups in, so the served document and
        // the checked-in one (made from the test fixture's route list) are the same bytes.
        let ordered = routes.enumerated().sorted { ($0.element.path, $0.offset) < ($1.element.path, $1.offset) }
        for route in ordered.map(\.element) {
            let path = RESTAPI.prefix + route.path
            let operation = self.operation(route, components: &components)
            if let index = paths.firstIndex(where: { $0.0 == path }) {
                paths[index].1.append((route.method.rawValue.lowercased(), operation))
            } else {
                paths.append((path, [(route.method.rawValue.lowercased(), operation)]))
            }
        }
        return .object([
            ("openapi", "3.1.0"),
            (
                "info",
                .object([
                    ("title", "Portcullis REST API"),
                    ("version", .string(version)),
                    (
                        "description",
                        "Accounts, namespaces, repositories and tokens of a Portcullis server. Authenticate with an application token (Bearer, Basic user:token, or Portus-Auth); passwords are not accepted. Conventions: docs/api.md."
                    ),
                ])
            ),
            ("paths", .object(paths.map { ($0.0, .object($0.1)) })),
            (
                "components",
                .object([
                    ("schemas", .object(components)),
                    (
                        "securitySchemes",
                        .object([
                            ("bearerToken", .object([("type", "http"), ("scheme", "bearer")])),
                            ("basicToken", .object([("type", "http"), ("scheme", "basic")])),
                            (
                                "portusAuth",
                                .object([
                                    ("type", "apiKey"), ("in", "header"), ("name", "Portus-Auth"),
                                    (
                                        "description",
                                        "Portus's user:token header, accepted wherever bearerToken is (for Portus clients)."
                                    ),
                                ])
                            ),
                        ])
                    ),
                ])
            ),
        ])
    }

    private static func operation(_ route: APIRoute, components: inout [(String, JSONValue)]) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("operationId", .string(route.operationID)),
            ("summary", .string(route.summary)),
            ("tags", .array(route.tags.map { .string($0) })),
        ]
        // Portus-Auth is described under securitySchemes but left out of the operations' alternatives: it is
        // for old Portus clients, and generators that fill it with arbitrary bytes would only test the HTTP
        // parser's refusal of bad header values.
        let schemes: [JSONValue] = ["bearerToken", "basicToken"].map { .object([($0, .array([]))]) }
        members.append(("security", .array(route.access == .anonymous ? [.object([])] + schemes : schemes)))
        members.append(("x-portcullis-access", .string(route.access.rawValue)))
        members.append(("x-portcullis-action", .string(route.action.rawValue)))
        var parameters = route.parameters.map { parameter in
            JSONValue.object([
                ("name", .string(parameter.name)),
                ("in", .string(parameter.location.rawValue)),
                ("required", .bool(parameter.isRequired)),
                ("description", .string(parameter.summary)),
                ("schema", parameter.schema.document(components: &components)),
            ])
        }
        if let listing = route.listing {
            parameters += [
                parameter("page", .integer(minimum: 1, maximum: Int64(PageRequest.maximumPage)), "The page, from 1."),
                parameter(
                    "per_page", .integer(minimum: 1, maximum: Int64(PageRequest.maximumPerPage)),
                    "Items per page (default \(PageRequest.defaultPerPage), at most \(PageRequest.maximumPerPage))."),
                parameter(
                    "sort", .string(minLength: 1),
                    "Comma-separated fields among \(listing.sortFields.joined(separator: ", ")), "
                        + "each optionally prefixed with - for descending order (default \(listing.defaultSort))."),
            ]
        }
        if !parameters.isEmpty { members.append(("parameters", .array(parameters))) }
        if let body = route.requestBody {
            members.append(
                (
                    "requestBody",
                    .object([
                        ("required", .bool(true)),
                        (
                            "content",
                            .object([
                                ("application/json", .object([("schema", body.document(components: &components))]))
                            ])
                        ),
                    ])
                ))
        }
        var responses: [(String, JSONValue)] = []
        for spec in route.responses {
            var response: [(String, JSONValue)] = [("description", .string(spec.summary))]
            var headers = spec.headers.map { ($0, JSONValue.object([("schema", .object([("type", "string")]))])) }
            if route.listing != nil && spec.status == .ok { headers += pagingHeaders }
            if !headers.isEmpty { response.append(("headers", .object(headers))) }
            if let schema = spec.schema {
                var content: [(String, JSONValue)] = [
                    ("application/json", .object([("schema", schema.document(components: &components))]))
                ]
                // Other representations of the same answer (`text/csv`), chosen by `Accept`.
                for type in spec.textMediaTypes {
                    content.append((type, .object([("schema", .object([("type", "string")]))])))
                }
                response.append(("content", .object(content)))
            }
            responses.append((String(spec.status.code), .object(response)))
        }
        var errors: [(HTTPStatus, String)] = [
            (
                .badRequest,
                "The request is malformed: a parameter, the page, or the body (each problem names its field)."
            ),
            (.unauthorized, "Missing or invalid credentials (WWW-Authenticate says how to authenticate)."),
        ]
        if route.access != .anonymous {
            errors.append((.forbidden, "Authenticated, but not allowed; the message says what is missing."))
        }
        if route.requestBody != nil {
            errors += [
                (.payloadTooLarge, "The body is too large."),
                (.unsupportedMediaType, "The body is not application/json."),
            ]
        }
        errors.append((.tooManyRequests, "Too many failed authentication attempts from this address."))
        let errorContent = JSONValue.object([
            ("application/json", .object([("schema", errorsSchema.document(components: &components))]))
        ])
        for (status, summary) in errors where !responses.contains(where: { $0.0 == String(status.code) }) {
            responses.append(
                (String(status.code), .object([("description", .string(summary)), ("content", errorContent)])))
        }
        responses.append(("default", .object([("description", "Any other failure."), ("content", errorContent)])))
        members.append(("responses", .object(responses)))
        return .object(members)
    }

    private static func parameter(_ name: String, _ schema: JSONSchema, _ summary: String) -> JSONValue {
        var ignored: [(String, JSONValue)] = []
        return .object([
            ("name", .string(name)), ("in", "query"), ("required", .bool(false)), ("description", .string(summary)),
            ("schema", schema.document(components: &ignored)),
        ])
    }

    private static let pagingHeaders: [(String, JSONValue)] = [
        ("X-Total-Count", "Items in all pages."), ("X-Total", "Items in all pages (Portus)."),
        ("X-Total-Pages", "Pages in all (at least 1)."), ("X-Page", "This page."),
        ("X-Per-Page", "Items per page."), ("Link", "RFC 8288 links: first, prev, next, last."),
    ].map { name, summary in
        (name, .object([("description", .string(summary)), ("schema", .object([("type", "string")]))]))
    }
}
