import Administration
import Diagnostics
import Foundation
import HTTPCore
import IdentityCore
import Storage

/// The identity providers' health for the admin page.
///
/// Contract: never throws; nil when the provider cannot say (a local or token provider has nothing to
/// probe); bounded by the provider's own timeouts, and cheap to call repeatedly (implementations cache).
public protocol WebProviderHealthChecking: Sendable {
    /// The health of provider `id`, nil when it cannot say.
    func health(of id: String) async -> ProviderHealth?
}

// Registries (state, last sync, "sync now") and identity providers (configured order, type, health): the
// read-mostly admin pages about the server's surroundings.
extension WebUI {
    var adminSystemRoutes: [WebRoute] {
        [
            .get("/admin/registries", .admin) { request in try await registriesPage(request) },
            .post("/admin/registries/:name/sync", .admin) { request in try await syncRegistry(request) },
            .get("/admin/providers", .admin) { request in try await providersPage(request) },
            .post("/admin/providers/:id/revalidate", .admin) { request in try await revalidateProvider(request) },
        ]
    }

    func registriesPage(_ request: WebRequest) async throws -> WebResponse {
        let statuses = await services.registries?.statuses() ?? []
        let now = Date()
        return .page(
            Page(
                "Registries",
                lede: "The registries this server issues tokens for, and how their catalogs are kept in step.",
                breadcrumb: adminCrumbs(Crumb("Registries")), section: .admin
            ) {
                div(.class("card flush"), .id("registries")) {
                    if statuses.isEmpty {
                        emptyState(
                            "No registry is configured",
                            "Add one under registries: in config.d, then restart; its catalog is synced from then on.")
                    } else {
                        div(.class("tablewrap")) {
                            table {
                                thead {
                                    tr {
                                        th { "Registry" }
                                        th { "State" }
                                        th { "Last sync" }
                                        th(.class("num hide-narrow")) { "Backlog" }
                                        th { span(.class("visually-hidden")) { "Sync" } }
                                    }
                                }
                                tbody {
                                    for status in statuses {
                                        tr {
                                            td(.class("name")) {
                                                strong { status.name }
                                                div(.class("muted small")) { code { truncated(status.url, keep: 48) } }
                                            }
                                            td {
                                                if status.isReachable {
                                                    badge("reachable", "success")
                                                } else {
                                                    badge("unreachable", "danger")
                                                }
                                                if status.isSyncing {
                                                    " "
                                                    badge("syncing", "info")
                                                }
                                                if let problem = status.problem {
                                                    div(.class("muted small")) { problem }
                                                }
                                            }
                                            td {
                                                timeAgo(status.lastSync, now: now, never: "never synced")
                                                if let result = status.lastResult {
                                                    " "
                                                    badge(
                                                        result,
                                                        result == "succeeded"
                                                            ? "success" : result == "partial" ? "warning" : "danger")
                                                }
                                                if let summary = status.lastSummary, !summary.isEmpty {
                                                    div(.class("muted small")) { summary }
                                                }
                                            }
                                            td(.class("num hide-narrow")) { WebFormat.count(status.eventBacklog) }
                                            td(.class("num")) {
                                                postForm(
                                                    action: Link.path("admin", "registries", status.name, "sync"),
                                                    csrf: request.csrfToken, .class("inline")
                                                ) {
                                                    if status.isSyncing {
                                                        submitButton("Sync now", style: "small", .disabled)
                                                    } else {
                                                        submitButton("Sync now", style: "small")
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p(.class("muted")) {
                    "A sync reads the registry's catalog and adds, moves or removes tags so the pages match what the "
                        + "registry holds; registry notifications do the same one push at a time."
                }
            })
    }

    private func signInWay(_ provider: WebProvider) -> String {
        if provider.signsInByRedirect { return "a button on the sign-in page" }
        if provider.type == "application-tokens" { return "tokens as docker login and API passwords" }
        return "username and password"
    }

    func syncRegistry(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("name")
        guard let registries = services.registries else {
            throw WebError.notFound("No registry is configured.")
        }
        do {
            try await registries.syncNow(name, by: request.user.username)
        } catch {
            return try refused(Link("/admin/registries"), error)
        }
        return done(Link("/admin/registries"), "Sync of \(name) started. Reload to see how it ends.")
    }

    /// "Re-check now": every identity of one redirect provider re-checked at once, with what came of it.
    func revalidateProvider(_ request: WebRequest) async throws -> WebResponse {
        let id = request.parameter("id")
        guard let federation = services.federation, federation.canRevalidate(id) else {
            throw WebError.notFound("No provider with the id \(id) re-checks identities.")
        }
        let report: RevalidationReport
        do {
            report = try await federation.revalidateNow(providerID: id, by: request.caller)
        } catch {
            return try refused(Link("/admin/providers"), error)
        }
        let counts = [
            (report.confirmed, "confirmed"), (report.suspended, "suspended"), (report.failing, "not answered for"),
            (report.skipped, "without a grant to check"),
        ].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
        return done(
            Link("/admin/providers"),
            counts.isEmpty
                ? "No identity of \(id) to re-check." : "Identities of \(id): " + counts.joined(separator: ", ") + ".")
    }

    func providersPage(_ request: WebRequest) async throws -> WebResponse {
        let providers = settings.providers
        var health: [String: ProviderHealth] = [:]
        if let checker = services.providerHealth {
            await withTaskGroup(of: (String, ProviderHealth?).self) { group in
                for provider in providers {
                    group.addTask { (provider.id, await checker.health(of: provider.id)) }
                }
                for await (id, report) in group { health[id] = report }
            }
        }
        return .page(
            Page(
                "Identity providers",
                lede: "Who may sign in, in the order a password is tried. Change them in config.d and restart.",
                breadcrumb: adminCrumbs(Crumb("Identity providers")), section: .admin
            ) {
                div(.class("card flush"), .id("providers")) {
                    if providers.isEmpty {
                        emptyState("No provider is enabled", "Enable one under providers: in config.d.")
                    } else {
                        div(.class("tablewrap")) {
                            table {
                                thead {
                                    tr {
                                        th(.class("num")) { "Order" }
                                        th { "Provider" }
                                        th { "Type" }
                                        th { "Sign-in" }
                                        th { "Health" }
                                        th { span(.class("visually-hidden")) { "Identities" } }
                                    }
                                }
                                tbody {
                                    for (index, provider) in providers.enumerated() {
                                        tr {
                                            td(.class("num")) { String(index + 1) }
                                            td(.class("name")) {
                                                strong { provider.displayName }
                                                div(.class("muted small")) { code { provider.id } }
                                            }
                                            td { badge(provider.type) }
                                            td { signInWay(provider) }
                                            td {
                                                if let report = health[provider.id] {
                                                    badge(
                                                        report.isHealthy ? "healthy" : "unhealthy",
                                                        report.isHealthy ? "success" : "danger")
                                                    div(.class("muted small")) { report.message }
                                                } else {
                                                    span(.class("muted")) { "nothing to check" }
                                                }
                                            }
                                            td {
                                                if services.federation?.canRevalidate(provider.id) == true {
                                                    postForm(
                                                        action: Link.path(
                                                            "admin", "providers", provider.id, "revalidate"),
                                                        csrf: request.csrfToken
                                                    ) { submitButton("Re-check identities now", style: "small") }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p(.class("muted")) {
                    "Health is checked when this page opens (at most every 10 seconds): for a directory, a connection "
                        + "and a bind with the service account; for an OpenID provider, its discovery document. "
                        + "Identities signed in through a provider are re-checked there every login.revalidateEvery; "
                        + "\u{201C}Re-check identities now\u{201D} does it at once."
                }
            })
    }
}

/// Why an operation a page started through a port was refused.
public typealias WebOperationError = CodedFailure<WebOperationErrorCode>

/// The stable codes of a `WebOperationError`.
public enum WebOperationErrorCode: String, Sendable, Hashable, CaseIterable {
    /// A catalog sync of the registry runs already (here or in another process on the database).
    case syncRunning = "ui.sync_running"
    /// No registry is configured under the name.
    case registryNotFound = "ui.registry_not_found"
}
