import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import RegistryCore
import Storage

/// One configured registry as the events endpoint knows it: its name and the secret it sends.
public struct NotificationSource: Sendable, Hashable, CustomStringConvertible {
    /// The configured registry name events are stored under.
    public var registry: String
    /// The secret the registry sends in `Authorization` (bare or as `Bearer <secret>`); `nil` refuses
    /// every notification for this registry.
    public var secret: String?

    /// Describes a registry that may send notifications.
    public init(registry: String, secret: String?) {
        self.registry = registry
        self.secret = secret
    }

    /// A log-safe summary: the secret is never part of it.
    public var description: String {
        "NotificationSource(registry: \(registry), secret: \(secret == nil ? "none" : "set"))"
    }
}

/// `POST <path>`: receives a registry's notification envelope, stores every event durably in one
/// transaction, answers, then wakes the worker.
///
/// Answers: 401 (registry-style JSON error) unless `Authorization` carries a configured registry's
/// secret; 413 over `maxBodyBytes`; 200 after the commit for every authenticated body, including one that
/// does not parse (stored as a failed event with the reason: a registry retries a refused delivery
/// forever, holding back every later event); 503 when the store cannot commit (the registry retries).
/// Thread-safe: a value with immutable state.
public struct RegistryEventsEndpoint: Sendable {
    /// The route path.
    public let path: String
    /// The largest body accepted.
    public let maxBodyBytes: Int
    private let sources: [NotificationSource]
    private let store: any Store
    private let logger: Logger
    private let onStored: @Sendable () -> Void

    /// Creates the endpoint; `onStored` runs after a commit that stored at least one pending event.
    public init(
        path: String, maxBodyBytes: Int, sources: [NotificationSource], store: any Store, logger: Logger,
        onStored: @escaping @Sendable () -> Void = {}
    ) {
        self.path = path
        self.maxBodyBytes = maxBodyBytes
        self.sources = sources
        self.store = store
        self.logger = logger
        self.onStored = onStored
    }

    /// Adds `POST path` to `router` with this endpoint's body limit.
    public func register(on router: inout Router) {
        let endpoint = self
        router.post(path, bodyLimit: maxBodyBytes) { request in await endpoint.handle(request) }
    }

    /// What one request stored.
    struct Outcome: Sendable {
        var received = 0
        var stored = 0
        var duplicates = 0
        var failed = 0
    }

    /// Handles one notification request.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        guard let registry = authenticatedRegistry(request.headers) else {
            logger.warning(
                "registry notification refused: wrong or missing secret", ["client_ip": request.context.clientAddress])
            return HTTPError.unauthorized(
                "The notification does not carry a configured registry's events secret.",
                challenge: #"Bearer realm="registry notifications""#
            ).response()
        }
        guard request.body.count <= maxBodyBytes else { return HTTPError.bodyTooLarge(limit: maxBodyBytes).response() }
        let plan = Self.plan(request.body)
        let outcome: Outcome
        do {
            outcome = try await store.write { writer in try Self.store(plan, registry: registry, in: writer) }
        } catch {
            logger.error("registry notification not stored", ["registry": registry, "error": "\(error)"])
            return HTTPError(
                .serviceUnavailable, code: "UNAVAILABLE", message: "The notification could not be stored; retry later."
            ).response()
        }
        if outcome.stored > outcome.failed { onStored() }
        if outcome.failed > 0 {
            logger.warning(
                "registry notification held unusable events",
                ["registry": registry, "failed": String(outcome.failed), "received": String(outcome.received)])
        }
        let body = #"{"received":\#(outcome.received),"stored":\#(outcome.stored),"duplicates":\#(outcome.duplicates)}"#
        return .json(Array(body.utf8))
    }

    /// The registry whose secret the `Authorization` header carries, compared in constant time against
    /// every configured secret (so timing tells nothing about which one, or how much of it, matched).
    func authenticatedRegistry(_ headers: HTTPHeaders) -> String? {
        let values = headers.values(for: "Authorization")
        guard values.count == 1, let value = values.first else { return nil }
        let presented = Array(value.trimmingSpaces().utf8)
        var bearer: [UInt8]?
        if presented.count > 7, String(decoding: presented.prefix(7), as: UTF8.self).caseInsensitiveEquals("Bearer ") {
            bearer = Array(String(decoding: presented.dropFirst(7), as: UTF8.self).trimmingSpaces().utf8)
        }
        var match: String?
        for source in sources {
            guard let secret = source.secret, !secret.isEmpty else { continue }
            let expected = Array(secret.utf8)
            let bare = ConstantTime.equals(presented, expected)
            let prefixed = ConstantTime.equals(bearer ?? [], expected)
            if (bare || prefixed) && match == nil { match = source.registry }
        }
        return match
    }

    // MARK: Storing

    /// One event to store, decided before the transaction so the writer does only database work.
    struct PlannedEvent: Sendable {
        var eventID: String
        var payload: String
        /// The repository it targets, which orders its processing among that repository's events ("" when
        /// the event could not be read).
        var repository = ""
        /// Why the event is already known to be unusable; it is stored failed with this reason.
        var failure: String?
    }

    /// Splits a body into the events to store: each envelope entry, or the whole body as one failed event
    /// when it is no envelope. Entries without a usable id get one derived from their content, so a
    /// redelivery of the same body stays a duplicate.
    static func plan(_ body: [UInt8]) -> [PlannedEvent] {
        do {
            let envelope = try NotificationEnvelope.parse(body)
            return envelope.entries.map { entry in
                var failure: String?
                var repository = ""
                switch entry.result {
                case .success(let notification): repository = notification.target.repository
                case .failure(let error): failure = error.description
                }
                return PlannedEvent(
                    eventID: entry.id ?? "unidentified:" + hex(Digest.sha256(Array(entry.payload.utf8))),
                    payload: entry.payload, repository: repository, failure: failure)
            }
        } catch {
            return [
                PlannedEvent(
                    eventID: "unparsable:" + hex(Digest.sha256(body)), payload: String(decoding: body, as: UTF8.self),
                    failure: error.description)
            ]
        }
    }

    static func store(_ plan: [PlannedEvent], registry: String, in writer: any StoreWriting) throws -> Outcome {
        var outcome = Outcome(received: plan.count)
        for event in plan {
            switch try writer.recordRegistryEvent(
                eventID: event.eventID, registry: registry, repository: event.repository, payload: event.payload)
            {
            case .inserted(let stored):
                outcome.stored += 1
                if let failure = event.failure {
                    outcome.failed += 1
                    try writer.setState(.failed, ofRegistryEvent: stored.id, error: failure)
                }
            case .duplicate:
                outcome.duplicates += 1
            }
        }
        return outcome
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
