import Administration
import Foundation
import HTTPCore
import Storage

// One tag (digest, pull commands, platforms, size, pulls, its history from the audit log) and the deletions of
// a repository: the confirmation pages that name exactly what goes, and the deletes through the registry
// (`WebRepositoryDeleting`), which asks the registry first and records only what it accepted.
extension WebUI {
    func tagPage(_ request: WebRequest, _ context: RepositoryContext, _ name: String) async throws -> WebResponse {
        let details = context.details
        let tag = try await services.repositories.tag(
            name, of: RepositoryPath(details.fullName), registry: details.registry, by: request.caller)
        let page = request.pageNumber
        let perPage = Self.tagGroupsPerPage
        // The repository is visible (checked just above), so its tag's history is too.
        let target = "tag:\(details.fullName):\(tag.name)"
        let history = try await services.store.read {
            try $0.auditEvents(
                matching: AuditEventFilter(target: target), offset: (page - 1) * perPage, limit: perPage)
        }
        let sharing = try await services.store.read { try $0.tags(withDigest: tag.digest, in: details.id) }
            .filter { $0.name != tag.name }.map(\.name).sorted()
        let host = settings.pullHost(of: details.registry)
        var actions: [Node] = []
        if context.may.mayDeleteRepositories {
            actions.append(
                linkButton(
                    "Delete tag", to: context.address.subpage("delete-tags").query([("tag", tag.name)]),
                    style: "danger"))
        }
        return .page(
            Page(
                "\(details.fullName):\(tag.name)", lede: MediaTypes.name(tag.mediaType),
                breadcrumb: context.crumbs + [Crumb(tag.name)], section: .namespaces, actions: actions
            ) {
                section(.class("card"), .id("tag-pull")) {
                    h2 { "Pull" }
                    copyField("docker pull \(host)/\(details.fullName):\(tag.name)", label: "pull command")
                    p(.class("muted small")) { "By digest, which never moves:" }
                    copyField("docker pull \(host)/\(details.fullName)@\(tag.digest)", label: "pull-by-digest command")
                }
                section(.class("card"), .id("tag-facts")) {
                    h2 { "Image" }
                    dl(.class("facts")) {
                        dt { "Digest" }
                        dd { code(.id("tag-digest"), .class("digest")) { tag.digest } }
                        dt { "Type" }
                        dd { mediaTypeLabel(tag.mediaType) }
                        if !tag.platforms.isEmpty {
                            dt { "Platforms" }
                            dd { platformList(tag.platforms) }
                        }
                        dt { "Size" }
                        dd { WebFormat.size(tag.size) }
                        dt { "Pushed" }
                        dd {
                            timeAgo(tag.updatedAt)
                            if let by = tag.pushedByName { " by " + by }
                        }
                        dt { "First pushed" }
                        dd { timeAgo(tag.createdAt) }
                        dt { "Pulls" }
                        dd { WebFormat.count(tag.pullCount) }
                        dt { "Last pulled" }
                        dd { timeAgo(tag.lastPulledAt) }
                        dt { "Same image" }
                        dd(.id("sharing-tags")) {
                            if sharing.isEmpty {
                                span(.class("muted")) { "no other tag" }
                            } else {
                                span(.class("taglist")) {
                                    for other in sharing {
                                        a(href: context.address.tag(other), .class("tagpick")) { other }
                                    }
                                }
                            }
                        }
                    }
                }
                section(.class("card flush"), .id("tag-history")) {
                    h2 { "History" }
                    if history.events.isEmpty {
                        emptyState("No recorded history.", "Pushes, moves and deletions of this tag show here.")
                    } else {
                        activityTable(history.events, id: "history")
                    }
                    pager(
                        total: history.total, page: page, perPage: perPage,
                        link: { context.address.tag(tag.name).query([("page", String($0))]) })
                }
            })
    }

    // MARK: - Deleting tags

    /// What deleting `tags` takes: each selected tag's digest with every tag on it.
    struct TagDeletionPlan: Sendable {
        /// Per digest: the selected tags, the others that share it, and one tag's facts.
        var groups: [(digest: String, selected: [String], alsoGoing: [String], sample: Tag)]
        var allTags: [String] { groups.flatMap { $0.selected + $0.alsoGoing }.sorted() }
    }

    func tagDeletionPlan(_ tags: [String], _ context: RepositoryContext, _ request: WebRequest) async throws
        -> TagDeletionPlan
    {
        let selected = Array(Set(tags.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })).sorted()
        guard !selected.isEmpty else {
            throw WebError(
                status: .unprocessableContent, title: "No tags selected",
                message: "Tick the tags to delete, then press Delete.")
        }
        guard selected.count <= 500 else { throw WebError.badRequest("Delete at most 500 tags at once.") }
        var byDigest: [String: (selected: [String], sample: Tag)] = [:]
        for name in selected {
            let tag = try await services.repositories.tag(
                name, of: RepositoryPath(context.details.fullName), registry: context.details.registry,
                by: request.caller)
            byDigest[tag.digest, default: ([], tag)].selected.append(name)
        }
        let id = context.details.id
        var groups: [(digest: String, selected: [String], alsoGoing: [String], sample: Tag)] = []
        for (digest, entry) in byDigest.sorted(by: { $0.key < $1.key }) {
            let all = try await services.store.read { try $0.tags(withDigest: digest, in: id) }.map(\.name)
            let others = all.filter { !entry.selected.contains($0) }.sorted()
            groups.append((digest, entry.selected.sorted(), others, entry.sample))
        }
        return TagDeletionPlan(groups: groups)
    }

    func deleteTagsPage(_ request: WebRequest, _ context: RepositoryContext, tags: [String]) async throws
        -> WebResponse
    {
        guard request.session != nil else { throw SignInRequired() }
        try requireDeletion(context)
        let plan = try await tagDeletionPlan(tags, context, request)
        let all = plan.allTags
        let extra = plan.groups.reduce(0) { $0 + $1.alsoGoing.count }
        let title = "Delete \(all.count) tag\(all.count == 1 ? "" : "s") of \(context.details.fullName)?"
        return .page(
            Page(title, breadcrumb: context.crumbs + [Crumb("Delete tags")], section: .namespaces) {
                div(.class("card"), .id("delete-summary")) {
                    p {
                        "The registry deletes images by digest, so this deletes "
                        strong { "\(plan.groups.count) image\(plan.groups.count == 1 ? "" : "s")" }
                        plan.groups.count == 1 ? " and every tag on it: " : " and every tag on them: "
                        strong(.id("going-tags")) { all.joined(separator: ", ") }
                        "."
                    }
                    if extra > 0 {
                        p(.class("flash warning"), .id("shared-warning")) {
                            "\(extra) other tag\(extra == 1 ? " shares" : "s share") a digest with what you selected and "
                            "\(extra == 1 ? "goes" : "go") too."
                        }
                    }
                    ul(.id("what-goes")) {
                        for group in plan.groups {
                            li {
                                code(.title(group.digest)) { WebFormat.shortDigest(group.digest) }
                                " (\(MediaTypes.name(group.sample.mediaType)), \(WebFormat.size(group.sample.size))): "
                                strong { group.selected.joined(separator: ", ") }
                                if !group.alsoGoing.isEmpty {
                                    span(.class("also")) {
                                        " — also on this digest and going too: "
                                        strong { group.alsoGoing.joined(separator: ", ") }
                                    }
                                }
                            }
                        }
                    }
                    p(.class("muted")) { "This cannot be undone: pulls of these tags fail from now on." }
                    postForm(
                        action: context.address.subpage("delete-tags"), csrf: request.csrfToken, .id("confirm-delete")
                    ) {
                        hiddenField("confirm", "yes")
                        for tag in plan.groups.flatMap(\.selected) { hiddenField("tag", tag) }
                        confirmationButtons(
                            "Delete \(all.count) tag\(all.count == 1 ? "" : "s")", cancel: context.address.link)
                    }
                }
            })
    }

    func deleteTags(_ request: WebRequest, _ context: RepositoryContext, tags: [String]) async throws -> WebResponse {
        try requireDeletion(context)
        let plan = try await tagDeletionPlan(tags, context, request)
        let deleter = try requireDeleter()
        let outcome: WebDeletionOutcome
        do {
            outcome = try await deleter.deleteTags(
                plan.groups.flatMap(\.selected), in: context.details.fullName, registry: context.details.registry,
                by: request.caller)
        } catch var failure as WebDeletionFailure {
            if let done = failure.completed, !done.removedTags.isEmpty {
                failure.reason += " Already deleted before that: \(done.removedTags.joined(separator: ", "))."
            }
            throw failure
        }
        // The registry's own delete notification may reach the event worker and remove the rows before the deletion
        // records them, so the outcome can name fewer tags than went: every tag the plan saw on a deleted digest went.
        let deletedDigests = Set(outcome.digests)
        let planned = plan.groups.filter { deletedDigests.contains($0.digest) }.flatMap { $0.selected + $0.alsoGoing }
        let removed = Set(outcome.removedTags).union(planned).sorted()
        let message =
            "Deleted \(removed.count) tag\(removed.count == 1 ? "" : "s"): \(removed.joined(separator: ", "))."
        if outcome.repositoryRemoved {
            return .redirect(
                Link.namespace(context.details.namespace),
                Flash(.success, message + " \(context.details.fullName) had no tags left and is gone."))
        }
        return .redirect(context.address.link, Flash(.success, message))
    }

    // MARK: - Deleting the repository

    func deleteRepositoryPage(_ request: WebRequest, _ context: RepositoryContext) async throws -> WebResponse {
        guard request.session != nil else { throw SignInRequired() }
        try requireDeletion(context)
        let details = context.details
        let tags = try await services.repositories.tags(
            of: RepositoryPath(details.fullName), registry: details.registry,
            PageRequest(offset: 0, limit: 100, sort: .name), by: request.caller)
        let digests = Set(tags.items.map(\.digest))
        return .page(
            Page(
                "Delete repository \(details.fullName)?", breadcrumb: context.crumbs + [Crumb("Delete")],
                section: .namespaces
            ) {
                div(.class("card"), .id("delete-summary")) {
                    p {
                        "This deletes the repository "
                        strong { details.fullName }
                        " at the registry and here, with "
                        strong { "all \(WebFormat.count(tags.total)) tag\(tags.total == 1 ? "" : "s")" }
                        tags.total > tags.items.count
                            ? "" : " on \(digests.count) image\(digests.count == 1 ? "" : "s")"
                        ", its \(WebFormat.count(details.starCount)) star\(details.starCount == 1 ? "" : "s") "
                        "and its description."
                    }
                    if !tags.items.isEmpty {
                        p(.id("going-tags")) {
                            "Tags: "
                            strong { tags.items.map(\.name).joined(separator: ", ") }
                            if tags.total > tags.items.count { " and \(tags.total - tags.items.count) more" }
                            "."
                        }
                    }
                    p(.class("muted")) { "This cannot be undone. The audit log keeps its history." }
                    postForm(action: context.address.subpage("delete"), csrf: request.csrfToken, .id("confirm-delete"))
                    {
                        confirmationButtons("Delete repository \(details.fullName)", cancel: context.address.link)
                    }
                }
            })
    }

    func deleteRepository(_ request: WebRequest, _ context: RepositoryContext) async throws -> WebResponse {
        try requireDeletion(context)
        let deleter = try requireDeleter()
        let outcome = try await deleter.deleteRepository(
            context.details.fullName, registry: context.details.registry, by: request.caller)
        return .redirect(
            Link.namespace(context.details.namespace),
            Flash(
                .success,
                "Deleted repository \(context.details.fullName) with \(outcome.removedTags.count) tag"
                    + "\(outcome.removedTags.count == 1 ? "" : "s")."))
    }

    /// 403 unless the policy lets the caller delete in this namespace (checked again by the registry path).
    private func requireDeletion(_ context: RepositoryContext) throws {
        guard context.may.mayDeleteRepositories else {
            throw WebError.forbidden(
                "You may not delete in \(context.details.namespace): that needs the owner role in its team (or "
                    + "contributor, when policy.delete.contributors is on), and deletion enabled.")
        }
    }

    /// The deletion port, or a 503 page saying why there is none.
    private func requireDeleter() throws -> any WebRepositoryDeleting {
        guard let deleter = services.deleter else {
            throw WebError(
                status: .serviceUnavailable, title: "Registry unavailable",
                message: "No registry client is configured, so nothing can be deleted from here. Ask an "
                    + "administrator to configure the registry under registries:, then try again.")
        }
        return deleter
    }
}
