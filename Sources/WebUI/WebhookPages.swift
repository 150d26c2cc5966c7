import Administration
import Foundation
import HTTPCore
import Storage

// A namespace's webhooks: the list, create (the secret is generated and shown once, never again), one
// webhook with its deliveries (status, response, redeliver), enable/disable and delete with confirmation.
// Every rule is WebhookAdministration's (`services.webhooks(caller)`).
extension WebUI {
    var webhookRoutes: [WebRoute] {
        [
            .get("/namespaces/:ns/webhooks", .signedIn) { request in try await webhookList(request) },
            .get("/namespaces/:ns/webhooks/new", .signedIn) { request in try await newWebhookPage(request) },
            .post("/namespaces/:ns/webhooks/new", .signedIn) { request in try await createWebhook(request) },
            .get("/namespaces/:ns/webhooks/:id", .signedIn) { request in try await webhookPage(request) },
            .post("/namespaces/:ns/webhooks/:id/enabled", .signedIn) { request in try await setWebhookEnabled(request)
            },
            .get("/namespaces/:ns/webhooks/:id/delete", .signedIn) { request in try await deleteWebhookPage(request) },
            .post("/namespaces/:ns/webhooks/:id/delete", .signedIn) { request in try await deleteWebhook(request) },
            .post("/namespaces/:ns/webhooks/:id/deliveries/:delivery/redeliver", .signedIn) { request in
                try await redeliver(request)
            },
        ]
    }

    private func webhookCrumbs(_ namespace: String, _ more: Crumb...) -> [Crumb] {
        [
            Crumb("Namespaces", Link("/namespaces")), Crumb(namespace, Link.namespace(namespace)),
            Crumb("Webhooks", Link.path("namespaces", namespace, "webhooks")),
        ] + more
    }

    private func webhookID(_ request: WebRequest) throws -> Webhook.ID {
        guard let raw = Int64(request.parameter("id")), raw > 0 else { throw WebError.notFound() }
        return Webhook.ID(raw)
    }

    private func webhookLink(_ namespace: String, _ id: Webhook.ID, _ rest: String...) -> Link {
        Link.path(["namespaces", namespace, "webhooks", String(id.rawValue)] + rest)
    }

    // MARK: - List

    func webhookList(_ request: WebRequest) async throws -> WebResponse {
        try await mappingContentErrors {
            let name = request.parameter("ns")
            let namespace = try await services.namespaces.show(name, by: request.caller)
            let may = try await services.namespaces.permissions(in: name, by: request.caller)
            let webhooks = try await services.webhooks(request.caller).list(namespace: name)
            return .page(
                Page(
                    "Webhooks", lede: "Tell other systems when images are pushed to or deleted from \(namespace.name).",
                    breadcrumb: webhookCrumbs(name), section: .namespaces,
                    actions: may.mayCreateWebhooks
                        ? [
                            linkButton(
                                "New webhook", to: Link.path("namespaces", name, "webhooks", "new"), style: "primary")
                        ]
                        : []
                ) {
                    if webhooks.isEmpty {
                        emptyState(
                            "No webhooks yet.",
                            may.mayCreateWebhooks
                                ? "Create one to POST a JSON or CloudEvents message to your URL on every push and delete."
                                : "Owners of team \(namespace.team) can create one.")
                    } else {
                        div(.class("card flush")) {
                            div(.class("tablewrap")) {
                                table(.id("webhooks")) {
                                    thead {
                                        tr {
                                            th { "URL" }
                                            th { "Events" }
                                            th(.class("hide-narrow")) { "Format" }
                                            th { "State" }
                                            th(.class("hide-narrow")) { "Created" }
                                        }
                                    }
                                    tbody {
                                        for webhook in webhooks {
                                            tr {
                                                td(.class("name")) {
                                                    a(href: webhookLink(name, webhook.id)) {
                                                        truncated(webhook.url, keep: 48)
                                                    }
                                                }
                                                td { webhook.events.map(\.rawValue).joined(separator: ", ") }
                                                td(.class("hide-narrow")) { webhook.format.rawValue }
                                                td {
                                                    webhook.isEnabled
                                                        ? badge("enabled", "active") : badge("disabled", "disabled")
                                                }
                                                td(.class("hide-narrow")) { timeAgo(webhook.createdAt) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                })
        }
    }

    // MARK: - Create

    func newWebhookPage(
        _ request: WebRequest, values: [String: String] = [:], events: Set<String>? = nil, error: String? = nil,
        status: HTTPStatus = .ok
    ) async throws -> WebResponse {
        let name = request.parameter("ns")
        _ = try await services.namespaces.show(name, by: request.caller)
        let may = try await services.namespaces.permissions(in: name, by: request.caller)
        guard may.mayCreateWebhooks else {
            throw WebError.forbidden("Only owners of the namespace's team (and administrators) may create webhooks.")
        }
        let chosen = events ?? Set(WebhookEvent.allCases.map(\.rawValue))
        let format = values["format"] ?? WebhookFormat.json.rawValue
        return .page(
            Page("New webhook", breadcrumb: webhookCrumbs(name, Crumb("New")), section: .namespaces, status: status) {
                postForm(
                    action: Link.path("namespaces", name, "webhooks", "new"), csrf: request.csrfToken,
                    .class("card narrow"), .id("new-webhook")
                ) {
                    textField(
                        "url", label: "URL", value: values["url"], type: "url",
                        help: "Where to POST the message: http or https.", error: error, required: true,
                        autofocus: true)
                    fieldset(.class("field")) {
                        legend { "Events" }
                        div(.class("choices")) {
                            for event in WebhookEvent.allCases {
                                label {
                                    chosen.contains(event.rawValue)
                                        ? input(.type("checkbox"), .name("events"), .value(event.rawValue), .checked)
                                        : input(.type("checkbox"), .name("events"), .value(event.rawValue))
                                    " " + code { event.rawValue }
                                }
                            }
                        }
                    }
                    div(.class("field")) {
                        label(.labelFor("field-format")) { "Format" }
                        select(.id("field-format"), .name("format")) {
                            for choice in WebhookFormat.allCases {
                                choice.rawValue == format
                                    ? option(.value(choice.rawValue), .selected) { choice.rawValue }
                                    : option(.value(choice.rawValue)) { choice.rawValue }
                            }
                        }
                    }
                    div(.class("field")) {
                        label {
                            values["enabled"] == "no"
                                ? input(.type("checkbox"), .name("enabled"), .value("yes"))
                                : input(.type("checkbox"), .name("enabled"), .value("yes"), .checked)
                            " Enabled"
                        }
                    }
                    p(.class("muted")) {
                        "A signing secret is generated and shown once after creation; it is never shown again."
                    }
                    submitButton("Create webhook")
                }
            })
    }

    func createWebhook(_ request: WebRequest) async throws -> WebResponse {
        let name = request.parameter("ns")
        let url = request.form["url"] ?? ""
        let events = request.form.all("events")
        let formatText = request.form["format"] ?? "json"
        let enabled = request.form["enabled"] == "yes"
        let values = ["url": url, "format": formatText, "enabled": enabled ? "yes" : "no"]
        func again(_ message: String) async throws -> WebResponse {
            try await newWebhookPage(
                request, values: values, events: Set(events), error: message, status: .unprocessableContent)
        }
        guard let format = WebhookFormat(rawValue: formatText) else { return try await again("Choose a format.") }
        let parsed = events.compactMap(WebhookEvent.init(rawValue:))
        guard !parsed.isEmpty else { return try await again("Choose at least one event.") }
        let created: CreatedWebhook
        do {
            created = try await services.webhooks(request.caller).create(
                namespace: name, url: url, format: format, events: parsed, isEnabled: enabled)
        } catch let error as AdministrationError {
            throw error
        } catch {
            guard let page = contentError(error) else { throw error }
            if page.status == .unprocessableContent { return try await again(page.message) }
            throw page
        }
        return .page(
            Page(
                "Webhook created", breadcrumb: webhookCrumbs(name, Crumb("Created")), section: .namespaces,
                status: .created
            ) {
                div(.class("secret"), .id("webhook-secret")) {
                    p {
                        strong { "Copy the signing secret now: it will not be shown again." }
                        " Deliveries to "
                        code { created.summary.url }
                        " carry an HMAC-SHA256 signature made with it."
                    }
                    copyField(created.secret, label: "signing secret")
                }
                a(href: webhookLink(name, created.summary.id), .class("button primary")) { "Go to the webhook" }
            })
    }

    // MARK: - One webhook

    /// The webhook the address names, its namespace, the service as the caller, and what the caller may do.
    private func webhookInContext(_ request: WebRequest) async throws
        -> (String, Webhook.ID, WebhookAdministration, WebhookSummary, NamespacePermissions)
    {
        let name = request.parameter("ns")
        let id = try webhookID(request)
        let service = services.webhooks(request.caller)
        let webhook = try await service.show(id, in: name)
        return (name, id, service, webhook, try await services.namespaces.permissions(in: name, by: request.caller))
    }

    func webhookPage(_ request: WebRequest) async throws -> WebResponse {
        try await mappingContentErrors {
            let (name, id, service, webhook, may) = try await webhookInContext(request)
            let page = request.pageNumber
            let deliveries = try await service.deliveries(of: id, in: name, offset: (page - 1) * 25, limit: 25)
            var actions: [Node] = []
            if may.mayManageWebhooks {
                actions.append(
                    postForm(
                        action: webhookLink(name, id, "enabled"), csrf: request.csrfToken, .class("inline"),
                        .id("toggle-webhook")
                    ) {
                        hiddenField("enabled", webhook.isEnabled ? "no" : "yes")
                        submitButton(webhook.isEnabled ? "Disable" : "Enable", style: "secondary")
                    })
            }
            if may.mayCreateWebhooks {
                actions.append(linkButton("Delete", to: webhookLink(name, id, "delete"), style: "danger"))
            }
            return .page(
                Page(
                    "Webhook \(id.rawValue)", breadcrumb: webhookCrumbs(name, Crumb(String(id.rawValue))),
                    section: .namespaces, actions: actions
                ) {
                    dl(.class("facts card"), .id("webhook-facts")) {
                        dt { "URL" }
                        dd { code(.id("webhook-url")) { webhook.url } }
                        dt { "State" }
                        dd { webhook.isEnabled ? badge("enabled", "active") : badge("disabled", "disabled") }
                        dt { "Events" }
                        dd { webhook.events.map(\.rawValue).joined(separator: ", ") }
                        dt { "Format" }
                        dd { webhook.format.rawValue }
                        dt { "Secret" }
                        dd(.class("muted")) { "set (shown only when the webhook was created)" }
                        if !webhook.headerNames.isEmpty {
                            dt { "Headers" }
                            dd { webhook.headerNames.joined(separator: ", ") + " (values hidden)" }
                        }
                        dt { "Created" }
                        dd { timeAgo(webhook.createdAt) }
                    }
                    section(.class("card flush"), .id("deliveries-section")) {
                        h2 { "Deliveries" }
                        if deliveries.items.isEmpty {
                            emptyState("No deliveries yet.", "Push an image to this namespace to send the first one.")
                        } else {
                            div(.class("tablewrap")) {
                                table(.id("deliveries")) {
                                    thead {
                                        tr {
                                            th { "When" }
                                            th { "Event" }
                                            th { "State" }
                                            th(.class("num")) { "Status" }
                                            th(.class("hide-narrow")) { "Response" }
                                            th(.class("num hide-narrow")) { "Attempts" }
                                            if may.mayManageWebhooks { th { "" } }
                                        }
                                    }
                                    tbody {
                                        for record in deliveries.items {
                                            deliveryRow(
                                                record, namespace: name, webhook: id, request: request, may: may)
                                        }
                                    }
                                }
                            }
                        }
                        pager(
                            total: deliveries.total, page: page, perPage: 25,
                            link: { webhookLink(name, id).query([("page", String($0))]) })
                    }
                })
        }
    }

    private func deliveryRow(
        _ record: WebhookDeliveryRecord, namespace: String, webhook: Webhook.ID, request: WebRequest,
        may: NamespacePermissions
    ) -> Node {
        let delivery = record.delivery
        let tone: String
        switch delivery.state {
        case .delivered: tone = "success"
        case .failed: tone = "danger"
        case .pending, .retrying: tone = "warning"
        }
        return tr {
            td { timeAgo(delivery.createdAt) }
            td { code { delivery.event.rawValue } }
            td { badge(delivery.state.rawValue, tone) }
            td(.class("num")) { delivery.lastStatus.map(String.init) ?? "—" }
            td(.class("hide-narrow")) {
                span(.class("truncate"), .title(delivery.lastError ?? delivery.responseExcerpt ?? "")) {
                    delivery.lastError ?? delivery.responseExcerpt ?? ""
                }
            }
            td(.class("num hide-narrow")) { String(delivery.attempts) }
            if may.mayManageWebhooks {
                td {
                    postForm(
                        action: Link.path(
                            "namespaces", namespace, "webhooks", String(webhook.rawValue), "deliveries",
                            String(delivery.id.rawValue), "redeliver"), csrf: request.csrfToken, .class("inline")
                    ) {
                        submitButton("Redeliver", style: "secondary small")
                    }
                }
            }
        }
    }

    func setWebhookEnabled(_ request: WebRequest) async throws -> WebResponse {
        try await mappingContentErrors {
            let name = request.parameter("ns")
            let id = try webhookID(request)
            let enabling = request.form["enabled"] == "yes"
            _ = try await services.webhooks(request.caller).update(id, in: name, WebhookChange(isEnabled: enabling))
            return .redirect(
                webhookLink(name, id), Flash(.success, enabling ? "Webhook enabled." : "Webhook disabled."))
        }
    }

    func redeliver(_ request: WebRequest) async throws -> WebResponse {
        try await mappingContentErrors {
            let name = request.parameter("ns")
            let id = try webhookID(request)
            guard let raw = Int64(request.parameter("delivery")), raw > 0 else { throw WebError.notFound() }
            let copy = try await services.webhooks(request.caller).redeliver(
                WebhookDelivery.ID(raw), of: id, in: name)
            return .redirect(
                webhookLink(name, id), Flash(.success, "Delivery \(raw) queued again as delivery \(copy.id.rawValue)."))
        }
    }

    // MARK: - Delete

    func deleteWebhookPage(_ request: WebRequest) async throws -> WebResponse {
        try await mappingContentErrors {
            let (name, id, service, webhook, may) = try await webhookInContext(request)
            guard may.mayCreateWebhooks else {
                throw WebError.forbidden(
                    "Only owners of the namespace's team (and administrators) may delete webhooks.")
            }
            let deliveries = try await service.deliveries(of: id, in: name, offset: 0, limit: 1)
            return .page(
                Page(
                    "Delete webhook \(id.rawValue)?", breadcrumb: webhookCrumbs(name, Crumb("Delete")),
                    section: .namespaces
                ) {
                    div(.class("card"), .id("delete-summary")) {
                        p {
                            "This deletes the webhook to "
                            code { webhook.url }
                            " (\(webhook.events.map(\.rawValue).joined(separator: ", "))) with its "
                            "\(WebFormat.count(deliveries.total)) recorded deliver\(deliveries.total == 1 ? "y" : "ies"). "
                            "Nothing more is sent to it."
                        }
                        postForm(
                            action: webhookLink(name, id, "delete"), csrf: request.csrfToken, .id("confirm-delete")
                        ) {
                            confirmationButtons("Delete webhook", cancel: webhookLink(name, id))
                        }
                    }
                })
        }
    }

    func deleteWebhook(_ request: WebRequest) async throws -> WebResponse {
        try await mappingContentErrors {
            let name = request.parameter("ns")
            let id = try webhookID(request)
            try await services.webhooks(request.caller).delete(id, in: name)
            return .redirect(Link.path("namespaces", name, "webhooks"), Flash(.success, "Webhook deleted."))
        }
    }
}
