import Configuration
import Diagnostics
import Foundation
import HTTPCore
import Storage
import TokenAuthority

/// `GET /readyz`: whether this instance should get traffic, and what it runs on: the database (driver and
/// where, never credentials), the schema version, the database's authorization change counter as this instance
/// last read it (instances on one database caught up with each other show the same value), and the job leases
/// this instance holds now.
///
/// Plain text by default (first line `ready` or `not ready: why`, as load balancers and scripts read it),
/// JSON when the client asks (`Accept: application/json` or `?format=json`); 503 whenever not ready.
struct Readiness: Sendable {
    let database: [(String, String)]
    let store: any Store
    let auditHealth: AuditWriteHealth?
    let leases: JobLeases?
    let logger: Logger

    init(
        configuration: PortcullisConfiguration, store: any Store, auditHealth: AuditWriteHealth?, leases: JobLeases?,
        logger: Logger
    ) {
        self.database = Self.describe(configuration.storage)
        self.store = store
        self.auditHealth = auditHealth
        self.leases = leases
        self.logger = logger
    }

    /// Where the database is, without secrets: the SQLite path, or PostgreSQL's host, port and database name
    /// (the URL's user, password and parameters left out). Read once, at start.
    static func describe(_ storage: StorageSettings) -> [(String, String)] {
        switch storage.driver {
        case .sqlite:
            return [("driver", "sqlite"), ("path", storage.sqlite.path)]
        case .postgres:
            var described = [("driver", "postgres")]
            if let url = try? storage.postgres.url?.reveal(), let parts = URLComponents(string: url) {
                if let host = parts.host, !host.isEmpty { described.append(("host", host)) }
                if let port = parts.port { described.append(("port", String(port))) }
                let name = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
                if !name.isEmpty { described.append(("database", name)) }
            }
            return described
        }
    }

    func answer(_ request: HTTPRequest) async -> HTTPResponse {
        let json =
            request.head.queryValue("format") == "json"
            || (request.headers["Accept"] ?? "").contains("application/json")
        var problem: String?
        var schema: SchemaStatus?
        do {
            let status = try await store.schemaStatus()
            schema = status
            if !status.isReady {
                problem = "schema version \(status.currentVersion), expected \(status.latestVersion)"
            } else if let auditHealth, auditHealth.isFailing {
                problem =
                    "audit log writes are failing (\(auditHealth.failureCount) events lost since start); see the log"
            }
        } catch {
            logger.warning("readiness check failed", ["error": "\(error)"])
            problem = "database unavailable"
        }
        let held = leases?.heldLeases() ?? []
        let status: HTTPStatus = problem == nil ? .ok : .serviceUnavailable
        if json {
            return .json(JSONText.objectBytes(members(problem: problem, schema: schema, held: held)), status: status)
        }
        var text = problem.map { "not ready: \($0)\n" } ?? "ready\n"
        text += "database: " + database.map { "\($0.0)=\($0.1)" }.joined(separator: " ") + "\n"
        if let schema { text += "schema: \(schema.currentVersion) (this binary: \(schema.latestVersion))\n" }
        if let counter = store.authorizationCounterSeen { text += "authorization counter seen: \(counter)\n" }
        text += "leases held: " + (held.isEmpty ? "none" : held.map { "\($0.name)#\($0.epoch)" }.joined(separator: " "))
        return .text(text + "\n", status: status)
    }

    private func members(problem: String?, schema: SchemaStatus?, held: [Lease]) -> [(String, String)] {
        var members: [(String, String)] = [("ready", problem == nil ? "true" : "false")]
        if let problem { members.append(("reason", JSONText.quoted(problem))) }
        members.append(("database", JSONText.object(database.map { ($0.0, JSONText.quoted($0.1)) })))
        if let schema {
            members.append(
                (
                    "schema",
                    JSONText.object([
                        ("version", String(schema.currentVersion)), ("expected", String(schema.latestVersion)),
                    ])
                ))
        }
        if let counter = store.authorizationCounterSeen {
            members.append(("authorizationCounter", String(counter)))
        }
        if let leases { members.append(("instance", JSONText.quoted(leases.holder))) }
        let rendered = held.map { lease in
            JSONText.object([
                ("name", JSONText.quoted(lease.name)), ("epoch", String(lease.epoch)),
                ("acquiredAt", JSONText.quoted(lease.acquiredAt.formatted(.iso8601))),
                ("expiresAt", JSONText.quoted(lease.expiresAt.formatted(.iso8601))),
            ])
        }
        members.append(("leases", "[" + rendered.joined(separator: ",") + "]"))
        return members
    }
}
