// The state an event loop keeps per connection, and what crosses from responder tasks back to it.

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
    /// The forwarded client whose request-in-flight count this response ends, if it was counted.
    var releasing: IPAddress? = nil
}

/// Runs the jobs of responder tasks on their event loop's thread, so a responder that does not
/// suspend elsewhere answers without any thread hop (`ResponderExecution.eventLoop`).
final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    weak var loop: EventLoop?

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
        /// Between requests, nothing buffered: the idle timeout runs (the header timeout on a fresh
        /// connection, which has yet to send its first request).
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
    /// No request has been dispatched yet: the header timeout runs from the accept, not the idle
    /// timeout, so a connection that sends nothing holds its slot only that long.
    var isFresh = true
    /// What the per-address cap counted this connection under; nil when it was not counted.
    let limitKey: IPAddress?
    /// The peer is a trusted proxy: its requests count per forwarded client instead.
    let viaTrustedProxy: Bool

    init(
        fd: Int32, generation: UInt64, info: HTTPConnectionInfo, limitKey: IPAddress?, viaTrustedProxy: Bool,
        maxHeaderBytes: Int,
        tls: TLSServerSession?
    ) {
        self.fd = fd
        self.generation = generation
        self.info = info
        self.limitKey = limitKey
        self.viaTrustedProxy = viaTrustedProxy
        self.parser = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes)
        self.tls = tls
    }

    var hasPendingOutput: Bool { outputOffset < output.count }
}
