import CLinux
import Foundation
import Glibc

/// Turns SIGTERM and SIGINT into a callback, and ignores SIGPIPE (a write to a closed TLS peer
/// would otherwise kill the process).
///
/// A C handler writes the signal number to a self-pipe and a dedicated thread calls the Swift
/// handler, so nothing but `write(2)` runs in signal context. (Dispatch signal sources need the
/// signal blocked in every thread on Linux, which a library cannot arrange after threads exist.)
/// One installation is active per process; installing again replaces the forwarding. Keep the
/// returned value until shutdown, then `cancel()` it. Thread-safe.
public final class ShutdownSignals: Sendable {
    private let writeFD: Int32

    private init(writeFD: Int32) { self.writeFD = writeFD }

    /// Installs `handler`, called on a dedicated thread with the signal number each time SIGTERM or
    /// SIGINT arrives; while installed these signals no longer terminate the process.
    public static func install(_ handler: @escaping @Sendable (Int32) -> Void) -> ShutdownSignals {
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            // Without a pipe the signals keep their default action: the process still stops on SIGTERM.
            return ShutdownSignals(writeFD: -1)
        }
        let (readFD, writeFD) = (fds[0], fds[1])
        _ = fcntl(readFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeFD, F_SETFD, FD_CLOEXEC)
        // A full pipe must drop a signal, never block the handler.
        _ = fcntl(writeFD, F_SETFL, O_NONBLOCK)
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(readFD, &byte, 1)
                if count == 1 {
                    handler(Int32(byte))
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            close(readFD)
        }
        thread.name = "shutdown-signals"
        thread.start()
        for number in [SIGTERM, SIGINT] { _ = clinux_forward_signal(number, writeFD) }
        return ShutdownSignals(writeFD: writeFD)
    }

    /// Ignores SIGPIPE only (for tests and tools that run a server without signal handling).
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Restores the default actions of SIGTERM and SIGINT and stops the forwarding thread
    /// (SIGPIPE stays ignored).
    public func cancel() {
        guard writeFD >= 0 else { return }
        _ = clinux_restore_signal(SIGTERM)
        _ = clinux_restore_signal(SIGINT)
        close(writeFD)
    }
}
