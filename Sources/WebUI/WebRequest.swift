import Administration
import CryptoCore
import Foundation
import HTTPCore
import Storage

/// What a page handler is given: the request, who is signed in (if anyone), the form it posted, and the
/// one-time message the previous page left.
struct WebRequest: Sendable {
    /// The HTTP request.
    let http: HTTPRequest
    /// The signed-in session, nil for a visitor.
    let session: ActiveWebSession?
    /// Who acts: the session's user, or anonymous.
    let caller: Caller
    /// The form fields of a POST (`application/x-www-form-urlencoded`), empty otherwise.
    let form: WebForm
    /// The message left by the page that redirected here.
    let flash: Flash?
    /// The token every form of this page must carry: the session's, or the visitor's pre-session token.
    let csrfToken: String
    /// The path parameters the router matched.
    var parameters: [String: String] { http.context.pathParameters }

    /// The signed-in user; the route's access rule guarantees it for `.signedIn` and `.admin` routes.
    var user: User {
        guard let user = session?.user else { preconditionFailure("a signed-in route without a session") }
        return user
    }

    /// A query parameter, the first if repeated.
    func query(_ name: String) -> String? { http.head.queryValue(name) }

    /// A path parameter the route pattern names.
    func parameter(_ name: String) -> String { parameters[name] ?? "" }

    /// The client's address (after the trusted-proxy rules), for sign-in throttling and session lists.
    var clientAddress: String {
        http.context.clientAddress.isEmpty ? http.connection.remoteAddress : http.context.clientAddress
    }

    /// The 1-based page of a list (`?page=`), 1 when absent or not a positive number below a million.
    var pageNumber: Int {
        guard let text = query("page"), let number = Int(text), (1...1_000_000).contains(number) else { return 1 }
        return number
    }

    /// This page's path with the current query, for `?next=` and pagination links.
    var currentLink: Link { Link.localRedirect(http.head.target) ?? Link("/") }
}

/// The fields of a posted form.
struct WebForm: Sendable {
    /// The fields in order.
    let fields: [(name: String, value: String)]

    /// No fields.
    static let empty = WebForm(fields: [])

    /// The first value of `name`, trimmed of surrounding spaces; nil when absent.
    subscript(_ name: String) -> String? {
        fields.first { $0.name == name }.map { $0.value.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// The value of `name` exactly as sent (passwords: spaces are part of them).
    func raw(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// Every value of `name` (checkbox lists).
    func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    /// Whether a checkbox named `name` was ticked.
    func isChecked(_ name: String) -> Bool { fields.contains { $0.name == name } }
}

/// A one-time message shown on the page after a redirect ("Token created", "3 tags deleted").
///
/// Carried in a short-lived cookie so it survives the redirect without the URL saying it; the text is
/// escaped when shown like any other, so a forged cookie can only show a harmless message.
struct Flash: Sendable, Hashable {
    /// How the message is styled and announced.
    enum Kind: String, Sendable {
        case success, warning, error
    }

    /// Its kind.
    var kind: Kind
    /// Its text.
    var message: String

    /// The cookie's name.
    static let cookieName = "pc_flash"

    /// The cookie value: kind, a dot, the message in base64url.
    var cookieValue: String {
        kind.rawValue + "." + Base64URL.encode(Array(message.utf8))
    }

    /// The flash a cookie value carries, nil when malformed.
    init?(cookieValue: String) {
        let parts = cookieValue.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])), parts[1].count <= 2048,
            let bytes = Base64URL.decode(String(parts[1])), let message = String(validating: bytes, as: UTF8.self)
        else { return nil }
        self.kind = kind
        self.message = message
    }

    /// A flash of `kind`.
    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// Cookie parsing and `Set-Cookie` values.
enum WebCookies {
    /// The cookies of a request (`Cookie` headers), first value winning.
    static func parse(_ headers: HTTPHeaders) -> [String: String] {
        var cookies: [String: String] = [:]
        for header in headers.values(for: "Cookie") {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let name = trimmed(parts[0])
                if cookies[name] == nil { cookies[name] = trimmed(parts[1]) }
            }
        }
        return cookies
    }

    /// `text` without the spaces and tabs around it (RFC 6265's optional whitespace), without Foundation's
    /// character sets, which cost more than the rest of the parsing together.
    private static func trimmed(_ text: Substring) -> String {
        let isBlank = { (character: Character) in character == " " || character == "\t" }
        guard let first = text.firstIndex(where: { !isBlank($0) }), let last = text.lastIndex(where: { !isBlank($0) })
        else { return "" }
        return String(text[first...last])
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, and Secure over HTTPS; `maxAge` nil for a
    /// cookie that lasts as long as the browser session, 0 to delete.
    static func setCookie(_ name: String, _ value: String, secure: Bool, maxAge: Int? = nil) -> String {
        var text = "\(name)=\(value); Path=/; HttpOnly; SameSite=Lax"
        if secure { text += "; Secure" }
        if let maxAge { text += "; Max-Age=\(maxAge)" }
        return text
    }
}

/// Cross-site request forgery checks for every state-changing request of the UI.
///
/// Two checks, both required: the request's token (form field `_csrf` or header `X-CSRF-Token`) equals the
/// session's (or, before sign-in, the visitor cookie's: double submit), compared in constant time; and when
/// the browser says where the request came from (`Origin`, `Sec-Fetch-Site`), it is this server.
enum WebCSRF {
    /// The hidden form field.
    static let fieldName = "_csrf"
    /// The header the page script sends.
    static let headerName = "X-CSRF-Token"
    /// The cookie holding a visitor's pre-session token (sign-in and setup forms).
    static let visitorCookie = "pc_csrf"

    /// A new random token.
    static func newToken() -> String { Base64URL.encode(SecureRandom.bytes(count: 24)) }

    /// Whether `request` carries `expected` and comes from `origin` (nil: the check of origin is skipped).
    static func accepts(_ request: HTTPRequest, form: WebForm, expected: String, origin: String?) -> Bool {
        if let site = request.headers["Sec-Fetch-Site"], site != "same-origin", site != "none" { return false }
        if let sent = request.headers["Origin"], let origin, sent != origin { return false }
        guard let given = form.raw(fieldName) ?? request.headers[headerName], !expected.isEmpty else {
            return false
        }
        return ConstantTime.equals(Array(given.utf8), Array(expected.utf8))
    }
}
