import Diagnostics
import Foundation
import HTTPCore
import IdentityCore

/// One entry of an API error document: a stable UPPER_SNAKE code clients branch on, a message for
/// people, and the request field it is about, when there is one (`email`, `per_page`, `items[2].name`).
public struct APIErrorItem: Sendable, Equatable, CustomStringConvertible {
    /// The stable code (`FIELD_UNKNOWN`, `PAGINATION_NUMBER_INVALID`).
    public var code: String
    /// What went wrong, for people; never secrets or internals.
    public var message: String
    /// The field at fault, or nil.
    public var field: String?

    /// Creates an entry.
    public init(code: String, message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    /// `FIELD_UNKNOWN (colour): Unknown field colour.`, for logs and test failures.
    public var description: String { "\(code)\(field.map { " (\($0))" } ?? ""): \(message)" }

    /// The entry as it appears in the document.
    var json: JSONValue {
        var members: [(String, JSONValue)] = [("code", .string(code)), ("message", .string(message))]
        if let field { members.append(("field", .string(field))) }
        return .object(members)
    }
}

/// A failed API request: a status and one or more error entries, sent as
/// `{"errors":[{"code":"UPPER_SNAKE","message":"…","field":"…"}]}` (Harbor's and the registry protocol's
/// shape) with any extra headers (`WWW-Authenticate`, `Allow`, `Retry-After`).
///
/// Equal when status and codes are, so tests can match on what clients branch on.
public struct APIError: HTTPResponseError, Equatable, CustomStringConvertible {
    /// The response status.
    public var status: HTTPStatus
    /// The entries; at least one.
    public var items: [APIErrorItem]
    /// Extra response headers.
    public var headers: HTTPHeaders

    /// An error with one entry.
    public init(
        _ status: HTTPStatus, code: String, message: String, field: String? = nil, headers: HTTPHeaders = HTTPHeaders()
    ) {
        self.init(status, items: [APIErrorItem(code: code, message: message, field: field)], headers: headers)
    }

    /// An error with several entries (every invalid field of a body at once).
    public init(_ status: HTTPStatus, items: [APIErrorItem], headers: HTTPHeaders = HTTPHeaders()) {
        precondition(!items.isEmpty, "an API error needs at least one entry")
        self.status = status
        self.items = items
        self.headers = headers
    }

    /// The first entry's code.
    public var code: String { items[0].code }

    /// The JSON error document with the extra headers.
    public func response() -> HTTPResponse {
        var response = HTTPResponse.json(
            JSONValue.object([("errors", .array(items.map(\.json)))]).encoded(), status: status)
        for (name, value) in headers { response.headers.add(name: name, value: value) }
        return response
    }

    /// `APIError(400: FIELD_UNKNOWN (colour): …)`.
    public var description: String { "APIError(\(status.code): \(items.map(\.description).joined(separator: "; ")))" }

    /// Equal when status and codes are.
    public static func == (lhs: APIError, rhs: APIError) -> Bool {
        lhs.status == rhs.status && lhs.items.map(\.code) == rhs.items.map(\.code)
    }
}

// MARK: The API's own errors

extension APIError {
    /// The realm every API challenge names.
    public static let realm = "portcullis"

    /// 401 `UNAUTHORIZED` with `WWW-Authenticate: Bearer realm="portcullis"`.
    public static func unauthorized(_ message: String = "Authentication is required: send an application token.")
        -> APIError
    {
        APIError(
            .unauthorized, code: "UNAUTHORIZED", message: message,
            headers: ["WWW-Authenticate": "Bearer realm=\"\(realm)\""])
    }

    /// 403 `DENIED`, saying what is missing.
    public static func denied(_ message: String) -> APIError {
        APIError(.forbidden, code: "DENIED", message: message)
    }

    /// 404 `NOT_FOUND`.
    public static func notFound(_ message: String = "Nothing matches the requested path.") -> APIError {
        APIError(.notFound, code: "NOT_FOUND", message: message)
    }

    /// 405 `METHOD_NOT_ALLOWED` with `Allow`.
    public static func methodNotAllowed(allowed: [HTTPMethod]) -> APIError {
        APIError(
            .methodNotAllowed, code: "METHOD_NOT_ALLOWED", message: "The method is not allowed for the requested path.",
            headers: ["Allow": allowed.map(\.rawValue).joined(separator: ", ")])
    }

    /// 409 `CONFLICT`.
    public static func conflict(_ message: String, field: String? = nil) -> APIError {
        APIError(.conflict, code: "CONFLICT", message: message, field: field)
    }

    /// 400 with `code` about query or path parameter `field`.
    public static func invalidParameter(_ field: String, code: String = "PARAMETER_INVALID", _ message: String)
        -> APIError
    {
        APIError(.badRequest, code: code, message: message, field: field)
    }

    /// 429 `TOO_MANY_REQUESTS` with `Retry-After`, saying which limit the address met: its failed attempts, or
    /// its credential checks in progress at once (a client calling with a token the caches no longer vouch for,
    /// over many connections at once, meets the second and should retry, not suspect its token).
    public static func tooManyRequests(_ throttling: Throttling) -> APIError {
        let message =
            switch throttling.cause {
            case .failures: "Too many failed attempts from this address; try again later."
            case .concurrency: "Too many credential checks in progress from this address at once; retry shortly."
            }
        return APIError(
            .tooManyRequests, code: "TOO_MANY_REQUESTS", message: message,
            headers: ["Retry-After": String(throttling.retryAfterSeconds)])
    }

    /// 503 `UNAVAILABLE`.
    public static func unavailable(_ message: String = "A service the API depends on is unavailable.") -> APIError {
        APIError(.serviceUnavailable, code: "UNAVAILABLE", message: message)
    }

    /// 500 `INTERNAL_ERROR`: says nothing of what failed (the log has it, under the request id).
    public static func internalError(requestID: String) -> APIError {
        APIError(
            .internalServerError, code: "INTERNAL_ERROR",
            message: "An internal error occurred" + (requestID.isEmpty ? "." : "; quote request id \(requestID)."))
    }
}

// MARK: From service errors

/// How the services' `CodedError`s become API answers: one table from `module.snake_case` code to status
/// and UPPER_SNAKE code, so the same failure gets the same answer from every resource.
///
/// A code not in the table answers by its last word (`…not_found` 404, `…conflict`/`…taken`/`…exists` 409,
/// `…invalid…` 400), with the UPPER_SNAKE form of the whole code (`webhook.invalid_url` →
/// `WEBHOOK_INVALID_URL`); anything else is a 500 whose reason stays in the log.
public enum APIErrorMapping {
    /// Status and API code of known service codes; the second wave adds its services' codes here.
    public static let table: [String: (status: HTTPStatus, code: String)] = [
        "conflict": (.conflict, "CONFLICT"),
        "notFound": (.notFound, "NOT_FOUND"),
        "invalidInput": (.badRequest, "INVALID_INPUT"),
        "constraintViolated": (.conflict, "CONFLICT"),
        "store.conflict": (.conflict, "CONFLICT"),
        "store.not_found": (.notFound, "NOT_FOUND"),
        "store.invalid_input": (.badRequest, "INVALID_INPUT"),
        "store.constraint_violated": (.conflict, "CONFLICT"),
        "store.unavailable": (.serviceUnavailable, "UNAVAILABLE"),
        "nameTaken": (.conflict, "NAME_TAKEN"),
        "invalidName": (.badRequest, "NAME_INVALID"),
        "invalidExpiry": (.badRequest, "EXPIRY_INVALID"),
        "application_token.name_taken": (.conflict, "NAME_TAKEN"),
        "application_token.invalid_name": (.badRequest, "NAME_INVALID"),
        "application_token.invalid_expiry": (.badRequest, "EXPIRY_INVALID"),
        "webhook.unknown_namespace": (.notFound, "NAMESPACE_NOT_FOUND"),
        "webhook.forbidden_header": (.badRequest, "WEBHOOK_INVALID_HEADER"),
        "webhook.secrets_key_missing": (.serviceUnavailable, "UNAVAILABLE"),
        "administration.forbidden": (.forbidden, "DENIED"),
        "administration.unauthenticated": (.unauthorized, "UNAUTHORIZED"),
        "administration.invalid_paging": (.badRequest, "PAGINATION_NUMBER_INVALID"),
        "reconciliation.already_running": (.conflict, "SYNC_RUNNING"),
        // Content (namespaces, repositories, tags, stars, search).
        "namespace.not_empty": (.conflict, "NAMESPACE_NOT_EMPTY"),
        "namespace.global_private": (.conflict, "NAMESPACE_GLOBAL_PRIVATE"),
        "repository.ambiguous": (.conflict, "REPOSITORY_AMBIGUOUS"),
        "repository.tag_not_found": (.notFound, "TAG_NOT_FOUND"),
        "search.ambiguous_repository": (.conflict, "REPOSITORY_AMBIGUOUS"),
        "search.query_too_short": (.badRequest, "QUERY_TOO_SHORT"),
        "search.query_too_long": (.badRequest, "QUERY_TOO_LONG"),
        // People (accounts, tokens, teams, members, robots): what the last word does not tell. The rest is
        // inferred (`team.not_found` → 404 `TEAM_NOT_FOUND`, `account.invalid_email` → 400 `ACCOUNT_INVALID_EMAIL`).
        "account.last_admin": (.conflict, "ACCOUNT_LAST_ADMIN"),
        "account.own_admin_flag": (.conflict, "ACCOUNT_OWN_ADMIN_FLAG"),
        "application_token.limit_reached": (.conflict, "APPLICATION_TOKEN_LIMIT_REACHED"),
        "application_token.forbidden": (.forbidden, "DENIED"),
        "team.hidden": (.conflict, "TEAM_HIDDEN"),
        "team.already_member": (.conflict, "TEAM_ALREADY_MEMBER"),
        "team.not_member": (.notFound, "TEAM_NOT_MEMBER"),
        "team.last_owner": (.conflict, "TEAM_LAST_OWNER"),
        "team.admin_demotion": (.conflict, "TEAM_ADMIN_DEMOTION"),
        "team.owns_namespaces": (.conflict, "TEAM_OWNS_NAMESPACES"),
        "team.group_already_member": (.conflict, "TEAM_GROUP_ALREADY_MEMBER"),
        "team.group_not_member": (.notFound, "TEAM_GROUP_NOT_MEMBER"),
        "robot.unknown_team": (.notFound, "TEAM_NOT_FOUND"),
        "robot.forbidden": (.forbidden, "DENIED"),
    ]

    /// The API answer for `error` thrown by a handler: API and HTTP errors as they are, mapped coded
    /// errors by the table, nil for everything else (the caller logs it and answers 500).
    public static func apiError(for error: any Error) -> APIError? {
        if let error = error as? APIError { return error }
        if let error = error as? HTTPError {
            return APIError(error.status, code: error.code, message: error.message, headers: error.headers)
        }
        guard let coded = error as? any CodedError else { return nil }
        let (code, reason) = parts(of: coded)
        guard let mapped = table[code] ?? inferred(from: code) else { return nil }
        let (status, apiCode) = (mapped.status, mapped.code)
        // 5xx reasons may name internals; client errors' reasons are written for the client.
        let message = status.code >= 500 ? "A service the API depends on failed." : sentence(reason, or: apiCode)
        return APIError(status, code: apiCode, message: message)
    }

    private static func parts<E: CodedError>(of error: E) -> (String, String) { (error.code.rawValue, error.reason) }

    /// The answer of a code by its last word, or nil.
    static func inferred(from code: String) -> (status: HTTPStatus, code: String)? {
        let upper = upperSnake(code)
        if upper.hasSuffix("NOT_FOUND") { return (.notFound, upper) }
        if upper.hasSuffix("CONFLICT") || upper.hasSuffix("TAKEN") || upper.hasSuffix("EXISTS") {
            return (.conflict, upper)
        }
        if upper.contains("INVALID") { return (.badRequest, upper) }
        return nil
    }

    /// `webhook.invalid_url` → `WEBHOOK_INVALID_URL`; `nameTaken` → `NAME_TAKEN`.
    public static func upperSnake(_ code: String) -> String {
        var output = ""
        var previousWasLower = false
        for character in code {
            if character == "." || character == "-" || character == " " {
                output += "_"
                previousWasLower = false
            } else if character.isUppercase {
                if previousWasLower { output += "_" }
                output += String(character)
                previousWasLower = false
            } else {
                output += character.uppercased()
                previousWasLower = character.isLowercase || character.isNumber
            }
        }
        return output
    }

    private static func sentence(_ reason: String, or code: String) -> String {
        guard !reason.isEmpty else { return code.replacingOccurrences(of: "_", with: " ").capitalized + "." }
        let first = reason.prefix(1).uppercased() + reason.dropFirst()
        return first.hasSuffix(".") ? first : first + "."
    }
}
