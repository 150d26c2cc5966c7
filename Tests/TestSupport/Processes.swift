import Foundation
import Synchronization

/// The exit status and captured output of a finished child process.
public struct ProcessResult: CustomStringConvertible {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// Whether the process was killed for running past its deadline.
    public var timedOut = false
    /// Standard output exactly as written, for tests that check bytes (escape sequences, line ends).
    public var stdoutBytes: [UInt8] = []

    public var succeeded: Bool { status == 0 && !timedOut }

    /// The last non-empty line of standard output (where commands print a secret they create).
    public var lastLine: String {
        stdout.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    public var description: String {
        "exit \(status)\(timedOut ? " (killed after its deadline)" : "")\nstdout: \(stdout.suffix(1500))\nstderr: \(stderr.suffix(3000))"
    }
}

/// Runs child processes for the end-to-end tests, always with a deadline, with output captured in
/// files (pipes would need a reader thread each, and a full pipe would stall the child).
public enum Processes {
    /// Runs `path` to completion, killing it with SIGKILL if it outlives `timeout` seconds.
    ///
    /// `environment` replaces the inherited variables named in it; `removing` drops inherited
    /// variables by prefix first (`PORTCULLIS_` for our binary, `REGISTRY_` for the registry, which
    /// turns every such variable into configuration).
    public static func run(
        _ path: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
        removing prefixes: [String] = [], directory: URL? = nil, timeout: Double = 60
    ) async throws -> ProcessResult {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "portcullis-e2e-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }

        let process = try ChildProcess(
            path, arguments, environment: childEnvironment(environment, removing: prefixes), directory: directory?.path,
            input: .pipe, output: .descriptor(out.fileDescriptor), errors: .descriptor(err.fileDescriptor))
        // A child that exits without reading its input (a refused argument) closes the pipe: the write then
        // fails with EPIPE, which `write(_:)` turned into a crash of the whole test run (its internal try!).
        if let input { try? process.input?.write(contentsOf: Data(input.utf8)) }
        try process.input?.close()

        let timedOut = await !process.exited(within: timeout)
        if timedOut {
            kill(process.pid, SIGKILL)
            _ = await process.exited(within: 60)
        }
        let output = (try? Data(contentsOf: outURL)) ?? Data()
        return ProcessResult(
            status: process.terminationStatus,
            stdout: String(decoding: output, as: UTF8.self),
            stderr: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self),
            timedOut: timedOut, stdoutBytes: Array(output))
    }

    /// The inherited environment without the variables starting with `prefixes`, plus `overrides`.
    public static func childEnvironment(_ overrides: [String: String], removing prefixes: [String]) -> [String: String]
    {
        var environment = ProcessInfo.processInfo.environment.filter { entry in
            !prefixes.contains { entry.key.hasPrefix($0) }
        }
        environment.merge(overrides) { _, new in new }
        return environment
    }
}

/// A long-running child (a server) whose output goes to a log file, stopped by PID with SIGKILL.
///
/// SIGKILL because processes started from the test runner may inherit a blocked SIGTERM, and the
/// servers hold nothing worth a graceful shutdown here (their state lives in a temporary directory).
public final class BackgroundProcess {
    public let name: String
    public let logFile: URL
    private let process: ChildProcess
    private var stopped = false

    public init(
        name: String, executable: String, arguments: [String], environment: [String: String],
        removing prefixes: [String], directory: URL, logFile: URL
    ) throws {
        self.name = name
        self.logFile = logFile
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        defer { try? log.close() }
        process = try ChildProcess(
            executable, arguments, environment: Processes.childEnvironment(environment, removing: prefixes),
            directory: directory.path, input: .null, output: .descriptor(log.fileDescriptor), errors: .standardOutput)
    }

    public var pid: Int32 { process.pid }
    public var isRunning: Bool { process.isRunning }

    /// The end of the log, for failure messages.
    public func logTail(_ characters: Int = 4000) -> String {
        let text = String(decoding: (try? Data(contentsOf: logFile)) ?? Data(), as: UTF8.self)
        return "--- \(name) log (\(logFile.path)) ---\n" + String(text.suffix(characters))
    }

    /// Kills the process by its PID and reaps it; safe to call more than once.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        process.signal(SIGKILL)
        process.waitUntilExit()
    }

    /// Kills the process's whole group with SIGKILL (every ``ChildProcess`` leads a new process group, which
    /// the processes it starts inherit) and reaps the process; safe to call more than once. For servers that
    /// start their own children, such as chromedriver and its browser.
    public func stopGroup() {
        guard !stopped else { return }
        stopped = true
        process.signalGroup(SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// The ports `freePort()` hands out: below the kernel's ephemeral range (32768 and up on Linux), so no socket
/// that binds port 0 or connects out (the in-process servers, every client) can be given one of them between
/// our check and the peer's own bind, and each handed out once per process (in order from a start that
/// depends on the process id, so two test processes rarely walk the same ports).
private let nextPort = Mutex<Int>(20_000 + Int(getpid() % 1_000) * 12)

/// A TCP port on 127.0.0.1 that was free a moment ago, for a peer (a registry, slapd, PostgreSQL) to bind.
///
/// The kernel's pick (bind to port 0, close, hand the number on) lost a race in CI: another test's server
/// bound the same port before the registry did ("address already in use"). These ports come from outside the
/// range the kernel picks from, and never twice from one process.
public func freePort() throws -> Int {
    for _ in 0..<12_000 {
        let candidate = nextPort.withLock { next -> Int in
            defer { next = next >= 31_999 ? 20_000 : next + 1 }
            return next
        }
        if canBind(candidate) { return candidate }
    }
    throw POSIXError(.EADDRINUSE)
}

/// Whether a listening socket could bind 127.0.0.1:`port` just now.
private func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let length = socklen_t(MemoryLayout<sockaddr_in>.size)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
    }
}

/// A fresh temporary directory, removed by ``remove()``.
public struct TemporaryDirectory {
    public let url: URL

    public init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "portcullis-e2e-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func path(_ component: String) -> URL { url.appendingPathComponent(component) }

    public func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The process whose id is the first line of `pidFile`, when it is a peer that a crashed test run left behind:
/// still alive, its parent gone (reparented to PID 1), and its command line containing `commandMark` (its own
/// configuration file or data directory), so another test run's live peers are never taken for one.
public func orphanedPeer(pidFile: URL, commandMark: String) -> pid_t? {
    let text = (try? String(contentsOf: pidFile, encoding: .utf8)) ?? ""
    let firstLine = text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) }
    guard let pid = firstLine.flatMap({ pid_t($0) }), pid > 1 else { return nil }
    let commandLine = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
    let command = String(decoding: commandLine, as: UTF8.self)
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    // The fields after the parenthesised command name are the state, then the parent's PID.
    let parent = stat.split(separator: ")").last?.split(separator: " ").dropFirst().first
    guard command.contains(commandMark), parent == "1" else { return nil }
    return pid
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass.
public func waitUntil(seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

// MARK: - Where things are

/// The package root (two levels above this file: TestSupport, Tests).
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The `portcullis` binary next to the test bundle (debug or release, whichever `swift test` built).
public let portcullisExecutable: URL = {
    let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.contains(".xctest") } ?? "")
    let sibling = bundle.deletingLastPathComponent().appendingPathComponent("portcullis")
    if FileManager.default.isExecutableFile(atPath: sibling.path) { return sibling }
    return packageRoot.appendingPathComponent(".build/debug/portcullis")
}()

/// Everything `handle` yields until end of file, read with `read(2)` and retried on EINTR.
///
/// Foundation's `readDataToEndOfFile()` traps on EINTR (a `try!` inside FileHandle), and a signal handled
/// elsewhere in the test process (the child-exit signal of another test's process, a test's own SIGINT)
/// interrupted such a read once and crashed the whole test run.
public func readToEnd(_ handle: FileHandle) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
        if count > 0 {
            data.append(contentsOf: buffer[0..<count])
        } else if count == 0 || errno != EINTR {
            return data
        }
    }
}
