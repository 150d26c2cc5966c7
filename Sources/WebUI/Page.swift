import Administration
import Foundation
import HTTPCore

/// What a page handler answers.
enum WebResponse: Sendable {
    /// A page, laid out in the site's frame.
    case page(Page)
    /// 303 to a local path, with a message for the next page.
    case redirect(Link, Flash? = nil)
    /// A response made by hand (CSV export, assets).
    case response(HTTPResponse)
}

/// One page: its title, where it sits, its primary action and its content. The layout (`Layout`) adds the
/// top bar, navigation, breadcrumb, flash and footer.
struct Page: Sendable {
    /// The `<title>` and the `<h1>`.
    var title: String
    /// One line under the heading, saying what the page is for.
    var lede: String?
    /// Where the page sits (`Namespaces › acme › api`); the last crumb is the page itself.
    var breadcrumb: [Crumb] = []
    /// The buttons beside the heading; at most one of them primary.
    var actions: [Node] = []
    /// The navigation entry to mark as current.
    var section: NavSection?
    /// The HTTP status (200 unless an error page).
    var status: HTTPStatus = .ok
    /// A bare page (sign-in, setup): no navigation around it.
    var isBare = false
    /// The content.
    var body: Node

    /// A page with `title` and `body`.
    init(
        _ title: String, lede: String? = nil, breadcrumb: [Crumb] = [], section: NavSection? = nil,
        actions: [Node] = [], status: HTTPStatus = .ok, @HTMLBuilder body: () -> Node
    ) {
        self.title = title
        self.lede = lede
        self.breadcrumb = breadcrumb
        self.section = section
        self.actions = actions
        self.status = status
        self.body = body()
    }
}

/// One step of a breadcrumb.
struct Crumb: Sendable {
    /// Its text.
    var text: String
    /// Where it leads; nil for the current page.
    var link: Link?

    init(_ text: String, _ link: Link? = nil) {
        self.text = text
        self.link = link
    }
}

/// The entries of the side navigation.
enum NavSection: String, Sendable, CaseIterable {
    case dashboard, explore, namespaces, teams, profile, admin
}

/// Errors a handler throws to answer with an error page.
struct WebError: Error, Sendable {
    /// The status.
    var status: HTTPStatus
    /// The heading.
    var title: String
    /// What happened and what to do.
    var message: String

    static func notFound(_ message: String = "There is nothing at this address, or you may not see it.") -> WebError {
        WebError(status: .notFound, title: "Not found", message: message)
    }

    static func forbidden(_ message: String) -> WebError {
        WebError(status: .forbidden, title: "Not allowed", message: message)
    }

    static func badRequest(_ message: String) -> WebError {
        WebError(status: .badRequest, title: "Bad request", message: message)
    }

    /// The page for an error a service threw: its reason for people, and the status a REST client would get.
    static func from(_ error: any Error) -> WebError? {
        if let error = error as? WebError { return error }
        if let error = error as? FederatedSignInError {
            let status: HTTPStatus =
                switch error.status {
                case 400: .badRequest
                case 403: .forbidden
                case 404: .notFound
                case 409: .conflict
                case 503: .serviceUnavailable
                default: HTTPStatus(code: error.status, reasonPhrase: "Bad Gateway")
                }
            return WebError(status: status, title: error.title, message: error.reason)
        }
        guard let error = error as? AdministrationError else { return nil }
        let reason = error.reason.isEmpty ? "The request was refused." : Self.sentence(error.reason)
        if error.code == .forbidden {
            return .forbidden(error.denial.map { Self.sentence("\($0)") } ?? reason)
        }
        if error.code == .unauthenticated {
            return WebError(status: .unauthorized, title: "Signed out", message: "Sign in again to continue.")
        }
        if error.isNotFound { return .notFound(reason) }
        if error.isConflict { return WebError(status: .conflict, title: "Cannot do that", message: reason) }
        return WebError(status: .unprocessableContent, title: "Cannot do that", message: reason)
    }

    /// `text` with a capital first letter and a full stop.
    static func sentence(_ text: String) -> String {
        guard let first = text.first else { return text }
        var sentence = first.uppercased() + text.dropFirst()
        if !sentence.hasSuffix(".") { sentence += "." }
        return sentence
    }
}
