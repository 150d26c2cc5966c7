import Administration
import Diagnostics
import Foundation
import HTTPCore
import Storage

// The audit log for administrators: filtered by actor, action, outcome and time through `AuditQueries`,
// paged on the server, and exported as CSV with the same filters and the same columns and defusing as the
// REST API's `GET /audit-events` with `Accept: text/csv` (`AuditQueries.csvColumns`, `CSV.record`).
extension WebUI {
    var auditRoutes: [WebRoute] {
        [
            .get("/admin/audit", .admin) { request in try await auditPage(request) },
            .get("/admin/audit.csv", .admin) { request in try await auditExport(request) },
        ]
    }

    static let auditPerPage = 50
    /// The most events one CSV export holds (the newest that match); narrow the filters for older ones.
    static let auditExportLimit = 50_000

    /// The filters of the audit page as the query states them, and the problems found reading them.
    struct AuditFilterForm {
        var actor = ""
        var action = ""
        var outcome = ""
        var since = ""
        var until = ""
        var filter = AuditEventFilter()
        var errors: [String: String] = [:]

        init(_ request: WebRequest) {
            func value(_ name: String) -> String {
                String((request.query(name) ?? "").trimmingCharacters(in: .whitespaces).prefix(256))
            }
            actor = value("actor")
            action = value("action")
            outcome = value("outcome")
            since = value("since")
            until = value("until")
            filter.actor = actor.isEmpty ? nil : actor
            filter.action = action.isEmpty ? nil : action
            if !outcome.isEmpty {
                if let parsed = AuditOutcome(rawValue: outcome) {
                    filter.outcome = parsed
                } else {
                    errors["outcome"] = "Choose success, denied or failure."
                }
            }
            if !since.isEmpty {
                if let date = Self.date(since, endOfDay: false) {
                    filter.since = date
                } else {
                    errors["since"] = "A date such as 2026-12-01, or a time such as 2026-12-01T08:00:00Z."
                }
            }
            if !until.isEmpty {
                if let date = Self.date(until, endOfDay: true) {
                    filter.until = date
                } else {
                    errors["until"] = "A date such as 2026-12-06, or a time such as 2026-12-06T18:00:00Z."
                }
            }
            if let start = filter.since, let end = filter.until, end <= start {
                errors["until"] = "“Until” must come after “since”."
            }
        }

        /// A day (`2026-12-06`, its start; with `endOfDay`, the start of the next day, so the day is included)
        /// or an RFC 3339 time.
        static func date(_ text: String, endOfDay: Bool) -> Date? {
            if text.count == 10, let day = RFC3339.date(from: text + "T00:00:00Z") {
                return endOfDay ? day.addingTimeInterval(86_400) : day
            }
            return RFC3339.date(from: text)
        }

        /// The query that repeats these filters (for pages and the export).
        var query: [(String, String?)] {
            [
                ("actor", actor.isEmpty ? nil : actor), ("action", action.isEmpty ? nil : action),
                ("outcome", outcome.isEmpty ? nil : outcome), ("since", since.isEmpty ? nil : since),
                ("until", until.isEmpty ? nil : until),
            ]
        }

        var isFiltered: Bool { query.contains { $0.1 != nil } }
    }

    func auditPage(_ request: WebRequest) async throws -> WebResponse {
        let filters = AuditFilterForm(request)
        let page = request.pageNumber
        let perPage = Self.auditPerPage
        let found: Administration.Page<AuditEvent>? =
            filters.errors.isEmpty
            ? try await services.audit.list(
                filters.filter, offset: (page - 1) * perPage, limit: perPage, by: request.caller)
            : nil
        let link: (Int) -> Link = { number in
            Link("/admin/audit").query(filters.query + [("page", number > 1 ? String(number) : nil)])
        }
        let now = Date()
        return .page(
            Page(
                "Audit log", lede: "Who did what, newest first: sign-ins, token decisions and every change.",
                breadcrumb: adminCrumbs(Crumb("Audit log")), section: .admin,
                actions: [
                    linkButton("Export CSV", to: Link("/admin/audit.csv").query(filters.query), style: "secondary")
                ],
                status: filters.errors.isEmpty ? .ok : .unprocessableContent
            ) {
                getForm(action: Link("/admin/audit"), .class("card filters"), .id("audit-filters")) {
                    div(.class("filtergrid")) {
                        textField(
                            "actor", label: "Actor", value: filters.actor, help: "A username, exactly.",
                            error: filters.errors["actor"], autocomplete: "off")
                        textField(
                            "action", label: "Action", value: filters.action, help: "team.add_member, or team.*",
                            error: filters.errors["action"], autocomplete: "off")
                        selectField(
                            "outcome", label: "Outcome",
                            options: [("", "Any")] + AuditOutcome.allCases.map { ($0.rawValue, $0.rawValue) },
                            selected: filters.outcome, error: filters.errors["outcome"])
                        textField(
                            "since", label: "Since", value: filters.since, type: "date", help: "From this day (UTC).",
                            error: filters.errors["since"])
                        textField(
                            "until", label: "Until", value: filters.until, type: "date",
                            help: "Up to and including this day.", error: filters.errors["until"])
                    }
                    div(.class("formrow")) {
                        submitButton("Filter", style: "secondary")
                        if filters.isFiltered {
                            a(href: Link("/admin/audit"), .class("button link")) { "Clear filters" }
                        }
                    }
                }
                div(.class("card flush"), .id("audit-events")) {
                    if let found {
                        if found.items.isEmpty {
                            emptyState(
                                filters.isFiltered ? "No event matches these filters" : "The audit log is empty",
                                filters.isFiltered
                                    ? "Widen the dates or clear a filter."
                                    : "Sign-ins, token requests and changes appear here as they happen.")
                        } else {
                            div(.class("tablewrap")) {
                                table {
                                    thead {
                                        tr {
                                            th { "Time" }
                                            th { "Actor" }
                                            th { "Action" }
                                            th(.class("hide-narrow")) { "Target" }
                                            th { "Outcome" }
                                            th(.class("hide-narrow")) { "Client" }
                                            th(.class("hide-narrow")) { "Detail" }
                                        }
                                    }
                                    tbody {
                                        for event in found.items {
                                            tr {
                                                td(.class("nowrap")) {
                                                    timeAgo(event.time, now: now)
                                                    if event.count > 1 {
                                                        " "
                                                        span(
                                                            .class("badge"),
                                                            .title("Repeated events coalesced into one line")
                                                        ) {
                                                            "×\(WebFormat.count(event.count))"
                                                        }
                                                    }
                                                }
                                                td(.class("nowrap")) {
                                                    truncated(event.actorName ?? "anonymous", keep: 24)
                                                }
                                                td { code { event.action } }
                                                td(.class("nowrap hide-narrow")) {
                                                    truncated(event.target ?? "—", keep: 32)
                                                }
                                                td { outcomeBadge(event.outcome) }
                                                td(.class("hide-narrow")) { code { event.clientIP ?? "—" } }
                                                td(.class("hide-narrow detail")) {
                                                    if let detail = event.detail {
                                                        span(.class("small"), .title(detail)) {
                                                            String(Self.readableDetail(detail).prefix(120))
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            pager(total: found.total, page: page, perPage: perPage, link: link)
                        }
                    } else {
                        emptyState("Check the filters", "Correct the fields marked above to see events.")
                    }
                }
            })
    }

    /// An event's detail for people: a JSON object of strings as `key: value, …` (sorted), anything else as
    /// stored. The whole stored text stays in the tooltip and in the CSV.
    static func readableDetail(_ detail: String) -> String {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(detail.utf8))) as? [String: Any] else {
            return detail
        }
        return object.keys.sorted().map { key in "\(key): \(object[key].map { "\($0)" } ?? "")" }
            .joined(separator: ", ")
    }

    func outcomeBadge(_ outcome: AuditOutcome) -> Node {
        switch outcome {
        case .success: badge("success", "success")
        case .denied: badge("denied", "warning")
        case .failure: badge("failure", "danger")
        }
    }

    /// `GET /admin/audit.csv`: the events the filters match (the newest `auditExportLimit`), as the REST API
    /// writes them: RFC 4180, CRLF, formulas defused (`=`, `+`, `-`, `@` get a leading `'`).
    func auditExport(_ request: WebRequest) async throws -> WebResponse {
        let filters = AuditFilterForm(request)
        guard filters.errors.isEmpty else {
            throw WebError.badRequest(filters.errors.values.sorted().joined(separator: " "))
        }
        var text = CSV.record(AuditQueries.csvColumns)
        var offset = 0
        let batch = 1000
        while offset < Self.auditExportLimit {
            let found = try await services.audit.list(filters.filter, offset: offset, limit: batch, by: request.caller)
            for event in found.items { text += CSV.record(AuditQueries.csvFields(event)) }
            offset += found.items.count
            if found.items.count < batch { break }
        }
        var response = HTTPResponse(status: .ok)
        response.headers.add(name: "Content-Type", value: "text/csv; charset=utf-8; header=present")
        response.headers.add(name: "Content-Disposition", value: "attachment; filename=\"audit-events.csv\"")
        response.headers.add(name: "X-Content-Type-Options", value: "nosniff")
        response.body = Array(text.utf8)
        return .response(response)
    }
}
