import Administration
import Foundation
import Storage

// The dashboard: where a signed-in user lands (ui-design.md: the task first; Portus's dashboard tiles).
extension WebUI {
    var dashboardRoutes: [WebRoute] {
        [.get("/", .anyone) { request in try await dashboard(request) }]
    }

    func dashboard(_ request: WebRequest) async throws -> WebResponse {
        guard let session = request.session else {
            if try await services.setup.isNeeded() { return .redirect(Link("/setup")) }
            return .redirect(settings.anonymousBrowsing ? Link("/explore") : Link("/sign-in"))
        }
        let overview = try await DashboardService(store: services.store).overview(for: request.caller)
        let user = session.user
        let greeting = user.displayName.flatMap { $0.isEmpty ? nil : $0 } ?? user.username
        return .page(
            Page("Dashboard", lede: "Welcome back, \(greeting).", section: .dashboard) {
                if let figures = overview.figures { administratorTiles(figures) }
                div(.class("grid")) {
                    namespacesCard(overview)
                    starredCard(overview.starred)
                }
                div(.class("grid")) {
                    activityCard(overview.activity)
                    teamsCard(overview.teams)
                }
            })
    }

    private func administratorTiles(_ figures: AdministratorFigures) -> Node {
        section(.class("tiles"), .ariaLabel("Server figures"), .id("admin-tiles")) {
            tile("Users", figures.users, Link("/admin/users"))
            tile("Teams", figures.teams, Link("/teams"))
            tile("Namespaces", figures.namespaces, Link("/namespaces"))
            tile("Registries", settings.registries.count, Link("/admin/registries"))
            tile(
                "Token denials, 24 h", figures.tokenDenials,
                Link("/admin/audit").query([("action", "token.issue"), ("outcome", "denied")]),
                alert: figures.tokenDenials > 0)
        }
    }

    private func tile(_ label: String, _ value: Int, _ link: Link, alert: Bool = false) -> Node {
        a(href: link, .class(alert ? "tile alert" : "tile")) {
            div(.class("figure")) { WebFormat.count(value) }
            div(.class("label")) { label }
        }
    }

    private func namespacesCard(_ overview: DashboardOverview) -> Node {
        section(.class("card flush"), .id("my-namespaces")) {
            h2 { "Your namespaces" }
            if overview.namespaces.isEmpty {
                emptyState(
                    "No namespaces yet", "You belong to no team that owns one. Ask a team owner to add you, or browse.")
            } else {
                div(.class("tablewrap")) {
                    table {
                        thead {
                            tr {
                                th { "Name" }
                                th { "Visibility" }
                                th(.class("num")) { "Repositories" }
                            }
                        }
                        tbody {
                            for namespace in overview.namespaces {
                                tr {
                                    td(.class("name")) {
                                        a(href: Link.namespace(namespace.name)) { namespace.name }
                                    }
                                    td { visibilityBadge(namespace.visibility) }
                                    td(.class("num")) { WebFormat.count(namespace.repositoryCount) }
                                }
                            }
                        }
                    }
                }
                if overview.namespaceTotal > overview.namespaces.count {
                    div(.class("pager")) {
                        a(href: Link("/namespaces")) { "All \(WebFormat.count(overview.namespaceTotal)) namespaces" }
                    }
                }
            }
        }
    }

    private func starredCard(_ starred: SearchPage) -> Node {
        section(.class("card flush"), .id("starred")) {
            h2 { "Starred repositories" }
            if starred.hits.isEmpty {
                emptyState("Nothing starred yet", "Star a repository on its page to find it here.")
            } else {
                div(.class("tablewrap")) {
                    table {
                        tbody {
                            for hit in starred.hits {
                                tr {
                                    td(.class("name")) { a(href: Link.repository(hit.name)) { hit.name } }
                                    td(.class("num")) { "★ \(WebFormat.count(hit.starCount ?? 0))" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func teamsCard(_ teams: [DashboardTeam]) -> Node {
        section(.class("card flush"), .id("my-teams")) {
            h2 { "Your teams" }
            if teams.isEmpty {
                emptyState("No teams yet", "A team owner adds you to a team; its namespaces then appear here.")
            } else {
                div(.class("tablewrap")) {
                    table {
                        tbody {
                            for team in teams {
                                tr {
                                    td(.class("name")) { a(href: Link.team(team.name)) { team.name } }
                                    td {
                                        badge(team.role.rawValue, team.role == .owner ? "owner" : nil)
                                        if let source = team.syncedFrom {
                                            " "
                                            badge(source, "info")
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

    private func activityCard(_ events: [AuditEvent]) -> Node {
        let now = Date()
        return section(.class("card flush"), .id("activity")) {
            h2 { "Recent activity" }
            if events.isEmpty {
                emptyState("No activity yet", "Pushes, deletions and changes in your namespaces appear here.")
            } else {
                div(.class("tablewrap")) {
                    table {
                        tbody {
                            for event in events {
                                tr {
                                    td {
                                        strong { event.actorName ?? "someone" }
                                        " \(ActivityText.verb(event.action)) "
                                        if let target = event.target { code { ActivityText.target(target) } }
                                        if event.outcome != .success { " " + "(\(event.outcome.rawValue))" }
                                    }
                                    td(.class("num muted")) { timeAgo(event.time, now: now) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Audit events as short sentences ("carl pushed acme/api:v1").
enum ActivityText {
    /// `tag.push` → "pushed"; unknown actions as they are, dots as spaces.
    static func verb(_ action: String) -> String {
        let known = [
            "tag.push": "pushed", "tag.delete": "deleted", "repository.delete": "deleted",
            "repository.create": "created", "repository.update": "updated", "namespace.create": "created",
            "namespace.update": "updated", "namespace.delete": "deleted", "namespace.transfer": "transferred",
            "repository.star": "starred", "webhook.create": "added a webhook to",
        ]
        return known[action] ?? action.replacingOccurrences(of: ".", with: " ").replacingOccurrences(of: "_", with: " ")
    }

    /// `tag:acme/api:v1` → `acme/api:v1`.
    static func target(_ target: String) -> String {
        guard let colon = target.firstIndex(of: ":") else { return target }
        return String(target[target.index(after: colon)...])
    }
}
