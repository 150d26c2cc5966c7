import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import Synchronization

/// Portcullis's HTTP/1.1 server: N epoll event loops on POSIX sockets, each request answered by an
/// `HTTPResponder` running as a Swift task.
///
/// Design (the "hybrid" of swift-syslibs.md §5): every loop thread owns an `SO_REUSEPORT` listener
/// (when there is more than one loop), its connections and their parsers; sockets are non-blocking,
/// `EPOLLIN` is level-triggered and `EPOLLOUT` is armed only while output is pending. A complete
/// request becomes a task calling `respond(to:)`. By default (`ResponderExecution.eventLoop`) the
/// task prefers its loop as `TaskExecutor`: a responder that finishes without suspending elsewhere
/// answers with no thread hop, and work resumed from other threads (an actor, a `BlockingPool`)
/// comes back through a locked queue and an eventfd. With `.cooperativePool` every response takes
/// that queue. One request per connection is in flight at a time, so pipelined responses stay in
/// order; a per-connection generation number keeps a late response off a reused descriptor.
///
/// Limits: beyond `maxConnections`, or beyond `maxConnectionsPerAddress` from one client address
/// (trusted proxies exempt; see `ConnectionsPerAddress`), a new connection is accepted, answered
/// `503 Service Unavailable` and closed. A new connection must deliver its first request head within
/// `headerTimeout`: one that sent nothing by then is closed without a response (as nginx does), one
/// that sent part of a head gets `408`. Between requests a kept-alive connection may sit for
/// `idleTimeout`; from the first byte of a later request its head must arrive within `headerTimeout`,
/// and a body within `bodyTimeout` of its head, or the client gets `408` and the connection closes
/// (so a slowloris client costs one table entry for a bounded time, never a thread). After a parse error the
/// server sends the error status with a short text body and closes. A responder can end a
/// keep-alive connection by putting `Connection: close` on its response.
///
/// Threading: all methods may be called from any thread or task.
public final class HTTPServer: Sendable {
    /// The settings the server was created with.
    public let configuration: HTTPServerConfiguration
    /// Counters for metrics export.
    public let metrics = HTTPServerMetrics()
    private let responder: any HTTPResponder
    private let logger: Logger
    private let state = Mutex(ServerState())
    private let stopped = StopLatch()

    private struct ServerState: ~Copyable {
        var phase: Phase = .created
        var loops: [EventLoop] = []
        enum Phase { case created, running, stopped }
    }

    /// Creates a server; nothing is bound until `start()`.
    public init(configuration: HTTPServerConfiguration, responder: any HTTPResponder, logger: Logger) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
    }

    /// The number of connections open right now.
    public var openConnections: Int { metrics.openConnections }

    /// Binds the listeners, starts the event loops and returns the bound port.
    ///
    /// Throws `addressInUse`, `permissionDenied`, `invalidAddress`, `tlsConfiguration`,
    /// `systemCallFailed`, or `alreadyStarted` when called twice.
    @discardableResult
    public func start() throws(HTTPServerError) -> Int {
        let claimed = state.withLock { state -> Bool in
            guard case .created = state.phase else { return false }
            state.phase = .running
            return true
        }
        guard claimed else { throw HTTPServerError(.alreadyStarted, "start() was already called") }
        do {
            return try startLoops()
        } catch {
            state.withLock { $0.phase = .stopped }
            stopped.arm(count: 0)
            throw error
        }
    }

    private func startLoops() throws(HTTPServerError) -> Int {
        var tlsContext: TLSServerContext? = nil
        if let tls = configuration.tls {
            do {
                tlsContext = try TLSServerContext(certificatePath: tls.certificatePath, keyPath: tls.keyPath)
            } catch {
                throw HTTPServerError(.tlsConfiguration, error.description)
            }
        }
        let loopCount = max(1, configuration.eventLoops)
        var address = try SocketAddress(host: configuration.host, port: configuration.port)
        var listeners: [Int32] = []
        var port = configuration.port
        do {
            if loopCount > 1 && port != 0 {
                // SO_REUSEPORT would let a second server of the same user share the port silently; a
                // plain bind first makes "address in use" an error, as it is with one loop.
                close(try makeListener(address, reusePort: false))
            }
            for _ in 0..<loopCount {
                let fd = try makeListener(address, reusePort: loopCount > 1)
                listeners.append(fd)
                if port == 0 {
                    // Every further loop must share the port the kernel picked for the first.
                    port = boundPort(fd)
                    address = try SocketAddress(host: configuration.host, port: port)
                }
            }
        } catch {
            for fd in listeners { close(fd) }
            throw error
        }
        stopped.arm(count: loopCount)
        let limits = ClientLimits(
            limit: configuration.maxConnectionsPerAddress, trustedProxies: configuration.trustedProxies)
        var loops: [EventLoop] = []
        for (index, fd) in listeners.enumerated() {
            do {
                loops.append(
                    try EventLoop(
                        index: index, listenFD: fd, configuration: configuration, responder: responder,
                        logger: logger, metrics: metrics, limits: limits, tlsContext: tlsContext,
                        onExit: { [stopped] in stopped.countDown() }))
            } catch {
                for remaining in listeners[index...] { close(remaining) }
                for loop in loops { loop.requestStop(deadline: 0) }
                for loop in loops { loop.start() }
                for _ in loops.count..<loopCount { stopped.countDown() }
                throw error
            }
        }
        state.withLock { $0.loops = loops }
        for loop in loops { loop.start() }
        logger.info(
            "listening",
            [
                "address": "\(configuration.host):\(port)", "event_loops": "\(loopCount)",
                "tls": configuration.tls == nil ? "off" : "on",
            ])
        return port
    }

    /// Stops accepting, lets in-flight requests finish within `gracePeriod`, closes idle keep-alive
    /// connections, and returns once every loop has exited; connections still open at the deadline
    /// are closed.
    public func shutdown(gracePeriod: Duration) async {
        let loops = state.withLock { state -> [EventLoop] in
            let loops = state.loops
            state.phase = .stopped
            state.loops = []
            return loops
        }
        let deadline = monotonicMilliseconds() + gracePeriod.milliseconds
        for loop in loops { loop.requestStop(deadline: deadline) }
        await waitUntilStopped()
    }

    /// Returns when every event loop has exited (immediately if the server never started).
    public func waitUntilStopped() async {
        await stopped.wait()
    }
}

/// Counts exiting loops down to zero and wakes the tasks waiting for that.
final class StopLatch: Sendable {
    private struct State: ~Copyable {
        var remaining = 0
        var armed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func arm(count: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.remaining = count
            state.armed = true
            guard count == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func countDown() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.remaining -= 1
            guard state.remaining <= 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if !state.armed || state.remaining <= 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
