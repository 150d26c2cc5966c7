import Administration
import Foundation
import HTTPCore
import Storage

// Teams: the list (paged on the server, searchable), a team's page with its members, where each membership
// came from, its namespaces and robot accounts, and the forms that change them. Every rule (the last owner,
// an administrator is always an owner, who may manage) is `TeamAdministration`'s and `RobotAccountService`'s.
extension WebUI {
    var teamRoutes: [WebRoute] {
        [
            .get("/teams", .signedIn) { request in try await teamsPage(request) },
            .post("/teams", .signedIn) { request in try await createTeam(request) },
            .get("/teams/:team", .signedIn) { request in try await teamPage(request) },
            .post("/teams/:team/description", .signedIn) { request in try await updateTeamDescription(request) },
            .post("/teams/:team/members", .signedIn) { request in try await addTeamMember(request) },
            .post("/teams/:team/members/:user/role", .signedIn) { request in try await changeMemberRole(request) },
            .get("/teams/:team/members/:user/remove", .signedIn) { request in try await confirmMemberRemoval(request) },
            .post("/teams/:team/members/:user/remove", .signedIn) { request in try await removeTeamMember(request) },
            .get("/teams/:team/delete", .signedIn) { request in try await confirmTeamDeletion(request) },
            .post("/teams/:team/delete", .signedIn) { request in try await deleteTeam(request) },
        ] + robotRoutes
    }

    static let teamsPerPage = 25

    /// `/teams/<name>`.
    func teamLink(_ name: String) -> Link { Link.team(name) }

    func teamCrumbs(_ name: String? = nil) -> [Crumb] {
        guard let name else { return [Crumb("Teams")] }
        return [Crumb("Teams", Link("/teams")), Crumb(name, teamLink(name))]
    }

    // MARK: - The list

    func teamsPage(
        _ request: WebRequest, errors: [String: String] = [:], status: HTTPStatus = .ok
    ) async throws -> WebResponse {
        let query = (request.query("q") ?? "").trimmingCharacters(in: .whitespaces)
        let page = request.pageNumber
        let perPage = Self.teamsPerPage
        var teams: [TeamSummary] = []
        var total = 0
        var isExact = true
        var hint: String?
        if query.isEmpty {
            let found = try await services.teams.list(
                PageRequest(offset: (page - 1) * perPage, limit: perPage, sort: .name), by: request.caller)
            teams = found.items
            total = found.total
        } else if query.unicodeScalars.count < 3 {
            hint = "Type at least 3 characters to search teams."
        } else {
            let results = try await services.search.search(
                String(query.prefix(255)), as: request.caller, kinds: [.team],
                page: PageNumber(page: page, perPage: perPage))
            let section = results.sections[.team]
            total = section?.total ?? 0
            isExact = section?.isTotalExact ?? true
            for hit in section?.hits ?? [] {
                if let details = try? await services.teams.show(hit.name, by: request.caller) {
                    teams.append(details.team)
                }
            }
        }
        let mayCreate = try await services.teams.mayCreate(by: request.caller)
        let form = request.form
        let listLink: (Int) -> Link = { number in
            Link("/teams").query([("q", query.isEmpty ? nil : query), ("page", number > 1 ? String(number) : nil)])
        }
        return .page(
            Page(
                "Teams", lede: "Teams own namespaces; a member's role decides what they may pull and push there.",
                breadcrumb: teamCrumbs(), section: .teams,
                actions: mayCreate
                    ? [linkButton("New team", to: Link("/teams").fragment("new-team"), style: "primary")] : [],
                status: status
            ) {
                searchBar(
                    Link("/teams"), id: "team-q", query: query, label: "Search teams",
                    placeholder: "Search teams by name or description")
                div(.class("card flush"), .id("teams")) {
                    if let hint {
                        emptyState("Keep typing", hint)
                    } else if teams.isEmpty {
                        if query.isEmpty {
                            emptyState(
                                "You are in no team yet",
                                mayCreate
                                    ? "Create one below, or ask a team owner to add you."
                                    : "Ask a team owner or an administrator to add you to one.")
                        } else {
                            emptyState("No team matches “\(query)”", "Try another part of its name.")
                        }
                    } else {
                        div(.class("tablewrap")) {
                            table {
                                thead {
                                    tr {
                                        th { "Team" }
                                        th(.class("hide-narrow")) { "Description" }
                                        th(.class("num")) { "Members" }
                                        th(.class("num hide-narrow")) { "Namespaces" }
                                        th { "Your role" }
                                    }
                                }
                                tbody {
                                    for team in teams {
                                        tr {
                                            td(.class("name")) { a(href: teamLink(team.name)) { truncated(team.name) } }
                                            td(.class("hide-narrow muted")) {
                                                truncated(team.description ?? "", keep: 60)
                                            }
                                            td(.class("num")) { WebFormat.count(team.memberCount) }
                                            td(.class("num hide-narrow")) { WebFormat.count(team.namespaceCount) }
                                            td { team.yourRole.map(roleBadge) ?? span(.class("muted")) { "—" } }
                                        }
                                    }
                                }
                            }
                        }
                        pager(total: total, page: page, perPage: perPage, isExact: isExact, link: listLink)
                    }
                }
                if mayCreate {
                    div(.class("card narrow"), .id("new-team")) {
                        h2 { "Create a team" }
                        p(.class("muted")) { "You become its owner. Add members and namespaces once it exists." }
                        postForm(action: Link("/teams"), csrf: request.csrfToken, .id("create-team-form")) {
                            textField(
                                "name", label: "Name", value: form["name"],
                                help: "Lower-case letters, digits, '.', '_' and '-'.", error: errors["name"],
                                required: true, autocomplete: "off")
                            textField(
                                "description", label: "Description (optional)", value: form["description"],
                                error: errors["description"], autocomplete: "off")
                            submitButton("Create team")
                        }
                    }
                }
            })
    }

    func createTeam(_ request: WebRequest) async throws -> WebResponse {
        let name = request.form["name"] ?? ""
        let description = request.form["description"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            let created = try await services.teams.create(name, description: description, by: request.caller)
            return done(teamLink(created.team.name), "Team \(created.team.name) created. You are its owner.")
        } catch let error as AdministrationError where error.code != .forbidden {
            let field = error.code == .invalidDescription ? "description" : "name"
            return try await teamsPage(
                request, errors: [field: message(for: error) ?? ""],
                status: error.isConflict ? .conflict : .unprocessableContent)
        }
    }

    // MARK: - One team

    func teamPage(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("team")
        let details = try await services.teams.show(name, by: request.caller)
        let team = details.team
        let can = try await services.teams.permissions(of: team.name, by: request.caller)
        let robots =
            can.maySeeRobots
            ? try await refusing { try await services.robots.list(team: team.name, by: request.caller) } : []
        let owners = details.members.filter { $0.role == .owner }.count
        let groups = try await services.teams.groupLinks(of: team.name, by: request.caller)
        let link = teamLink(team.name)
        return .page(
            Page(
                team.name, lede: team.description ?? "No description.", breadcrumb: teamCrumbs(team.name),
                section: .teams
            ) {
                div(.class("tiles")) {
                    tile(WebFormat.count(team.memberCount), team.memberCount == 1 ? "member" : "members")
                    tile(WebFormat.count(owners), owners == 1 ? "owner" : "owners")
                    tile(WebFormat.count(team.namespaceCount), team.namespaceCount == 1 ? "namespace" : "namespaces")
                    tile(WebFormat.count(robots.count { $0.isUsable(at: Date()) }), "active robots")
                }
                section(.class("card flush"), .id("members"), .ariaLabel("Members")) {
                    h2 { "Members" }
                    membersTable(details, can: can, request: request)
                    if can.mayManageMembers {
                        div(.class("cardfoot")) {
                            postForm(
                                action: link.appending("members"), csrf: request.csrfToken, .class("formrow"),
                                .id("add-member-form")
                            ) {
                                textField(
                                    "username", label: "Add a member by username", required: true,
                                    autocomplete: "off")
                                selectField(
                                    "role", label: "Role",
                                    options: TeamRole.allCases.reversed().map { ($0.rawValue, $0.rawValue) },
                                    selected: TeamRole.viewer.rawValue)
                                submitButton("Add member", style: "secondary")
                            }
                            p(.class("help")) {
                                "Viewers pull; contributors pull and push; owners also manage the team and its namespaces. "
                                    + "An administrator is always an owner."
                            }
                        }
                    }
                }
                teamGroupsSection(team: team.name, links: groups, mayManage: can.mayManageMembers, request: request)
                section(.class("card flush"), .id("namespaces"), .ariaLabel("Namespaces")) {
                    h2 { "Namespaces" }
                    if details.namespaces.isEmpty {
                        emptyState(
                            "This team owns no namespace yet",
                            "An owner can create one on the Namespaces page; the team's members then push there.")
                    } else {
                        ul(.class("linklist")) {
                            for namespace in details.namespaces {
                                li { a(href: Link.namespace(namespace)) { truncated(namespace) } }
                            }
                        }
                    }
                }
                if can.maySeeRobots {
                    robotsSection(
                        team: team.name, namespaces: details.namespaces, robots: robots, can: can, request: request)
                }
                if can.mayEdit {
                    section(.class("card narrow"), .id("settings"), .ariaLabel("Settings")) {
                        h2 { "Description" }
                        postForm(
                            action: link.appending("description"), csrf: request.csrfToken, .id("description-form")
                        ) {
                            textField(
                                "description", label: "Description", value: team.description ?? "",
                                help: "Shown in team lists and search. Leave empty to clear it.", autocomplete: "off")
                            submitButton("Save description", style: "secondary")
                        }
                    }
                }
                if can.mayDelete {
                    section(.class("card danger-zone"), .id("danger-zone"), .ariaLabel("Delete this team")) {
                        h2 { "Delete this team" }
                        p(.class("muted")) {
                            "Its memberships and robot accounts go with it. Namespaces it owns must go to another team first."
                        }
                        linkButton("Delete team…", to: link.appending("delete"), style: "danger")
                    }
                }
            })
    }

    private func tile(_ figure: String, _ label: String) -> Node {
        div(.class("tile")) {
            div(.class("figure")) { figure }
            div(.class("label")) { label }
        }
    }

    private func membersTable(_ details: TeamDetails, can: TeamPermissions, request: WebRequest) -> Node {
        let link = teamLink(details.team.name)
        return div(.class("tablewrap")) {
            table {
                thead {
                    tr {
                        th { "Member" }
                        th { "Role" }
                        th { "Source" }
                        th(.class("hide-narrow")) { "Added" }
                        if can.mayManageMembers { th { span(.class("visually-hidden")) { "Actions" } } }
                    }
                }
                tbody {
                    for member in details.members {
                        tr {
                            td(.class("name")) {
                                truncated(member.username)
                                if member.userID == request.session?.user.id { span(.class("muted")) { " (you)" } }
                            }
                            td {
                                if can.mayManageMembers {
                                    postForm(
                                        action: link.appending("members", member.username, "role"),
                                        csrf: request.csrfToken,
                                        .class("inline rolechange")
                                    ) {
                                        label(.labelFor("role-\(member.userID.rawValue)"), .class("visually-hidden")) {
                                            "Role of \(member.username)"
                                        }
                                        Node.element(
                                            "select", [.id("role-\(member.userID.rawValue)"), .name("role")],
                                            TeamRole.allCases.reversed().map { role in
                                                role == member.role
                                                    ? option(.value(role.rawValue), .selected) { role.rawValue }
                                                    : option(.value(role.rawValue)) { role.rawValue }
                                            })
                                        submitButton("Change", style: "small")
                                    }
                                } else {
                                    roleBadge(member.role)
                                }
                            }
                            td { membershipSourceBadge(member.syncedFrom, providers: settings.providers) }
                            td(.class("hide-narrow")) { timeAgo(member.addedAt) }
                            if can.mayManageMembers {
                                td(.class("num")) {
                                    a(
                                        href: link.appending("members", member.username, "remove"),
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

    func updateTeamDescription(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("team")
        let text = request.form["description"] ?? ""
        do {
            _ = try await services.teams.updateDescription(text.isEmpty ? nil : text, of: name, by: request.caller)
            return done(teamLink(name), "Description saved.")
        } catch {
            return try refused(teamLink(name), error)
        }
    }

    func addTeamMember(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("team")
        let username = request.form["username"] ?? ""
        guard let role = TeamRole(rawValue: request.form["role"] ?? "") else {
            throw WebError.badRequest("Choose a role: viewer, contributor or owner.")
        }
        do {
            let member = try await services.teams.addMember(username, to: name, role: role, by: request.caller)
            let note =
                member.role != role ? " as owner (administrators are always owners)" : " as \(member.role.rawValue)"
            return done(teamLink(name).fragment("members"), "\(member.username) added to \(name)\(note).")
        } catch {
            return try refused(teamLink(name).fragment("members"), error)
        }
    }

    func changeMemberRole(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("team")
        let username = request.parameter("user")
        guard let role = TeamRole(rawValue: request.form["role"] ?? "") else {
            throw WebError.badRequest("Choose a role: viewer, contributor or owner.")
        }
        do {
            let member = try await services.teams.setRole(role, of: username, in: name, by: request.caller)
            return done(teamLink(name).fragment("members"), "\(member.username) is now \(member.role.rawValue).")
        } catch {
            return try refused(teamLink(name).fragment("members"), error)
        }
    }

    func confirmMemberRemoval(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("team")
        let username = request.parameter("user")
        let details = try await services.teams.show(name, by: request.caller)
        let can = try await services.teams.permissions(of: name, by: request.caller)
        guard can.mayManageMembers else {
            throw WebError.forbidden("Only the team's owners and administrators may remove members.")
        }
        guard let member = details.members.first(where: { $0.username == username }) else {
            throw WebError.notFound("\(username) is not a member of team \(name).")
        }
        let link = teamLink(name)
        return .page(
            confirmationPage(
                "Remove \(member.username) from \(name)?",
                breadcrumb: teamCrumbs(name) + [Crumb("Remove member")], section: .teams, csrf: request.csrfToken,
                action: link.appending("members", member.username, "remove"), button: "Remove \(member.username)",
                cancel: link.fragment("members")
            ) {
                p {
                    strong { member.username }
                    " loses the role "
                    roleBadge(member.role)
                    " in team "
                    strong { name }
                    if details.namespaces.isEmpty {
                        "."
                    } else {
                        " and with it access through this team to "
                        strong { details.namespaces.joined(separator: ", ") }
                        "."
                    }
                }
                if let source = member.syncedFrom {
                    p(.class("flash warning")) {
                        "This membership was made by the group sync of \(source): it comes back at the next sync "
                            + "while the directory still lists them in the group."
                    }
                }
                if member.userID == request.session?.user.id {
                    p(.class("flash warning")) { "This is you: you will no longer manage this team." }
                }
            })
    }

    func removeTeamMember(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("team")
        let username = request.parameter("user")
        do {
            try await services.teams.removeMember(username, from: name, by: request.caller)
        } catch {
            return try refused(teamLink(name).fragment("members"), error)
        }
        if username == request.session?.user.username {
            return done(Link("/teams"), "You left team \(name).")
        }
        return done(teamLink(name).fragment("members"), "\(username) removed from \(name).")
    }

    func confirmTeamDeletion(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("team")
        let details = try await services.teams.show(name, by: request.caller)
        let can = try await services.teams.permissions(of: name, by: request.caller)
        guard can.mayDelete else {
            throw WebError.forbidden(
                "Only the team's owners and administrators may delete it (and only while deletion is enabled).")
        }
        let link = teamLink(name)
        return .page(
            confirmationPage(
                "Delete team \(name)?", breadcrumb: teamCrumbs(name) + [Crumb("Delete")], section: .teams,
                csrf: request.csrfToken, action: link.appending("delete"), button: "Delete team \(name)",
                cancel: link,
                inputs: details.namespaces.isEmpty
                    ? []
                    : [
                        textField(
                            "heir", label: "Team to receive its namespaces",
                            help: "The namespaces move before the team goes.", required: true, autocomplete: "off")
                    ]
            ) {
                p {
                    "Team "
                    strong { name }
                    " goes, with its \(WebFormat.count(details.team.memberCount)) memberships and its robot accounts "
                    "(their tokens stop working at once)."
                }
                if !details.namespaces.isEmpty {
                    p {
                        "It owns "
                        strong { details.namespaces.joined(separator: ", ") }
                        ". Name a team you own to receive them; they keep their repositories."
                    }
                }
            })
    }

    func deleteTeam(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("team")
        let heir = request.form["heir"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            try await services.teams.delete(name, handingNamespacesTo: heir, by: request.caller)
        } catch {
            return try refused(teamLink(name), error)
        }
        return done(
            Link("/teams"),
            heir.map { "Team \(name) deleted; its namespaces now belong to \($0)." } ?? "Team \(name) deleted.")
    }
}

extension Link {
    /// This path with more segments, each percent-encoded.
    func appending(_ segments: String...) -> Link {
        let base = text.split(separator: "?", maxSplits: 1).first.map(String.init) ?? text
        return Link.path(base.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) } + segments)
    }
}
