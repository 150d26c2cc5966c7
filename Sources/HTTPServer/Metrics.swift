import Synchronization

/// Counters the server keeps for metrics export; every read is a relaxed atomic load.
public final class HTTPServerMetrics: Sendable {
    let open = Atomic<Int>(0)
    let accepted = Atomic<Int>(0)
    let rejected = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
    let parseErrors = Atomic<Int>(0)
    let timeouts = Atomic<Int>(0)

    init() {}

    /// Connections open right now (a gauge).
    public var openConnections: Int { open.load(ordering: .relaxed) }
    /// Connections accepted since start (a counter).
    public var acceptedConnections: Int { accepted.load(ordering: .relaxed) }
    /// Connections refused with 503 because `maxConnections` was reached (a counter).
    public var rejectedConnections: Int { rejected.load(ordering: .relaxed) }
    /// Requests handed to the responder (a counter).
    public var requestsHandled: Int { requests.load(ordering: .relaxed) }
    /// Requests refused because they could not be parsed or broke a limit (a counter).
    public var malformedRequests: Int { parseErrors.load(ordering: .relaxed) }
    /// Connections cut off by the idle, header or body timeout (a counter).
    public var timedOutConnections: Int { timeouts.load(ordering: .relaxed) }
}
