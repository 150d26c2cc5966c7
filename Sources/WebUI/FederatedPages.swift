import Administration
import Foundation
import HTTPCore
import Storage

// Sign-in through external identity providers (OAuth2, OpenID Connect): the redirect, the callback, and
// linking identities from the profile. The rules are `FederatedSignIn`'s; this file parses and renders.
extension WebUI {
    var federatedRoutes: [WebRoute] {
        [
            .get("/sign-in/:provider", .anyone) { request in try await beginFederatedSignIn(request) },
            .get("/sign-in/:provider/callback", .anyone) { request in try await finishFederatedSignIn(request) },
            .post("/profile/identities/link", .signedIn) { request in try await beginLink(request) },
            .get("/profile/identities/:id/unlink", .signedIn) { request in try await confirmUnlink(request) },
            .post("/profile/identities/:id/unlink", .signedIn) { request in try await unlinkIdentity(request) },
        ]
    }

    /// The cookie binding a login in progress to the browser that began it (`__Host-` over HTTPS).
    var loginBindingCookieName: String { isSecure ? "__Host-portcullis_sso" : "portcullis_sso" }

    /// Where a provider sends the browser back: the public URL's origin and `/sign-in/<id>/callback`.
    func callbackURL(for provider: String) -> URL {
        let base =
            settings.publicURL.absoluteString.hasSuffix("/")
            ? String(settings.publicURL.absoluteString.dropLast()) : settings.publicURL.absoluteString
        return URL(string: base + Link.path("sign-in", provider, "callback").text) ?? settings.publicURL
    }

    func beginFederatedSignIn(_ request: WebRequest) async throws -> WebResponse {
        let provider = request.parameter("provider")
        guard let federation = services.federation else { throw WebError.notFound() }
        if request.session != nil, request.query("next") == nil { return .redirect(Link("/")) }
        do {
            let begun = try await federation.beginSignIn(
                providerID: provider, next: request.query("next"), callbackURL: callbackURL(for: provider),
                browserBinding: WebCookies.parse(request.http.headers)[loginBindingCookieName])
            return .response(providerRedirect(begun))
        } catch let error as FederatedSignInError {
            return federatedRefusal(error)
        }
    }

    func finishFederatedSignIn(_ request: WebRequest) async throws -> WebResponse {
        guard let federation = services.federation else { throw WebError.notFound() }
        let cookies = WebCookies.parse(request.http.headers)
        var parameters: [String: String] = [:]
        for item in request.http.head.query where parameters[item.name] == nil {
            parameters[item.name] = item.value
        }
        let callback = FederatedSignIn.Callback(
            parameters: parameters, browserBinding: cookies[loginBindingCookieName],
            signedInUserID: request.session?.user.id, previousSession: cookies[sessionCookieName],
            client: request.http.headers["User-Agent"].map { String($0.prefix(256)) }, address: request.clientAddress)
        let result: FederatedLoginResult
        do {
            result = try await federation.complete(providerID: request.parameter("provider"), callback)
        } catch let error as FederatedSignInError {
            return federatedRefusal(error)
        }
        switch result {
        case .signedIn(let started, let next):
            let destination = Link.localRedirect(next) ?? Link("/")
            return .response(sessionRedirect(to: destination, starting: started))
        case .linked(let provider, let next):
            let destination = next == "/" ? Link("/profile") : (Link.localRedirect(next) ?? Link("/profile"))
            return .redirect(destination, Flash(.success, "Your \(provider) identity is linked to this account."))
        }
    }

    func beginLink(_ request: WebRequest) async throws -> WebResponse {
        guard let federation = services.federation else { throw WebError.notFound() }
        let provider = request.form["provider"] ?? ""
        do {
            let begun = try await federation.beginLink(
                providerID: provider, for: request.user.id, next: "/profile", callbackURL: callbackURL(for: provider),
                browserBinding: WebCookies.parse(request.http.headers)[loginBindingCookieName])
            return .response(providerRedirect(begun))
        } catch let error as FederatedSignInError {
            return federatedRefusal(error)
        }
    }

    func confirmUnlink(_ request: WebRequest) async throws -> WebResponse {
        guard let federation = services.federation else { throw WebError.notFound() }
        let links = try await federation.linkedIdentities(of: request.user.id, by: request.caller)
        guard let link = links.first(where: { String($0.id.rawValue) == request.parameter("id") }) else {
            throw WebError.notFound("There is no such linked identity.")
        }
        return .page(
            confirmationPage(
                "Unlink your \(link.providerName) identity?", breadcrumb: profileCrumbs("Unlink identity"),
                section: .profile, csrf: request.csrfToken,
                action: Link.path("profile", "identities", String(link.id.rawValue), "unlink"), button: "Unlink",
                cancel: Link("/profile")
            ) {
                p {
                    "The \(link.providerName) identity "
                    code { link.subject }
                    " stops signing in to this account, and the browsers it signed in are signed out. Your "
                        + "application tokens keep working. You can link it again later."
                }
            })
    }

    func unlinkIdentity(_ request: WebRequest) async throws -> WebResponse {
        guard let federation = services.federation else { throw WebError.notFound() }
        guard let raw = Int64(request.parameter("id")) else {
            throw WebError.notFound("There is no such linked identity.")
        }
        do {
            try await federation.unlink(IdentityLink.ID(raw), of: request.user.id, by: request.caller)
        } catch let error as FederatedSignInError {
            return .redirect(Link("/profile"), Flash(.error, error.reason))
        }
        return done(Link("/profile"), "Identity unlinked. It no longer signs in to this account.")
    }

    /// 303 to the provider, setting the binding cookie (ten minutes, as long as the login may take).
    private func providerRedirect(_ begun: BegunFederatedLogin) -> HTTPResponse {
        var response = HTTPResponse(status: .seeOther)
        response.headers.add(name: "Location", value: begun.authorizationURL.absoluteString)
        response.headers.add(
            name: "Set-Cookie",
            value: WebCookies.setCookie(loginBindingCookieName, begun.browserBinding, secure: isSecure, maxAge: 900))
        return response
    }

    /// A refused sign-in: a bare page saying what happened, with its precise status and a way back.
    func federatedRefusal(_ error: FederatedSignInError) -> WebResponse {
        var page = Page(error.title, status: Self.status(error.status)) {
            brandMark
            div(.class("card"), .id("sso-refusal")) {
                h1 { error.title }
                div(.class("flash error"), .role("alert"), .id("sso-error")) { error.reason }
                p(.class("muted small")) {
                    "Reference: "
                    code { error.code.rawValue }
                }
                p {
                    a(href: Link("/sign-in"), .class("button")) { "Back to sign-in" }
                }
            }
        }
        page.isBare = true
        return .page(page)
    }

    private static func status(_ code: Int) -> HTTPStatus {
        switch code {
        case 400: .badRequest
        case 403: .forbidden
        case 404: .notFound
        case 409: .conflict
        case 502: HTTPStatus(code: 502, reasonPhrase: "Bad Gateway")
        case 503: .serviceUnavailable
        default: HTTPStatus(code: code, reasonPhrase: "Error")
        }
    }
}
