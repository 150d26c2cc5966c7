import Administration
import Foundation
import HTTPCore
import Storage

// The namespaces: the list (filter, sort, pages), a namespace with its repositories, webhooks and activity,
// create, edit and delete. Every rule is NamespaceAdministration's; these pages ask what the caller may do
// only to leave out the buttons that would be refused.
extension WebUI {
    /// Namespaces listed per page.
    static let namespacesPerPage = 25

    var namespaceRoutes: [WebRoute] {
        [
            .get("/namespaces", .anyone) { request in
                try await mappingContentErrors { try await namespaceList(request) }
            },
            .get("/namespaces/new", .signedIn) { request in
                try await mappingContentErrors { try await newNamespacePage(request) }
            },
            .post("/namespaces/new", .signedIn) { request in
                try await mappingContentErrors { try await createNamespace(request) }
            },
            .get("/namespaces/:ns", .anyone) { request in
                try await mappingContentErrors { try await namespacePage(request) }
            },
            .get("/namespaces/:ns/edit", .signedIn) { request in
                try await mappingContentErrors { try await editNamespacePage(request) }
            },
            .post("/namespaces/:ns/edit", .signedIn) { request in
                try await mappingContentErrors { try await editNamespace(request) }
            },
            .get("/namespaces/:ns/delete", .signedIn) { request in
                try await mappingContentErrors { try await deleteNamespacePage(request) }
            },
            .post("/namespaces/:ns/delete", .signedIn) { request in
                try await mappingContentErrors { try await deleteNamespace(request) }
            },
        ] + webhookRoutes
    }

    // MARK: - List

    func namespaceList(_ request: WebRequest) async throws -> WebResponse {
        let query = (request.query("q") ?? "").trimmingCharacters(in: .whitespaces)
        let sort = NamespaceSortField(rawValue: request.query("sort") ?? "") ?? .name
        let descending = request.query("order") == "desc"
        let page = request.pageNumber
        let perPage = Self.namespacesPerPage
        var namespaces: [NamespaceSummary] = []
        var total = 0
        var isExact = true
        var notice: String?
        if query.isEmpty {
            let found = try await services.namespaces.list(
                PageRequest(offset: (page - 1) * perPage, limit: perPage, sort: sort, descending: descending),
                by: request.caller)
            namespaces = found.items
            total = found.total
        } else if query.unicodeScalars.count < 3 {
            notice = "Type at least 3 characters to filter."
        } else {
            // The search index finds names and descriptions by substring, with the visibility rules applied.
            let results: SearchResults
            do {
                results = try await services.search.search(
                    String(query.prefix(255)), as: request.caller, kinds: [.namespace],
                    page: PageNumber(page: page, perPage: perPage))
            } catch {
                throw contentError(error) ?? error
            }
            let section = results.sections[.namespace]
            total = section?.total ?? 0
            isExact = section?.isTotalExact ?? true
            for hit in section?.hits ?? [] {
                if let summary = try? await services.namespaces.show(hit.name, by: request.caller) {
                    namespaces.append(summary)
                }
            }
        }
        var mayCreate = false
        if request.session != nil {
            mayCreate = !(try await services.namespaces.teamsForNewNamespaces(by: request.caller)).isEmpty
        }
        func listLink(_ page: Int?, sort field: String? = nil, descending: Bool? = nil) -> Link {
            Link("/namespaces").query([
                ("q", query.isEmpty ? nil : query), ("sort", field ?? (sort == .name ? nil : sort.rawValue)),
                ("order", (descending ?? (request.query("order") == "desc")) ? "desc" : nil),
                ("page", page.map(String.init)),
            ])
        }
        return .page(
            Page(
                "Namespaces", lede: "Where repositories live: each belongs to a team and has a visibility.",
                breadcrumb: [Crumb("Namespaces")], section: .namespaces,
                actions: mayCreate ? [linkButton("New namespace", to: Link("/namespaces/new"), style: "primary")] : []
            ) {
                getForm(action: Link("/namespaces"), .class("inline"), .role("search"), .id("namespace-filter")) {
                    label(.labelFor("namespace-q"), .class("visually-hidden")) { "Filter namespaces" }
                    input(
                        .id("namespace-q"), .type("search"), .name("q"), .value(query),
                        .custom("placeholder", "Filter by name or description"))
                    submitButton("Filter", style: "secondary")
                    if !query.isEmpty { a(href: Link("/namespaces"), .class("button link")) { "Clear" } }
                }
                if let notice { p(.class("muted"), .id("filter-notice")) { notice } }
                if namespaces.isEmpty {
                    if query.isEmpty {
                        emptyState(
                            "No namespaces you can see yet.",
                            mayCreate
                                ? "Create one for your team, then push images into it."
                                : "Ask a team owner to add you to a team, or an administrator to create a namespace.")
                    } else if notice == nil {
                        emptyState("No namespace matches “\(query)”.", "Try a shorter part of the name.")
                    }
                } else {
                    div(.class("tablewrap")) {
                        table(.id("namespaces")) {
                            thead {
                                tr {
                                    if query.isEmpty {
                                        sortHeader(
                                            "Name", field: "name", current: sort.rawValue, descending: descending
                                        ) { listLink(nil, sort: $0, descending: $1) }
                                    } else {
                                        th { "Name" }
                                    }
                                    th { "Visibility" }
                                    th(.class("hide-narrow")) { "Team" }
                                    th(.class("num")) { "Repositories" }
                                    th(.class("hide-narrow")) { "Description" }
                                    if query.isEmpty {
                                        sortHeader(
                                            "Created", field: "created_at", current: sort.rawValue,
                                            descending: descending, hideNarrow: true
                                        ) { listLink(nil, sort: $0, descending: $1) }
                                    }
                                }
                            }
                            tbody {
                                for namespace in namespaces {
                                    tr {
                                        td(.class("name")) {
                                            a(href: Link.namespace(namespace.name)) { truncated(namespace.name) }
                                        }
                                        td { visibilityBadge(namespace.visibility) }
                                        td(.class("hide-narrow")) { namespaceTeam(namespace) }
                                        td(.class("num")) { WebFormat.count(namespace.repositoryCount) }
                                        td(.class("hide-narrow")) {
                                            span(.class("truncate"), .title(namespace.description ?? "")) {
                                                namespace.description ?? ""
                                            }
                                        }
                                        if query.isEmpty { td(.class("hide-narrow")) { timeAgo(namespace.createdAt) } }
                                    }
                                }
                            }
                        }
                    }
                }
                pager(total: total, page: page, perPage: perPage, isExact: isExact, link: { listLink($0) })
            })
    }

    /// The owning team as a link (hidden teams of global and personal namespaces as plain text).
    func namespaceTeam(_ namespace: NamespaceSummary) -> Node {
        namespace.kind == .regular
            ? a(href: Link.team(namespace.team)) { namespace.team }
            : span(.class("muted")) {
                namespace.kind == .global ? "global" : "personal"
            }
    }

    // MARK: - One namespace

    func namespacePage(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("ns")
        let namespace = try await services.namespaces.show(name, by: request.caller)
        let may = try await services.namespaces.permissions(in: name, by: request.caller)
        let sort = RepositorySortField(rawValue: request.query("sort") ?? "") ?? .name
        let descending = request.query("order") == "desc"
        let page = request.pageNumber
        let perPage = Self.namespacesPerPage
        let repositories = try await services.namespaces.repositories(
            of: name, PageRequest(offset: (page - 1) * perPage, limit: perPage, sort: sort, descending: descending),
            by: request.caller)
        let activity = try await services.namespaces.activities(of: name, offset: 0, limit: 10, by: request.caller)
        let webhooks = may.mayShowWebhooks ? try await services.webhooks(request.caller).list(namespace: name) : []
        let host = settings.pullHost(of: settings.registries.first?.name ?? "")
        let prefix = namespace.kind == .global ? "" : "\(namespace.name)/"
        func listLink(_ page: Int?, sort field: String? = nil, descending: Bool? = nil) -> Link {
            Link.namespace(name).query([
                ("sort", field ?? (sort == .name ? nil : sort.rawValue)),
                ("order", (descending ?? (request.query("order") == "desc")) ? "desc" : nil),
                ("page", page.map(String.init)),
            ])
        }
        var actions: [Node] = []
        if may.mayChangeAnything {
            actions.append(linkButton("Edit", to: Link.path("namespaces", name, "edit")))
        }
        if may.mayDelete {
            actions.append(linkButton("Delete", to: Link.path("namespaces", name, "delete"), style: "danger"))
        }
        return .page(
            Page(
                namespace.name, lede: namespace.description,
                breadcrumb: [Crumb("Namespaces", Link("/namespaces")), Crumb(namespace.name)], section: .namespaces,
                actions: actions
            ) {
                dl(.class("facts spaced"), .id("namespace-facts")) {
                    dt { "Visibility" }
                    dd { visibilityBadge(namespace.visibility) }
                    dt { "Team" }
                    dd { namespaceTeam(namespace) }
                    dt { "Repositories" }
                    dd { WebFormat.count(namespace.repositoryCount) }
                    dt { "Created" }
                    dd { timeAgo(namespace.createdAt) }
                }
                section(.class("card flush"), .id("repositories-section")) {
                    h2 { "Repositories" }
                    if repositories.items.isEmpty {
                        emptyState(
                            "No repositories yet.", "Push an image to create one:",
                            command: "docker push \(host)/\(prefix)app:1.0")
                    } else {
                        div(.class("tablewrap")) {
                            table(.id("repositories")) {
                                thead {
                                    tr {
                                        sortHeader(
                                            "Name", field: "name", current: sort.rawValue, descending: descending
                                        ) { listLink(nil, sort: $0, descending: $1) }
                                        th(.class("num")) { "Tags" }
                                        th(.class("num hide-narrow")) { "Stars" }
                                        sortHeader(
                                            "Last push", field: "updated_at", current: sort.rawValue,
                                            descending: descending
                                        ) { listLink(nil, sort: $0, descending: $1) }
                                    }
                                }
                                tbody {
                                    for listing in repositories.items {
                                        let full = prefix + listing.repository.name
                                        tr {
                                            td(.class("name")) {
                                                a(href: RepositoryAddress(fullName: full).link) {
                                                    truncated(listing.repository.name, keep: 60)
                                                }
                                            }
                                            td(.class("num")) { WebFormat.count(listing.tagCount) }
                                            td(.class("num hide-narrow")) { WebFormat.count(listing.starCount) }
                                            td { timeAgo(listing.repository.updatedAt) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    pager(total: repositories.total, page: page, perPage: perPage, link: { listLink($0) })
                }
                if may.mayShowWebhooks {
                    section(.class("card"), .id("webhooks-section")) {
                        h2 { "Webhooks" }
                        p {
                            webhooks.isEmpty
                                ? "No webhooks: nothing is told when images are pushed or deleted here."
                                : "\(webhooks.count) webhook\(webhooks.count == 1 ? "" : "s"), "
                                    + "\(webhooks.filter(\.isEnabled).count) enabled."
                            " "
                            a(href: Link.path("namespaces", name, "webhooks")) { "Manage webhooks" }
                        }
                    }
                }
                section(.class("card flush"), .id("activity-section")) {
                    h2 { "Recent activity" }
                    if activity.items.isEmpty {
                        emptyState("No activity yet.", "Pushes, deletions and changes to this namespace show here.")
                    } else {
                        activityTable(activity.items, id: "activity")
                    }
                }
            })
    }

    // MARK: - Create

    func newNamespacePage(
        _ request: WebRequest, values: [String: String] = [:], errors: [String: String] = [:],
        status: HTTPStatus = .ok
    ) async throws -> WebResponse {
        let teams = try await services.namespaces.teamsForNewNamespaces(by: request.caller)
        guard !teams.isEmpty else {
            throw WebError.forbidden(
                "You may not create namespaces: you need the owner role (or push rights) in a team, or an "
                    + "administrator to create it.")
        }
        let visibility = values["visibility"] ?? NamespaceVisibility.private.rawValue
        return .page(
            Page(
                "New namespace", lede: "A namespace groups repositories under one team.",
                breadcrumb: [Crumb("Namespaces", Link("/namespaces")), Crumb("New")], section: .namespaces,
                status: status
            ) {
                if let error = errors["form"] { div(.class("flash error"), .role("alert")) { error } }
                postForm(
                    action: Link("/namespaces/new"), csrf: request.csrfToken, .class("card narrow"),
                    .id("new-namespace")
                ) {
                    textField(
                        "name", label: "Name", value: values["name"],
                        help: "Lower-case letters, digits, '.', '_' and '-'. Part of every image name: "
                            + "\(settings.pullHost(of: ""))/NAME/app.",
                        error: errors["name"], required: true, autofocus: true)
                    teamSelect(teams, selected: values["team"], label: "Team", error: errors["team"])
                    visibilityChoices(selected: visibility, allowPrivate: true)
                    descriptionField(values["description"], error: errors["description"])
                    submitButton("Create namespace")
                }
            })
    }

    func createNamespace(_ request: WebRequest) async throws -> WebResponse {
        let values = [
            "name": request.form["name"] ?? "", "team": request.form["team"] ?? "",
            "visibility": request.form["visibility"] ?? "", "description": request.form["description"] ?? "",
        ]
        guard let visibility = NamespaceVisibility(rawValue: values["visibility"]!) else {
            return try await newNamespacePage(
                request, values: values, errors: ["form": "Choose a visibility."], status: .unprocessableContent)
        }
        do {
            let created = try await services.namespaces.create(
                values["name"]!, team: values["team"]!, visibility: visibility,
                description: values["description"]!.isEmpty ? nil : values["description"], by: request.caller)
            return .redirect(Link.namespace(created.name), Flash(.success, "Namespace \(created.name) created."))
        } catch let error as AdministrationError where error.code != .forbidden {
            let field: String
            switch error.code {
            case .invalidNamespaceName, .namespaceNameTaken: field = "name"
            case .teamNotFound: field = "team"
            case .invalidDescription: field = "description"
            default: field = "form"
            }
            return try await newNamespacePage(
                request, values: values, errors: [field: WebError.sentence(error.reason)],
                status: error.isConflict ? .conflict : .unprocessableContent)
        }
    }

    // MARK: - Edit

    func editNamespacePage(
        _ request: WebRequest, values: [String: String]? = nil, error: String? = nil, status: HTTPStatus = .ok
    ) async throws -> WebResponse {
        let name = request.parameter("ns")
        let namespace = try await services.namespaces.show(name, by: request.caller)
        let may = try await services.namespaces.permissions(in: name, by: request.caller)
        guard may.mayChangeAnything else {
            throw WebError.forbidden(
                "You may not change namespace \(name): that needs an owner of team \(namespace.team).")
        }
        let targets = may.mayTransfer ? try await services.namespaces.transferTargets(of: name, by: request.caller) : []
        let description = values?["description"] ?? namespace.description ?? ""
        let visibility = values?["visibility"] ?? namespace.visibility.rawValue
        let team = values?["team"] ?? namespace.team
        return .page(
            Page(
                "Edit \(namespace.name)",
                breadcrumb: [
                    Crumb("Namespaces", Link("/namespaces")), Crumb(namespace.name, Link.namespace(name)),
                    Crumb("Edit"),
                ], section: .namespaces, status: status
            ) {
                if let error { div(.class("flash error"), .role("alert"), .id("edit-error")) { error } }
                postForm(
                    action: Link.path("namespaces", name, "edit"), csrf: request.csrfToken, .class("card narrow"),
                    .id("edit-namespace")
                ) {
                    if may.mayEdit {
                        descriptionField(description, error: nil)
                    } else {
                        p(.class("muted")) { "Changing the description needs push rights in this namespace." }
                    }
                    if may.mayChangeVisibility {
                        visibilityChoices(selected: visibility, allowPrivate: namespace.kind != .global)
                    }
                    if may.mayTransfer && !targets.isEmpty {
                        teamSelect(
                            Array(Set(targets + [namespace.team])).sorted(), selected: team, label: "Owning team",
                            error: nil,
                            help: "Handing the namespace to another team gives that team's members its rights.")
                    }
                    div(.class("formrow")) {
                        submitButton("Save changes")
                        a(href: Link.namespace(name), .class("button link")) { "Cancel" }
                    }
                }
            })
    }

    func editNamespace(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("ns")
        let current = try await services.namespaces.show(name, by: request.caller)
        var changes = NamespaceChanges()
        // Only what changed is sent, so a field the caller may not change (and did not) is not refused.
        if let description = request.form["description"], description != (current.description ?? "") {
            changes.description = .some(description.isEmpty ? nil : description)
        }
        if let text = request.form["visibility"] {
            guard let visibility = NamespaceVisibility(rawValue: text) else {
                throw WebError.badRequest("Unknown visibility '\(text)'.")
            }
            if visibility != current.visibility { changes.visibility = visibility }
        }
        if let team = request.form["team"], !team.isEmpty, team != current.team { changes.team = team }
        guard changes != NamespaceChanges() else {
            return .redirect(Link.namespace(name), Flash(.success, "Nothing to change."))
        }
        do {
            _ = try await services.namespaces.update(name, changes, by: request.caller)
            return .redirect(Link.namespace(name), Flash(.success, "Namespace \(name) saved."))
        } catch let error as AdministrationError where error.code != .forbidden && !error.isNotFound {
            let values = [
                "description": request.form["description"] ?? "", "visibility": request.form["visibility"] ?? "",
                "team": request.form["team"] ?? "",
            ]
            return try await editNamespacePage(
                request, values: values, error: WebError.sentence(error.reason), status: .unprocessableContent)
        }
    }

    // MARK: - Delete

    func deleteNamespacePage(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("ns")
        let namespace = try await services.namespaces.show(name, by: request.caller)
        let may = try await services.namespaces.permissions(in: name, by: request.caller)
        guard may.mayDelete else {
            throw WebError.forbidden("You may not delete namespace \(name).")
        }
        let webhooks = may.mayShowWebhooks ? try await services.webhooks(request.caller).list(namespace: name) : []
        let repositories = try await services.namespaces.repositories(
            of: name, PageRequest(offset: 0, limit: 25, sort: .name), by: request.caller)
        return .page(
            Page(
                "Delete namespace \(namespace.name)?",
                breadcrumb: [
                    Crumb("Namespaces", Link("/namespaces")), Crumb(namespace.name, Link.namespace(name)),
                    Crumb("Delete"),
                ], section: .namespaces
            ) {
                div(.class("card"), .id("delete-summary")) {
                    if repositories.total > 0 {
                        p {
                            strong {
                                "\(namespace.name) still holds \(WebFormat.count(repositories.total)) repositories."
                            }
                            " A namespace is deleted only when it is empty: delete these first (each through its page, "
                            "so the registry deletes the images too)."
                        }
                        ul(.id("blocking-repositories")) {
                            for listing in repositories.items {
                                let full =
                                    (namespace.kind == .global ? "" : "\(namespace.name)/") + listing.repository.name
                                li { a(href: RepositoryAddress(fullName: full).link) { full } }
                            }
                            if repositories.total > repositories.items.count {
                                li(.class("muted")) { "and \(repositories.total - repositories.items.count) more" }
                            }
                        }
                        a(href: Link.namespace(name), .class("button")) { "Back to \(namespace.name)" }
                    } else {
                        p { "This deletes, and cannot be undone:" }
                        ul(.id("what-goes")) {
                            li {
                                "the namespace "
                                strong { namespace.name }
                                " (\(namespace.visibility.rawValue), team \(namespace.team)), which holds no repositories;"
                            }
                            li {
                                webhooks.isEmpty
                                    ? "no webhooks (there are none)."
                                    : "its \(webhooks.count) webhook\(webhooks.count == 1 ? "" : "s") and their delivery "
                                        + "history: " + webhooks.map(\.url).joined(separator: ", ") + "."
                            }
                        }
                        p(.class("muted")) { "The audit log keeps its history." }
                        postForm(
                            action: Link.path("namespaces", name, "delete"), csrf: request.csrfToken,
                            .id("delete-namespace")
                        ) {
                            confirmationButtons("Delete namespace \(namespace.name)", cancel: Link.namespace(name))
                        }
                    }
                }
            })
    }

    func deleteNamespace(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("ns")
        try await services.namespaces.delete(name, by: request.caller)
        return .redirect(Link("/namespaces"), Flash(.success, "Namespace \(name) deleted."))
    }

    // MARK: - Fields

    func teamSelect(_ teams: [String], selected: String?, label text: String, error: String?, help: String? = nil)
        -> Node
    {
        div(.class(error == nil ? "field" : "field invalid")) {
            label(.labelFor("field-team")) { text }
            select(.id("field-team"), .name("team")) {
                for team in teams {
                    team == selected
                        ? option(.value(team), .selected) { team } : option(.value(team)) { team }
                }
            }
            if let help { div(.class("help")) { help } }
            if let error { div(.class("error"), .id("field-team-error")) { error } }
        }
    }

    func visibilityChoices(selected: String, allowPrivate: Bool) -> Node {
        let choices: [(NamespaceVisibility, String)] = [
            (.private, "Only the team's members (and administrators) may see and pull."),
            (.protected, "Every signed-in user may see and pull."),
            (.public, "Anyone may see and pull, signed in or not."),
        ]
        return fieldset(.class("field")) {
            legend { "Visibility" }
            div(.class("choices")) {
                for (visibility, help) in choices where allowPrivate || visibility != .private {
                    label {
                        visibility.rawValue == selected
                            ? input(.type("radio"), .name("visibility"), .value(visibility.rawValue), .checked)
                            : input(.type("radio"), .name("visibility"), .value(visibility.rawValue))
                        " "
                        visibilityBadge(visibility)
                        " "
                        span(.class("muted")) { help }
                    }
                }
            }
        }
    }

    func descriptionField(_ value: String?, error: String?) -> Node {
        div(.class(error == nil ? "field" : "field invalid")) {
            label(.labelFor("field-description")) { "Description" }
            textarea(.id("field-description"), .name("description"), .custom("rows", "3"), .custom("maxlength", "1000"))
            {
                value ?? ""
            }
            if let error { div(.class("error"), .id("field-description-error")) { error } }
        }
    }
}
