import Administration
import Foundation
import HTTPCore
import Storage
import Webhooks

extension APIParameter {
    /// A namespace name in a path: Portus's rule (`NamespaceNaming`), so a name that can never exist is a 400.
    public static let namespaceName = JSONSchema.patterned("^[a-z0-9]+([._-][a-z0-9]+)*$", maxLength: 255)
}

/// `namespaces/{ns}/webhooks`: outgoing webhooks of a namespace, their deliveries, and redelivery.
///
/// Who may do what is `WebhookAdministration`'s rule (Portus §3.2: administrators, or owners of the
/// namespace while `policy.userPermission.createWebhook`/`manageWebhook` allow; members may look). The
/// signing secret is shown once, in the answer to the creation; header values are never shown back.
public struct WebhookResources: Sendable {
    private let service: @Sendable (Caller) -> WebhookAdministration

    /// Resources over the service `service` makes for each caller.
    public init(service: @escaping @Sendable (Caller) -> WebhookAdministration) { self.service = service }

    static let eventNames = WebhookEvent.allCases.map(\.rawValue)

    /// A webhook as shown (never its secret or header values).
    static let webhookSchema = JSONSchema.named(
        "Webhook",
        .object([
            .required("id", .integer()),
            .required("namespace", .anyString),
            .required("url", .anyString),
            .required("format", .string(allowed: WebhookFormat.allCases.map(\.rawValue))),
            .required("events", .array(.string(allowed: eventNames))),
            .required("headers", .array(.anyString), "The custom header names; their values are never shown."),
            .required("enabled", .boolean),
            .required("created_at", .timestamp),
            .required("updated_at", .timestamp),
        ]))

    static let createdSchema = JSONSchema.named(
        "CreatedWebhook",
        .object([
            .required("webhook", webhookSchema),
            .required("secret", .anyString, "The signing secret: shown this once, never again."),
        ]))

    static let headerSchema = JSONSchema.object([
        .required("name", .string(minLength: 1, maxLength: 128)), .required("value", .string(maxLength: 4096)),
    ])

    static let createBody = JSONSchema.named(
        "NewWebhook",
        .object([
            .required("url", .string(minLength: 1, maxLength: 2048), "http(s) URL deliveries are POSTed to."),
            .optional(
                "format", .string(allowed: WebhookFormat.allCases.map(\.rawValue)), "json (default) or cloudevents."),
            .optional("events", .array(.string(allowed: eventNames), maxItems: 8), "Default: every event."),
            .optional("headers", .array(headerSchema, maxItems: 32), "Custom headers sent with every delivery."),
            .optional("enabled", .boolean),
        ]))

    static let updateBody = JSONSchema.named(
        "WebhookUpdate",
        .object([
            .optional("url", .string(minLength: 1, maxLength: 2048)),
            .optional("events", .array(.string(allowed: eventNames), maxItems: 8)),
            .optional("enabled", .boolean),
            .optional("headers", .array(headerSchema, maxItems: 32), "Replaces every custom header."),
        ]))

    static let attemptSchema = JSONSchema.named(
        "WebhookAttempt",
        .object([
            .required("number", .integer()),
            .required("attempted_at", .timestamp),
            .required("status", .nullable(.integer())),
            .required("latency_ms", .integer()),
            .required("error", .nullable(.anyString)),
        ]))

    static let deliverySchema = JSONSchema.named(
        "WebhookDelivery",
        .object([
            .required("id", .integer()),
            .required("webhook_id", .integer()),
            .required("change_id", .anyString),
            .required("event", .string(allowed: eventNames)),
            .required("state", .string(allowed: WebhookDeliveryState.allCases.map(\.rawValue))),
            .required("attempts", .array(attemptSchema)),
            .required("last_status", .nullable(.integer())),
            .required("last_error", .nullable(.anyString)),
            .required("next_attempt_at", .nullable(.timestamp)),
            .required("redelivery_of", .nullable(.integer())),
            .required("created_at", .timestamp),
            .required("delivered_at", .nullable(.timestamp)),
        ]))

    private static let ns = APIParameter.path("ns", APIParameter.namespaceName, "The namespace's name.")
    private static let id = APIParameter.path("id", .integer(minimum: 1), "The webhook's id.")
    private static let delivery = APIParameter.path("delivery", .integer(minimum: 1), "The delivery's id.")

    /// The routes.
    public var routes: [APIRoute] {
        let base = "/namespaces/{ns}/webhooks"
        return [
            APIRoute(
                .get, base, operationID: "listWebhooks",
                summary: "A namespace's webhooks (members and administrators).",
                tags: ["webhooks"], access: .user, parameters: [Self.ns],
                listing: APIListing(sortFields: ["id"], defaultSort: "id"),
                responses: [APIResponseSpec(.ok, "One page of webhooks.", .array(Self.webhookSchema))]
            ) { [service] request in try await Self.list(request, service) },
            APIRoute(
                .post, base, operationID: "createWebhook",
                summary: "Creates a webhook; the answer shows its signing secret, once.", tags: ["webhooks"],
                access: .user, parameters: [Self.ns], requestBody: Self.createBody,
                responses: [APIResponseSpec(.created, "Created.", Self.createdSchema, headers: ["Location"])]
            ) { [service] request in try await Self.create(request, service) },
            APIRoute(
                .get, base + "/{id}", operationID: "getWebhook", summary: "One webhook.", tags: ["webhooks"],
                access: .user, parameters: [Self.ns, Self.id],
                responses: [APIResponseSpec(.ok, "The webhook.", Self.webhookSchema)]
            ) { [service] request in
                let (caller, namespace, id) = try Self.target(request)
                return .ok(Self.json(try await service(caller).show(id, in: namespace)))
            },
            APIRoute(
                .patch, base + "/{id}", operationID: "updateWebhook",
                summary: "Changes a webhook's URL, events, enabled state or headers.", tags: ["webhooks"],
                access: .user, parameters: [Self.ns, Self.id], requestBody: Self.updateBody,
                responses: [APIResponseSpec(.ok, "The changed webhook.", Self.webhookSchema)]
            ) { [service] request in try await Self.update(request, service) },
            APIRoute(
                .delete, base + "/{id}", operationID: "deleteWebhook", summary: "Deletes a webhook and its deliveries.",
                tags: ["webhooks"], access: .user, parameters: [Self.ns, Self.id],
                responses: [APIResponseSpec(.noContent, "Deleted.")]
            ) { [service] request in
                let (caller, namespace, id) = try Self.target(request)
                try await service(caller).delete(id, in: namespace)
                return .noContent
            },
            APIRoute(
                .get, base + "/{id}/deliveries", operationID: "listWebhookDeliveries",
                summary: "A webhook's deliveries, newest first, with their attempts.", tags: ["webhooks"],
                access: .user, parameters: [Self.ns, Self.id],
                listing: APIListing(sortFields: ["created_at"], defaultSort: "-created_at"),
                responses: [APIResponseSpec(.ok, "One page of deliveries.", .array(Self.deliverySchema))]
            ) { [service] request in try await Self.deliveries(request, service) },
            APIRoute(
                .post, base + "/{id}/deliveries/{delivery}/redeliver", operationID: "redeliverWebhookDelivery",
                summary: "Queues the delivery's exact body again, due now.", tags: ["webhooks"], access: .user,
                parameters: [Self.ns, Self.id, Self.delivery],
                responses: [
                    APIResponseSpec(
                        .accepted, "Queued; the new delivery is listed.", Self.deliverySchema, headers: ["Location"])
                ]
            ) { [service] request in try await Self.redeliver(request, service) },
        ]
    }

    // MARK: - Handlers

    /// The caller, the namespace (which a namespace-restricted token must name) and the webhook id.
    private static func target(_ request: APIRequest) throws(APIError) -> (Caller, String, Webhook.ID) {
        let (caller, namespace) = try scope(request)
        guard let text = request.pathParameters["id"], let value = Int64(text), value > 0 else {
            throw APIError.invalidParameter("id", "id must be a positive whole number.")
        }
        return (caller, namespace, Webhook.ID(value))
    }

    private static func scope(_ request: APIRequest) throws(APIError) -> (Caller, String) {
        let caller = try request.requireCaller()
        let namespace = request.pathParameters["ns"] ?? ""
        guard caller.mayTouch(namespace: namespace) else {
            throw APIError.denied("The application token is not valid for namespace \(InertName.shown(namespace)).")
        }
        return (caller.serviceCaller, namespace)
    }

    private static func list(_ request: APIRequest, _ service: (Caller) -> WebhookAdministration) async throws
        -> APIResponse
    {
        let (caller, namespace) = try scope(request)
        var webhooks = try await service(caller).list(namespace: namespace)
        // A namespace has a handful of webhooks: they are read in one query and paged here.
        if request.page?.sort.first?.descending == true { webhooks.reverse() }
        let page = request.page ?? PageRequest(page: 1, perPage: 25, sort: [])
        let slice = webhooks.dropFirst(min(page.offset, webhooks.count)).prefix(page.perPage)
        return .page(slice.map(json), total: webhooks.count, of: request)
    }

    private static func create(_ request: APIRequest, _ service: (Caller) -> WebhookAdministration) async throws
        -> APIResponse
    {
        let (caller, namespace) = try scope(request)
        let body = request.body ?? .object([])
        let format =
            try body["format"]?.stringValue.map { text throws(APIError) in
                guard let format = WebhookFormat(rawValue: text) else {
                    throw APIError(.badRequest, code: "FIELD_INVALID", message: "Unknown format.", field: "format")
                }
                return format
            } ?? .json
        let created = try await service(caller).create(
            namespace: namespace, url: body["url"]?.stringValue ?? "", format: format,
            events: events(body["events"]) ?? WebhookEvent.allCases, headers: headers(body["headers"]) ?? [],
            isEnabled: body["enabled"]?.boolValue ?? true)
        let summary = created.summary
        return .created(
            .object([("webhook", json(summary)), ("secret", .string(created.secret))]),
            location: RESTAPI.prefix + "/namespaces/\(PageRequest.percentEncoded(namespace))/webhooks/\(summary.id)")
    }

    private static func update(_ request: APIRequest, _ service: (Caller) -> WebhookAdministration) async throws
        -> APIResponse
    {
        let (caller, namespace, id) = try target(request)
        let body = request.body ?? .object([])
        let change = WebhookChange(
            url: body["url"]?.stringValue, events: events(body["events"]), isEnabled: body["enabled"]?.boolValue,
            headers: headers(body["headers"]))
        return .ok(json(try await service(caller).update(id, in: namespace, change)))
    }

    private static func deliveries(_ request: APIRequest, _ service: (Caller) -> WebhookAdministration) async throws
        -> APIResponse
    {
        let (caller, namespace, id) = try target(request)
        let page = request.page ?? PageRequest(page: 1, perPage: 25, sort: [])
        if page.sort.contains(where: { !$0.descending }) {
            throw APIError.invalidParameter("sort", code: "SORT_INVALID", "Deliveries are listed newest first.")
        }
        let found = try await service(caller).deliveries(
            of: id, in: namespace, offset: page.offset, limit: page.perPage)
        return .page(found.items.map(json), total: found.total, of: request)
    }

    private static func redeliver(_ request: APIRequest, _ service: (Caller) -> WebhookAdministration) async throws
        -> APIResponse
    {
        let (caller, namespace, id) = try target(request)
        guard let text = request.pathParameters["delivery"], let value = Int64(text), value > 0 else {
            throw APIError.invalidParameter("delivery", "delivery must be a positive whole number.")
        }
        let copy = try await service(caller).redeliver(WebhookDelivery.ID(value), of: id, in: namespace)
        return .accepted(
            json(WebhookDeliveryRecord(delivery: copy, attempts: [])),
            location: RESTAPI.prefix + "/namespaces/\(PageRequest.percentEncoded(namespace))/webhooks/\(id)/deliveries")
    }

    // MARK: - Body and JSON

    /// The schema has checked the names; the service checks the list is not empty.
    private static func events(_ value: JSONValue?) -> [WebhookEvent]? {
        guard case .array(let items)? = value else { return nil }
        return items.compactMap { $0.stringValue.flatMap(WebhookEvent.init(rawValue:)) }
    }

    private static func headers(_ value: JSONValue?) -> [WebhookHeader]? {
        guard case .array(let items)? = value else { return nil }
        return items.map { WebhookHeader(name: $0["name"]?.stringValue ?? "", value: $0["value"]?.stringValue ?? "") }
    }

    static func json(_ webhook: WebhookSummary) -> JSONValue {
        .object([
            ("id", .integer(webhook.id.rawValue)),
            ("namespace", .string(webhook.namespace)),
            ("url", .string(webhook.url)),
            ("format", .string(webhook.format.rawValue)),
            ("events", .array(webhook.events.map { .string($0.rawValue) })),
            ("headers", .array(webhook.headerNames.map { .string($0) })),
            ("enabled", .bool(webhook.isEnabled)),
            ("created_at", JSONValue.timestamp(webhook.createdAt)),
            ("updated_at", JSONValue.timestamp(webhook.updatedAt)),
        ])
    }

    static func json(_ record: WebhookDeliveryRecord) -> JSONValue {
        let delivery = record.delivery
        func optional(_ number: Int?) -> JSONValue { number.map { .integer(Int64($0)) } ?? .null }
        return .object([
            ("id", .integer(delivery.id.rawValue)),
            ("webhook_id", .integer(delivery.webhookID.rawValue)),
            ("change_id", .string(delivery.changeID)),
            ("event", .string(delivery.event.rawValue)),
            ("state", .string(delivery.state.rawValue)),
            (
                "attempts",
                .array(
                    record.attempts.map { attempt in
                        .object([
                            ("number", .integer(Int64(attempt.number))),
                            ("attempted_at", JSONValue.timestamp(attempt.attemptedAt)),
                            ("status", optional(attempt.status)),
                            ("latency_ms", .integer(Int64(attempt.latencyMilliseconds))),
                            ("error", JSONValue.optional(attempt.error)),
                        ])
                    })
            ),
            ("last_status", optional(delivery.lastStatus)),
            ("last_error", JSONValue.optional(delivery.lastError)),
            ("next_attempt_at", JSONValue.timestamp(delivery.nextAttemptAt)),
            ("redelivery_of", delivery.redeliveryOf.map { .integer($0.rawValue) } ?? .null),
            ("created_at", JSONValue.timestamp(delivery.createdAt)),
            ("delivered_at", JSONValue.timestamp(delivery.deliveredAt)),
        ])
    }
}
