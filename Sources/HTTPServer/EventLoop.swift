// One epoll loop thread: accepts on its own SO_REUSEPORT listener, reads, parses and writes on the
// loop, and hands each complete request to a Swift task. Responses come back through a locked inbox
// and an eventfd wake-up. Everything but the inbox is touched by the loop thread only.

import CLinux
import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import Synchronization

/// One event loop. Its members are module-internal rather than private only so that
/// `EventLoop+Accepting.swift` and `EventLoop+Writing.swift` can reach them; nothing outside this
/// file and those two touches them, and everything below "Loop-thread state" belongs to the loop
/// thread alone.
final class EventLoop: @unchecked Sendable {
    let index: Int
    let configuration: HTTPServerConfiguration
    let responder: any HTTPResponder
    let logger: Logger
    let metrics: HTTPServerMetrics
    /// Shared by every loop of the server.
    let limits: ClientLimits
    let tlsContext: TLSServerContext?
    let epollFD: Int32
    let wakeFD: Int32
    var listenFD: Int32
    let inbox = Mutex(LoopInbox())
    let onExit: @Sendable () -> Void

    // Loop-thread state.
    var connections: [Connection?] = []
    var connectionCount = 0
    var nextGeneration: UInt64 = 1
    var serializer = HTTPResponseSerializer()
    var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    var spareCompletions: [Completion] = []
    var localCompletions: [Completion] = []
    var localJobs: [UnownedJob] = []
    var spareJobs: [UnownedJob] = []
    let executor = EventLoopExecutor()
    /// Set once on the loop thread before any connection (hence any task) exists.
    var loopThread: pthread_t? = nil
    var events = [epoll_event](repeating: epoll_event(), count: 256)
    var now: Int64 = 0
    var lastSweep: Int64 = 0
    var stopDeadline: Int64? = nil
    /// While out of file descriptors the level-triggered listener would spin; it rests until then.
    var acceptPausedUntil: Int64? = nil
    let idleMillis: Int64
    let headerMillis: Int64
    let bodyMillis: Int64

    init(
        index: Int, listenFD: Int32, configuration: HTTPServerConfiguration, responder: any HTTPResponder,
        logger: Logger, metrics: HTTPServerMetrics, limits: ClientLimits, tlsContext: TLSServerContext?,
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
        self.limits = limits
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

    var onLoopThread: Bool {
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
    func signalWake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: Loop

    func run() {
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

    func tearDown() {
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

    func connection(_ fd: Int32) -> Connection? {
        Int(fd) < connections.count ? connections[Int(fd)] : nil
    }

    /// Registers `fd`; connections carry their generation in the upper half of the event key.
    func register(_ fd: Int32, events: UInt32, generation: UInt64 = 0) {
        let key = UInt64(UInt32(bitPattern: fd)) | (generation & 0xFFFF_FFFF) << 32
        var event = epoll_event(events: events, data: epoll_data_t(u64: key))
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
    }

    /// Re-arms epoll: EPOLLIN unless reading is paused, EPOLLOUT only while output is pending.
    func updateInterest(_ connection: Connection, wantWrite: Bool = false) {
        var mask: UInt32 = 0
        if !connection.readPaused { mask |= EPOLLIN.rawValue }
        if connection.hasPendingOutput || wantWrite { mask |= EPOLLOUT.rawValue }
        guard mask != connection.interest else { return }
        connection.interest = mask
        let key = UInt64(UInt32(bitPattern: connection.fd)) | (connection.generation & 0xFFFF_FFFF) << 32
        var event = epoll_event(events: mask, data: epoll_data_t(u64: key))
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, connection.fd, &event)
    }

    // MARK: Events

    func handle(_ connection: Connection, events: UInt32) {
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

    func isOpen(_ connection: Connection) -> Bool {
        self.connection(connection.fd) === connection
    }

    func advanceHandshake(_ connection: Connection) {
        guard let tls = connection.tls else { return }
        switch tls.handshake() {
        case .done:
            // The accept's header deadline still runs: the first request head is due within it.
            updateInterest(connection)
        case .wantsRead:
            updateInterest(connection)
        case .wantsWrite:
            updateInterest(connection, wantWrite: true)
        case .closed, .failed:
            closeConnection(connection)
        }
    }

    func readAvailable(_ connection: Connection) {
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
    func processInput(_ connection: Connection) {
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
            // A fresh connection's first head is due headerTimeout after the accept (a first byte must
            // not buy a slow client a second period); a kept-alive one's from its first byte.
            if !connection.isFresh { connection.deadline = now + headerMillis }
            connection.timeoutAnswers408 = true
        }
    }

    func dispatch(_ connection: Connection, body: [UInt8]) {
        guard let head = connection.head else { return }
        connection.phase = .processing
        connection.isFresh = false
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
        var releasing: IPAddress? = nil
        if connection.viaTrustedProxy && !admitForwardedClient(of: prepared, key: &releasing) {
            localCompletions.append(
                Completion(fd: connection.fd, generation: connection.generation, response: tooManyInFlight))
            return
        }
        let request = prepared
        let fd = connection.fd
        let generation = connection.generation
        let loop = self
        let work: @Sendable () async -> Void = { [releasing] in
            let response = await responder.respond(to: request)
            loop.deliver(Completion(fd: fd, generation: generation, response: response, releasing: releasing))
        }
        switch configuration.responderExecution {
        case .eventLoop: Task(executorPreference: executor, operation: work)
        case .cooperativePool: Task(operation: work)
        }
    }

    func drainInbox() {
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
    func runLocalWork() {
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
    func complete(_ completion: Completion) {
        if let key = completion.releasing { limits.requestsThroughProxies.release(key) }
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
}
