import Diagnostics
import Foundation
import HTTPCore
import Storage

/// The state of one thing the server depends on, as `GET /api/v1/health` reports it.
public struct APIHealthComponent: Sendable, Hashable {
    /// What it is (`database`, a registry's name).
    public var name: String
    /// Whether it works.
    public var isHealthy: Bool
    /// A short, public description of its state (never a connection string or an internal error).
    public var message: String

    /// Creates a report.
    public init(name: String, isHealthy: Bool, message: String) {
        self.name = name
        self.isHealthy = isHealthy
        self.message = message
    }
}

/// Checks what the health resource reports.
///
/// Contract: never throws and answers within the caller's patience: a failed check is a component with
/// `isHealthy == false` and a public message.
public protocol APIHealthChecking: Sendable {
    /// The database: reachable, and its schema up to date.
    func database() async -> APIHealthComponent
    /// Each configured registry's state.
    func registries() async -> [APIHealthComponent]
}

/// The database's health: reachable and its schema up to date.
public struct StoreHealthCheck: Sendable {
    private let store: any Store

    /// Checks `store`.
    public init(store: any Store) { self.store = store }

    /// The `database` component.
    public func check() async -> APIHealthComponent {
        do {
            let status = try await store.schemaStatus()
            guard status.currentVersion == status.latestVersion else {
                return APIHealthComponent(
                    name: "database", isHealthy: false,
                    message: "schema version \(status.currentVersion), expected \(status.latestVersion)")
            }
            return APIHealthComponent(name: "database", isHealthy: true, message: "schema up to date")
        } catch {
            return APIHealthComponent(name: "database", isHealthy: false, message: "unavailable")
        }
    }
}

/// The first resources: `_ping`, `version`, `health` and `users/me`.
public struct SystemResources: Sendable {
    private let store: any Store
    private let health: any APIHealthChecking
    private let version: String

    /// Resources reading `store`, reporting `health` and this build's `version`.
    public init(store: any Store, health: any APIHealthChecking, version: String) {
        self.store = store
        self.health = health
        self.version = version
    }

    /// A health report's component entry.
    static let componentSchema = JSONSchema.named(
        "HealthComponent",
        .object([
            .required("name", .anyString), .required("healthy", .boolean), .required("message", .anyString),
        ]))

    /// The user document (`users/me`, and the users resources to come).
    public static let userSchema = JSONSchema.named(
        "User",
        .object([
            .required("id", .integer()),
            .required("username", .anyString),
            .required("email", .nullable(.anyString)),
            .required("display_name", .nullable(.anyString)),
            .required("admin", .boolean),
            .required("enabled", .boolean),
            .required("created_at", .timestamp),
            .required("updated_at", .timestamp),
            .required("last_login_at", .nullable(.timestamp)),
        ]))

    /// `users/me`: the user and the credential used.
    static let currentUserSchema = JSONSchema.named(
        "CurrentUser",
        .object([
            .required("user", userSchema),
            .required(
                "credential",
                .object([
                    .required("source", .string(allowed: ["bearer", "basic", "portus-auth", "session"])),
                    .required(
                        "namespaces", .nullable(.array(.anyString)), "The namespaces the token is limited to, or null."),
                    .required(
                        "actions", .nullable(.array(.anyString)), "The actions the token is limited to, or null."),
                ])),
        ]))

    /// The routes, in document order.
    public var routes: [APIRoute] {
        [
            APIRoute(
                .get, "/_ping", operationID: "ping", summary: "Answers 200 while the server runs.", tags: ["system"],
                access: .anonymous,
                responses: [APIResponseSpec(.ok, "The server runs.", .object([.required("pong", .boolean)]))]
            ) { _ in .ok(.object([("pong", .bool(true))])) },
            APIRoute(
                .get, "/version", operationID: "getVersion", summary: "The server's version and API versions.",
                tags: ["system"], access: .user,
                responses: [
                    APIResponseSpec(
                        .ok, "The versions.",
                        .named(
                            "Version",
                            .object([.required("version", .anyString), .required("api_versions", .array(.anyString))])))
                ]
            ) { [version] _ in .ok(.object([("version", .string(version)), ("api_versions", .array(["v1"]))])) },
            APIRoute(
                .get, "/health", operationID: "getHealth",
                summary: "The database's and the registries' state; 503 when the database fails.", tags: ["system"],
                access: .anonymous,
                responses: [
                    APIResponseSpec(.ok, "Everything the server needs works.", Self.healthSchema),
                    APIResponseSpec(.serviceUnavailable, "The database fails.", Self.healthSchema),
                ]
            ) { [health] _ in try await Self.healthReport(health) },
            APIRoute(
                .get, "/users/me", operationID: "getCurrentUser",
                summary: "The calling user, and the limits of the credential used.", tags: ["users"], access: .user,
                responses: [APIResponseSpec(.ok, "The user.", Self.currentUserSchema)]
            ) { [store] request in try await Self.currentUser(request, store: store) },
        ]
    }

    static let healthSchema = JSONSchema.named(
        "Health",
        .object([
            .required("status", .string(allowed: ["ok", "failing"])),
            .required("database", componentSchema),
            .required("registries", .array(componentSchema)),
        ]))

    private static func healthReport(_ health: any APIHealthChecking) async throws -> APIResponse {
        async let database = health.database()
        async let registries = health.registries()
        let (db, regs) = await (database, registries)
        func json(_ component: APIHealthComponent) -> JSONValue {
            .object([
                ("name", .string(component.name)), ("healthy", .bool(component.isHealthy)),
                ("message", .string(component.message)),
            ])
        }
        let body = JSONValue.object([
            ("status", .string(db.isHealthy ? "ok" : "failing")), ("database", json(db)),
            ("registries", .array(regs.map(json))),
        ])
        return APIResponse(status: db.isHealthy ? .ok : .serviceUnavailable, body: body)
    }

    private static func currentUser(_ request: APIRequest, store: any Store) async throws -> APIResponse {
        let caller = try request.requireCaller()
        let id = User.ID(caller.userID)
        guard let user = try await store.read({ try $0.user(id: id) }) else {
            // Deleted between authentication and now.
            throw APIError.unauthorized("The account no longer exists.")
        }
        func list(_ names: Set<String>?) -> JSONValue { names.map { .array($0.sorted().map { .string($0) }) } ?? .null }
        return .ok(
            .object([
                ("user", userJSON(user)),
                (
                    "credential",
                    .object([
                        ("source", .string(caller.source.rawValue)),
                        ("namespaces", list(caller.restriction?.namespaces)),
                        ("actions", list(caller.restriction?.actions)),
                    ])
                ),
            ]))
    }

    /// The `User` document of `user` (never the password hash or lockout counters).
    public static func userJSON(_ user: User) -> JSONValue {
        .object([
            ("id", .integer(user.id.rawValue)),
            ("username", .string(user.username)),
            ("email", .optional(user.email)),
            ("display_name", .optional(user.displayName)),
            ("admin", .bool(user.isAdmin)),
            ("enabled", .bool(user.isEnabled)),
            ("created_at", .timestamp(user.createdAt)),
            ("updated_at", .timestamp(user.updatedAt)),
            ("last_login_at", .timestamp(user.lastLoginAt)),
        ])
    }

    /// RFC 3339 in UTC, whole seconds.
    public static func timestamp(_ date: Date) -> String { RFC3339.format(date) }
}
