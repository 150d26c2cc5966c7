import Administration
import Foundation
import Storage
import WorkloadIdentity

// CI workload identity for administrators (`/admin/workload-identity`): the trust policies config.d declares,
// each with its pins, matches, denials and grants, and the decisions the token endpoint audited for them, newest
// first with the condition that failed. Read through `WorkloadIdentityQueries`, which holds the rule that only
// administrators see either; the page changes nothing (configuration is the source of truth).
extension WebUI {
    var workloadRoutes: [WebRoute] {
        [.get("/admin/workload-identity", .admin) { request in try await workloadPage(request) }]
    }

    static let workloadDecisionsPerPage = 25

    func workloadPage(_ request: WebRequest) async throws -> WebResponse {
        guard let queries = services.workloadIdentity else { throw WebError.notFound() }
        let policies = try await queries.policies(by: request.caller)
        let policyFilter = request.query("policy").flatMap { name in
            policies.contains { $0.policy.name == name } ? name : nil
        }
        let outcomeFilter = request.query("outcome").flatMap(AuditOutcome.init(rawValue:))
        let page = request.pageNumber
        let perPage = Self.workloadDecisionsPerPage
        let decisions = try await queries.decisions(
            WorkloadDecisionFilter(policy: policyFilter, outcome: outcomeFilter), offset: (page - 1) * perPage,
            limit: perPage, by: request.caller)
        let filterQuery: [(String, String?)] = [("policy", policyFilter), ("outcome", outcomeFilter?.rawValue)]
        let link: (Int) -> Link = { number in
            Link("/admin/workload-identity").query(filterQuery + [("page", number > 1 ? String(number) : nil)])
        }
        let now = Date()
        return .page(
            Page(
                "Workload identity",
                lede: "CI jobs log in with their OIDC token under these trust policies. Change them in config.d and "
                    + "restart.",
                breadcrumb: adminCrumbs(Crumb("Workload identity")), section: .admin
            ) {
                section(.id("workload-policies"), .ariaLabel("Trust policies")) {
                    h2 { "Trust policies" }
                    if policies.isEmpty {
                        div(.class("card")) {
                            emptyState(
                                "No trust policy is configured",
                                "Add workloadIdentity: to config.d (config.d/45-workload-identity.yaml.example shows "
                                    + "one), then restart. A CI job then logs in with:",
                                command: "docker login -u <policy> -p \"$CI_JOB_JWT\" <registry>")
                        }
                    } else {
                        div(.class("grid")) {
                            for entry in policies { workloadPolicyCard(entry) }
                        }
                    }
                }
                section(.id("workload-decisions"), .ariaLabel("Recent decisions")) {
                    h2 { "Recent decisions" }
                    getForm(action: Link("/admin/workload-identity"), .class("card filters")) {
                        div(.class("filtergrid")) {
                            selectField(
                                "policy", label: "Policy",
                                options: [("", "Any")] + policies.map { ($0.policy.name, $0.policy.name) },
                                selected: policyFilter ?? "")
                            selectField(
                                "outcome", label: "Outcome",
                                options: [
                                    ("", "Any"), ("success", "allowed"), ("denied", "refused"),
                                    ("failure", "failed"),
                                ], selected: outcomeFilter?.rawValue ?? "")
                        }
                        div(.class("formrow")) {
                            submitButton("Filter", style: "secondary")
                            if policyFilter != nil || outcomeFilter != nil {
                                a(href: Link("/admin/workload-identity"), .class("button link")) { "Clear filters" }
                            }
                        }
                    }
                    div(.class("card flush")) {
                        if decisions.items.isEmpty {
                            emptyState(
                                "No decision yet",
                                "Every CI login and refresh appears here with the claims that decided it.")
                        } else {
                            workloadDecisionTable(decisions.items, now: now)
                            pager(total: decisions.total, page: page, perPage: perPage, link: link)
                        }
                    }
                    p(.class("muted small")) {
                        "Decisions come from the audit log (actions workload.login and workload.refresh); the "
                            + "audit log has them all, with every claim recorded."
                    }
                }
            })
    }

    /// One policy: who it trusts, what must hold, what it grants.
    private func workloadPolicyCard(_ entry: WorkloadPolicyEntry) -> Node {
        let policy = entry.policy
        return section(.class("card"), .id("policy-\(policy.name)"), .ariaLabel("Policy \(policy.name)")) {
            h3 {
                code { policy.name }
                " "
                if let profile = entry.issuer?.profile { badge(profile.rawValue) }
                " "
                if !entry.pinsImmutableClaim {
                    span(.title("A deleted and re-created repository of the same name would inherit this policy")) {
                        badge("pins names only", "warning")
                    }
                }
            }
            dl(.class("facts")) {
                dt { "Issuer" }
                dd {
                    strong { policy.issuer }
                    if let issuer = entry.issuer {
                        div(.class("small")) { code { issuer.issuer } }
                        div(.class("muted small")) {
                            "audience " + issuer.audiences.joined(separator: ", ") + " · "
                                + issuer.algorithms.map(\.rawValue).joined(separator: ", ")
                        }
                    }
                }
                dt { "Requires" }
                dd {
                    if policy.require.isEmpty { span(.class("muted")) { "nothing" } }
                    for requirement in policy.require {
                        div { code { requirement.claim + " = " + requirement.value } }
                    }
                }
                dt { "Matches" }
                dd { workloadPatterns(policy.match, none: "any claims") }
                dt { "Denies" }
                dd { workloadPatterns(policy.deny, none: "nothing") }
                dt { "Grants" }
                dd {
                    for grant in policy.grant {
                        div {
                            code {
                                grant.namespace + "/"
                                    + (grant.repositories.count == 1
                                        ? grant.repositories[0]
                                        : "{" + grant.repositories.joined(separator: ", ") + "}")
                            }
                            " "
                            for action in grant.actions { badge(action.rawValue) }
                        }
                    }
                }
                dt { "Session" }
                dd {
                    Self.workloadDuration(policy.session)
                    span(.class("muted")) {
                        policy.jti == .singleUse ? " · each job token logs in once" : " · a job token may log in again"
                    }
                }
                dt { "Declared" }
                dd { span(.class("muted small")) { policy.definedAt.isEmpty ? "config.d" : policy.definedAt } }
            }
            a(href: Link("/admin/workload-identity").query([("policy", policy.name)])) { "Its decisions" }
        }
    }

    /// A session length for people: `1 h`, `90 min`, `1 h 30 min`, `45 s`.
    static func workloadDuration(_ duration: Duration) -> String {
        let seconds = Int(duration.components.seconds)
        if seconds < 60 || seconds % 60 != 0 { return "\(seconds) s" }
        let minutes = seconds / 60
        if minutes < 60 || minutes % 60 != 0 && minutes < 120 { return "\(minutes) min" }
        return minutes % 60 == 0 ? "\(minutes / 60) h" : "\(minutes / 60) h \(minutes % 60) min"
    }

    private func workloadPatterns(_ list: [ClaimPatterns], none: String) -> Node {
        guard !list.isEmpty else { return span(.class("muted")) { none } }
        return .fragment(
            list.map { patterns in
                div { code { patterns.claim + " ∈ " + patterns.patterns.joined(separator: " | ") } }
            })
    }

    private func workloadDecisionTable(_ decisions: [WorkloadDecisionRecord], now: Date) -> Node {
        div(.class("tablewrap")) {
            table {
                thead {
                    tr {
                        th { "Time" }
                        th { "Policy and decision" }
                        th { "Repository and ref" }
                        th(.class("hide-narrow")) { "Run" }
                        th(.class("hide-narrow")) { "Client" }
                    }
                }
                tbody {
                    for decision in decisions {
                        tr {
                            td {
                                timeAgo(decision.time, now: now)
                                if decision.count > 1 {
                                    " "
                                    badge("×\(WebFormat.count(decision.count))")
                                }
                                div(.class("muted small")) { decision.kind?.rawValue ?? "" }
                            }
                            td(.class("name")) {
                                div { code { decision.policy ?? "—" } }
                                outcomeBadge(decision.outcome)
                                if let failed = decision.failed {
                                    div(.class("small")) { code { failed } }
                                }
                            }
                            td(.class("name")) {
                                if let subject = decision[claim: "repository"] ?? decision[claim: "project_path"] {
                                    div { truncated(subject, keep: 48) }
                                }
                                // GitLab's bare `ref` beside `ref_path` says the same thing twice: the path is shown.
                                if let ref = decision[claim: "ref_path"] ?? decision[claim: "ref"] {
                                    div(.class("small")) { truncated(ref, keep: 48) }
                                }
                                if let id = decision[claim: "repository_id"] ?? decision[claim: "project_id"] {
                                    div(.class("muted small")) { "id " + id }
                                }
                            }
                            td(.class("hide-narrow small")) {
                                if let run = decision[claim: "run_id"] ?? decision[claim: "pipeline_id"] {
                                    div { run }
                                }
                                if let jti = decision[claim: "jti"] {
                                    div(.class("muted nowrap")) { truncated("jti " + jti, keep: 20) }
                                }
                            }
                            td(.class("hide-narrow")) { code { decision.clientIP ?? "—" } }
                        }
                    }
                }
            }
        }
    }
}
