import Administration
import Foundation
import HTTPCore
import IdentityCore
import Storage

// Application tokens: passwords for `docker login` and the REST API that can be limited to namespaces and
// actions, expire, and are revoked one by one. A new token is shown once, on the page that answers the
// form: never in a URL, a flash cookie or a later page.
extension WebUI {
    var tokenRoutes: [WebRoute] {
        [
            .get("/profile/tokens", .signedIn) { request in try await tokensPage(request) },
            .post("/profile/tokens", .signedIn) { request in try await createToken(request) },
            .get("/profile/tokens/:id/revoke", .signedIn) { request in try await confirmTokenRevocation(request) },
            .post("/profile/tokens/:id/revoke", .signedIn) { request in try await revokeToken(request) },
        ]
    }

    /// The actions a token may be limited to, as the form offers them.
    static let tokenActionChoices: [(String, String)] = [
        ("pull", "pull"), ("push", "push"), ("delete", "delete"), ("api:read", "API: read"),
        ("api:write", "API: write"),
    ]

    func tokensPage(
        _ request: WebRequest, created: CreatedApplicationToken? = nil, errors: [String: String] = [:],
        status: HTTPStatus = .ok
    ) async throws -> WebResponse {
        let user = request.user
        let tokens = try await refusing { try await services.tokens.list(owner: user.id, by: request.caller) }
        let now = Date()
        let form = created == nil ? request.form : .empty
        return .page(
            Page(
                "Application tokens",
                lede: "Passwords for docker login, CI jobs and the REST API that you can limit, let expire and revoke.",
                breadcrumb: profileCrumbs("Application tokens"), section: .profile, status: status
            ) {
                profileTabs("tokens")
                if let created {
                    secretBox(
                        title: "Your new token “\(created.token.name)”", secret: created.plaintext,
                        loginLine: "docker login -u \(user.username) --password-stdin \(loginHost)", id: "new-token")
                }
                if !errors.isEmpty {
                    div(.class("flash error"), .role("alert"), .id("token-errors")) {
                        "The token was not created: " + errors.values.sorted().joined(separator: " ")
                    }
                }
                section(.class("card flush"), .id("tokens"), .ariaLabel("Your tokens")) {
                    h2 { "Your tokens" }
                    if tokens.isEmpty {
                        emptyState(
                            "No application tokens yet",
                            "Create one below and use it instead of your password:",
                            command: "docker login -u \(user.username) --password-stdin \(loginHost)")
                    } else {
                        div(.class("tablewrap")) {
                            table {
                                thead {
                                    tr {
                                        th { "Name" }
                                        th(.class("hide-narrow")) { "Namespaces" }
                                        th(.class("hide-narrow")) { "Actions" }
                                        th { "Expires" }
                                        th { "Last used" }
                                        th { "State" }
                                        th { span(.class("visually-hidden")) { "Revoke" } }
                                    }
                                }
                                tbody {
                                    for token in tokens {
                                        tr {
                                            td(.class("name")) {
                                                truncated(token.name)
                                                div(.class("muted small")) { code { token.prefix + "…" } }
                                            }
                                            td(.class("hide-narrow")) {
                                                token.restriction?.namespaces.map {
                                                    $0.sorted().joined(separator: ", ")
                                                }
                                                    ?? "all yours"
                                            }
                                            td(.class("hide-narrow")) {
                                                token.restriction?.actions.map { $0.sorted().joined(separator: ", ") }
                                                    ?? "all"
                                            }
                                            td { timeAgo(token.expiresAt, now: now, never: "never") }
                                            td { timeAgo(token.lastUsedAt, now: now) }
                                            td {
                                                credentialStateBadge(
                                                    revokedAt: token.revokedAt, expiresAt: token.expiresAt, now: now)
                                            }
                                            td(.class("num")) {
                                                if token.revokedAt == nil {
                                                    a(
                                                        href: Link.path(
                                                            "profile", "tokens", String(token.id.rawValue), "revoke"),
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
                section(.class("card narrow"), .id("new-token-card"), .ariaLabel("Create a token")) {
                    h2 { "Create a token" }
                    postForm(action: Link("/profile/tokens"), csrf: request.csrfToken, .id("create-token-form")) {
                        textField(
                            "name", label: "Name", value: form["name"], help: "What it is for, e.g. “CI on build-01”.",
                            error: errors["name"], required: true, autocomplete: "off")
                        textField(
                            "namespaces", label: "Namespaces (optional)", value: form["namespaces"],
                            help: "Separated by commas or spaces. Empty: every namespace you may reach.",
                            error: errors["namespaces"], autocomplete: "off")
                        checkboxGroup(
                            "actions", legend: "Actions", options: Self.tokenActionChoices,
                            checked: Set(form.all("actions")), help: "None ticked: everything you may do.",
                            error: errors["actions"])
                        selectField(
                            "expires", label: "Expires in",
                            options: expiryChoices.map { (String($0.days), $0.label) } + [("never", "Never")],
                            selected: form["expires"] ?? "90",
                            help: "A token that expires is a smaller risk if it leaks.",
                            error: errors["expires"])
                        submitButton("Create token")
                    }
                }
            })
    }

    func createToken(_ request: WebRequest) async throws -> WebResponse {
        let form = request.form
        let expiry = form["expires"] ?? ""
        let expiresAt: Date?
        if expiry == "never" {
            expiresAt = nil
        } else if let days = Int(expiry), expiryChoices.contains(where: { $0.days == days }) {
            expiresAt = Date().addingTimeInterval(Double(days) * 86_400)
        } else {
            return try await tokensPage(
                request, errors: ["expires": "Choose when the token expires."], status: .unprocessableContent)
        }
        let namespaces = Set(
            (form["namespaces"] ?? "").split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init))
        let actions = Set(form.all("actions"))
        let restriction = AccessRestriction(
            namespaces: namespaces.isEmpty ? nil : namespaces, actions: actions.isEmpty ? nil : actions)
        do {
            let created = try await services.tokens.create(
                owner: request.user.id, name: form["name"] ?? "", expiresAt: expiresAt,
                restriction: restriction.isUnrestricted ? nil : restriction, within: request.caller.restriction,
                by: request.caller)
            return try await tokensPage(request, created: created, status: .created)
        } catch let error as ApplicationTokenError where error.code != .forbidden && error.code != .notFound {
            let field: String =
                switch error.code {
                case .invalidRestriction: actions.isEmpty ? "namespaces" : "actions"
                case .invalidExpiry: "expires"
                default: "name"
                }
            return try await tokensPage(
                request, errors: [field: WebError.sentence(error.message)],
                status: error.code == .nameTaken || error.code == .limitReached ? .conflict : .unprocessableContent)
        } catch let error as ApplicationTokenError {
            throw WebError.refusal(error.code.rawValue, error.message)
        }
    }

    func confirmTokenRevocation(_ request: WebRequest) async throws -> WebResponse {
        let user = request.user
        let tokens = try await refusing { try await services.tokens.list(owner: user.id, by: request.caller) }
        guard let token = tokens.first(where: { String($0.id.rawValue) == request.parameter("id") }) else {
            throw WebError.notFound("You have no such token.")
        }
        return .page(
            confirmationPage(
                "Revoke token “\(token.name)”?", breadcrumb: profileCrumbs("Revoke token"), section: .profile,
                csrf: request.csrfToken, action: Link.path("profile", "tokens", String(token.id.rawValue), "revoke"),
                button: "Revoke token", cancel: Link("/profile/tokens")
            ) {
                p {
                    "The token "
                    strong { token.name }
                    " (starting "
                    code { token.prefix }
                    ") stops working at once. Every docker login, CI job or script that uses it will be refused."
                }
            })
    }

    func revokeToken(_ request: WebRequest) async throws -> WebResponse {
        guard let raw = Int64(request.parameter("id")) else { throw WebError.notFound("You have no such token.") }
        do {
            try await services.tokens.revoke(
                owner: request.user.id, tokenID: ApplicationToken.ID(raw), by: request.caller)
        } catch {
            return try refused(Link("/profile/tokens"), error)
        }
        return done(Link("/profile/tokens"), "Token revoked.")
    }
}

extension Caller {
    /// The restriction of the credential this caller signed in with: none for a browser session.
    var restriction: AccessRestriction? { namespaces.map { AccessRestriction(namespaces: $0) } }
}
