import Administration
import Diagnostics
import Foundation
import Storage

// Building blocks of the namespace, repository and tag pages: their links, media types in words, the audit
// activity table, the pulls chart and the mapping of the content services' errors to error pages.

/// The addresses of repositories and their sub-pages.
///
/// Repository names nest (`acme/tools/lint`) and the global namespace has no prefix (`busybox`), so a
/// repository is addressed by its full name as path segments after `/repositories/`, and its sub-pages follow a
/// GitLab-style `/-/` separator, which no repository name can contain (a path component of the distribution
/// grammar never is `-` alone):
///
/// - `GET  /repositories/acme/api`                       the repository (tags grouped by digest, `?page=`)
/// - `GET  /repositories/acme/api/-/tags/v1`             one tag
/// - `GET  /repositories/acme/api/-/delete-tags?tag=v1`  confirmation naming what goes (`POST` from the checkboxes
///   shows it too); `POST` with `confirm=yes` deletes through the registry
/// - `GET  /repositories/acme/api/-/delete`              confirmation; `POST` deletes the repository
/// - `POST /repositories/acme/api/-/star`                star or unstar (`starred=yes|no`)
/// - `POST /repositories/acme/api/-/description`         change the description
///
/// When two registries hold the same name, `?registry=NAME` picks one (every link of the page keeps it).
struct RepositoryAddress: Sendable, Hashable {
    /// The full name (`acme/api`, `busybox`).
    var fullName: String
    /// The registry named in the address, if any.
    var registry: String?

    /// The repository page.
    var link: Link { withRegistry(Link.path("repositories", slashSeparated: fullName)) }

    /// A sub-page: `/repositories/<name>/-/<rest…>`.
    func subpage(_ rest: String...) -> Link {
        withRegistry(Link.path("repositories", slashSeparated: fullName).appending(["-"] + rest))
    }

    /// A tag's page.
    func tag(_ name: String) -> Link { subpage("tags", name) }

    /// Tag pages for many tags (a table's rows), the repository's part encoded once.
    var tagLinks: LinkFamily { LinkFamily(subpage("tags")) }

    private func withRegistry(_ link: Link) -> Link { link.query([("registry", registry)]) }

    /// The address a `/repositories/*path` request names: the full name and what follows `/-/` (empty for the
    /// repository page); nil when the name is empty or malformed.
    static func parse(_ path: String, registry: String?) -> (RepositoryAddress, [String])? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let cut = parts.firstIndex(of: "-") ?? parts.count
        let name = parts[..<cut]
        guard !name.isEmpty, !name.contains(where: \.isEmpty) else { return nil }
        let rest = cut < parts.count ? Array(parts[(cut + 1)...]) : []
        return (RepositoryAddress(fullName: name.joined(separator: "/"), registry: registry), rest)
    }
}

extension Link {
    /// A repository's page by its full name (`RepositoryAddress` spells the scheme).
    static func repository(_ fullName: String) -> Link { RepositoryAddress(fullName: fullName).link }

    /// A tag's page from `ns/repo:tag` (a search hit's name).
    static func tag(_ reference: String) -> Link {
        guard let colon = reference.lastIndex(of: ":") else { return repository(reference) }
        return RepositoryAddress(fullName: String(reference[..<colon]))
            .tag(String(reference[reference.index(after: colon)...]))
    }

    /// A namespace's page.
    static func namespace(_ name: String) -> Link { Link.path("namespaces", name) }

    /// A team's page.
    static func team(_ name: String) -> Link { Link.path("teams", name) }
}

/// Manifest media types in words (Portus#2220: people could not tell an OCI index from an image).
enum MediaTypes {
    /// `OCI image index`, `Docker manifest list`, `OCI image`, `Docker image v2`…; the raw type when unknown.
    static func name(_ mediaType: String?) -> String {
        guard let mediaType, !mediaType.isEmpty else { return "Unknown type" }
        switch mediaType {
        case "application/vnd.oci.image.index.v1+json": return "OCI image index"
        case "application/vnd.docker.distribution.manifest.list.v2+json": return "Docker manifest list"
        case "application/vnd.oci.image.manifest.v1+json": return "OCI image"
        case "application/vnd.docker.distribution.manifest.v2+json": return "Docker image v2"
        case "application/vnd.docker.distribution.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v1+prettyjws":
            return "Docker image v1 (deprecated)"
        case "application/vnd.oci.artifact.manifest.v1+json": return "OCI artifact"
        default: return mediaType
        }
    }

    /// Whether the type is a list of images for several platforms.
    static func isIndex(_ mediaType: String?) -> Bool {
        mediaType == "application/vnd.oci.image.index.v1+json"
            || mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
    }
}

/// The media type in words, the raw type in the tooltip.
func mediaTypeLabel(_ mediaType: String?) -> Node {
    span(.title(mediaType ?? "")) { MediaTypes.name(mediaType) }
}

/// The platforms of an index as small badges; nothing for a single image.
func platformList(_ platforms: [String]) -> Node {
    guard !platforms.isEmpty else { return .empty }
    return span(.class("platforms")) {
        for platform in platforms { badge(platform, "info") }
    }
}

/// The recent activity of a namespace, repository or tag: when, who, what, on what, with the detail.
func activityTable(_ events: [AuditEvent], id: String, now: Date = Date()) -> Node {
    div(.class("tablewrap")) {
        table(.id(id)) {
            thead {
                tr {
                    th { "When" }
                    th { "Who" }
                    th { "What" }
                    th(.class("hide-narrow")) { "Target" }
                    th(.class("hide-narrow")) { "Detail" }
                }
            }
            tbody {
                for event in events {
                    tr {
                        td { timeAgo(event.time, now: now) }
                        td { event.actorName ?? "system" }
                        td {
                            code { event.action }
                            if event.outcome != .success { " " + badge(event.outcome.rawValue, "danger") }
                        }
                        td(.class("hide-narrow")) { truncated(event.target ?? "", keep: 48) }
                        td(.class("hide-narrow")) {
                            span(.class("truncate"), .title(event.detail ?? "")) { event.detail ?? "" }
                        }
                    }
                }
            }
        }
    }
}

extension Node {
    /// Text and a node side by side (for `" " + badge(…)`).
    static func + (lhs: String, rhs: Node) -> Node { .fragment([.text(lhs), rhs]) }
}

/// A column header that sorts the list: a link to the same list sorted by `field`, flipping the direction when
/// it is already the sort, with `aria-sort` on the current one.
func sortHeader(
    _ text: String, field: String, current: String, descending: Bool, numeric: Bool = false, hideNarrow: Bool = false,
    link: (String, Bool) -> Link
) -> Node {
    let isCurrent = field == current
    let nextDescending = isCurrent ? !descending : false
    let classes = (numeric ? ["num"] : []) + (hideNarrow ? ["hide-narrow"] : [])
    var attributes: [Attribute] = classes.isEmpty ? [] : [.class(classes.joined(separator: " "))]
    if isCurrent { attributes.append(.custom("aria-sort", descending ? "descending" : "ascending")) }
    return Node.element(
        "th", attributes,
        [
            a(href: link(field, nextDescending)) {
                text
                if isCurrent { span(.custom("aria-hidden", "true")) { descending ? " ↓" : " ↑" } }
            }
        ])
}

/// Pulls per day of the last 30 days as a small bar chart: inline SVG with an `aria-label` summary, and the
/// numbers in a visually hidden table for screen readers (ui-design.md "Charts").
func pullsChart(_ days: [DailyPulls], endingOn end: Date = Date(), id: String = "pulls-chart") -> Node {
    pullsChart(points: days.map { ($0.day, $0.count) }, endingOn: end, id: id)
}

/// The chart from (day, pulls) points; days outside the 30 shown are left out, several points of one day add up.
func pullsChart(points: [(day: Date, count: Int)], endingOn end: Date = Date(), id: String = "pulls-chart") -> Node {
    let calendar = UTCDays()
    let last = calendar.start(of: end)
    let series: [(Date, Int)] = (0..<30).map { offset in
        let day = last.addingTimeInterval(Double(offset - 29) * 86400)
        return (day, points.filter { calendar.start(of: $0.day) == day }.reduce(0) { $0 + $1.count })
    }
    let total = series.reduce(0) { $0 + $1.1 }
    let peak = series.max { $0.1 < $1.1 }
    let summary =
        total == 0
        ? "No pulls in the last 30 days"
        : "\(WebFormat.count(total)) pull\(total == 1 ? "" : "s") in the last 30 days, peak \(WebFormat.count(peak?.1 ?? 0)) on "
            + WebFormat.day(peak?.0 ?? last)
    let (width, height, gap) = (300, 48, 2)
    let barWidth = width / 30 - gap
    let top = max(1, peak?.1 ?? 1)
    guard total > 0 else {
        return div(.class("pulls"), .id(id)) { p(.class("muted small")) { summary } }
    }
    return div(.class("pulls"), .id(id)) {
        svg(
            .class("chart"), .custom("viewBox", "0 0 \(width) \(height)"), .custom("width", "100%"),
            .custom("height", "\(height)"),
            .role("img"), .ariaLabel(summary), .custom("preserveAspectRatio", "none")
        ) {
            titleElement { summary }
            svgShape(
                "line", .custom("x1", "0"), .custom("y1", "\(height - 1)"), .custom("x2", "\(width)"),
                .custom("y2", "\(height - 1)"), .class("base"))
            for (index, (_, count)) in series.enumerated() where count > 0 {
                let barHeight = max(2, count * (height - 4) / top)
                svgShape(
                    "rect", .custom("x", "\(index * (barWidth + gap))"), .custom("y", "\(height - 1 - barHeight)"),
                    .custom("width", "\(barWidth)"), .custom("height", "\(barHeight)"), .class("bar"))
            }
        }
        p(.class("muted small")) { summary }
        table(.class("visually-hidden")) {
            caption { "Pulls per day" }
            thead {
                tr {
                    th { "Day" }
                    th { "Pulls" }
                }
            }
            tbody {
                for (day, count) in series {
                    tr {
                        td { WebFormat.day(day) }
                        td { String(count) }
                    }
                }
            }
        }
    }
}

/// Midnight UTC of a date.
struct UTCDays {
    func start(of date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 86400).rounded(.down) * 86400)
    }
}

/// A "Delete" or "Cancel" pair at the foot of a confirmation page.
func confirmationButtons(_ text: String, cancel: Link) -> Node {
    div(.class("formrow")) {
        submitButton(text, style: "danger")
        a(href: cancel, .class("button link")) { "Cancel" }
    }
}

extension WebUI {
    /// The error page for what the content services throw beyond `AdministrationError`: webhook and search
    /// errors (by their stable codes) and deletions the registry refused.
    func contentError(_ error: any Error) -> WebError? {
        if let failure = error as? WebDeletionFailure {
            switch failure.code {
            case .denied: return .forbidden(failure.reason)
            case .notFound: return .notFound(failure.reason)
            case .refused:
                return WebError(status: .unprocessableContent, title: "The registry refused", message: failure.reason)
            case .unavailable:
                return WebError(status: .serviceUnavailable, title: "Registry unavailable", message: failure.reason)
            }
        }
        guard let coded = error as? any CodedError else { return nil }
        let (code, reason) = Self.codeAndReason(coded)
        let message = WebError.sentence(reason)
        if code.hasSuffix("not_found") || code.hasSuffix("unknown_namespace") { return .notFound(message) }
        if code.hasSuffix("authentication_required") {
            return WebError(status: .unauthorized, title: "Sign in first", message: message)
        }
        if code.hasPrefix("webhook.") || code.hasPrefix("search.") {
            return WebError(status: .unprocessableContent, title: "Cannot do that", message: message)
        }
        return nil
    }

    private static func codeAndReason<E: CodedError>(_ error: E) -> (String, String) {
        (error.code.rawValue, error.reason)
    }

    /// Runs `body`, turning the content services' own errors into error pages (administration errors and
    /// `WebError`s pass through to the router's handling).
    func mappingContentErrors(_ body: () async throws -> WebResponse) async throws -> WebResponse {
        do {
            return try await body()
        } catch let error as AdministrationError where error.denial == .loginRequired {
            // A visitor asking for a protected namespace: sign in and come back, rather than a dead end.
            throw SignInRequired()
        } catch let error as AdministrationError {
            throw error
        } catch let error as WebError {
            throw error
        } catch {
            guard let page = contentError(error) else { throw error }
            throw page
        }
    }
}
