import Administration
import Foundation
import HTTPCore
import Storage

// A repository: its pull command, star, description, tags grouped by digest with multi-select delete, and
// the pulls chart. The URL scheme (nested names, the global namespace, `/-/` before sub-pages) is described
// on `RepositoryAddress`; the tag page and the deletion confirmations are in TagPages.swift.
extension WebUI {
    /// Digest groups (and tag history entries) per page.
    static let tagGroupsPerPage = 25

    var repositoryRoutes: [WebRoute] {
        [
            .get("/repositories/*path", .anyone) { request in try await repositoryGet(request) },
            .post("/repositories/*path", .signedIn) { request in try await repositoryPost(request) },
        ]
    }

    /// A repository as a page sees it: where it is, what it is, and what the caller may do there.
    struct RepositoryContext: Sendable {
        var address: RepositoryAddress
        var details: RepositoryDetails
        var may: NamespacePermissions
        var isGlobal: Bool

        /// The context of the repository `details` describes, reached at `address`. Links use the stored full
        /// name, so `acme/api` and a global `busybox` both come out right.
        init(_ address: RepositoryAddress, _ details: RepositoryDetails, _ may: NamespacePermissions) {
            self.address = RepositoryAddress(fullName: details.fullName, registry: address.registry)
            self.details = details
            self.may = may
            self.isGlobal = details.fullName == details.name
        }

        var crumbs: [Crumb] {
            [
                Crumb("Namespaces", Link("/namespaces")), Crumb(details.namespace, Link.namespace(details.namespace)),
                Crumb(details.name, address.link),
            ]
        }
    }

    private func address(_ request: WebRequest) throws -> (RepositoryAddress, [String]) {
        let registry = request.query("registry").flatMap { $0.isEmpty ? nil : $0 }
        guard let parsed = RepositoryAddress.parse(request.parameter("path"), registry: registry) else {
            throw WebError.notFound()
        }
        return parsed
    }

    func repositoryContext(_ request: WebRequest, _ address: RepositoryAddress) async throws -> RepositoryContext {
        let details = try await services.repositories.show(
            RepositoryPath(address.fullName), registry: address.registry, by: request.caller)
        let may = try await services.namespaces.permissions(in: details.namespace, by: request.caller)
        return RepositoryContext(address, details, may)
    }

    func repositoryGet(_ request: WebRequest) async throws -> WebResponse {
        try await mappingContentErrors {
            let (address, rest) = try address(request)
            // The repository page reads everything in one transaction; its sub-pages start from the context.
            if rest.isEmpty { return try await repositoryPage(request, address) }
            let context = try await repositoryContext(request, address)
            switch rest {
            case let parts where parts.count == 2 && parts[0] == "tags":
                return try await tagPage(request, context, parts[1])
            case ["delete-tags"]: return try await deleteTagsPage(request, context, tags: tagsQueried(request))
            case ["delete"]: return try await deleteRepositoryPage(request, context)
            default: throw WebError.notFound()
            }
        }
    }

    func repositoryPost(_ request: WebRequest) async throws -> WebResponse {
        try await mappingContentErrors {
            let (address, rest) = try address(request)
            let context = try await repositoryContext(request, address)
            switch rest {
            case ["star"]: return try await toggleStar(request, context)
            case ["description"]: return try await changeRepositoryDescription(request, context)
            case ["delete-tags"]:
                let tags = request.form.all("tag")
                if request.form["confirm"] == "yes" { return try await deleteTags(request, context, tags: tags) }
                return try await deleteTagsPage(request, context, tags: tags)
            case ["delete"]: return try await deleteRepository(request, context)
            default: throw WebError.notFound()
            }
        }
    }

    private func tagsQueried(_ request: WebRequest) -> [String] {
        request.http.head.query.filter { $0.name == "tag" }.map(\.value)
    }

    // MARK: - The repository page

    func repositoryPage(_ request: WebRequest, _ address: RepositoryAddress) async throws -> WebResponse {
        let page = request.pageNumber
        let (contents, listed) = try await listing(request, address, page: page)
        let context = RepositoryContext(address, contents.details, contents.permissions)
        let info = context.details
        let host = settings.pullHost(of: info.registry)
        let groups = listed.listing.groups
        let allTags = groups.items.lazy.flatMap(\.tags)
        let shownTag = allTags.first { $0.name == "latest" }?.name ?? allTags.first?.name ?? "latest"
        let mayDelete = context.may.mayDeleteRepositories && !groups.items.isEmpty
        let table = listed.tables[mayDelete] ?? .empty
        var actions: [Node] = [starControl(request, context, isStarred: contents.isStarred)]
        if context.may.mayDeleteRepositories {
            actions.append(linkButton("Delete repository", to: context.address.subpage("delete"), style: "danger"))
        }
        return .page(
            Page(
                info.fullName, lede: info.description, breadcrumb: context.crumbs, section: .namespaces,
                actions: actions
            ) {
                section(.class("card"), .id("pull-section")) {
                    h2 { "Pull" }
                    copyField("docker pull \(host)/\(info.fullName):\(shownTag)", label: "pull command")
                    p(.class("muted small")) {
                        "Registry \(info.registry.isEmpty ? host : info.registry) · "
                        "\(WebFormat.count(info.tagCount)) tag\(info.tagCount == 1 ? "" : "s") · "
                        "\(WebFormat.count(info.starCount)) star\(info.starCount == 1 ? "" : "s")"
                    }
                    listed.chart
                }
                if context.may.mayEditRepositories {
                    details(.id("edit-description"), .class("editbox")) {
                        summary { info.description == nil ? "Add a description" : "Edit description" }
                        postForm(
                            action: context.address.subpage("description"), csrf: request.csrfToken,
                            .id("description-form")
                        ) {
                            descriptionField(info.description, error: nil)
                            submitButton("Save description", style: "secondary")
                        }
                    }
                }
                section(.class("card flush"), .id("tags-section")) {
                    h2 { "Tags" }
                    if groups.items.isEmpty {
                        emptyState(
                            "No tags.", "Push one:", command: "docker push \(host)/\(info.fullName):1.0")
                    } else if mayDelete {
                        postForm(
                            action: context.address.subpage("delete-tags"), csrf: request.csrfToken, .id("tags-form")
                        ) { table }
                    } else {
                        table
                    }
                    listed.pager ?? .empty
                }
            })
    }

    /// The page's contents, and its listing rendered for this caller's variant: from the cache when the
    /// repository's tags are as they were when it was read (the listing is then not read again), else read and
    /// rendered now and kept.
    private func listing(_ request: WebRequest, _ address: RepositoryAddress, page: Int) async throws
        -> (RepositoryPageContents, RepositoryListingCache.Entry)
    {
        let key = RepositoryListingCache.Key(path: address.fullName, registry: address.registry, page: page)
        let now = Date()
        var cached = listingCache.entry(for: key, at: now)
        while true {
            let contents = try await services.repositories.page(
                of: RepositoryPath(address.fullName), registry: address.registry,
                offset: (page - 1) * Self.tagGroupsPerPage, limit: Self.tagGroupsPerPage,
                pullsSince: Self.chartStart(now: now), unlessUnchangedSince: cached?.stamp, by: request.caller)
            var entry: RepositoryListingCache.Entry
            var changed = false
            if let listing = contents.listing {
                entry = RepositoryListingCache.Entry(
                    stamp: contents.stamp, fullName: contents.details.fullName, readAt: now, listing: listing,
                    chart: pullsChart(listing.dailyPulls, endingOn: now))
                changed = true
            } else if let kept = cached, kept.fullName == contents.details.fullName {
                entry = kept
            } else {
                // The namespace was renamed since the entry was read: its links are stale, so read afresh.
                cached = nil
                continue
            }
            let context = RepositoryContext(address, contents.details, contents.permissions)
            let groups = entry.listing.groups
            let selectable = context.may.mayDeleteRepositories && !groups.items.isEmpty
            if entry.tables[selectable] == nil, !groups.items.isEmpty {
                entry.tables[selectable] = tagTableBody(
                    groups.items, context, selectable: selectable, now: entry.readAt)
                changed = true
            }
            if entry.pager == nil {
                entry.pager = pager(
                    total: groups.total, page: page, perPage: Self.tagGroupsPerPage,
                    link: {
                        context.address.link.query([("registry", context.address.registry), ("page", String($0))])
                    })
                changed = true
            }
            if changed { listingCache.keep(entry, for: key, at: now) }
            return (contents, entry)
        }
    }

    /// The tag table, and under it (when tags are selectable) the button that deletes the selected ones.
    private func tagTableBody(_ groups: [TagDigestGroup], _ context: RepositoryContext, selectable: Bool, now: Date)
        -> Node
    {
        guard selectable else { return tagTable(groups, context, selectable: false, now: now) }
        return .fragment([
            tagTable(groups, context, selectable: true, now: now),
            div(.class("formrow tagactions")) {
                submitButton(
                    "Delete selected tags", style: "danger small", .data("data-count-for", "tag"),
                    .data("data-label", "Delete # tags"), .id("delete-selected"))
                span(.class("muted")) {
                    "A tag's image goes with it, and so do other tags on the same digest."
                }
            },
        ])
    }

    /// The star button (a form, so it works without script), or the count with a sign-in link for visitors.
    func starControl(_ request: WebRequest, _ context: RepositoryContext, isStarred: Bool) -> Node {
        let count = WebFormat.count(context.details.starCount)
        guard request.session != nil else {
            return a(href: Link("/sign-in").query([("next", request.http.head.target)]), .class("button"), .id("star"))
            {
                "☆ Star · \(count)"
            }
        }
        return postForm(
            action: context.address.subpage("star"), csrf: request.csrfToken, .class("inline"), .id("star-form")
        ) {
            hiddenField("starred", isStarred ? "no" : "yes")
            button(
                .type("submit"), .class("button"), .id("star"), .custom("aria-pressed", isStarred ? "true" : "false"),
                .title(isStarred ? "Remove your star" : "Star this repository")
            ) {
                isStarred ? "★ Starred · \(count)" : "☆ Star · \(count)"
            }
        }
    }

    /// The tags grouped by digest: one row per digest, its tags together (with checkboxes when deletable).
    func tagTable(_ groups: [TagDigestGroup], _ context: RepositoryContext, selectable: Bool, now: Date = Date())
        -> Node
    {
        div(.class("tablewrap")) {
            table(.id("tags")) {
                thead {
                    tr {
                        th {
                            if selectable {
                                label(.class("tagpick")) {
                                    input(
                                        .type("checkbox"), .data("data-select-all", "tag"), .class("js-only"),
                                        .ariaLabel("Select every tag on this page"))
                                    "Tags"
                                }
                            } else {
                                "Tags"
                            }
                        }
                        th(.class("hide-narrow")) { "Digest" }
                        th(.class("hide-narrow")) { "Type" }
                        th(.class("num")) { "Size" }
                        th(.class("hide-narrow")) { "Pushed" }
                        th(.class("hide-narrow")) { "Last pulled" }
                        th(.class("num hide-narrow")) { "Pulls" }
                    }
                }
                tbody { tagRows(groups, tagLink: context.address.tagLinks, selectable: selectable, now: now) }
            }
        }
    }

    /// The tag table's rows, a digest group each, written straight into one buffer (`HTMLWriter`).
    private func tagRows(_ groups: [TagDigestGroup], tagLink: LinkFamily, selectable: Bool, now: Date)
        -> Node
    {
        var html = HTMLWriter(reservingCapacity: groups.count * 1024)
        for group in groups {
            let first = group.tags.first
            let newest = group.tags.max { $0.updatedAt < $1.updatedAt }
            let lastPulled = group.tags.compactMap(\.lastPulledAt).max()
            html.element("tr", .data("data-digest", group.digest)) { html in
                html.element("td", .class("name")) { html in
                    html.element("span", .class("taglist")) { html in
                        for tag in group.tags {
                            if selectable {
                                html.element("label", .class("tagpick")) { html in
                                    html.void(
                                        "input", .type("checkbox"), .name("tag"), .value(tag.name),
                                        .ariaLabel("Select tag \(tag.name)"))
                                    html.element("a", .href(tagLink(tag.name))) {
                                        $0.append(truncated(tag.name, keep: 32))
                                    }
                                }
                            } else {
                                html.element("a", .href(tagLink(tag.name)), .class("tagpick")) {
                                    $0.append(truncated(tag.name, keep: 32))
                                }
                            }
                        }
                    }
                }
                html.element("td", .class("hide-narrow")) { $0.append(shortDigest(group.digest)) }
                html.element("td", .class("hide-narrow")) { html in
                    html.append(mediaTypeLabel(first?.mediaType))
                    if let platforms = first?.platforms, !platforms.isEmpty {
                        html.void("br")
                        html.append(platformList(platforms))
                    }
                }
                html.element("td", .class("num"), text: WebFormat.size(first?.size))
                html.element("td", .class("hide-narrow")) { html in
                    html.append(timeAgo(newest?.updatedAt, now: now))
                    if let by = newest?.pushedByName { html.element("span", .class("muted"), text: " by " + by) }
                }
                html.element("td", .class("hide-narrow")) { $0.append(timeAgo(lastPulled, now: now)) }
                html.element(
                    "td", .class("num hide-narrow"), text: WebFormat.count(group.tags.reduce(0) { $0 + $1.pullCount }))
            }
        }
        return html.node
    }

    /// The start of the UTC day 29 days ago: the pulls chart's 30 days, today included.
    static func chartStart(now: Date = Date()) -> Date {
        let day = 86_400.0
        return Date(timeIntervalSince1970: (now.timeIntervalSince1970 / day).rounded(.down) * day - 29 * day)
    }

    // MARK: - Changes

    func toggleStar(_ request: WebRequest, _ context: RepositoryContext) async throws -> WebResponse {
        let starring = request.form["starred"] != "no"
        let name = context.details.fullName
        let registry = context.details.registry
        let result =
            starring
            ? try await services.stars.star(name, registry: registry, as: request.caller)
            : try await services.stars.unstar(name, registry: registry, as: request.caller)
        return .redirect(
            context.address.link,
            Flash(.success, result.isStarred ? "Starred \(name)." : "Removed your star from \(name)."))
    }

    func changeRepositoryDescription(_ request: WebRequest, _ context: RepositoryContext) async throws -> WebResponse {
        let text = request.form["description"] ?? ""
        do {
            _ = try await services.repositories.updateDescription(
                text.isEmpty ? nil : text, of: RepositoryPath(context.details.fullName),
                registry: context.details.registry, by: request.caller)
        } catch let error as AdministrationError where error.code == .invalidDescription {
            return .redirect(context.address.link, Flash(.error, WebError.sentence(error.reason)))
        }
        return .redirect(context.address.link, Flash(.success, "Description saved."))
    }
}
