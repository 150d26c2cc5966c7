import Administration
import Diagnostics
import Foundation
import HTTPCore
import Storage

/// The web UI: server-rendered pages over the application services, for people in a browser.
///
/// A front door like the CLI and the REST API: each handler parses the request, calls a service as the
/// signed-in `Caller`, and renders; every rule lives in the services. Mounted on the router as plain routes
/// without middleware of their own (sessions are resolved inside the handlers), so the token endpoint's
/// synchronous fast path stays on with the UI mounted.
///
/// Security by construction: pages are built with the escaping `Node` builder; every POST must carry the
/// session's CSRF token and come from this origin; state changes only by POST; destructive actions go
/// through a confirmation page; responses carry a strict Content-Security-Policy (no inline script or
/// style) and `frame-ancestors 'none'`.
public struct WebUI: Sendable {
    /// The Content-Security-Policy of every page.
    public static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    let settings: WebUISettings
    let services: WebUIServices
    let assets: Assets
    let layout: Layout
    let logger: Logger
    /// Repository listings as rendered, reused while their repository's tags are unchanged.
    let listingCache = RepositoryListingCache()

    /// A UI over `services`, configured by `settings`.
    public init(settings: WebUISettings, services: WebUIServices, assets: Assets = .bundled, logger: Logger) {
        self.settings = settings
        self.services = services
        self.assets = assets
        self.layout = Layout(assets: assets, productName: settings.productName)
        self.logger = logger
    }

    /// Every page route, in one list (each area's routes are in its own file).
    var routes: [WebRoute] {
        accessRoutes + federatedRoutes + dashboardRoutes + exploreRoutes + namespaceRoutes + repositoryRoutes
            + teamRoutes + teamGroupRoutes + adminRoutes + profileRoutes
    }

    /// Adds the pages and the assets to `router`.
    public func register(on router: inout Router) {
        for file in assets.all {
            let response = Assets.response(for: file)
            router.get(file.path) { _ in response }
        }
        let logo = Assets.response(for: assets.logo)
        router.get("/favicon.ico") { _ in logo }
        for route in routes {
            router.on(route.method, route.pattern, bodyLimit: 256 * 1024) { request in
                await handle(request, route: route)
            }
        }
    }

    /// Whether the cookies should be `Secure` and `__Host-` prefixed: when the public URL is HTTPS.
    var isSecure: Bool { settings.publicURL.scheme?.lowercased() == "https" }

    /// The session cookie's name: `__Host-` prefixed over HTTPS, which binds it to this host and path `/`.
    var sessionCookieName: String { isSecure ? "__Host-portcullis_session" : "portcullis_session" }

    /// The static files the UI serves.
    public var assetFiles: [Assets.File] { assets.all }

    /// The session cookie's name, for the REST API's session resolver.
    public var sessionCookie: String { sessionCookieName }

    /// The value of cookie `name` in `headers`, nil when absent.
    public static func cookie(named name: String, in headers: HTTPHeaders) -> String? {
        WebCookies.parse(headers)[name]
    }

    /// The origin browsers send in `Origin` for this server's own pages.
    var origin: String? {
        guard let scheme = settings.publicURL.scheme, let host = settings.publicURL.host else { return nil }
        let port = settings.publicURL.port.map { ":\($0)" } ?? ""
        return "\(scheme)://\(host)\(port)"
    }

    /// Resolves the session, enforces the route's access and the CSRF rules, runs the handler and lays out
    /// its page; errors become error pages with the status a REST client would get.
    func handle(_ request: HTTPRequest, route: WebRoute) async -> HTTPResponse {
        let cookies = WebCookies.parse(request.headers)
        var setCookies: [String] = []
        let session: ActiveWebSession?
        do {
            session = try await cookies[sessionCookieName].asyncFlatMap { try await services.sessions.resolve($0) }
        } catch {
            logger.error("session lookup failed", ["error": "\(error)"])
            return render(
                WebError(
                    status: .serviceUnavailable, title: "Unavailable",
                    message: "The database is unavailable. Try again in a moment."),
                request: request, session: nil, csrfToken: "", setCookies: [])
        }
        if session == nil, cookies[sessionCookieName] != nil {
            setCookies.append(WebCookies.setCookie(sessionCookieName, "", secure: isSecure, maxAge: 0))
        }
        var visitorToken = cookies[WebCSRF.visitorCookie] ?? ""
        if session == nil, visitorToken.count < 16 || visitorToken.count > 64 {
            visitorToken = WebCSRF.newToken()
            setCookies.append(WebCookies.setCookie(WebCSRF.visitorCookie, visitorToken, secure: isSecure))
        }
        let csrfToken = session?.csrfToken ?? visitorToken
        var form = WebForm.empty
        if request.head.method == .post {
            guard let fields = URLEncodedForm.decode(request.body) else {
                return render(
                    .badRequest("The form could not be read."), request: request, session: session,
                    csrfToken: csrfToken, setCookies: setCookies)
            }
            form = WebForm(fields: fields)
            guard WebCSRF.accepts(request, form: form, expected: csrfToken, origin: origin) else {
                return render(
                    WebError(
                        status: .forbidden, title: "Form expired",
                        message: "This form was not sent from a page of this site, or it is out of date. "
                            + "Go back, reload the page and try again."),
                    request: request, session: session, csrfToken: csrfToken, setCookies: setCookies)
            }
        }
        let flash = cookies[Flash.cookieName].flatMap(Flash.init(cookieValue:))
        if cookies[Flash.cookieName] != nil {
            setCookies.append(WebCookies.setCookie(Flash.cookieName, "", secure: isSecure, maxAge: 0))
        }
        let web = WebRequest(
            http: request, session: session, caller: session?.caller ?? .anonymous, form: form, flash: flash,
            csrfToken: csrfToken)
        let response: WebResponse
        do {
            try checkAccess(route.access, web)
            response = try await route.handler(web)
        } catch is SignInRequired {
            response = .redirect(Link("/sign-in").query([("next", request.head.target)]))
        } catch {
            if let page = WebError.from(error) {
                response = .page(errorPage(page))
            } else {
                logger.error(
                    "page failed",
                    ["request_id": request.context.requestID, "path": route.pattern, "error": "\(error)"])
                response = .page(
                    errorPage(
                        WebError(
                            status: .internalServerError, title: "Something went wrong",
                            message: "The server could not show this page. Request id: \(request.context.requestID).")))
            }
        }
        return finish(response, web: web, setCookies: setCookies)
    }

    /// An error page answered before the handler ran, its forms carrying `csrfToken` (the one the browser holds
    /// after `setCookies`).
    private func render(
        _ error: WebError, request: HTTPRequest, session: ActiveWebSession?, csrfToken: String, setCookies: [String]
    ) -> HTTPResponse {
        let web = WebRequest(
            http: request, session: session, caller: session?.caller ?? .anonymous, form: .empty, flash: nil,
            csrfToken: csrfToken)
        return finish(.page(errorPage(error)), web: web, setCookies: setCookies)
    }

    /// The HTTP response for a handler's answer, with the UI's headers.
    func finish(_ answer: WebResponse, web: WebRequest, setCookies: [String]) -> HTTPResponse {
        var response: HTTPResponse
        switch answer {
        case .page(let page):
            response = HTTPResponse(status: page.status)
            response.body = layout.document(page, for: web)
            response.headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
        case .redirect(let link, let flash):
            response = HTTPResponse(status: .seeOther)
            response.headers.add(name: "Location", value: link.text)
            if let flash {
                response.headers.add(
                    name: "Set-Cookie",
                    value: WebCookies.setCookie(Flash.cookieName, flash.cookieValue, secure: isSecure, maxAge: 60))
            }
        case .response(let made):
            response = made
        }
        for cookie in setCookies { response.headers.add(name: "Set-Cookie", value: cookie) }
        response.headers.replaceOrAdd(name: "Content-Security-Policy", value: Self.contentSecurityPolicy)
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "same-origin")
        // What a page shows depends on who is signed in.
        response.headers.replaceOrAdd(name: "Vary", value: "Cookie")
        return response
    }

    private func checkAccess(_ access: WebAccess, _ request: WebRequest) throws {
        switch access {
        case .anyone: return
        case .signedIn:
            guard request.session != nil else { throw SignInRequired() }
        case .admin:
            guard let session = request.session else { throw SignInRequired() }
            guard session.user.isAdmin else {
                throw WebError.forbidden("Only administrators may open this page.")
            }
        }
    }

    /// The page for an error.
    func errorPage(_ error: WebError) -> Page {
        Page(error.title, status: error.status) {
            div(.class("card")) {
                p { error.message }
                p {
                    a(href: Link("/")) { "Go to the dashboard" }
                }
            }
        }
    }
}

/// Thrown by a handler or the access check when the page needs a signed-in user: a redirect to sign-in
/// that comes back here.
struct SignInRequired: Error {}

/// Who may open a page.
enum WebAccess: Sendable {
    /// Anybody, signed in or not (the page decides what a visitor sees).
    case anyone
    /// Signed-in users; visitors are sent to sign in and back.
    case signedIn
    /// Administrators; others get a 403 page saying so.
    case admin
}

/// One page route.
struct WebRoute: Sendable {
    /// `GET` or `POST`.
    let method: HTTPMethod
    /// The router pattern.
    let pattern: String
    /// Who may open it.
    let access: WebAccess
    /// The handler.
    let handler: @Sendable (WebRequest) async throws -> WebResponse

    static func get(
        _ pattern: String, _ access: WebAccess, _ handler: @escaping @Sendable (WebRequest) async throws -> WebResponse
    ) -> WebRoute {
        WebRoute(method: .get, pattern: pattern, access: access, handler: handler)
    }

    static func post(
        _ pattern: String, _ access: WebAccess, _ handler: @escaping @Sendable (WebRequest) async throws -> WebResponse
    ) -> WebRoute {
        WebRoute(method: .post, pattern: pattern, access: access, handler: handler)
    }
}

extension Optional {
    /// `flatMap` with an async transform.
    func asyncFlatMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
