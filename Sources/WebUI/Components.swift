import Administration
import Diagnostics
import Foundation
import Storage

// The building blocks every page shares (ui-design.md "Components"): badges, copy fields, pagers, empty
// states, times, sizes, digests and form fields. A page that needs one of these uses it from here.

/// A pill: visibility, role, membership source, token state.
func badge(_ text: String, _ tone: String? = nil) -> Node {
    span(.class(tone.map { "badge \($0)" } ?? "badge")) { text }
}

/// A namespace's visibility as a badge.
func visibilityBadge(_ visibility: NamespaceVisibility) -> Node {
    badge(visibility.rawValue, visibility.rawValue)
}

/// A monospace field with the text selectable and, with the script, a copy button.
func copyField(_ text: String, label: String) -> Node {
    div(.class("copyfield")) {
        code(.ariaLabel(label)) { text }
        button(.type("button"), .class("copy js-only"), .data("data-copy", text), .ariaLabel("Copy \(label)")) {
            "Copy"
        }
    }
}

/// "Nothing here yet" with what to do next.
func emptyState(_ title: String, _ hint: String, command: String? = nil) -> Node {
    div(.class("empty")) {
        strong { title }
        span { hint }
        if let command {
            br()
            code { command }
        }
    }
}

/// A `<time>` saying how long ago, with the exact UTC time as its `datetime` and tooltip.
func timeAgo(_ date: Date?, now: Date = Date(), never: String = "never") -> Node {
    guard let date else { return span(.class("muted")) { never } }
    let stamp = WebFormat.rfc3339(date)
    let exact = String(stamp.prefix(10)) + " " + String(stamp.dropFirst(11).prefix(5)) + " UTC"
    return time(.custom("datetime", stamp), .title(exact)) { WebFormat.relative(date, now: now) }
}

/// The text a name shows with when it may be long: the middle elided, the whole in the tooltip.
func truncated(_ text: String, keep: Int = 40) -> Node {
    guard text.count > keep else { return .text(text) }
    let half = (keep - 1) / 2
    return span(.title(text)) { String(text.prefix(half)) + "…" + String(text.suffix(half)) }
}

/// `sha256:` and 12 hex characters, the whole digest in the tooltip.
func shortDigest(_ digest: String) -> Node {
    code(.title(digest)) { WebFormat.shortDigest(digest) }
}

/// A labelled form field with help and an error linked by `aria-describedby`, keeping what was typed.
func textField(
    _ name: String, label labelText: String, value: String? = nil, type: StaticString = "text", help: String? = nil,
    error: String? = nil, required isRequired: Bool = false, autocomplete: String? = nil, autofocus: Bool = false
) -> Node {
    let fieldID = "field-\(name)"
    var attributes: [Attribute] = [.id(fieldID), .name(name), .type(type)]
    if let value { attributes.append(.value(value)) }
    if isRequired { attributes.append(.required) }
    if autofocus { attributes.append(.autofocus) }
    if let autocomplete { attributes.append(.custom("autocomplete", autocomplete)) }
    var described: [String] = []
    if help != nil { described.append("\(fieldID)-help") }
    if error != nil {
        described.append("\(fieldID)-error")
        attributes.append(.custom("aria-invalid", "true"))
    }
    if !described.isEmpty { attributes.append(.ariaDescribedBy(described.joined(separator: " "))) }
    return div(.class(error == nil ? "field" : "field invalid")) {
        label(.labelFor(fieldID)) { labelText }
        Node.void("input", attributes)
        if let help { div(.class("help"), .id("\(fieldID)-help")) { help } }
        if let error { div(.class("error"), .id("\(fieldID)-error")) { error } }
    }
}

/// A submit button: `.primary`, `.secondary` or `.danger`.
func submitButton(_ text: String, style: String = "primary", _ attributes: Attribute...) -> Node {
    Node.element("button", [.type("submit"), .class("button \(style)")] + attributes, [.text(text)])
}

/// A link styled as a button.
func linkButton(_ text: String, to link: Link, style: String = "secondary") -> Node {
    a(href: link, .class("button \(style)")) { text }
}

/// "1–25 of 10,432" with previous, next and nearby page links; nothing when everything fits on one page.
func pager(total: Int, page: Int, perPage: Int, isExact: Bool = true, link: (Int) -> Link) -> Node {
    let pages = max(1, (total + perPage - 1) / perPage)
    guard total > perPage || page > 1 else { return .empty }
    let first = total == 0 ? 0 : (page - 1) * perPage + 1
    let last = min(total, page * perPage)
    let nearby = Array(max(1, page - 2)...min(pages, max(page, 1) + 2))
    return div(.class("pager")) {
        span {
            "\(WebFormat.count(first))–\(WebFormat.count(last)) of \(isExact ? "" : "at least ")\(WebFormat.count(total))"
        }
        nav(.ariaLabel("Pages")) {
            if page > 1 { a(href: link(page - 1), .custom("rel", "prev")) { "Previous" } }
            if let start = nearby.first, start > 1 {
                a(href: link(1)) { "1" }
                if start > 2 { span(.class("muted")) { "…" } }
            }
            for number in nearby {
                if number == page {
                    span(.class("current"), .custom("aria-current", "page")) { String(number) }
                } else {
                    a(href: link(number)) { String(number) }
                }
            }
            if let end = nearby.last, end < pages {
                if end < pages - 1 { span(.class("muted")) { "…" } }
                a(href: link(pages)) { String(pages) }
            }
            if page < pages { a(href: link(page + 1), .custom("rel", "next")) { "Next" } }
        }
    }
}

/// How the UI writes numbers, sizes, digests and times.
enum WebFormat {
    /// `10,432`.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    /// `12.3 MiB`: binary units, one decimal (rounded half up; without Foundation's formatter, which costs more
    /// than the rest of a table row).
    static func size(_ bytes: Int64?) -> String {
        guard let bytes else { return "—" }
        if bytes < 1024 { return "\(bytes) B" }
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        var unit = 0
        var scale: Int64 = 1024
        while bytes >= scale * 1024 && unit < units.count - 1 {
            scale *= 1024
            unit += 1
        }
        let tenths = (bytes * 10 + scale / 2) / scale
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }

    /// `sha256:0123456789ab`.
    static func shortDigest(_ digest: String) -> String {
        guard let colon = digest.firstIndex(of: ":") else { return String(digest.prefix(19)) }
        return String(digest[...colon]) + digest[digest.index(after: colon)...].prefix(12)
    }

    /// `2026-12-06 14:03 UTC`.
    static func utc(_ date: Date) -> String {
        let text = RFC3339.format(date)  // 2026-12-06T14:03:00Z
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5)) + " UTC"
    }

    /// `2026-12-06T14:03:00Z`.
    static func rfc3339(_ date: Date) -> String { RFC3339.format(date) }

    /// `6 Dec 2026`.
    static func day(_ date: Date) -> String {
        let text = RFC3339.format(date)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let month = Int(text.dropFirst(5).prefix(2)) ?? 1
        let dayNumber = Int(text.dropFirst(8).prefix(2)) ?? 1
        return "\(dayNumber) \(months[max(0, min(11, month - 1))]) \(text.prefix(4))"
    }

    /// `just now`, `5 minutes ago`, `3 hours ago`, `2 days ago`, then the date; `in 3 days` for the future.
    static func relative(_ date: Date, now: Date = Date()) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        let future = seconds < 0
        let magnitude = abs(seconds)
        func phrase(_ value: Int, _ unit: String) -> String {
            let text = "\(value) \(unit)\(value == 1 ? "" : "s")"
            return future ? "in \(text)" : "\(text) ago"
        }
        switch magnitude {
        case ..<45: return future ? "in a moment" : "just now"
        case ..<3600: return phrase(max(1, magnitude / 60), "minute")
        case ..<86400: return phrase(magnitude / 3600, "hour")
        case ..<(30 * 86400): return phrase(magnitude / 86400, "day")
        default: return day(date)
        }
    }
}
