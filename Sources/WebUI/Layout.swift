import Administration
import HTTPCore
import Storage

/// The frame around every page (ui-design.md "Layout"): a top bar with the product name, the global search
/// and the user's menu; the side navigation (folded into a `<details>` menu on narrow screens, so it needs no
/// script); the breadcrumb, the page header with its actions, the flash message and the content.
struct Layout: Sendable {
    let assets: Assets
    let productName: String

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
                linkElement(.custom("rel", "stylesheet"), .href(Link.asset(assets.styleSheet)))
                linkElement(.custom("rel", "icon"), .href(Link.asset(assets.logo)), .type("image/svg+xml"))
                script(src: Link.asset(assets.script))
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
                        sideNavigation(current: page.section, request: request)
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
                    footer(.class("footer")) { "\(productName) · identity and access for your registries" }
                }
            }
        }.render(into: &out)
        return out
    }

    private func topBar(_ request: WebRequest) -> Node {
        header(.class("topbar")) {
            a(href: Link("/"), .class("brand")) {
                Node.void("img", [.src(Link.asset(assets.logo)), .custom("alt", ""), .custom("width", "24")])
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

    private func sideNavigation(current: NavSection?, request: WebRequest) -> Node {
        let entries: [(NavSection, String, Link)] =
            request.session == nil
            ? [(.explore, "Explore", Link("/explore"))]
            : [
                (.dashboard, "Dashboard", Link("/")), (.explore, "Explore", Link("/explore")),
                (.namespaces, "Namespaces", Link("/namespaces")), (.teams, "Teams", Link("/teams")),
            ]
        let list = ul {
            for (section, text, link) in entries {
                li { navLink(text, link, isCurrent: section == current) }
            }
            if request.session?.user.isAdmin == true {
                li(.class("group")) { "Administration" }
                let path = request.http.head.path
                li {
                    navLink(
                        "Users", Link("/admin/users"), isCurrent: current == .admin && path.hasPrefix("/admin/users"))
                }
                li { navLink("Registries", Link("/admin/registries"), isCurrent: path.hasPrefix("/admin/registries")) }
                li {
                    navLink(
                        "Identity providers", Link("/admin/providers"), isCurrent: path.hasPrefix("/admin/providers"))
                }
                li { navLink("Audit log", Link("/admin/audit"), isCurrent: path.hasPrefix("/admin/audit")) }
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

    private func navLink(_ text: String, _ link: Link, isCurrent: Bool) -> Node {
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

extension Link {
    /// The URL of a bundled asset.
    static func asset(_ file: Assets.File) -> Link { Link.path(file.path.split(separator: "/").map(String.init)) }
}
