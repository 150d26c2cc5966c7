import Administration
import Foundation
import HTTPCore
import Storage

// Sign-in, sign-out and first-run setup: the pages a visitor meets before any other.
extension WebUI {
    var accessRoutes: [WebRoute] {
        [
            .get("/sign-in", .anyone) { request in try await signInPage(request) },
            .post("/sign-in", .anyone) { request in try await signIn(request) },
            .post("/sign-out", .anyone) { request in try await signOut(request) },
            .get("/setup", .anyone) { request in try await setupPage(request) },
            .post("/setup", .anyone) { request in try await setUp(request) },
        ]
    }

    /// Where to go after signing in: `?next=` (or the form's `next`) when it is a local path, else home.
    func destination(_ request: WebRequest) -> Link {
        Link.localRedirect(request.form["next"] ?? request.query("next")).flatMap { link in
            // Never back to the sign-in or sign-out pages themselves.
            link.text.hasPrefix("/sign-") ? nil : link
        } ?? Link("/")
    }

    func signInPage(_ request: WebRequest, username: String = "", error: String? = nil, status: HTTPStatus = .ok)
        async throws -> WebResponse
    {
        if request.session != nil { return .redirect(destination(request)) }
        if try await services.setup.isNeeded() { return .redirect(Link("/setup")) }
        let next = Link.localRedirect(request.form["next"] ?? request.query("next"))?.text
        let redirectProviders = settings.providers.filter(\.signsInByRedirect)
        var page = Page("Sign in", status: status) {
            brandMark
            div(.class("card")) {
                h1 { "Sign in" }
                if let error {
                    div(.class("flash error"), .role("alert"), .id("signin-error")) { error }
                }
                postForm(action: Link("/sign-in"), csrf: request.csrfToken, .id("signin-form")) {
                    if let next { hiddenField("next", next) }
                    textField(
                        "username", label: "Username", value: username, required: true, autocomplete: "username",
                        autofocus: username.isEmpty)
                    textField(
                        "password", label: "Password", type: "password", required: true,
                        autocomplete: "current-password", autofocus: !username.isEmpty)
                    submitButton("Sign in", .class("button primary"))
                }
                if !redirectProviders.isEmpty {
                    div(.class("divider")) { "or" }
                    div(.class("providers")) {
                        for provider in redirectProviders {
                            a(href: Link.path("sign-in", provider.id).query([("next", next)]), .class("button")) {
                                "Sign in with \(provider.displayName)"
                            }
                        }
                    }
                }
            }
            p(.class("muted")) {
                if redirectProviders.isEmpty {
                    "For docker login, use your username and password, or an application token from your profile."
                } else {
                    "For docker login, use your username and password. If you sign in with a provider, create an "
                    "application token on your profile and use it as the password."
                }
            }
        }
        page.isBare = true
        return .page(page)
    }

    func signIn(_ request: WebRequest) async throws -> WebResponse {
        let username = request.form["username"] ?? ""
        let password = request.form.raw("password") ?? ""
        let outcome = await services.signIn.signIn(
            username: username, password: password, clientAddress: request.clientAddress)
        func refuse(_ message: String, _ status: HTTPStatus) async throws -> WebResponse {
            try await signInPage(request, username: username, error: message, status: status)
        }
        switch outcome {
        case .signedIn(let userID):
            let cookies = WebCookies.parse(request.http.headers)
            let started = try await services.sessions.start(
                for: userID, client: request.http.headers["User-Agent"].map { String($0.prefix(256)) },
                address: request.clientAddress, replacing: cookies[sessionCookieName])
            return .response(sessionRedirect(to: destination(request), starting: started))
        case .refused:
            return try await refuse("Wrong username or password.", .unauthorized)
        case .disabled:
            return try await refuse("This account is disabled. Ask an administrator to enable it.", .forbidden)
        case .locked(let until):
            return try await refuse(
                "Too many failed sign-ins: this account is locked until \(WebFormat.utc(until)).",
                HTTPStatus(code: 423, reasonPhrase: "Locked"))
        case .throttled(let seconds):
            var response = try await refuse(
                "Too many failed attempts from your address. Try again in \(seconds) seconds.", .tooManyRequests)
            if case .page(var page) = response {
                page.status = .tooManyRequests
                response = .page(page)
            }
            return response
        case .refusedAccount(let message):
            return try await refuse(message, .forbidden)
        case .unavailable(let provider):
            return try await refuse(
                "The identity provider \(provider) is not answering, so this sign-in cannot be checked now. "
                    + "Try again in a moment.", .serviceUnavailable)
        }
    }

    /// `path` on this server's public URL (a return address for identity providers).
    func callbackBase(_ path: String) -> URL {
        let base = settings.publicURL.absoluteString
        return URL(string: (base.hasSuffix("/") ? String(base.dropLast()) : base) + path) ?? settings.publicURL
    }

    /// 303 to `link`, setting the new session's cookie (it lasts until the session's absolute end).
    func sessionRedirect(to link: Link, starting started: StartedWebSession) -> HTTPResponse {
        var response = HTTPResponse(status: .seeOther)
        response.headers.add(name: "Location", value: link.text)
        let maxAge = max(0, Int(started.session.expiresAt.timeIntervalSinceNow))
        response.headers.add(
            name: "Set-Cookie",
            value: WebCookies.setCookie(sessionCookieName, started.cookieValue, secure: isSecure, maxAge: maxAge))
        return response
    }

    func signOut(_ request: WebRequest) async throws -> WebResponse {
        var providerLogout: URL?
        if let value = WebCookies.parse(request.http.headers)[sessionCookieName] {
            if let federation = services.federation {
                // Ends the session; revokes the provider's grant and offers its end-session page when it has one.
                providerLogout = try await federation.signOut(sessionCookie: value, returnURL: callbackBase("/sign-in"))
            } else {
                try await services.sessions.end(value)
            }
        }
        var response: HTTPResponse
        if let providerLogout = providerLogout.flatMap(Link.external) {
            // A page that goes on to the provider, not a redirect: under `form-action 'self'` a browser does not
            // follow the sign-out form's redirect to another origin.
            response = HTTPResponse(status: .ok)
            response.body = layout.document(providerSignOutPage(providerLogout), for: request)
            response.headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
        } else {
            response = HTTPResponse(status: .seeOther)
            response.headers.add(name: "Location", value: "/sign-in")
            response.headers.add(
                name: "Set-Cookie",
                value: WebCookies.setCookie(
                    Flash.cookieName, Flash(.success, "You are signed out.").cookieValue, secure: isSecure, maxAge: 60))
        }
        response.headers.add(
            name: "Set-Cookie", value: WebCookies.setCookie(sessionCookieName, "", secure: isSecure, maxAge: 0))
        return .response(response)
    }

    /// The logo and product name above the bare pages' card (sign-in, setup, sign-out, SSO refusals).
    var brandMark: Node {
        div(.class("brand")) {
            Node.void("img", [.src(assets.logo.link), .custom("alt", ""), .custom("width", "32")])
            settings.productName
        }
    }

    /// "Signed out here, now at the provider": goes on to the provider's end-session page by itself, with a link
    /// for browsers that do not.
    private func providerSignOutPage(_ providerLogout: Link) -> Page {
        var page = Page("Signed out") {
            brandMark
            div(.class("card"), .id("provider-sign-out")) {
                h1 { "You are signed out" }
                p { "Your session here has ended. Your identity provider is ending its session too." }
                a(href: providerLogout, .class("button primary")) { "Continue to your identity provider" }
            }
        }
        page.isBare = true
        page.goesOnTo = providerLogout
        return page
    }

    func setupPage(_ request: WebRequest, errors: [String: String] = [:], status: HTTPStatus = .ok) async throws
        -> WebResponse
    {
        guard try await services.setup.isNeeded() else { return .redirect(Link("/sign-in")) }
        let form = request.form
        var page = Page("Set up \(settings.productName)", status: status) {
            brandMark
            div(.class("card")) {
                h1 { "Create the first administrator" }
                p(.class("muted")) {
                    "No account exists yet. Enter the one-time setup code from the server's log (the line with "
                    code { "setup_code=" }
                    "), then choose the first administrator's name and password."
                }
                if let general = errors["form"] {
                    div(.class("flash error"), .role("alert")) { general }
                }
                postForm(action: Link("/setup"), csrf: request.csrfToken, .id("setup-form")) {
                    textField(
                        "code", label: "Setup code", value: form["code"], help: "Printed in the server log at start.",
                        error: errors["code"], required: true, autocomplete: "off", autofocus: true)
                    textField(
                        "username", label: "Username", value: form["username"], error: errors["username"],
                        required: true, autocomplete: "username")
                    textField(
                        "email", label: "E-mail (optional)", value: form["email"], type: "email",
                        error: errors["email"], autocomplete: "email")
                    textField(
                        "password", label: "Password", type: "password", help: "At least 8 characters.",
                        error: errors["password"], required: true, autocomplete: "new-password")
                    textField(
                        "confirmation", label: "Repeat the password", type: "password",
                        error: errors["confirmation"], required: true, autocomplete: "new-password")
                    submitButton("Create administrator")
                }
            }
        }
        page.isBare = true
        return .page(page)
    }

    func setUp(_ request: WebRequest) async throws -> WebResponse {
        let form = request.form
        let password = form.raw("password") ?? ""
        guard password == form.raw("confirmation") ?? "" else {
            return try await setupPage(
                request, errors: ["confirmation": "The two passwords differ."], status: .unprocessableContent)
        }
        let email = form["email"].flatMap { $0.isEmpty ? nil : $0 }
        let account: AccountDetails
        do {
            account = try await services.setup.createAdministrator(
                code: form["code"] ?? "", username: form["username"] ?? "", password: Password(password), email: email)
        } catch let error as AdministrationError {
            let field: String
            switch error.code {
            case .invalidUsername, .usernameTaken: field = "username"
            case .invalidPassword: field = "password"
            case .invalidEmail: field = "email"
            case .setupCodeRejected: field = "code"
            default: field = "form"
            }
            let status: HTTPStatus = field == "code" ? .forbidden : .unprocessableContent
            return try await setupPage(
                request, errors: [field: WebError.sentence(error.reason.isEmpty ? "\(error.code)" : error.reason)],
                status: status)
        }
        let started = try await services.sessions.start(
            for: account.account.id, client: request.http.headers["User-Agent"].map { String($0.prefix(256)) },
            address: request.clientAddress)
        var response = sessionRedirect(to: Link("/"), starting: started)
        response.headers.add(
            name: "Set-Cookie",
            value: WebCookies.setCookie(
                Flash.cookieName,
                Flash(.success, "Welcome, \(account.account.username). You are the first administrator.").cookieValue,
                secure: isSecure, maxAge: 60))
        return .response(response)
    }
}
