import Administration
import Foundation
import HTTPCore
import Storage

// Administration: users (this file), registries and identity providers (AdminSystemPages.swift), the audit
// log (AdminAuditPages.swift). Every route is `.admin`: a signed-in non-administrator gets a 403 page saying
// why, and the services check the flag again in their transactions.
extension WebUI {
    var adminRoutes: [WebRoute] {
        [
            .get("/admin", .admin) { _ in .redirect(Link("/admin/users")) },
            .get("/admin/users", .admin) { request in try await usersPage(request) },
            .post("/admin/users", .admin) { request in try await createUser(request) },
            .get("/admin/users/:user", .admin) { request in try await userPage(request) },
            .post("/admin/users/:user/enabled", .admin) { request in try await setUserEnabled(request) },
            .post("/admin/users/:user/admin", .admin) { request in try await setUserAdmin(request) },
            .post("/admin/users/:user/password", .admin) { request in try await resetPassword(request) },
            .get("/admin/users/:user/delete", .admin) { request in try await confirmUserDeletion(request) },
            .post("/admin/users/:user/delete", .admin) { request in try await deleteUser(request) },
        ] + adminSystemRoutes + auditRoutes + workloadRoutes
    }

    static let usersPerPage = 25

    func adminCrumbs(_ items: Crumb...) -> [Crumb] { [Crumb("Administration", Link("/admin/users"))] + items }

    func userAdminLink(_ username: String) -> Link { Link.path("admin", "users", username) }

    func usersPage(
        _ request: WebRequest, errors: [String: String] = [:], status: HTTPStatus = .ok
    ) async throws -> WebResponse {
        let query = String((request.query("q") ?? "").trimmingCharacters(in: .whitespaces).prefix(128))
        let page = request.pageNumber
        let perPage = Self.usersPerPage
        let found = try await services.accounts.search(
            query, offset: (page - 1) * perPage, limit: perPage, by: request.caller)
        let form = request.form
        let listLink: (Int) -> Link = { number in
            Link("/admin/users").query([
                ("q", query.isEmpty ? nil : query), ("page", number > 1 ? String(number) : nil),
            ])
        }
        return .page(
            Page(
                "Users", lede: "Every account: local ones, and those made by identity providers at first sign-in.",
                breadcrumb: adminCrumbs(Crumb("Users")), section: .admin,
                actions: [linkButton("New user", to: Link("/admin/users").fragment("new-user"), style: "primary")],
                status: status
            ) {
                searchBar(
                    Link("/admin/users"), id: "user-q", query: query, label: "Search users",
                    placeholder: "Search by username, name or e-mail")
                div(.class("card flush"), .id("users")) {
                    if found.items.isEmpty {
                        emptyState("No user matches “\(query)”", "Try part of a username, a name or an e-mail address.")
                    } else {
                        div(.class("tablewrap")) {
                            table {
                                thead {
                                    tr {
                                        th { "Username" }
                                        th(.class("hide-narrow")) { "Name" }
                                        th(.class("hide-narrow")) { "E-mail" }
                                        th { "Status" }
                                        th { "Last sign-in" }
                                    }
                                }
                                tbody {
                                    for user in found.items {
                                        tr {
                                            td(.class("name")) {
                                                a(href: userAdminLink(user.username)) { truncated(user.username) }
                                            }
                                            td(.class("hide-narrow")) { truncated(user.displayName ?? "", keep: 40) }
                                            td(.class("hide-narrow")) { truncated(user.email ?? "", keep: 40) }
                                            td { accountBadges(user) }
                                            td { timeAgo(user.lastLoginAt) }
                                        }
                                    }
                                }
                            }
                        }
                        pager(total: found.total, page: page, perPage: perPage, link: listLink)
                    }
                }
                div(.class("card narrow"), .id("new-user")) {
                    h2 { "Create a user" }
                    p(.class("muted")) {
                        "A local account with a password. People from LDAP or another identity provider get theirs "
                            + "when they first sign in."
                    }
                    postForm(action: Link("/admin/users"), csrf: request.csrfToken, .id("create-user-form")) {
                        textField(
                            "username", label: "Username", value: form["username"], error: errors["username"],
                            required: true, autocomplete: "off")
                        textField(
                            "display_name", label: "Display name (optional)", value: form["display_name"],
                            error: errors["display_name"], autocomplete: "off")
                        textField(
                            "email", label: "E-mail (optional)", value: form["email"], type: "email",
                            error: errors["email"], autocomplete: "off")
                        textField(
                            "password", label: "Password", type: "password",
                            help: "At least \(PasswordRules.minimumLength) characters. Tell them to change it.",
                            error: errors["password"], required: true, autocomplete: "new-password")
                        div(.class("field")) {
                            label(.class("check")) {
                                if form.isChecked("admin") {
                                    input(.type("checkbox"), .name("admin"), .value("on"), .checked)
                                } else {
                                    input(.type("checkbox"), .name("admin"), .value("on"))
                                }
                                " Administrator"
                            }
                        }
                        submitButton("Create user")
                    }
                }
            })
    }

    /// Admin, disabled and no-password badges of an account.
    func accountBadges(_ user: AccountSummary) -> Node {
        span(.class("badges")) {
            if user.isAdmin { badge("admin", "admin") }
            if user.isEnabled { badge("enabled", "active") } else { badge("disabled", "disabled") }
        }
    }

    func createUser(_ request: WebRequest) async throws -> WebResponse {
        let form = request.form
        let account = NewAccount(
            username: form["username"] ?? "", email: form["email"].flatMap { $0.isEmpty ? nil : $0 },
            displayName: form["display_name"].flatMap { $0.isEmpty ? nil : $0 },
            password: Password(form.raw("password") ?? ""), isAdmin: form.isChecked("admin"))
        do {
            let created = try await services.accounts.create(account, by: request.caller)
            return done(userAdminLink(created.account.username), "User \(created.account.username) created.")
        } catch let error as AdministrationError where error.code != .forbidden && error.code != .unauthenticated {
            let field: String =
                switch error.code {
                case .invalidPassword: "password"
                case .invalidEmail: "email"
                case .invalidDisplayName: "display_name"
                default: "username"
                }
            return try await usersPage(
                request, errors: [field: message(for: error) ?? ""],
                status: error.isConflict ? .conflict : .unprocessableContent)
        }
    }

    func userPage(_ request: WebRequest, errors: [String: String] = [:], status: HTTPStatus = .ok) async throws
        -> WebResponse
    {
        let details = try await services.accounts.show(request.parameter("user"), by: request.caller)
        let user = details.account
        let userID = user.id
        let links = try await services.store.read { try $0.identityLinks(of: userID) }
        let isSelf = user.id == request.session?.user.id
        let link = userAdminLink(user.username)
        let ways = (user.hasPassword ? ["a local password"] : []) + links.map { "provider \($0.providerID)" }
        return .page(
            Page(
                user.username, lede: user.displayName,
                breadcrumb: adminCrumbs(Crumb("Users", Link("/admin/users")), Crumb(user.username)),
                section: .admin, status: status
            ) {
                div(.class("grid")) {
                    section(.class("card"), .id("account"), .ariaLabel("Account")) {
                        h2 { "Account" }
                        dl(.class("facts")) {
                            dt { "Status" }
                            dd { accountBadges(user) }
                            dt { "Display name" }
                            dd { user.displayName ?? "—" }
                            dt { "E-mail" }
                            dd { user.email ?? "—" }
                            dt { "Signs in with" }
                            dd { ways.isEmpty ? "application tokens only" : ways.joined(separator: ", ") }
                            dt { "Last sign-in" }
                            dd { timeAgo(user.lastLoginAt) }
                            dt { "Created" }
                            dd { timeAgo(user.createdAt) }
                            dt { "Teams" }
                            dd {
                                if details.memberships.isEmpty {
                                    span(.class("muted")) { "none" }
                                }
                                for membership in details.memberships {
                                    a(href: teamLink(membership.team)) { membership.team }
                                    " "
                                    roleBadge(membership.role)
                                    " "
                                }
                            }
                        }
                    }
                    section(.class("card"), .id("actions"), .ariaLabel("Change")) {
                        h2 { "Change" }
                        if isSelf {
                            p(.class("muted")) {
                                "This is your own account: another administrator changes its admin flag. "
                                    + "Edit your name, e-mail and password on your profile."
                            }
                        } else {
                            div(.class("stack")) {
                                postForm(
                                    action: link.appending("enabled"), csrf: request.csrfToken, .id("enabled-form")
                                ) {
                                    hiddenField("enabled", user.isEnabled ? "false" : "true")
                                    submitButton(
                                        user.isEnabled ? "Disable account" : "Enable account", style: "secondary")
                                    p(.class("help")) {
                                        user.isEnabled
                                            ? "A disabled account cannot sign in, and its docker logins end."
                                            : "It may sign in again."
                                    }
                                }
                                postForm(action: link.appending("admin"), csrf: request.csrfToken, .id("admin-form")) {
                                    hiddenField("admin", user.isAdmin ? "false" : "true")
                                    submitButton(
                                        user.isAdmin ? "Revoke administrator" : "Make administrator", style: "secondary"
                                    )
                                    p(.class("help")) {
                                        user.isAdmin
                                            ? "They keep their teams and roles."
                                            : "Administrators manage every team, namespace and user; they own every team they are in."
                                    }
                                }
                            }
                        }
                    }
                }
                if user.hasPassword || links.isEmpty {
                    section(.class("card narrow"), .id("reset-password"), .ariaLabel("Reset the password")) {
                        h2 { "Reset the password" }
                        postForm(action: link.appending("password"), csrf: request.csrfToken, .id("password-form")) {
                            textField(
                                "password", label: "New password", type: "password",
                                help: "At least \(PasswordRules.minimumLength) characters. Their refresh tokens end.",
                                error: errors["password"], required: true, autocomplete: "new-password")
                            submitButton("Set password", style: "secondary")
                        }
                    }
                } else {
                    p(.class("card narrow muted"), .id("reset-password")) {
                        "This account signs in through \(links.map(\.providerID).joined(separator: ", ")): its password "
                            + "is the provider's to change."
                    }
                }
                if !isSelf {
                    section(.class("card danger-zone"), .id("danger-zone"), .ariaLabel("Delete this user")) {
                        h2 { "Delete this user" }
                        p(.class("muted")) {
                            "Their memberships, stars, tokens and sessions go. The audit log keeps their name."
                        }
                        linkButton("Delete user…", to: link.appending("delete"), style: "danger")
                    }
                }
            })
    }

    func setUserEnabled(_ request: WebRequest) async throws -> WebResponse {
        let username = request.parameter("user")
        let enable = request.form["enabled"] == "true"
        do {
            let user = try await services.accounts.setEnabled(enable, for: username, by: request.caller)
            return done(
                userAdminLink(user.username), enable ? "\(user.username) is enabled." : "\(user.username) is disabled.")
        } catch {
            return try refused(userAdminLink(username), error)
        }
    }

    func setUserAdmin(_ request: WebRequest) async throws -> WebResponse {
        let username = request.parameter("user")
        let grant = request.form["admin"] == "true"
        do {
            let user = try await services.accounts.setAdmin(grant, for: username, by: request.caller)
            return done(
                userAdminLink(user.username),
                grant ? "\(user.username) is now an administrator." : "\(user.username) is no longer an administrator.")
        } catch {
            return try refused(userAdminLink(username), error)
        }
    }

    func resetPassword(_ request: WebRequest) async throws -> WebResponse {
        let username = request.parameter("user")
        do {
            try await services.accounts.setPassword(
                Password(request.form.raw("password") ?? ""), for: username, by: request.caller)
        } catch let error as AdministrationError where error.code == .invalidPassword {
            return try await userPage(
                request, errors: ["password": message(for: error) ?? ""], status: .unprocessableContent)
        } catch {
            return try refused(userAdminLink(username), error)
        }
        return done(userAdminLink(username), "Password of \(username) set. Tell them through a safe channel.")
    }

    func confirmUserDeletion(_ request: WebRequest) async throws -> WebResponse {
        let details = try await services.accounts.show(request.parameter("user"), by: request.caller)
        let user = details.account
        let link = userAdminLink(user.username)
        return .page(
            confirmationPage(
                "Delete user \(user.username)?",
                breadcrumb: adminCrumbs(
                    Crumb("Users", Link("/admin/users")), Crumb(user.username, link), Crumb("Delete")),
                section: .admin, csrf: request.csrfToken, action: link.appending("delete"),
                button: "Delete \(user.username)", cancel: link
            ) {
                p {
                    "The account "
                    strong { user.username }
                    if let name = user.displayName { " (\(name))" }
                    " goes, with its application tokens, sessions, stars and identity links."
                }
                if !details.memberships.isEmpty {
                    p {
                        "They leave "
                        strong { details.memberships.map(\.team).joined(separator: ", ") }
                        "."
                    }
                }
                if let personal = details.personalNamespace {
                    p(.class("muted")) {
                        "Their personal namespace \(personal) goes too when it is empty; one holding repositories stays "
                            + "for an administrator to clear."
                    }
                }
            })
    }

    func deleteUser(_ request: WebRequest) async throws -> WebResponse {
        let username = request.parameter("user")
        do {
            try await services.accounts.delete(username, by: request.caller)
        } catch {
            return try refused(userAdminLink(username), error)
        }
        return done(Link("/admin/users"), "User \(username) deleted.")
    }
}
