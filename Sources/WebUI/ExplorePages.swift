import Administration
import Foundation
import Storage

// Explore (public repositories, for visitors too when anonymous browsing is on) and search (repositories,
// `ns/repo:tag`, namespaces, teams), both over `SearchService`, so both see exactly what the policy lets the
// caller see.
extension WebUI {
    /// Hits a search or explore page lists.
    static let hitsPerPage = 25

    var exploreRoutes: [WebRoute] {
        [
            .get("/explore", .anyone) { request in try await explore(request) },
            .get("/search", .anyone) { request in try await search(request) },
        ]
    }

    func explore(_ request: WebRequest) async throws -> WebResponse {
        if request.session == nil && !settings.anonymousBrowsing { throw SignInRequired() }
        let filter = request.query("q").map { $0.trimmingCharacters(in: .whitespaces) }.flatMap {
            $0.isEmpty ? nil : $0
        }
        let page = request.pageNumber
        var problem: String?
        var found = SearchPage(hits: [], total: 0, isTotalExact: true)
        do {
            found = try await services.search.explore(
                filter, as: request.caller, page: PageNumber(page: page, perPage: Self.hitsPerPage))
        } catch let error as SearchError {
            problem = WebError.sentence(error.reason)
        }
        return .page(
            Page("Explore", lede: "Public repositories anyone may pull.", section: .explore) {
                getForm(action: Link("/explore"), .class("formrow"), .role("search")) {
                    textField("q", label: "Filter by name", value: filter, type: "search", error: problem)
                    submitButton("Filter", style: "secondary")
                }
                br()
                section(.class("card flush"), .id("explore-results")) {
                    if found.hits.isEmpty {
                        emptyState(
                            filter == nil ? "No public repositories yet" : "No public repository matches",
                            filter == nil
                                ? "A namespace owner makes a namespace public to list its repositories here."
                                : "Try a shorter part of the name.")
                    } else {
                        repositoryTable(found.hits, id: "explore-table")
                        pager(total: found.total, page: page, perPage: Self.hitsPerPage, isExact: found.isTotalExact) {
                            Link("/explore").query([("q", filter), ("page", String($0))])
                        }
                    }
                }
            })
    }

    func search(_ request: WebRequest) async throws -> WebResponse {
        if request.session == nil && !settings.anonymousBrowsing { throw SignInRequired() }
        let query = (request.query("q") ?? "").trimmingCharacters(in: .whitespaces)
        let kind = request.query("kind").flatMap(SearchKind.init(rawValue:))
        let page = request.pageNumber
        var problem: String?
        var results: SearchResults?
        if !query.isEmpty {
            do {
                results = try await services.search.search(
                    query, as: request.caller, kinds: kind.map { [$0] },
                    page: PageNumber(page: page, perPage: kind == nil ? 10 : Self.hitsPerPage))
            } catch let error as SearchError {
                problem = WebError.sentence(error.reason)
            }
        }
        return .page(
            Page("Search", lede: "Repositories, tags (name:tag), namespaces and teams you may see.") {
                getForm(action: Link("/search"), .class("formrow"), .role("search")) {
                    textField(
                        "q", label: "Search for", value: query, type: "search",
                        help: "At least 3 characters; acme/api:v1 finds a tag.", error: problem)
                    submitButton("Search")
                }
                br()
                if let results {
                    searchSections(results, kind: kind, page: page)
                } else if problem == nil {
                    emptyState("Search everything you may see", "Type part of a name above.")
                }
            })
    }

    private func searchSections(_ results: SearchResults, kind: SearchKind?, page: Int) -> Node {
        let order: [(SearchKind, String)] = [
            (.repository, "Repositories"), (.tag, "Tags"), (.namespace, "Namespaces"), (.team, "Teams"),
        ]
        let shown = order.filter { results.sections[$0.0] != nil }
        return .fragment(
            shown.map { (sectionKind, title) in
                let found = results.sections[sectionKind]!
                return section(.class("card flush"), .id("search-\(sectionKind.rawValue)")) {
                    h2 { "\(title) (\(found.isTotalExact ? "" : "at least ")\(WebFormat.count(found.total)))" }
                    if found.hits.isEmpty {
                        div(.class("empty")) { "No \(title.lowercased()) match." }
                    } else {
                        hitTable(found.hits, kind: sectionKind)
                        if kind == nil, found.total > found.hits.count {
                            div(.class("pager")) {
                                a(href: Link("/search").query([("q", results.query), ("kind", sectionKind.rawValue)])) {
                                    "All \(title.lowercased()) matching"
                                }
                            }
                        } else if kind != nil {
                            pager(
                                total: found.total, page: page, perPage: Self.hitsPerPage, isExact: found.isTotalExact
                            ) {
                                Link("/search").query([
                                    ("q", results.query), ("kind", sectionKind.rawValue), ("page", String($0)),
                                ])
                            }
                        }
                    }
                }
            })
    }

    private func hitTable(_ hits: [SearchHit], kind: SearchKind) -> Node {
        switch kind {
        case .repository: return repositoryTable(hits, id: "search-repositories-table")
        case .tag:
            return table {
                tbody {
                    for hit in hits {
                        tr {
                            td(.class("name")) { a(href: Link.tag(hit.name)) { hit.name } }
                            td { hit.digest.map { shortDigest($0) } ?? .empty }
                        }
                    }
                }
            }
        case .namespace:
            return table {
                tbody {
                    for hit in hits {
                        tr {
                            td(.class("name")) { a(href: Link.namespace(hit.name)) { hit.name } }
                            td { hit.visibility.map(visibilityBadge) ?? .empty }
                            td(.class("muted hide-narrow")) { hit.description ?? "" }
                        }
                    }
                }
            }
        case .team:
            return table {
                tbody {
                    for hit in hits {
                        tr {
                            td(.class("name")) { a(href: Link.team(hit.name)) { hit.name } }
                            td(.class("muted hide-narrow")) { hit.description ?? "" }
                        }
                    }
                }
            }
        }
    }

    /// Repositories with visibility, description and stars.
    func repositoryTable(_ hits: [SearchHit], id: String) -> Node {
        div(.class("tablewrap")) {
            table(.id(id)) {
                thead {
                    tr {
                        th { "Repository" }
                        th(.class("hide-narrow")) { "Description" }
                        th(.class("num")) { "Stars" }
                    }
                }
                tbody { repositoryRows(hits) }
            }
        }
    }

    /// The rows of `repositoryTable`, written straight into one buffer (`HTMLWriter`): a list page shows many.
    private func repositoryRows(_ hits: [SearchHit]) -> Node {
        var html = HTMLWriter(reservingCapacity: hits.count * 256)
        for hit in hits {
            html.element("tr") { html in
                html.element("td", .class("name")) { html in
                    html.element("a", .href(Link.repository(hit.name)), text: hit.name)
                    if let visibility = hit.visibility, visibility != .public {
                        html.text(" ")
                        html.append(visibilityBadge(visibility))
                    }
                }
                html.element("td", .class("muted hide-narrow")) {
                    $0.append(truncated(hit.description ?? "", keep: 80))
                }
                html.element("td", .class("num"), text: WebFormat.count(hit.starCount ?? 0))
            }
        }
        return html.node
    }
}
