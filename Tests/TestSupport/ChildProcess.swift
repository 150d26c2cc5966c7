import CLinux
import Foundation
import Synchronization

/// A child process started with posix_spawn and reaped with waitpid, in place of Foundation's `Process`.
///
/// Foundation's `Process` failed the test run twice over: `run()` lists the parent's descriptors to close
/// them in the child and crashed (memcpy past a buffer) when another thread opened descriptors meanwhile,
/// and `isRunning` is cleared by a shared monitor thread that once lagged a finished `portcullis db migrate`
/// by over 60 seconds under load. Here the child closes its own descriptors (closefrom), and whether it
/// has exited is asked of the kernel (waitpid) each time.
public final class ChildProcess: @unchecked Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream {
        /// /dev/null.
        case null
        /// The test process's own stream of the same number.
        case inherit
        /// An open descriptor of the caller's (a file), which stays the caller's to close.
        case descriptor(Int32)
        /// A new pipe, whose other end is the caller's (``input``, ``output``, ``errors``).
        case pipe
        /// Standard error only: the same place as standard output.
        case standardOutput
    }

    /// The child's process id, which is also its process group's id.
    public let pid: pid_t
    /// The writing end of the child's standard input, when it is ``Stream/pipe``.
    public let input: FileHandle?
    /// The reading end of the child's standard output, when it is ``Stream/pipe``.
    public let output: FileHandle?
    /// The reading end of the child's standard error, when it is ``Stream/pipe``.
    public let errors: FileHandle?
    /// The raw wait status once the child has been reaped.
    private let reaped = Mutex<Int32?>(nil)

    /// Starts `executable` (a path; `/usr/bin/env` looks a command up in PATH) with `arguments`.
    ///
    /// `environment` nil inherits the test process's; `directory` nil inherits its working directory.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        input: Stream = .null, output: Stream = .null, errors: Stream = .null
    ) throws {
        var closeAfterSpawn: [Int32] = []
        defer { closeAfterSpawn.forEach { _ = close($0) } }
        func childEnd(_ stream: Stream, number: Int32, readByChild: Bool) throws -> (Int32, FileHandle?) {
            switch stream {
            case .null:
                let fd = open("/dev/null", readByChild ? O_RDONLY : O_WRONLY)
                guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                closeAfterSpawn.append(fd)
                return (fd, nil)
            case .inherit, .standardOutput: return (number, nil)
            case .descriptor(let fd): return (fd, nil)
            case .pipe:
                var ends: [Int32] = [0, 0]
                guard pipe(&ends) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EMFILE) }
                let (child, parent) = readByChild ? (ends[0], ends[1]) : (ends[1], ends[0])
                // The parent's end is never inherited: every spawn here closes all but 0-2 in the child, and
                // close-on-exec covers programs started any other way.
                _ = fcntl(parent, F_SETFD, FD_CLOEXEC)
                closeAfterSpawn.append(child)
                return (child, FileHandle(fileDescriptor: parent, closeOnDealloc: true))
            }
        }
        let (inFD, inHandle) = try childEnd(input, number: 0, readByChild: true)
        let (outFD, outHandle) = try childEnd(output, number: 1, readByChild: false)
        var (errFD, errHandle) = try childEnd(errors, number: 2, readByChild: false)
        if case .standardOutput = errors { errFD = outFD }

        let variables = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                withOptionalCString(directory) { directoryPointer in
                    clinux_spawn(
                        &pid, executable, argvBuffer.baseAddress, envpBuffer.baseAddress, directoryPointer, inFD,
                        outFD, errFD)
                }
            }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .ENOEXEC) }
        self.pid = pid
        self.input = inHandle
        self.output = outHandle
        self.errors = errHandle
    }

    /// Whether the child has not exited yet (asked of the kernel without waiting; reaps it once it has).
    public var isRunning: Bool {
        reaped.withLock { status in
            if status != nil { return false }
            var raw: Int32 = 0
            let result = waitpid(pid, &raw, WNOHANG)
            if result == pid {
                status = raw
                return false
            }
            // ECHILD: not ours to wait for any more (cannot happen unless someone reaps every child).
            if result < 0 && errno == ECHILD { status = 0 }
            return status == nil
        }
    }

    /// Blocks the calling thread until the child has exited; never call it on the cooperative pool.
    public func waitUntilExit() {
        while isRunning { usleep(2_000) }
    }

    /// Waits without blocking a thread until the child has exited or `seconds` have passed; whether it exited.
    public func exited(within seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning {
            if Date() > deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// The exit status, or the number of the signal that ended the child (as Foundation's `Process` has it).
    public var terminationStatus: Int32 {
        let raw = reaped.withLock { $0 } ?? 0
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
    }

    /// Whether a signal ended the child (rather than its own exit).
    public var wasKilledBySignal: Bool {
        let raw = reaped.withLock { $0 } ?? 0
        return raw & 0x7f != 0 && raw & 0x7f != 0x7f
    }

    /// Sends `signal` to the child (`SIGTERM` by default) unless it has been reaped already.
    public func signal(_ signal: Int32 = SIGTERM) {
        if isRunning { kill(pid, signal) }
    }

    /// Asks the child to stop (SIGTERM) unless it has been reaped already.
    public func terminate() { signal(SIGTERM) }

    /// Sends `signal` to the child's whole process group (the child and whatever it started, which may
    /// outlive the child itself).
    public func signalGroup(_ signal: Int32 = SIGKILL) {
        kill(-pid, signal)
    }
}

private func withOptionalCString<T>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}

/// Reads a child's output a line at a time (its `.pipe` output), keeping what came after the last newline for the
/// next call: for children that answer a request with one line (`LoopbackCrowd`, `RoundRobinBalancer`).
public struct ChildLineReader {
    private var pending: [UInt8] = []

    /// A reader with nothing read yet.
    public init() {}

    /// The next line without its newline, or nil once the output has ended (or cannot be read). Blocks: call it off the cooperative
    /// pool.
    public mutating func next(from output: FileHandle) -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(output.fileDescriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            pending.append(contentsOf: chunk[0..<count])
        }
    }
}
