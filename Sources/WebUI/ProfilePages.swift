import Administration
import Foundation
import HTTPCore
import Storage

// The signed-in person's own pages: profile (display name, e-mail, password for local accounts, linked
// identities), application tokens and sessions (ProfileTokenPages.swift, ProfileSessionPages.swift).
extension WebUI {
    var profileRoutes: [WebRoute] {
        [
            .get("/profile", .signedIn) { request in try await profilePage(request) },
            .post("/profile", .signedIn) { request in try await updateProfile(request) },
            .post("/profile/password", .signedIn) { request in try await changePassword(request) },
        ] + tokenRoutes + sessionRoutes
    }

    func profileCrumbs(_ last: String? = nil) -> [Crumb] {
        guard let last else { return [Crumb("Profile")] }
        return [Crumb("Profile", Link("/profile")), Crumb(last)]
    }

    /// The tabs of the profile pages.
    func profileTabs(_ current: String) -> Node {
        nav(.class("tabs"), .ariaLabel("Profile sections")) {
            for (name, text, link) in [
                ("profile", "Profile", Link("/profile")), ("tokens", "Application tokens", Link("/profile/tokens")),
                ("sessions", "Sessions", Link("/profile/sessions")),
            ] {
                if name == current {
                    a(href: link, .custom("aria-current", "page")) { text }
                } else {
                    a(href: link) { text }
                }
            }
        }
    }

    func profilePage(
        _ request: WebRequest, errors: [String: String] = [:], status: HTTPStatus = .ok
    ) async throws -> WebResponse {
        let user = request.user
        let details = try await services.accounts.show(user.username, by: request.caller)
        let account = details.account
        let userID = user.id
        let links = try await services.store.read { try $0.identityLinks(of: userID) }
        let federated = try await services.federation?.linkedIdentities(of: userID, by: request.caller) ?? []
        let suspended = Dictionary(federated.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let linkable = settings.providers.filter { provider in
            provider.signsInByRedirect && !links.contains { $0.providerID == provider.id }
        }
        let form = request.form
        let editing = request.http.head.method == .post && request.http.head.path == "/profile"
        let providerName: (String) -> String = { id in
            settings.providers.first { $0.id == id }.map { "\($0.displayName) (\($0.type))" } ?? id
        }
        return .page(
            Page(
                account.displayName ?? account.username, lede: "Signed in as \(account.username).",
                breadcrumb: profileCrumbs(), section: .profile, status: status
            ) {
                profileTabs("profile")
                div(.class("grid")) {
                    section(.class("card"), .id("profile-details"), .ariaLabel("Your details")) {
                        h2 { "Your details" }
                        postForm(action: Link("/profile"), csrf: request.csrfToken, .id("profile-form")) {
                            textField(
                                "display_name", label: "Display name",
                                value: editing ? form["display_name"] : account.displayName ?? "",
                                help: "How the pages name you. Leave empty to use your username.",
                                error: errors["display_name"], autocomplete: "name")
                            textField(
                                "email", label: "E-mail", value: editing ? form["email"] : account.email ?? "",
                                type: "email", error: errors["email"], autocomplete: "email")
                            submitButton("Save profile")
                        }
                    }
                    section(.class("card"), .id("password"), .ariaLabel("Password")) {
                        h2 { "Password" }
                        if account.hasPassword {
                            postForm(action: Link("/profile/password"), csrf: request.csrfToken, .id("password-form")) {
                                textField(
                                    "current", label: "Current password", type: "password", error: errors["current"],
                                    required: true, autocomplete: "current-password")
                                textField(
                                    "password", label: "New password",
                                    type: "password",
                                    help: "At least \(PasswordRules.minimumLength) characters. Your other sign-ins "
                                        + "(docker login refresh tokens) end.",
                                    error: errors["password"], required: true, autocomplete: "new-password")
                                textField(
                                    "confirmation", label: "Repeat the new password", type: "password",
                                    error: errors["confirmation"], required: true, autocomplete: "new-password")
                                submitButton("Change password", style: "secondary")
                            }
                        } else {
                            p(.id("no-local-password")) {
                                if let first = links.first {
                                    "You sign in through \(providerName(first.providerID)), so your password is kept "
                                    "there: change it with that provider (for a directory, the tool your organisation "
                                    "uses for directory passwords). Portcullis never stores it."
                                } else {
                                    "This account has no local password: it signs in through an identity provider or "
                                    "with application tokens. Ask an administrator to set one if you need it."
                                }
                            }
                        }
                    }
                }
                section(.class("card flush"), .id("identities"), .ariaLabel("Linked identities")) {
                    h2 { "Linked identities" }
                    if links.isEmpty {
                        emptyState(
                            "No linked identities",
                            linkable.isEmpty
                                ? "You sign in with this account's own password. Signing in through a configured "
                                    + "identity provider links its identity here."
                                : "Nothing is linked yet.")
                    } else {
                        div(.class("tablewrap")) {
                            table {
                                thead {
                                    tr {
                                        th { "Provider" }
                                        th { "Identity" }
                                        th(.class("hide-narrow")) { "Linked" }
                                        th { "Last used" }
                                        th { span(.class("visually-hidden")) { "Unlink" } }
                                    }
                                }
                                tbody {
                                    for link in links {
                                        tr {
                                            td { providerName(link.providerID) }
                                            td(.class("name")) { code { truncated(link.subject, keep: 48) } }
                                            td(.class("hide-narrow")) { timeAgo(link.createdAt) }
                                            td {
                                                timeAgo(link.lastSeenAt)
                                                if let record = suspended[link.id], record.suspendedAt != nil {
                                                    " "
                                                    badge("suspended", "danger")
                                                    div(.class("muted small")) {
                                                        record.suspensionReason ?? ""
                                                        ". Sign in with it again to lift the suspension."
                                                    }
                                                }
                                            }
                                            td(.class("num")) {
                                                if services.federation != nil {
                                                    a(
                                                        href: Link.path(
                                                            "profile", "identities", String(link.id.rawValue), "unlink"),
                                                        .class("button small danger-text")
                                                    ) { "Unlink" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    if !linkable.isEmpty, services.federation != nil {
                        div(.class("cardfoot"), .id("link-identity")) {
                            p(.class("muted")) {
                                "Link an identity to sign in with it too: you sign in at the provider and come back "
                                    + "here. Nothing is ever linked by e-mail address."
                            }
                            div(.class("providers inline-buttons")) {
                                for provider in linkable {
                                    postForm(
                                        action: Link("/profile/identities/link"), csrf: request.csrfToken,
                                        .class("inline")
                                    ) {
                                        hiddenField("provider", provider.id)
                                        submitButton("Link \(provider.displayName)", style: "secondary")
                                    }
                                }
                            }
                        }
                    }
                }
                section(.class("card flush"), .id("memberships"), .ariaLabel("Your teams")) {
                    h2 { "Your teams" }
                    if details.memberships.isEmpty {
                        emptyState("You are in no team", "A team owner adds you to their team.")
                    } else {
                        ul(.class("linklist")) {
                            for membership in details.memberships {
                                li {
                                    a(href: teamLink(membership.team)) { truncated(membership.team) }
                                    " "
                                    roleBadge(membership.role)
                                }
                            }
                        }
                    }
                    if let personal = details.personalNamespace {
                        p(.class("cardfoot muted")) {
                            "Your personal namespace: "
                            a(href: Link.namespace(personal)) { personal }
                        }
                    }
                }
            })
    }

    func updateProfile(_ request: WebRequest) async throws -> WebResponse {
        let email = request.form["email"] ?? ""
        let displayName = request.form["display_name"] ?? ""
        do {
            _ = try await services.accounts.updateProfile(
                email: .some(email.isEmpty ? nil : email), displayName: .some(displayName.isEmpty ? nil : displayName),
                for: request.user.username, by: request.caller)
        } catch let error as AdministrationError where error.code == .invalidEmail || error.code == .invalidDisplayName
        {
            let field = error.code == .invalidEmail ? "email" : "display_name"
            return try await profilePage(
                request, errors: [field: message(for: error) ?? ""], status: .unprocessableContent)
        }
        return done(Link("/profile"), "Profile saved.")
    }

    func changePassword(_ request: WebRequest) async throws -> WebResponse {
        let user = request.user
        let current = request.form.raw("current") ?? ""
        let password = request.form.raw("password") ?? ""
        guard password == request.form.raw("confirmation") ?? "" else {
            return try await profilePage(
                request, errors: ["confirmation": "The two new passwords differ."], status: .unprocessableContent)
        }
        // The current password goes through the same chain as sign-in: failures count towards the lockout and
        // the address's guessing limit, so this form is no way around them.
        let outcome = await services.signIn.signIn(
            username: user.username, password: current, clientAddress: request.clientAddress)
        guard case .signedIn(let id) = outcome, id == user.id else {
            let text: String =
                switch outcome {
                case .locked(let until):
                    "Too many failed attempts: the account is locked until \(WebFormat.utc(until))."
                case .throttled(let seconds):
                    "Too many failed attempts from your address. Try again in \(seconds) seconds."
                default: "That is not your current password."
                }
            return try await profilePage(request, errors: ["current": text], status: .unprocessableContent)
        }
        do {
            // Every other session of the account ends; the one changing the password stays signed in.
            try await services.accounts.setPassword(
                Password(password), for: user.username, by: request.caller, keeping: request.session?.id)
        } catch let error as AdministrationError where error.code == .invalidPassword {
            return try await profilePage(
                request, errors: ["password": message(for: error) ?? ""], status: .unprocessableContent)
        }
        return done(Link("/profile"), "Password changed. Use the new one for docker login too.")
    }
}
