import Synchronization

/// Counters the server keeps for metrics export; every read is a relaxed atomic load.
public final class HTTPServerMetrics: Sendable {
    let open = Atomic<Int>(0)
    let accepted = Atomic<Int>(0)
    let rejected = Atomic<Int>(0)
    let rejectedPerAddress = Atomic<Int>(0)
    let rejectedForwarded = Atomic<Int>(0)
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
    /// Connections refused with 503 because their address already held `maxConnectionsPerAddress`
    /// (a counter).
    public var rejectedConnectionsPerAddress: Int { rejectedPerAddress.load(ordering: .relaxed) }
    /// Requests from trusted proxies refused with 503 because their forwarded client already had
    /// `maxConnectionsPerAddress` requests in flight (a counter).
    public var rejectedRequestsPerForwardedClient: Int { rejectedForwarded.load(ordering: .relaxed) }
    /// Requests handed to the responder (a counter).
    public var requestsHandled: Int { requests.load(ordering: .relaxed) }
    /// Requests refused because they could not be parsed or broke a limit (a counter).
    public var malformedRequests: Int { parseErrors.load(ordering: .relaxed) }
    /// Connections cut off by the header or body timeout, or a stalled write; a fresh connection that
    /// sent nothing within the header timeout counts, an idle keep-alive connection closed between
    /// requests does not (a counter).
    public var timedOutConnections: Int { timeouts.load(ordering: .relaxed) }
}
