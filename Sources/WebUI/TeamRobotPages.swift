import Administration
import Foundation
import HTTPCore
import Storage

// A team's robot accounts (CI credentials owned by the team): the list on the team's page, the form that
// creates one (its token shown once, on the page that answers the form, never in a URL or a cookie), and
// revocation through a confirmation page. The rules are `RobotAccountService`'s.
extension WebUI {
    var robotRoutes: [WebRoute] {
        [
            .post("/teams/:team/robots", .signedIn) { request in try await createRobot(request) },
            .get("/teams/:team/robots/:robot/revoke", .signedIn) { request in try await confirmRobotRevocation(request)
            },
            .post("/teams/:team/robots/:robot/revoke", .signedIn) { request in try await revokeRobot(request) },
        ]
    }

    func robotsSection(
        team: String, namespaces: [String], robots: [RobotAccountSummary], can: TeamPermissions, request: WebRequest,
        errors: [String: String] = [:]
    ) -> Node {
        let link = teamLink(team)
        let now = Date()
        return section(.class("card flush"), .id("robots"), .ariaLabel("Robot accounts")) {
            h2 { "Robot accounts" }
            if robots.isEmpty {
                emptyState(
                    "No robot accounts",
                    can.mayManageRobots
                        ? "Create one for a CI system: it logs in as \(team)+<name> with a token, limited to this team's namespaces."
                        : "The team's owners can create robot accounts for CI systems.")
            } else {
                div(.class("tablewrap")) {
                    table {
                        thead {
                            tr {
                                th { "Login" }
                                th { "May" }
                                th(.class("hide-narrow")) { "Namespaces" }
                                th { "Expires" }
                                th(.class("hide-narrow")) { "Last used" }
                                th { "State" }
                                if can.mayManageRobots { th { span(.class("visually-hidden")) { "Actions" } } }
                            }
                        }
                        tbody {
                            for robot in robots {
                                tr {
                                    td(.class("name")) {
                                        code { truncated(robot.loginName) }
                                        if let note = robot.note, !note.isEmpty {
                                            div(.class("muted small")) { truncated(note, keep: 60) }
                                        }
                                    }
                                    td { robot.actions.joined(separator: ", ") }
                                    td(.class("hide-narrow")) {
                                        robot.namespaces.map { $0.joined(separator: ", ") } ?? "all of the team's"
                                    }
                                    td { timeAgo(robot.expiresAt, now: now) }
                                    td(.class("hide-narrow")) { timeAgo(robot.lastUsedAt, now: now) }
                                    td {
                                        credentialStateBadge(
                                            revokedAt: robot.revokedAt, expiresAt: robot.expiresAt, now: now)
                                    }
                                    if can.mayManageRobots {
                                        td(.class("num")) {
                                            if robot.revokedAt == nil {
                                                a(
                                                    href: link.appending("robots", robot.name, "revoke"),
                                                    .class("button small danger-text")
                                                ) { "Revoke" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if can.mayManageRobots {
                details(.class("cardfoot"), .id("new-robot")) {
                    summary(.class("button")) { "Create a robot account" }
                    postForm(action: link.appending("robots"), csrf: request.csrfToken, .id("create-robot-form")) {
                        textField(
                            "name", label: "Name", value: request.form["name"],
                            help: "It logs in as \(team)+<name>. 2 to 64 of a-z, 0-9, '.', '_', '-'.",
                            error: errors["name"], required: true, autocomplete: "off")
                        checkboxGroup(
                            "actions", legend: "May",
                            options: [("pull", "pull"), ("push", "push (includes pull)"), ("delete", "delete")],
                            checked: Set(request.form.all("actions").isEmpty ? ["pull"] : request.form.all("actions")),
                            error: errors["actions"])
                        if !namespaces.isEmpty {
                            checkboxGroup(
                                "namespaces", legend: "Namespaces",
                                options: namespaces.map { ($0, $0) }, checked: Set(request.form.all("namespaces")),
                                help: "None ticked: every namespace of the team, now and later.",
                                error: errors["namespaces"])
                        }
                        selectField(
                            "expires", label: "Expires in", options: expiryChoices.map { (String($0.days), $0.label) },
                            selected: request.form["expires"] ?? "90", error: errors["expires"])
                        textField(
                            "note", label: "Note (optional)", value: request.form["note"],
                            help: "What it is for, e.g. the CI pipeline that uses it.", error: errors["note"],
                            autocomplete: "off")
                        submitButton("Create robot account")
                    }
                }
            }
        }
    }

    func createRobot(_ request: WebRequest) async throws -> WebResponse {
        let team = request.parameter("team")
        let form = request.form
        let days = Int(form["expires"] ?? "") ?? 0
        guard expiryChoices.contains(where: { $0.days == days }) else {
            throw WebError.badRequest("Choose when the robot account expires.")
        }
        let namespaces = Set(form.all("namespaces"))
        let created: CreatedRobotAccount
        do {
            created = try await services.robots.create(
                team: team, name: form["name"] ?? "", actions: Set(form.all("actions")),
                namespaces: namespaces.isEmpty ? nil : namespaces,
                expiresAt: Date().addingTimeInterval(Double(days) * 86_400),
                note: form["note"].flatMap { $0.isEmpty ? nil : $0 }, by: request.caller)
        } catch let error as RobotAccountError {
            if error.code == .forbidden || error.code == .unknownTeam {
                throw WebError.refusal(error.code.rawValue, error.message)
            }
            let field: String =
                switch error.code {
                case .invalidActions: "actions"
                case .invalidNamespace: "namespaces"
                case .invalidExpiry: "expires"
                default: "name"
                }
            return try await teamPageWithRobotErrors(request, [field: WebError.sentence(error.message)])
        }
        let robot = created.robot
        // The answer to the form itself: a reload asks to send the form again (which fails on the taken
        // name), so the token is on this one response only.
        return .page(
            Page(
                "Robot account created", lede: "\(robot.loginName) may \(robot.actions.joined(separator: ", ")).",
                breadcrumb: teamCrumbs(team) + [Crumb("New robot account")], section: .teams, status: .created
            ) {
                secretBox(
                    title: "The token of \(robot.loginName)", secret: created.plaintext,
                    loginLine: "docker login -u \(robot.loginName) --password-stdin \(loginHost)", id: "new-secret")
                div(.class("card narrow")) {
                    dl(.class("facts")) {
                        dt { "Login" }
                        dd { code { robot.loginName } }
                        dt { "May" }
                        dd { robot.actions.joined(separator: ", ") }
                        dt { "Namespaces" }
                        dd { robot.namespaces.map { $0.joined(separator: ", ") } ?? "every namespace of \(team)" }
                        dt { "Expires" }
                        dd { timeAgo(robot.expiresAt) }
                    }
                }
                p { a(href: teamLink(team).fragment("robots"), .class("button")) { "Back to team \(team)" } }
            })
    }

    private func teamPageWithRobotErrors(_ request: WebRequest, _ errors: [String: String]) async throws -> WebResponse
    {
        // Re-show the form with what was typed and the error beside its field, on a page of its own.
        let team = request.parameter("team")
        let details = try await services.teams.show(team, by: request.caller)
        let can = try await services.teams.permissions(of: team, by: request.caller)
        let robots = try await refusing { try await services.robots.list(team: team, by: request.caller) }
        return .page(
            Page(
                "Create a robot account", breadcrumb: teamCrumbs(team) + [Crumb("New robot account")], section: .teams,
                status: .unprocessableContent
            ) {
                div(.class("flash error"), .role("alert")) { errors.values.sorted().joined(separator: " ") }
                robotsSection(
                    team: team, namespaces: details.namespaces, robots: robots, can: can, request: request,
                    errors: errors)
            })
    }

    func confirmRobotRevocation(_ request: WebRequest) async throws -> WebResponse {
        let team = request.parameter("team")
        let robot = try await refusing {
            try await services.robots.show(team: team, name: request.parameter("robot"), by: request.caller)
        }
        let can = try await services.teams.permissions(of: team, by: request.caller)
        guard can.mayManageRobots else {
            throw WebError.forbidden("Only the team's owners and administrators may revoke its robot accounts.")
        }
        let link = teamLink(team)
        return .page(
            confirmationPage(
                "Revoke \(robot.loginName)?", breadcrumb: teamCrumbs(team) + [Crumb("Revoke robot account")],
                section: .teams, csrf: request.csrfToken, action: link.appending("robots", robot.name, "revoke"),
                button: "Revoke \(robot.loginName)", cancel: link.fragment("robots")
            ) {
                p {
                    "The token of "
                    code { robot.loginName }
                    " (starting "
                    code { robot.prefix }
                    ") stops working at once, on every instance. Anything that logs in with it will fail."
                }
                p(.class("muted")) { "The robot stays listed as revoked; its name cannot be reused." }
            })
    }

    func revokeRobot(_ request: WebRequest) async throws -> WebResponse {
        let team = request.parameter("team")
        let name = request.parameter("robot")
        do {
            try await services.robots.revoke(team: team, name: name, by: request.caller)
        } catch {
            return try refused(teamLink(team).fragment("robots"), error)
        }
        return done(teamLink(team).fragment("robots"), "Robot account \(team)+\(name) revoked.")
    }
}
