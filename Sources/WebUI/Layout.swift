import Administration
import HTTPCore
import Storage

/// The frame around every page (ui-design.md "Layout"): a top bar with the product name, the global search
/// and the user's menu; the side navigation (folded into a `<details>` menu on narrow screens, so it needs no
/// script); the breadcrumb, the page header with its actions, the flash message and the content.
struct Layout: Sendable {
    let assets: Assets
    let productName: String
    /// Every side navigation, rendered once.
    private let navigations: [NavigationKey: Node]
    /// The head's elements after the title, the same on every page.
    private let headTail: Node
    /// The footer, the same on every page.
    private let footerNode: Node

    init(assets: Assets, productName: String) {
        self.assets = assets
        self.productName = productName
        navigations = Dictionary(uniqueKeysWithValues: NavigationKey.all.map { ($0, Self.sideNavigation($0)) })
        headTail = .fragment([
            linkElement(.custom("rel", "stylesheet"), .href(assets.styleSheet.link)),
            linkElement(.custom("rel", "icon"), .href(assets.logo.link), .type("image/svg+xml")),
            script(src: assets.script.link),
        ])
        footerNode = footer(.class("footer")) { "\(productName) · identity and access for your registries" }
    }

    /// The whole document for `page` as `request` sees it.
    func document(_ page: Page, for request: WebRequest) -> [UInt8] {
        var out: [UInt8] = Array("<!doctype html>".utf8)
        out.reserveCapacity(16 * 1024)
        html(.custom("lang", "en")) {
            head {
                meta(.custom("charset", "utf-8"))
                meta(.name("viewport"), .custom("content", "width=device-width, initial-scale=1"))
                meta(.name("csrf-token"), .custom("content", request.csrfToken))
                meta(.name("color-scheme"), .custom("content", "light dark"))
                titleElement { "\(page.title) · \(productName)" }
                if let next = page.goesOnTo { meta(.custom("http-equiv", "refresh"), .refresh(to: next)) }
                headTail
            }
            body {
                a(href: Link("/").fragment("content"), .class("skip-link")) { "Skip to content" }
                if page.isBare {
                    mainElement(.id("content"), .class("signin")) {
                        flashMessage(request.flash)
                        page.body
                    }
                } else {
                    topBar(request)
                    div(.class("frame")) {
                        sideNavigation(NavigationKey(current: page.section, request: request))
                        mainElement(.id("content")) {
                            breadcrumb(page.breadcrumb)
                            header(.class("pagehead")) {
                                div {
                                    h1 { page.title }
                                    if let lede = page.lede { p(.class("lede")) { lede } }
                                }
                                if !page.actions.isEmpty { div(.class("actions")) { page.actions } }
                            }
                            flashMessage(request.flash)
                            page.body
                        }
                    }
                    footerNode
                }
            }
        }.render(into: &out)
        return out
    }

    private func topBar(_ request: WebRequest) -> Node {
        header(.class("topbar")) {
            a(href: Link("/"), .class("brand")) {
                Node.void("img", [.src(assets.logo.link), .custom("alt", ""), .custom("width", "24")])
                productName
            }
            getForm(action: Link("/search"), .class("search"), .role("search")) {
                label(.labelFor("global-search"), .class("visually-hidden")) { "Search" }
                input(
                    .id("global-search"), .type("search"), .name("q"), .value(request.query("q") ?? ""),
                    .custom("placeholder", "Search repositories, namespaces, teams"))
            }
            if let session = request.session {
                details(.class("usermenu")) {
                    summary(.ariaLabel("Account menu for \(session.user.username)")) {
                        span(.class("avatar"), .custom("aria-hidden", "true")) {
                            String(session.user.username.prefix(1))
                        }
                        span(.class("hide-narrow")) { session.user.username }
                    }
                    div(.class("menu")) {
                        a(href: Link("/profile")) { "Profile" }
                        a(href: Link("/profile/tokens")) { "Application tokens" }
                        a(href: Link("/profile/sessions")) { "Sessions" }
                        Node.void("hr", [])
                        postForm(action: Link("/sign-out"), csrf: request.csrfToken) {
                            button(.type("submit")) { "Sign out" }
                        }
                    }
                }
            } else {
                a(href: Link("/sign-in").query([("next", request.http.head.target)]), .class("button primary usermenu"))
                {
                    "Sign in"
                }
            }
        }
    }

    /// Which side navigation a request sees: it depends on no data but who is signed in and where they are, so
    /// every variant is rendered once, when the layout is made.
    struct NavigationKey: Hashable, Sendable {
        var isSignedIn: Bool
        var isAdmin: Bool
        var current: NavSection?
        /// The index in `adminPages` of the administration page the request is on, for administrators.
        var adminPage: Int?

        /// The administration pages with a navigation entry.
        static let adminPages: [(path: StaticString, text: String)] = [
            ("/admin/users", "Users"), ("/admin/registries", "Registries"), ("/admin/providers", "Identity providers"),
            ("/admin/audit", "Audit log"), ("/admin/workload-identity", "Workload identity"),
        ]

        static var all: [NavigationKey] {
            let sections: [NavSection?] = [nil] + NavSection.allCases
            let adminPages: [Int?] = [nil] + Array(adminPages.indices)
            return sections.flatMap { current in
                [NavigationKey(isSignedIn: false, isAdmin: false, current: current, adminPage: nil)]
                    + [NavigationKey(isSignedIn: true, isAdmin: false, current: current, adminPage: nil)]
                    + adminPages.map { NavigationKey(isSignedIn: true, isAdmin: true, current: current, adminPage: $0) }
            }
        }

        init(isSignedIn: Bool, isAdmin: Bool, current: NavSection?, adminPage: Int?) {
            self.isSignedIn = isSignedIn
            self.isAdmin = isAdmin
            self.current = current
            self.adminPage = adminPage
        }

        init(current: NavSection?, request: WebRequest) {
            let path = request.http.head.path
            isSignedIn = request.session != nil
            isAdmin = request.session?.user.isAdmin == true
            self.current = current
            adminPage = isAdmin ? Self.adminPages.firstIndex { path.hasPrefix($0.path.description) } : nil
        }
    }

    /// The side navigation for `key`, rendered when the layout was made (`NavigationKey.all` holds every key a
    /// request can make).
    private func sideNavigation(_ key: NavigationKey) -> Node { navigations[key] ?? Self.sideNavigation(key) }

    static func sideNavigation(_ key: NavigationKey) -> Node {
        let entries: [(NavSection, String, Link)] =
            key.isSignedIn
            ? [
                (.dashboard, "Dashboard", Link("/")), (.explore, "Explore", Link("/explore")),
                (.namespaces, "Namespaces", Link("/namespaces")), (.teams, "Teams", Link("/teams")),
            ]
            : [(.explore, "Explore", Link("/explore"))]
        let list = ul {
            for (section, text, link) in entries {
                li { navLink(text, link, isCurrent: section == key.current) }
            }
            if key.isAdmin {
                li(.class("group")) { "Administration" }
                for (index, page) in NavigationKey.adminPages.enumerated() {
                    // "Users" is current only on the admin section's pages, the others wherever their path is.
                    let isCurrent = key.adminPage == index && (index != 0 || key.current == .admin)
                    li { navLink(page.text, Link(page.path), isCurrent: isCurrent) }
                }
            }
        }
        return nav(.class("sidenav"), .ariaLabel("Main")) {
            details(.class("navtoggle")) {
                summary { "Menu" }
                list
            }
            div(.class("full")) { list }
        }
    }

    private static func navLink(_ text: String, _ link: Link, isCurrent: Bool) -> Node {
        isCurrent ? a(href: link, .custom("aria-current", "page")) { text } : a(href: link) { text }
    }

    private func breadcrumb(_ crumbs: [Crumb]) -> Node {
        guard !crumbs.isEmpty else { return .empty }
        return nav(.class("breadcrumb"), .ariaLabel("Breadcrumb")) {
            ol {
                for crumb in crumbs {
                    li {
                        if let link = crumb.link {
                            a(href: link) { crumb.text }
                        } else {
                            span(.custom("aria-current", "page")) { crumb.text }
                        }
                    }
                }
            }
        }
    }

    private func flashMessage(_ flash: Flash?) -> Node {
        guard let flash else { return .empty }
        return div(.class("flash \(flash.kind.rawValue)"), .role(flash.kind == .error ? "alert" : "status")) {
            span { flash.message }
            button(.type("button"), .data("data-dismiss", ""), .ariaLabel("Dismiss"), .class("js-only")) { "×" }
        }
    }
}
