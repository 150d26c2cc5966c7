import Foundation
import HTTPCore

/// How the last catalog sync of a registry went, as recorded in the store (so every instance sees it).
public struct RegistrySyncRecord: Sendable, Hashable {
    /// When it finished.
    public var finishedAt: Date
    /// `succeeded`, `partial` (the catalog could not be listed: nothing was removed) or `failed`.
    public var result: String
    /// A short public summary (counts of changes), never an internal error.
    public var summary: String

    /// Creates a record.
    public init(finishedAt: Date, result: String, summary: String) {
        self.finishedAt = finishedAt
        self.result = result
        self.summary = summary
    }
}

/// A configured registry's state, as `GET /registries` shows it.
public struct RegistryState: Sendable, Hashable {
    /// The configured name.
    public var name: String
    /// Its base URL.
    public var url: String
    /// The last sync, if any ran.
    public var lastSync: RegistrySyncRecord?
    /// Whether a sync of it is running now.
    public var isSyncing: Bool
    /// Stored registry notifications not yet processed.
    public var eventBacklog: Int

    /// Creates a state.
    public init(name: String, url: String, lastSync: RegistrySyncRecord?, isSyncing: Bool, eventBacklog: Int) {
        self.name = name
        self.url = url
        self.lastSync = lastSync
        self.isSyncing = isSyncing
        self.eventBacklog = eventBacklog
    }
}

/// What asking for a sync did.
public enum RegistrySyncStart: Sendable, Hashable {
    /// A sync started in the background.
    case started
    /// One is running already (here or in another process on the same database).
    case alreadyRunning
    /// No registry has this name.
    case unknownRegistry
}

/// The registries port the API is handed by the composition root, so that the API does not import the
/// registry integration: the configured registries' state, and starting a catalog sync (`Reconciler`).
///
/// Contract: `states` reads the store (last sync, backlog) and throws only when it fails; `startSync` returns
/// at once, the sync running in the background, recording its result where `states` reads it and in the
/// audit log under `actor`'s name.
public protocol RegistrySyncing: Sendable {
    /// Every configured registry, in configuration order.
    func states() async throws -> [RegistryState]
    /// Starts a catalog sync of registry `name` on behalf of `actor`.
    func startSync(of name: String, actor: String) async throws -> RegistrySyncStart
}

/// No registry integration (tests, or a server without registries): no registries.
public struct NoRegistrySync: RegistrySyncing {
    /// Creates the empty port.
    public init() {}
    /// None.
    public func states() async throws -> [RegistryState] { [] }
    /// Never a known registry.
    public func startSync(of name: String, actor: String) async throws -> RegistrySyncStart { .unknownRegistry }
}

/// `registries`: the configured registries' state (reachable, last sync, event backlog) and
/// `POST registries/{name}/sync`, for administrators.
public struct RegistryResources: Sendable {
    private let registries: any RegistrySyncing
    private let health: (any APIHealthChecking)?

    /// Resources over `registries`, with reachability from `health`.
    public init(registries: any RegistrySyncing, health: (any APIHealthChecking)? = nil) {
        self.registries = registries
        self.health = health
    }

    static let registrySchema = JSONSchema.named(
        "Registry",
        .object([
            .required("name", .anyString),
            .required("url", .anyString),
            .required("reachable", .nullable(.boolean), "Whether /v2/ answered 200 or 401 (null: not probed)."),
            .required("message", .nullable(.anyString)),
            .required("syncing", .boolean),
            .required("event_backlog", .integer(), "Registry notifications stored and not yet processed."),
            .required(
                "last_sync",
                .nullable(
                    .object([
                        .required("finished_at", .timestamp),
                        .required("result", .string(allowed: ["succeeded", "partial", "failed"])),
                        .required("summary", .anyString),
                    ]))),
        ]))

    static let syncSchema = JSONSchema.named(
        "RegistrySyncStarted",
        .object([
            .required("registry", .anyString), .required("state", .string(allowed: ["started"])),
            .required("status", .anyString, "Where the result appears (last_sync)."),
        ]))

    private static let name = APIParameter.path(
        "name", .patterned("^[^\\u0000-\\u001F\\u007F]+$", maxLength: 128), "The registry's name.")

    /// The routes.
    public var routes: [APIRoute] {
        [
            APIRoute(
                .get, "/registries", operationID: "listRegistries",
                summary: "The configured registries: reachable, last sync, event backlog (administrators).",
                tags: ["registries"], access: .admin, listing: APIListing(sortFields: ["name"], defaultSort: "name"),
                responses: [APIResponseSpec(.ok, "The registries.", .array(Self.registrySchema))]
            ) { [self] request in
                var all = try await states()
                if request.page?.sort.first?.descending == true { all.reverse() }
                let page = request.page ?? PageRequest(page: 1, perPage: 25, sort: [])
                let slice = all.dropFirst(min(page.offset, all.count)).prefix(page.perPage)
                return .page(Array(slice), total: all.count, of: request)
            },
            APIRoute(
                .get, "/registries/{name}", operationID: "getRegistry",
                summary: "One registry's state (administrators).",
                tags: ["registries"], access: .admin, parameters: [Self.name],
                responses: [APIResponseSpec(.ok, "The registry.", Self.registrySchema)]
            ) { [self] request in
                let name = request.pathParameters["name"] ?? ""
                guard let found = try await state(named: name) else { throw Self.notFound(name) }
                return .ok(found)
            },
            APIRoute(
                .post, "/registries/{name}/sync", operationID: "syncRegistry",
                summary: "Starts a catalog sync; 409 while one runs (administrators).", tags: ["registries"],
                access: .admin, parameters: [Self.name],
                responses: [
                    APIResponseSpec(
                        .accepted, "Started; the result appears as last_sync.", Self.syncSchema, headers: ["Location"])
                ]
            ) { [registries] request in
                let caller = try request.requireCaller()
                let name = request.pathParameters["name"] ?? ""
                switch try await registries.startSync(of: name, actor: caller.username) {
                case .unknownRegistry: throw Self.notFound(name)
                case .alreadyRunning:
                    throw APIError(
                        .conflict, code: "SYNC_RUNNING", message: "A catalog sync is running already; try again later.")
                case .started:
                    let status = RESTAPI.prefix + "/registries/" + PageRequest.percentEncoded(name)
                    return .accepted(
                        .object([("registry", .string(name)), ("state", "started"), ("status", .string(status))]),
                        location: status)
                }
            },
        ]
    }

    private static func notFound(_ name: String) -> APIError {
        APIError(
            .notFound, code: "REGISTRY_NOT_FOUND", message: "No registry is configured as \(InertName.shown(name)).")
    }

    private func states(named name: String? = nil) async throws -> [JSONValue] {
        async let probed = health?.registries() ?? []
        let found = try await registries.states().filter { name == nil || $0.name == name }
        let reachability = Dictionary(await probed.map { ($0.name, $0) }) { first, _ in first }
        return found.map { state in
            let probe = reachability[state.name]
            return .object([
                ("name", .string(state.name)),
                ("url", .string(state.url)),
                ("reachable", probe.map { .bool($0.isHealthy) } ?? .null),
                ("message", probe.map { .string($0.message) } ?? .null),
                ("syncing", .bool(state.isSyncing)),
                ("event_backlog", .integer(Int64(state.eventBacklog))),
                (
                    "last_sync",
                    state.lastSync.map { sync in
                        .object([
                            ("finished_at", JSONValue.timestamp(sync.finishedAt)),
                            ("result", .string(sync.result)), ("summary", .string(sync.summary)),
                        ])
                    } ?? .null
                ),
            ])
        }
    }

    private func state(named name: String) async throws -> JSONValue? { try await states(named: name).first }
}
