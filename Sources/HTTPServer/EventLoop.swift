// One epoll loop thread: accepts on its own SO_REUSEPORT listener, reads, parses and writes on the
// loop, and hands each complete request to a Swift task. Responses come back through a locked inbox
// and an eventfd wake-up. Everything but the inbox is touched by the loop thread only.

import CLinux
import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import Synchronization

/// A response (or a command) crossing from a task back to its loop.
struct LoopInbox: ~Copyable {
    var completions: [Completion] = []
    var jobs: [UnownedJob] = []
    var stopDeadline: Int64? = nil
    var wakePending = false
    var closed = false
}

struct Completion: Sendable {
    var fd: Int32
    var generation: UInt64
    var response: HTTPResponse
}

/// Runs the jobs of responder tasks on their event loop's thread, so a responder that does not
/// suspend elsewhere answers without any thread hop (`ResponderExecution.eventLoop`).
final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    fileprivate weak var loop: EventLoop?

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        if let loop, loop.enqueue(unowned) { return }
        // The loop has exited (a task outlived the server): finish it on the global executor.
        globalConcurrentExecutor.enqueue(ExecutorJob(unowned))
    }
}

/// Per-connection state, owned by one loop.
final class Connection {
    enum Phase {
        /// Between requests, nothing buffered: the idle timeout runs.
        case idle
        /// Part of a head has arrived: the header timeout runs.
        case readingHead
        /// The head is in, the body is arriving: the body timeout runs.
        case readingBody
        /// The responder task owns the request; nothing is parsed until its response is written.
        case processing
        /// The response that ends the connection is written; unread input is drained briefly so the
        /// client sees the response rather than a reset.
        case lingering
    }

    let fd: Int32
    let generation: UInt64
    let info: HTTPConnectionInfo
    var parser: HTTPRequestParser
    var phase: Phase = .idle
    var head: HTTPRequestHead? = nil
    var keepAlive = true
    var closeAfterWrite = false
    var output: [UInt8] = []
    var outputOffset = 0
    var deadline: Int64 = 0
    var timeoutAnswers408 = false
    var interest: UInt32 = 0
    var readPaused = false
    /// The client half-closed: answer what is already buffered, then close.
    var peerClosed = false
    var tls: TLSServerSession?

    init(fd: Int32, generation: UInt64, info: HTTPConnectionInfo, maxHeaderBytes: Int, tls: TLSServerSession?) {
        self.fd = fd
        self.generation = generation
        self.info = info
        self.parser = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes)
        self.tls = tls
    }

    var hasPendingOutput: Bool { outputOffset < output.count }
}

final class EventLoop: @unchecked Sendable {
    private let index: Int
    private let configuration: HTTPServerConfiguration
    private let responder: any HTTPResponder
    private let logger: Logger
    private let metrics: HTTPServerMetrics
    private let tlsContext: TLSServerContext?
    private let epollFD: Int32
    private let wakeFD: Int32
    private var listenFD: Int32
    private let inbox = Mutex(LoopInbox())
    private let onExit: @Sendable () -> Void

    // Loop-thread state.
    private var connections: [Connection?] = []
    private var connectionCount = 0
    private var nextGeneration: UInt64 = 1
    private var serializer = HTTPResponseSerializer()
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var spareCompletions: [Completion] = []
    private var localCompletions: [Completion] = []
    private var localJobs: [UnownedJob] = []
    private var spareJobs: [UnownedJob] = []
    private let executor = EventLoopExecutor()
    /// Set once on the loop thread before any connection (hence any task) exists.
    private var loopThread: pthread_t? = nil
    private var events = [epoll_event](repeating: epoll_event(), count: 256)
    private var now: Int64 = 0
    private var lastSweep: Int64 = 0
    private var stopDeadline: Int64? = nil
    /// While out of file descriptors the level-triggered listener would spin; it rests until then.
    private var acceptPausedUntil: Int64? = nil
    private let idleMillis: Int64
    private let headerMillis: Int64
    private let bodyMillis: Int64

    init(
        index: Int, listenFD: Int32, configuration: HTTPServerConfiguration, responder: any HTTPResponder,
        logger: Logger, metrics: HTTPServerMetrics, tlsContext: TLSServerContext?,
        onExit: @escaping @Sendable () -> Void
    ) throws(HTTPServerError) {
        let epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw HTTPServerError(.systemCallFailed, "epoll_create1: \(errnoText(errno))") }
        let wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else {
            close(epollFD)
            throw HTTPServerError(.systemCallFailed, "eventfd: \(errnoText(errno))")
        }
        self.index = index
        self.listenFD = listenFD
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.metrics = metrics
        self.tlsContext = tlsContext
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        self.onExit = onExit
        self.idleMillis = configuration.idleTimeout.milliseconds
        self.headerMillis = configuration.headerTimeout.milliseconds
        self.bodyMillis = configuration.bodyTimeout.milliseconds
        register(listenFD, events: EPOLLIN.rawValue)
        register(wakeFD, events: EPOLLIN.rawValue)
        executor.loop = self
    }

    private var onLoopThread: Bool {
        guard let loopThread else { return false }
        return pthread_equal(pthread_self(), loopThread) != 0
    }

    /// Starts the loop on its own thread.
    func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "http-loop-\(index)"
        thread.start()
    }

    // MARK: Cross-thread entry points

    /// Hands a finished response back to the loop; called from responder tasks.
    func deliver(_ completion: Completion) {
        if onLoopThread {
            localCompletions.append(completion)
            return
        }
        inbox.withLock { inbox in
            guard !inbox.closed else { return }
            inbox.completions.append(completion)
            if !inbox.wakePending {
                inbox.wakePending = true
                signalWake()
            }
        }
    }

    /// Queues a job of a responder task; false once the loop has exited.
    func enqueue(_ job: UnownedJob) -> Bool {
        if onLoopThread {
            localJobs.append(job)
            return true
        }
        return inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.jobs.append(job)
            if !inbox.wakePending {
                inbox.wakePending = true
                signalWake()
            }
            return true
        }
    }

    /// Asks the loop to stop accepting and to finish in-flight requests by `deadline` (monotonic ms).
    func requestStop(deadline: Int64) {
        inbox.withLock { inbox in
            guard !inbox.closed else { return }
            inbox.stopDeadline = deadline
            inbox.wakePending = true
            signalWake()
        }
    }

    /// Writes the eventfd; callers hold the inbox lock, so the loop cannot close the descriptor
    /// (and the number cannot be reused) between the `closed` check and the write.
    private func signalWake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: Loop

    private func run() {
        loopThread = pthread_self()
        now = monotonicMilliseconds()
        lastSweep = now
        while true {
            let count = epoll_wait(
                epollFD, &events, Int32(events.count), localJobs.isEmpty && localCompletions.isEmpty ? 100 : 0)
            now = monotonicMilliseconds()
            if count < 0 && errno != EINTR {
                logger.error("epoll_wait failed", ["error": errnoText(errno)])
                break
            }
            // Access-log lines of this iteration go out in one write before the loop waits again.
            LogBatch.collect {
                for slot in 0..<max(0, Int(count)) {
                    let event = events[slot]
                    let key = event.data.u64
                    let fd = Int32(truncatingIfNeeded: key & 0xFFFF_FFFF)
                    if key >> 32 == 0 {
                        if fd == listenFD {
                            acceptConnections()
                        } else if fd == wakeFD {
                            drainInbox()
                        }
                    } else if let connection = connection(fd), connection.generation & 0xFFFF_FFFF == key >> 32 {
                        // The generation check drops a stale event for a descriptor that was closed and
                        // reused earlier in this same batch.
                        handle(connection, events: event.events)
                    }
                }
                runLocalWork()
                if now - lastSweep >= 100 {
                    lastSweep = now
                    sweepTimeouts()
                }
            }
            if let deadline = stopDeadline {
                if connectionCount == 0 { break }
                if now >= deadline {
                    for case let connection? in connections { closeConnection(connection) }
                    break
                }
            }
        }
        tearDown()
    }

    private func tearDown() {
        let stranded = inbox.withLock { inbox -> [UnownedJob] in
            inbox.closed = true
            defer { inbox.jobs = [] }
            return inbox.jobs
        }
        // Tasks that were about to resume here finish on the global executor; their responses are dropped.
        for job in localJobs + stranded { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
        localJobs = []
        for case let connection? in connections { closeConnection(connection) }
        if listenFD >= 0 {
            close(listenFD)
            listenFD = -1
        }
        close(wakeFD)
        close(epollFD)
        onExit()
    }

    private func connection(_ fd: Int32) -> Connection? {
        Int(fd) < connections.count ? connections[Int(fd)] : nil
    }

    /// Registers `fd`; connections carry their generation in the upper half of the event key.
    private func register(_ fd: Int32, events: UInt32, generation: UInt64 = 0) {
        let key = UInt64(UInt32(bitPattern: fd)) | (generation & 0xFFFF_FFFF) << 32
        var event = epoll_event(events: events, data: epoll_data_t(u64: key))
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
    }

    /// Re-arms epoll: EPOLLIN unless reading is paused, EPOLLOUT only while output is pending.
    private func updateInterest(_ connection: Connection, wantWrite: Bool = false) {
        var mask: UInt32 = 0
        if !connection.readPaused { mask |= EPOLLIN.rawValue }
        if connection.hasPendingOutput || wantWrite { mask |= EPOLLOUT.rawValue }
        guard mask != connection.interest else { return }
        connection.interest = mask
        let key = UInt64(UInt32(bitPattern: connection.fd)) | (connection.generation & 0xFFFF_FFFF) << 32
        var event = epoll_event(events: mask, data: epoll_data_t(u64: key))
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, connection.fd, &event)
    }

    // MARK: Accepting

    private func acceptConnections() {
        for _ in 0..<64 {
            guard let (fd, address) = acceptConnection(listenFD) else {
                let code = errno
                if code == EINTR || code == ECONNABORTED { continue }
                if code == EMFILE || code == ENFILE {
                    logger.warning("out of file descriptors; pausing accept for 100 ms", ["error": errnoText(code)])
                    _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
                    acceptPausedUntil = now + 100
                }
                return
            }
            if stopDeadline != nil {
                close(fd)
                continue
            }
            let open = metrics.open.add(1, ordering: .relaxed).newValue
            if open > configuration.maxConnections {
                metrics.open.subtract(1, ordering: .relaxed)
                metrics.rejected.add(1, ordering: .relaxed)
                // Best effort: the socket buffer of a fresh connection always takes these few bytes.
                _ = sendSome(fd, serviceUnavailable[...])
                close(fd)
                continue
            }
            metrics.accepted.add(1, ordering: .relaxed)
            let (host, port) = address.hostAndPort
            var session: TLSServerSession? = nil
            if let tlsContext {
                do {
                    session = try TLSServerSession(context: tlsContext, socket: fd)
                } catch {
                    logger.warning("TLS session setup failed", ["error": "\(error)"])
                    metrics.open.subtract(1, ordering: .relaxed)
                    close(fd)
                    continue
                }
            }
            let connection = Connection(
                fd: fd, generation: nextGeneration,
                info: HTTPConnectionInfo(remoteAddress: host, remotePort: port, isTLS: session != nil),
                maxHeaderBytes: configuration.maxHeaderBytes, tls: session)
            nextGeneration &+= 1
            // Generation 0 (low 32 bits) marks the listener and the eventfd in epoll keys.
            if nextGeneration & 0xFFFF_FFFF == 0 { nextGeneration &+= 1 }
            while connections.count <= Int(fd) { connections.append(nil) }
            connections[Int(fd)] = connection
            connectionCount += 1
            connection.interest = EPOLLIN.rawValue
            register(fd, events: EPOLLIN.rawValue, generation: connection.generation)
            enterIdle(connection)
            if session != nil {
                // The handshake must finish as fast as a request head would.
                connection.deadline = now + headerMillis
            }
        }
    }

    // MARK: Events

    private func handle(_ connection: Connection, events: UInt32) {
        if events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 && events & EPOLLIN.rawValue == 0 {
            closeConnection(connection)
            return
        }
        if events & EPOLLOUT.rawValue != 0 {
            if connection.tls?.isEstablished == false {
                advanceHandshake(connection)
            } else if connection.hasPendingOutput {
                flush(connection)
            } else if connection.tls != nil {
                // A TLS read that wanted writability.
                readAvailable(connection)
                return
            } else {
                updateInterest(connection)
            }
            guard isOpen(connection) else { return }
        }
        if events & EPOLLIN.rawValue != 0 {
            readAvailable(connection)
        }
    }

    private func isOpen(_ connection: Connection) -> Bool {
        self.connection(connection.fd) === connection
    }

    private func advanceHandshake(_ connection: Connection) {
        guard let tls = connection.tls else { return }
        switch tls.handshake() {
        case .done:
            if connection.phase == .idle { connection.deadline = now + idleMillis }
            updateInterest(connection)
        case .wantsRead:
            updateInterest(connection)
        case .wantsWrite:
            updateInterest(connection, wantWrite: true)
        case .closed, .failed:
            closeConnection(connection)
        }
    }

    private func readAvailable(_ connection: Connection) {
        if let tls = connection.tls, !tls.isEstablished {
            advanceHandshake(connection)
            guard isOpen(connection), tls.isEstablished else { return }
        }
        if connection.tls != nil && connection.hasPendingOutput {
            // A TLS write may have been waiting for this readability.
            flush(connection)
            guard isOpen(connection) else { return }
        }
        var reads = 0
        while true {
            let count: Int
            if let tls = connection.tls {
                switch tls.read(into: &readBuffer) {
                case .done(let bytes): count = bytes
                case .wantsRead: count = -2
                case .wantsWrite:
                    updateInterest(connection, wantWrite: true)
                    count = -2
                case .closed: count = 0
                case .failed: count = -1
                }
            } else {
                count = receive(connection.fd, into: &readBuffer)
                if count < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    if code == EAGAIN || code == EWOULDBLOCK { break }
                }
            }
            if count == -2 { break }
            if count == 0 && connection.phase != .lingering {
                // A half-close still gets answers to the requests it completed.
                connection.peerClosed = true
                connection.readPaused = true
                updateInterest(connection)
                processInput(connection)
                return
            }
            if count <= 0 {
                closeConnection(connection)
                return
            }
            if connection.phase == .lingering { continue }
            connection.parser.append(readBuffer[0..<count])
            // Parse chunk by chunk so the limits bound what a fast client can pile up.
            processInput(connection)
            guard isOpen(connection), connection.phase != .lingering else { return }
            if connection.phase == .processing || connection.hasPendingOutput,
                connection.parser.bufferedByteCount > configuration.maxHeaderBytes + readBuffer.count
            {
                // A client pipelining faster than we answer waits in its own socket buffer.
                connection.readPaused = true
                updateInterest(connection)
                return
            }
            reads += 1
            // A plain socket that returned less than asked is drained (level-triggered epoll reports
            // the rest, and one client cannot hog the loop); TLS must be read until it wants more.
            if connection.tls == nil && (count < readBuffer.count || reads >= 16) { return }
        }
    }

    /// Parses buffered input while the connection is free to start (or continue) a request.
    private func processInput(_ connection: Connection) {
        while connection.phase != .processing && connection.phase != .lingering && !connection.hasPendingOutput {
            let event: HTTPRequestParserEvent?
            do {
                event = try connection.parser.next()
            } catch {
                answerParseError(connection, error)
                return
            }
            guard let event else { break }
            switch event {
            case .head(let head):
                connection.head = head
                do {
                    try connection.parser.beginBody(limit: responder.bodyLimit(for: head))
                } catch {
                    answerParseError(connection, error)
                    return
                }
                if connection.parser.framing != .none {
                    connection.phase = .readingBody
                    connection.deadline = now + bodyMillis
                    connection.timeoutAnswers408 = true
                    if head.version == .http1_1 && connection.parser.bufferedByteCount == 0
                        && head.headers.contains(name: "Expect", token: "100-continue")
                    {
                        connection.output.append(contentsOf: HTTPResponseSerializer.continueResponse)
                        flush(connection)
                        guard isOpen(connection) else { return }
                    }
                }
            case .complete(let body):
                dispatch(connection, body: body)
                return
            }
        }
        if connection.peerClosed && connection.phase != .processing && connection.phase != .lingering
            && !connection.hasPendingOutput
        {
            closeConnection(connection)
            return
        }
        if connection.phase == .idle && connection.parser.isReadingHead {
            connection.phase = .readingHead
            connection.deadline = now + headerMillis
            connection.timeoutAnswers408 = true
        }
    }

    private func dispatch(_ connection: Connection, body: [UInt8]) {
        guard let head = connection.head else { return }
        connection.phase = .processing
        connection.deadline = 0
        connection.keepAlive = head.keepAlive && stopDeadline == nil
        metrics.requests.add(1, ordering: .relaxed)
        var prepared = HTTPRequest(head: head, body: body, connection: connection.info)
        let responder = self.responder
        if let response = responder.immediateResponse(preparing: &prepared) {
            // Queued rather than written here: completing writes and parses the next pipelined request,
            // which would recurse once per request of a long pipeline.
            localCompletions.append(
                Completion(fd: connection.fd, generation: connection.generation, response: response))
            return
        }
        let request = prepared
        let fd = connection.fd
        let generation = connection.generation
        let loop = self
        let work: @Sendable () async -> Void = {
            let response = await responder.respond(to: request)
            loop.deliver(Completion(fd: fd, generation: generation, response: response))
        }
        switch configuration.responderExecution {
        case .eventLoop: Task(executorPreference: executor, operation: work)
        case .cooperativePool: Task(operation: work)
        }
    }

    private func drainInbox() {
        var counter: UInt64 = 0
        _ = read(wakeFD, &counter, 8)
        var stop: Int64? = nil
        inbox.withLock { inbox in
            swap(&inbox.completions, &spareCompletions)
            if !inbox.jobs.isEmpty {
                localJobs.append(contentsOf: inbox.jobs)
                inbox.jobs.removeAll(keepingCapacity: true)
            }
            inbox.wakePending = false
            stop = inbox.stopDeadline
            inbox.stopDeadline = nil
        }
        for completion in spareCompletions { complete(completion) }
        spareCompletions.removeAll(keepingCapacity: true)
        if let stop { beginStopping(deadline: stop) }
    }

    /// Runs responder jobs queued on this loop and writes the responses they produced; a bounded
    /// number of rounds keeps pipelined requests from starving socket events.
    private func runLocalWork() {
        for _ in 0..<16 {
            if localJobs.isEmpty && localCompletions.isEmpty { return }
            swap(&localJobs, &spareJobs)
            let runner = executor.asUnownedTaskExecutor()
            for job in spareJobs { job.runSynchronously(on: runner) }
            spareJobs.removeAll(keepingCapacity: true)
            swap(&localCompletions, &spareCompletions)
            for completion in spareCompletions { complete(completion) }
            spareCompletions.removeAll(keepingCapacity: true)
        }
    }

    /// Writes a responder's answer if its connection is still the one that asked.
    private func complete(_ completion: Completion) {
        guard let connection = connection(completion.fd), connection.generation == completion.generation,
            connection.phase == .processing, let head = connection.head
        else { return }
        // A responder may end the connection by answering with `Connection: close`.
        let keepAlive =
            connection.keepAlive && stopDeadline == nil
            && !completion.response.headers.contains(name: "Connection", token: "close")
        serializer.serialize(
            completion.response, requestMethod: head.method, requestVersion: head.version, keepAlive: keepAlive,
            epochSeconds: time(nil), into: &connection.output)
        connection.closeAfterWrite = !keepAlive
        connection.head = nil
        flush(connection)
    }

    // MARK: Writing

    private func flush(_ connection: Connection) {
        guard connection.hasPendingOutput else {
            updateInterest(connection)
            return
        }
        while connection.hasPendingOutput {
            let pending = connection.output[connection.outputOffset...]
            let written: Int
            if let tls = connection.tls {
                switch tls.write(pending) {
                case .done(let bytes): written = bytes
                case .wantsRead, .wantsWrite: written = -2
                case .closed, .failed: written = -1
                }
            } else {
                written = sendSome(connection.fd, pending)
                if written < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    if code != EAGAIN && code != EWOULDBLOCK {
                        closeConnection(connection)
                        return
                    }
                }
            }
            if written == -1 {
                closeConnection(connection)
                return
            }
            if written < 0 {
                // The peer is not reading; the idle timeout also bounds a stalled write.
                connection.deadline = now + idleMillis
                connection.timeoutAnswers408 = false
                updateInterest(connection)
                return
            }
            connection.outputOffset += written
        }
        connection.output.removeAll(keepingCapacity: connection.output.capacity <= 64 * 1024)
        connection.outputOffset = 0
        if connection.phase == .processing {
            if connection.closeAfterWrite {
                beginLingering(connection)
                return
            }
            enterIdle(connection)
            if connection.readPaused && !connection.peerClosed {
                connection.readPaused = false
                updateInterest(connection)
                processInput(connection)
                if isOpen(connection) && !connection.readPaused { readAvailable(connection) }
                return
            }
            processInput(connection)
            return
        }
        if connection.closeAfterWrite {
            beginLingering(connection)
            return
        }
        updateInterest(connection)
        // Body bytes that arrived while `100 Continue` was still queued are waiting in the parser.
        processInput(connection)
    }

    private func enterIdle(_ connection: Connection) {
        connection.phase = .idle
        connection.deadline = now + idleMillis
        connection.timeoutAnswers408 = false
        updateInterest(connection)
    }

    private func answerParseError(_ connection: Connection, _ error: HTTPParseError) {
        metrics.parseErrors.add(1, ordering: .relaxed)
        logger.debug(
            "refused a malformed request",
            ["code": error.code.rawValue, "status": "\(error.status.code)", "peer": connection.info.remoteAddress])
        let response = HTTPResponseSerializer.errorResponse(for: error)
        serializer.serialize(
            response, requestMethod: connection.head?.method ?? .get, requestVersion: .http1_1, keepAlive: false,
            epochSeconds: time(nil),
            into: &connection.output)
        connection.phase = .processing
        connection.closeAfterWrite = true
        flush(connection)
    }

    /// Half-closes after the last response and drains input for up to a second, so a client still
    /// sending (a refused body) reads our response instead of a connection reset.
    private func beginLingering(_ connection: Connection) {
        connection.phase = .lingering
        connection.deadline = now + 1000
        connection.timeoutAnswers408 = false
        connection.tls?.close()
        shutdown(connection.fd, Int32(SHUT_WR))
        connection.readPaused = false
        updateInterest(connection)
    }

    private func closeConnection(_ connection: Connection) {
        guard isOpen(connection) else { return }
        connection.tls?.close()
        connection.tls = nil
        close(connection.fd)
        connections[Int(connection.fd)] = nil
        connectionCount -= 1
        metrics.open.subtract(1, ordering: .relaxed)
    }

    // MARK: Timeouts and shutdown

    private func sweepTimeouts() {
        if let until = acceptPausedUntil, now >= until {
            acceptPausedUntil = nil
            if listenFD >= 0 { register(listenFD, events: EPOLLIN.rawValue) }
        }
        for case let connection? in connections where connection.deadline != 0 && now >= connection.deadline {
            if connection.phase != .lingering && connection.phase != .idle {
                metrics.timeouts.add(1, ordering: .relaxed)
            }
            if connection.timeoutAnswers408 && connection.tls == nil && !connection.hasPendingOutput {
                _ = sendSome(connection.fd, requestTimeout[...])
            }
            closeConnection(connection)
        }
    }

    private func beginStopping(deadline: Int64) {
        guard stopDeadline == nil else { return }
        stopDeadline = deadline
        if listenFD >= 0 {
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
            close(listenFD)
            listenFD = -1
        }
        for case let connection? in connections {
            switch connection.phase {
            case .idle where !connection.hasPendingOutput:
                closeConnection(connection)
            case .processing:
                connection.keepAlive = false
            default:
                break
            }
        }
    }
}

private let serviceUnavailable: [UInt8] = Array(
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 24\r\nConnection: close\r\n\r\n503 Service Unavailable\n"
        .utf8)

private let requestTimeout: [UInt8] = Array(
    "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 20\r\nConnection: close\r\n\r\n408 Request Timeout\n"
        .utf8)
