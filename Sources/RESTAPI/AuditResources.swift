import Administration
import Diagnostics
import Foundation
import HTTPCore
import Storage

extension APICaller {
    /// The caller the application services act as: the account, its admin flag as authenticated (the services
    /// re-read it in their transactions).
    var serviceCaller: Caller { .user(id: User.ID(userID), username: username, isAdmin: isAdmin) }
}

/// `GET /audit-events`: the audit log for administrators, filtered, paged, as JSON or (with
/// `Accept: text/csv`) as RFC 4180 CSV with formulas defused (``CSV``), the same columns as
/// `portcullis audit export --csv`.
public struct AuditResources: Sendable {
    private let queries: AuditQueries

    /// Resources over `queries`.
    public init(queries: AuditQueries) { self.queries = queries }

    /// An audit event as listed.
    static let eventSchema = JSONSchema.named(
        "AuditEvent",
        .object([
            .required("id", .integer()),
            .required("time", .timestamp),
            .required("actor", .nullable(.anyString)),
            .required("action", .anyString),
            .required("target", .nullable(.anyString)),
            .required("outcome", .anyString),
            .required("client_ip", .nullable(.anyString)),
            .required("detail", .nullable(.anyString), "The event's details as JSON text, or null."),
            .required("count", .integer(), "How many identical events this one stands for (coalesced issuances)."),
            .required("last_time", .nullable(.timestamp)),
        ]))

    /// The routes.
    public var routes: [APIRoute] {
        [
            APIRoute(
                .get, "/audit-events", operationID: "listAuditEvents",
                summary: "The audit log, newest first; Accept: text/csv gives CSV (administrators).",
                tags: ["audit"], access: .admin,
                parameters: [
                    .query("actor", .string(minLength: 1, maxLength: 256), "The actor's recorded name, exactly."),
                    .query(
                        "action", .string(minLength: 1, maxLength: 256),
                        "The action exactly (team.add_member), or a family (team.*)."),
                    .query(
                        "target", .string(minLength: 1, maxLength: 512),
                        "The target exactly, or its beginning with a trailing * (alice/*)."),
                    .query(
                        "since", .string(minLength: 1, maxLength: 64, format: "date-time"),
                        "Events at or after (RFC 3339)."),
                    .query(
                        "until", .string(minLength: 1, maxLength: 64, format: "date-time"), "Events before (RFC 3339)."),
                ],
                listing: APIListing(sortFields: ["time"], defaultSort: "-time"),
                responses: [
                    APIResponseSpec(.ok, "One page of events.", .array(Self.eventSchema), textMediaTypes: ["text/csv"])
                ]
            ) { [queries] request in try await Self.list(request, queries) }
        ]
    }

    private static func list(_ request: APIRequest, _ queries: AuditQueries) async throws -> APIResponse {
        let caller = try request.requireCaller()
        guard let page = request.page else { throw APIError.internalError(requestID: request.http.context.requestID) }
        if page.sort.contains(where: { !$0.descending }) {
            throw APIError.invalidParameter(
                "sort", code: "SORT_INVALID", "Audit events are listed newest first: sort=-time.")
        }
        let filter = AuditEventFilter(
            actor: request.query("actor"), action: request.query("action"), target: request.query("target"),
            since: try date(request, "since"), until: try date(request, "until"))
        let found = try await queries.list(
            filter, offset: page.offset, limit: page.perPage, by: caller.serviceCaller)
        let headers = page.headers(total: found.total, for: request.http)
        if wantsCSV(request.http) {
            var text = CSV.record(AuditQueries.csvColumns)
            for event in found.items { text += CSV.record(AuditQueries.csvFields(event)) }
            var csvHeaders = headers
            csvHeaders.add(name: "Content-Disposition", value: "attachment; filename=\"audit-events.csv\"")
            return .text(text, contentType: "text/csv; charset=utf-8; header=present", headers: csvHeaders)
        }
        return APIResponse(body: .array(found.items.map(json)), headers: headers)
    }

    /// An RFC 3339 time from query parameter `name`; anything else is a 400 naming the parameter.
    static func date(_ request: APIRequest, _ name: String) throws(APIError) -> Date? {
        guard let text = request.query(name) else { return nil }
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        guard let date = (try? Date(text, strategy: .iso8601)) ?? (try? Date(text, strategy: withFraction)) else {
            throw APIError.invalidParameter(
                name, "\(name) must be an RFC 3339 time such as 2026-05-28T20:27:39Z.")
        }
        return date
    }

    /// Whether `Accept` prefers CSV: it names `text/csv` and not JSON before it.
    static func wantsCSV(_ request: HTTPRequest) -> Bool {
        guard let accept = request.headers["Accept"]?.lowercased() else { return false }
        let types = accept.split(separator: ",").map {
            ($0.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces)
        }
        guard let csv = types.firstIndex(of: "text/csv") else { return false }
        let json = types.firstIndex(of: "application/json") ?? types.endIndex
        return csv < json
    }

    static func json(_ event: AuditEvent) -> JSONValue {
        .object([
            ("id", .integer(event.id.rawValue)),
            ("time", JSONValue.timestamp(event.time)),
            ("actor", JSONValue.optional(event.actorName)),
            ("action", .string(event.action)),
            ("target", JSONValue.optional(event.target)),
            ("outcome", .string(event.outcome.rawValue)),
            ("client_ip", JSONValue.optional(event.clientIP)),
            ("detail", JSONValue.optional(event.detail)),
            ("count", .integer(Int64(event.count))),
            ("last_time", JSONValue.timestamp(event.lastTime)),
        ])
    }
}
