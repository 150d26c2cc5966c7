import Dispatch
import Glibc

/// Turns SIGTERM and SIGINT into a callback, and ignores SIGPIPE (a write to a closed TLS peer
/// would otherwise kill the process).
///
/// Keep the returned value alive for as long as the handler should fire. Thread-safe: the sources
/// are only created, then cancelled, both of which Dispatch allows from any thread.
public final class ShutdownSignals: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    private init(sources: [any DispatchSourceSignal]) { self.sources = sources }

    /// Installs `handler`, called on a Dispatch queue with the signal number each time SIGTERM or
    /// SIGINT arrives; the signals' default actions (terminating the process) are disabled.
    public static func install(_ handler: @escaping @Sendable (Int32) -> Void) -> ShutdownSignals {
        signal(SIGPIPE, SIG_IGN)
        let queue = DispatchQueue(label: "portcullis.signals")
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            sources.append(source)
        }
        return ShutdownSignals(sources: sources)
    }

    /// Ignores SIGPIPE only (for tests and tools that run a server without signal handling).
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Stops delivering signals to the handler; the signals stay ignored.
    public func cancel() {
        for source in sources { source.cancel() }
    }
}
