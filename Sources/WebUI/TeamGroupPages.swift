import Administration
import Foundation
import Storage

// A team's provider groups (`TeamGroupLink`): groups at an identity provider named as members before anyone of
// them signs in; their people join when their groups are next synced.
extension WebUI {
    var teamGroupRoutes: [WebRoute] {
        [
            .post("/teams/:team/groups", .signedIn) { request in try await addTeamGroup(request) },
            .get("/teams/:team/groups/:id/remove", .signedIn) { request in try await confirmTeamGroupRemoval(request) },
            .post("/teams/:team/groups/:id/remove", .signedIn) { request in try await removeTeamGroup(request) },
        ]
    }

    /// The providers whose groups a team can name: those that report groups (directories and sign-in
    /// providers), not local passwords or tokens.
    var groupProviders: [WebProvider] {
        settings.providers.filter { !["local", "application-tokens"].contains($0.type) }
    }

    /// The team page's "Provider groups" card; nothing when no provider reports groups and none is named.
    func teamGroupsSection(team: String, links: [TeamGroupLink], mayManage: Bool, request: WebRequest) -> Node {
        let providers = groupProviders
        guard !providers.isEmpty || !links.isEmpty else { return .empty }
        let names = Dictionary(settings.providers.map { ($0.id, $0.displayName) }) { first, _ in first }
        let link = teamLink(team)
        return section(.class("card flush"), .id("provider-groups"), .ariaLabel("Provider groups")) {
            h2 { "Provider groups" }
            if links.isEmpty {
                emptyState(
                    "No provider group is a member",
                    "Name a group at an identity provider: its people join this team when they next sign in, "
                        + "even before any of them has.")
            } else {
                div(.class("tablewrap")) {
                    table(.id("provider-groups-table")) {
                        thead {
                            tr {
                                th { "Group" }
                                th { "Provider" }
                                th { "Role" }
                                th(.class("hide-narrow")) { "Added" }
                                if mayManage { th { span(.class("visually-hidden")) { "Remove" } } }
                            }
                        }
                        tbody {
                            for group in links {
                                tr {
                                    td(.class("name")) { code { truncated(group.group, keep: 60) } }
                                    td { names[group.providerID] ?? group.providerID }
                                    td { roleBadge(group.role) }
                                    td(.class("hide-narrow")) {
                                        timeAgo(group.createdAt)
                                        if let by = group.createdBy { span(.class("muted")) { " by " + by } }
                                    }
                                    if mayManage {
                                        td(.class("num")) {
                                            a(
                                                href: link.appending("groups", String(group.id.rawValue), "remove"),
                                                .class("button small danger-text")
                                            ) { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if mayManage && !providers.isEmpty {
                div(.class("cardfoot")) {
                    postForm(
                        action: link.appending("groups"), csrf: request.csrfToken, .class("formrow"),
                        .id("add-group-form")
                    ) {
                        selectField(
                            "provider", label: "Provider", options: providers.map { ($0.id, $0.displayName) },
                            selected: providers[0].id)
                        textField("group", label: "Group", required: true, autocomplete: "off")
                        selectField(
                            "role", label: "Role",
                            options: TeamRole.allCases.reversed().map { ($0.rawValue, $0.rawValue) },
                            selected: TeamRole.viewer.rawValue)
                        submitButton("Add group", style: "secondary")
                    }
                    p(.class("help")) {
                        "The group's name as the provider reports it (an LDAP group's cn or DN, an OpenID groups "
                            + "claim value, a GitHub org or org/team). Its people get the role when they next sign in "
                            + "or are synced; memberships it brought show the provider as their source."
                    }
                }
            }
        }
    }

    func addTeamGroup(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("team")
        guard let role = TeamRole(rawValue: request.form["role"] ?? "") else {
            throw WebError.badRequest("Choose a role: viewer, contributor or owner.")
        }
        let provider = request.form["provider"] ?? ""
        do {
            let added = try await services.teams.addGroup(
                request.form["group"] ?? "", of: provider, to: name, role: role, by: request.caller)
            return done(
                teamLink(name).fragment("provider-groups"),
                "Group \(added.group) of \(provider) added to \(name) as \(added.role.rawValue).")
        } catch {
            return try refused(teamLink(name).fragment("provider-groups"), error)
        }
    }

    func confirmTeamGroupRemoval(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("team")
        let can = try await services.teams.permissions(of: name, by: request.caller)
        guard can.mayManageMembers else {
            throw WebError.forbidden("Only the team's owners and administrators may remove provider groups.")
        }
        let links = try await services.teams.groupLinks(of: name, by: request.caller)
        guard let id = Int64(request.parameter("id")), let group = links.first(where: { $0.id.rawValue == id }) else {
            throw WebError.notFound("Team \(name) names no such provider group.")
        }
        let link = teamLink(name)
        return .page(
            confirmationPage(
                "Remove group \(group.group) from \(name)?",
                breadcrumb: teamCrumbs(name) + [Crumb("Remove provider group")], section: .teams,
                csrf: request.csrfToken, action: link.appending("groups", String(id), "remove"),
                button: "Remove group", cancel: link.fragment("provider-groups")
            ) {
                p {
                    "People of "
                    code { group.group }
                    " at \(group.providerID) no longer join "
                    strong { name }
                    ". Those it brought in leave when their groups are next synced (if the provider's group sync is "
                    "authoritative); members added by hand stay."
                }
            })
    }

    func removeTeamGroup(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("team")
        guard let id = Int64(request.parameter("id")) else { throw WebError.notFound() }
        do {
            try await services.teams.removeGroup(TeamGroupLink.ID(id), from: name, by: request.caller)
        } catch {
            return try refused(teamLink(name).fragment("provider-groups"), error)
        }
        return done(teamLink(name).fragment("provider-groups"), "Provider group removed from \(name).")
    }
}
