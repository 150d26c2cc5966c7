import Administration
import Diagnostics
import Foundation
import HTTPCore
import Storage

// Pieces the team, admin and profile pages share: badges for roles, membership sources and credential
// states, the confirmation page every destructive action goes through, and the refusals of the token and
// robot services as messages.

/// A team role as a badge (owners stand out).
func roleBadge(_ role: TeamRole) -> Node {
    badge(role.rawValue, role == .owner ? "owner" : nil)
}

/// Where a membership came from: `manual`, or the provider whose group sync made it (`LDAP · corp-ldap`).
func membershipSourceBadge(_ syncedFrom: String?, providers: [WebProvider]) -> Node {
    guard let syncedFrom else { return badge("manual") }
    let provider = providers.first { $0.id == syncedFrom }
    let kind = provider.map { $0.type == "ldap" ? "LDAP" : $0.displayName } ?? "provider"
    return span(.class("badge info"), .title("Synced from the groups of identity provider \(syncedFrom)")) {
        "\(kind) · \(syncedFrom)"
    }
}

/// A credential's state at `now`: revoked, expired or active.
func credentialStateBadge(revokedAt: Date?, expiresAt: Date?, now: Date = Date()) -> Node {
    if revokedAt != nil { return badge("revoked", "revoked") }
    if let expiresAt, expiresAt <= now { return badge("expired", "expired") }
    return badge("active", "active")
}

/// A list's search box (`?q=`): a labelled search field and its button, a GET form that changes nothing.
func searchBar(_ action: Link, id: String, query: String, label labelText: String, placeholder: String) -> Node {
    getForm(action: action, .class("formrow filterbar"), .role("search")) {
        div(.class("field")) {
            label(.labelFor(id), .class("visually-hidden")) { labelText }
            input(.id(id), .type("search"), .name("q"), .value(query), .custom("placeholder", placeholder))
        }
        submitButton("Search", style: "secondary")
    }
}

/// How the page states the expiry choices of token and robot forms, in days.
let expiryChoices: [(days: Int, label: String)] = [
    (7, "7 days"), (30, "30 days"), (90, "90 days"), (180, "180 days"), (365, "1 year"),
]

/// A labelled `<select>` of `options` (value, label), with `selected` chosen.
func selectField(
    _ name: String, label labelText: String, options: [(String, String)], selected: String?, help: String? = nil,
    error: String? = nil
) -> Node {
    let fieldID = "field-\(name)"
    return div(.class(error == nil ? "field" : "field invalid")) {
        label(.labelFor(fieldID)) { labelText }
        Node.element(
            "select", [.id(fieldID), .name(name)] + (help != nil ? [.ariaDescribedBy("\(fieldID)-help")] : []),
            options.map { value, text in
                value == selected
                    ? option(.value(value), .selected) { text } : option(.value(value)) { text }
            })
        if let help { div(.class("help"), .id("\(fieldID)-help")) { help } }
        if let error { div(.class("error"), .id("\(fieldID)-error")) { error } }
    }
}

/// A group of checkboxes named `name`, `checked` ticked.
func checkboxGroup(
    _ name: String, legend legendText: String, options: [(String, String)], checked: Set<String>, help: String? = nil,
    error: String? = nil
) -> Node {
    fieldset(.class(error == nil ? "field" : "field invalid")) {
        legend(.class("label")) { legendText }
        div(.class("choices")) {
            for (value, text) in options {
                label {
                    Node.void(
                        "input",
                        [.type("checkbox"), .name(name), .value(value)] + (checked.contains(value) ? [.checked] : []))
                    text
                }
            }
        }
        if let help { div(.class("help")) { help } }
        if let error { div(.class("error")) { error } }
    }
}

/// The "are you sure" page of a destructive action: names exactly what goes, a danger button that posts
/// the form, and a way back. Works without JavaScript; the script may show it as a dialog.
func confirmationPage(
    _ title: String, breadcrumb: [Crumb], section: NavSection?, csrf: String, action: Link, button: String,
    cancel: Link, fields: [(String, String)] = [], inputs: [Node] = [], @HTMLBuilder what: () -> Node
) -> Page {
    let explanation = what()
    return Page(title, breadcrumb: breadcrumb, section: section) {
        div(.class("card narrow"), .id("confirmation")) {
            explanation
            postForm(action: action, csrf: csrf, .id("confirm-form")) {
                for (name, value) in fields { hiddenField(name, value) }
                inputs
                div(.class("formrow")) {
                    submitButton(button, style: "danger")
                    a(href: cancel, .class("button")) { "Cancel" }
                }
            }
        }
    }
}

/// The one-time secret box: the value, a copy field, the exact `docker login` line, and the warning that
/// it will not be shown again.
func secretBox(title: String, secret: String, loginLine: String, id: String) -> Node {
    div(.class("secret"), .id(id), .role("status")) {
        h2 { title }
        p { "Copy it now: it will not be shown again. Only a hash of it is stored." }
        copyField(secret, label: "the new token")
        p(.class("secret-login")) { "Sign in with it from a terminal (paste it when asked, or pipe it in):" }
        copyField(loginLine, label: "the docker login command")
    }
}

extension WebUI {
    /// Runs a service call, turning the token and robot services' refusals into error pages with the status
    /// a REST client would get (`WebError.from` knows the account and team services' errors already).
    func refusing<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ApplicationTokenError {
            throw WebError.refusal(error.code.rawValue, error.message)
        } catch let error as RobotAccountError {
            throw WebError.refusal(error.code.rawValue, error.message)
        }
    }

    /// The message a refused form shows next to it: a service's reason as a sentence.
    func message(for error: any Error) -> String? {
        if let error = error as? AdministrationError {
            return WebError.sentence(error.denial.map { "\($0)" } ?? error.reason)
        }
        if let error = error as? ApplicationTokenError { return WebError.sentence(error.message) }
        if let error = error as? RobotAccountError { return WebError.sentence(error.message) }
        if let error = error as? WebOperationError { return WebError.sentence(error.message) }
        if let error = error as? WebError { return error.message }
        return nil
    }

    /// `host[:port]` people `docker login` to: the only registry's, else the first's.
    var loginHost: String { settings.pullHost(of: "") }

    /// 303 back to `link` with a success message.
    func done(_ link: Link, _ message: String) -> WebResponse { .redirect(link, Flash(.success, message)) }

    /// 303 back to `link` with an error message: a rule's refusal (the last owner, a taken name) shown as a
    /// message on the page the form was on. A policy's refusal is a 403 page saying why, so a forged or
    /// stale form never looks like it half-worked; an outage stays an error.
    func refused(_ link: Link, _ error: any Error) throws -> WebResponse {
        if let error = error as? AdministrationError, error.code == .forbidden || error.code == .unauthenticated {
            throw error
        }
        if let error = error as? ApplicationTokenError, error.code == .forbidden {
            throw WebError.refusal(error.code.rawValue, error.message)
        }
        if let error = error as? RobotAccountError, error.code == .forbidden {
            throw WebError.refusal(error.code.rawValue, error.message)
        }
        guard let text = message(for: error) else { throw error }
        return .redirect(link, Flash(.error, text))
    }
}

extension WebError {
    /// A refusal by code: `*.forbidden` is 403, `*.not_found`/`unknown_*` 404, `*_taken`/`limit_reached` 409,
    /// the rest 422.
    static func refusal(_ code: String, _ message: String) -> WebError {
        let text = sentence(message)
        if code.hasSuffix(".forbidden") { return .forbidden(text) }
        if code.hasSuffix("not_found") || code.contains("unknown") { return .notFound(text) }
        if code.hasSuffix("taken") || code.hasSuffix("limit_reached") {
            return WebError(status: .conflict, title: "Cannot do that", message: text)
        }
        return WebError(status: .unprocessableContent, title: "Cannot do that", message: text)
    }
}
