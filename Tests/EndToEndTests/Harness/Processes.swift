import Foundation
import Testing

/// The exit status and captured output of a finished child process.
struct ProcessResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    /// Whether the process was killed for running past its deadline.
    var timedOut = false

    var succeeded: Bool { status == 0 && !timedOut }

    /// The last non-empty line of standard output (where commands print a secret they create).
    var lastLine: String {
        stdout.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    var description: String {
        "exit \(status)\(timedOut ? " (killed after its deadline)" : "")\nstdout: \(stdout.suffix(1500))\nstderr: \(stderr.suffix(3000))"
    }
}

/// Runs child processes for the end-to-end tests, always with a deadline, with output captured in
/// files (pipes would need a reader thread each, and a full pipe would stall the child).
enum Processes {
    /// Runs `path` to completion, killing it with SIGKILL if it outlives `timeout` seconds.
    ///
    /// `environment` replaces the inherited variables named in it; `removing` drops inherited
    /// variables by prefix first (`PORTCULLIS_` for our binary, `REGISTRY_` for the registry, which
    /// turns every such variable into configuration).
    static func run(
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

        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.environment = childEnvironment(environment, removing: prefixes)
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()

        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                kill(process.processIdentifier, SIGKILL)
                timedOut = true
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        return ProcessResult(
            status: process.terminationStatus,
            stdout: String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self),
            stderr: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self),
            timedOut: timedOut)
    }

    /// The inherited environment without the variables starting with `prefixes`, plus `overrides`.
    static func childEnvironment(_ overrides: [String: String], removing prefixes: [String]) -> [String: String] {
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
final class BackgroundProcess {
    let name: String
    let logFile: URL
    private let process = Process()
    private var stopped = false

    init(
        name: String, executable: String, arguments: [String], environment: [String: String],
        removing prefixes: [String], directory: URL, logFile: URL
    ) throws {
        self.name = name
        self.logFile = logFile
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        defer { try? log.close() }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = Processes.childEnvironment(environment, removing: prefixes)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// The end of the log, for failure messages.
    func logTail(_ characters: Int = 4000) -> String {
        let text = String(decoding: (try? Data(contentsOf: logFile)) ?? Data(), as: UTF8.self)
        return "--- \(name) log (\(logFile.path)) ---\n" + String(text.suffix(characters))
    }

    /// Kills the process by its PID and reaps it; safe to call more than once.
    func stop() {
        guard !stopped else { return }
        stopped = true
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it; the socket is closed
/// before the server binds it, a race no other test here can lose).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A fresh temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let url: URL

    init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "portcullis-e2e-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ component: String) -> URL { url.appendingPathComponent(component) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Thrown when the harness cannot bring a peer up or a step it depends on fails.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass.
func waitUntil(seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

// MARK: - Where things are

/// The package root (three levels above this file: Harness, EndToEndTests, Tests).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// The `portcullis` binary next to the test bundle (debug or release, whichever `swift test` built).
let portcullisExecutable: URL = {
    let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.contains(".xctest") } ?? "")
    let sibling = bundle.deletingLastPathComponent().appendingPathComponent("portcullis")
    if FileManager.default.isExecutableFile(atPath: sibling.path) { return sibling }
    return packageRoot.appendingPathComponent(".build/debug/portcullis")
}()

// MARK: - Peers

/// The external programs the suite drives, and what to do when they are missing: skip loudly on a
/// developer machine, fail in CI (`CI=true`), where a silently skipped suite would prove nothing.
enum Peers {
    static let registry = "/usr/bin/docker-registry"
    static let skopeo = "/usr/bin/skopeo"
    static let curl = "/usr/bin/curl"
    static let tar = "/usr/bin/tar"
    static let gzip = "/usr/bin/gzip"

    static var missing: [String] {
        [registry, skopeo, curl, tar, gzip].filter { !FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether the suite runs: always in CI (so missing peers fail), else only with every peer present.
    static let shouldRun: Bool = {
        let absent = Peers.missing
        if !absent.isEmpty && !isCI {
            FileHandle.standardError.write(
                Data(
                    """

                    *** EndToEndTests SKIPPED: missing \(absent.joined(separator: ", ")).
                    *** Install the test peers with `.ci/install-deps test` (Debian packages docker-registry, skopeo).


                    """.utf8))
        }
        return absent.isEmpty || isCI
    }()

    static let skipComment: Comment =
        "docker-registry or skopeo missing: run .ci/install-deps test (fails instead when CI=true)"

    /// Fails the test (in CI) when a peer is missing.
    static func require() throws {
        let absent = Peers.missing
        guard absent.isEmpty else {
            throw HarnessError("end-to-end peers missing: \(absent.joined(separator: ", ")); run .ci/install-deps test")
        }
        guard FileManager.default.isExecutableFile(atPath: portcullisExecutable.path) else {
            throw HarnessError("no portcullis binary at \(portcullisExecutable.path); run swift build first")
        }
    }
}
