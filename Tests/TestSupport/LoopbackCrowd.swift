import Foundation
import Glibc

/// Thrown when a loopback socket cannot be set up.
public struct LoopbackError: Error, CustomStringConvertible {
    /// What failed, with errno.
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Many TCP connections from one loopback address that never send a byte: the shape of a client
/// trying to hold every slot of a server.
///
/// The sockets live in a python3 child process, not in the test process: Foundation's `Process.run`
/// on Linux adds a close action for every descriptor up to the highest one open, and with thousands
/// of crowd sockets in the test process a concurrent spawn by another test crashed it. Blocking
/// calls (a round trip to the child): use it on a thread of its own (`onThread`).
public final class LoopbackCrowd: @unchecked Sendable {
    /// What the server did with one connection of the crowd, seen from the client side.
    public enum Fate: Equatable, Sendable {
        /// Open, nothing received.
        case held
        /// The server answered `503` (and closed, or is about to).
        case refused
        /// The server closed without sending a byte.
        case closedSilently
        /// Anything else (other bytes, a reset).
        case other
    }

    /// The loopback address the crowd connects from.
    public let source: String
    private let process: ChildProcess
    private var lines = ChildLineReader()

    /// Opens `count` connections to `127.0.0.1:port` from `source`, and returns once all are
    /// connected (the kernel's handshake, not the server's accept).
    public init(count: Int, port: Int, from source: String) throws {
        self.source = source
        process = try ChildProcess(
            "/usr/bin/env", ["python3", "-c", Self.script, String(port), source, String(count)], input: .pipe,
            output: .pipe, errors: .pipe)
        let ready = try readLine()
        guard ready == "ready" else { throw LoopbackError("the crowd from \(source) did not start: \(ready)") }
    }

    deinit {
        try? process.input?.close()
        process.terminate()
    }

    /// What became of each connection so far, read without waiting, in the order they were opened.
    public func fates() throws -> [Fate] {
        try send("fates")
        return try readLine().map { letter -> Fate in
            switch letter {
            case "h": .held
            case "r": .refused
            case "s": .closedSilently
            default: .other
            }
        }
    }

    /// Closes the first `count` connections of the crowd.
    public func close(first count: Int) throws {
        try send("close \(count)")
        guard try readLine() == "closed" else { throw LoopbackError("the crowd did not close its connections") }
    }

    /// Closes every connection of the crowd and ends the child process.
    public func closeAll() {
        try? process.input?.close()
        process.waitUntilExit()
    }

    private func send(_ command: String) throws {
        try process.input?.write(contentsOf: Data((command + "\n").utf8))
    }

    /// One line of the child's answer; what it wrote on standard error if it ended instead.
    private func readLine() throws -> String {
        guard let output = process.output else { throw LoopbackError("the crowd has no output") }
        guard let line = lines.next(from: output) else {
            let text = String(decoding: (process.errors?.availableData ?? Data()), as: UTF8.self)
            throw LoopbackError("the crowd from \(source) ended: \(text)")
        }
        return line
    }

    /// The child: connects, says `ready`, then answers `fates` (one letter a connection) and
    /// `close N` until its standard input ends.
    private static let script = """
        import resource, socket, sys
        port, source, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < count + 64:
            resource.setrlimit(resource.RLIMIT_NOFILE, (count + 64, hard))
        sockets = []
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT: the port comes with connect
            s.bind((source, 0))
            s.settimeout(30)  # bounds a connect whose SYN had to be retried (a full accept queue)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            sockets.append(s)
        print("ready", flush=True)

        def fate(s):
            try:
                data = s.recv(512, socket.MSG_PEEK)
            except BlockingIOError:
                return "h"
            except OSError:
                return "o"
            if not data:
                return "s"
            return "r" if data.startswith(b"HTTP/1.1 503 ") else "o"

        while True:
            line = sys.stdin.readline()
            if not line:
                break
            words = line.split()
            if words[0] == "fates":
                print("".join(fate(s) for s in sockets), flush=True)
            elif words[0] == "close":
                for s in sockets[: int(words[1])]:
                    s.close()
                del sockets[: int(words[1])]
                print("closed", flush=True)
        """
}

extension Array where Element == LoopbackCrowd.Fate {
    /// How many connections met `fate`.
    public func count(of fate: LoopbackCrowd.Fate) -> Int { self.count { $0 == fate } }
}

/// The process's open-file limit, raised for tests that hold thousands of sockets.
public enum FileDescriptorLimit {
    /// Whether the tests run in CI (`CI=true`), where a test that cannot run must fail, not skip.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The hard `RLIMIT_NOFILE`: how far this process may raise its own soft limit.
    public static var hard: Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return limit.rlim_max == rlim_t.max ? Int.max : Int(limit.rlim_max)
    }

    /// Whether a test needing `count` descriptors runs: always in CI (so a low limit fails there),
    /// else only when the hard limit allows it; says so loudly when it does not.
    public static func allows(_ count: Int) -> Bool {
        if hard >= count || isCI { return true }
        FileHandle.standardError.write(
            Data(
                """

                *** Crowd tests SKIPPED: they need \(count) file descriptors and the hard limit \
                is \(hard) (`ulimit -Hn`). Raise it (for example in /etc/security/limits.conf) to run them.


                """.utf8))
        return false
    }

    /// Raises the soft limit to at least `count`, or throws saying why it cannot.
    public static func raise(to count: Int) throws {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            throw LoopbackError("getrlimit failed: errno \(errno)")
        }
        if limit.rlim_cur >= rlim_t(count) { return }
        guard limit.rlim_max >= rlim_t(count) else {
            throw LoopbackError(
                "needs \(count) file descriptors; the hard limit (ulimit -Hn) is \(limit.rlim_max)")
        }
        limit.rlim_cur = rlim_t(count)
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            throw LoopbackError("setrlimit(\(count)) failed: errno \(errno)")
        }
    }
}

/// Connects the blocking socket `fd` to `127.0.0.1:port`; false with errno set on failure.
public func connectToLoopback(_ fd: Int32, port: Int) -> Bool {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    } == 0
}

/// Binds `fd` to the loopback address `source` before it connects, so the server sees that peer
/// address; the port is left to `connect` (`IP_BIND_ADDRESS_NO_PORT`), which can reuse one local port
/// towards different servers.
public func bindSource(_ fd: Int32, _ source: String) -> Bool {
    var one: Int32 = 1
    // IP_BIND_ADDRESS_NO_PORT (linux/in.h); Glibc's module does not export it.
    setsockopt(fd, Int32(IPPROTO_IP), 24, &one, socklen_t(MemoryLayout<Int32>.size))
    var local = sockaddr_in()
    local.sin_family = sa_family_t(AF_INET)
    local.sin_addr.s_addr = inet_addr(source)
    return withUnsafePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// Runs blocking test code on its own thread so the cooperative pool stays free for responders.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}
