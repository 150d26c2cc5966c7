import Foundation
import Glibc

/// Thrown when a loopback socket cannot be set up.
public struct LoopbackError: Error, CustomStringConvertible {
    /// What failed, with errno.
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Many TCP connections from one loopback address that never send a byte: the shape of a client
/// trying to hold every slot of a server. Blocking calls: use it on a thread of its own (`onThread`).
public final class LoopbackCrowd: @unchecked Sendable {
    /// What the server did with one connection of the crowd, seen from the client side.
    public enum Fate: Equatable, Sendable {
        /// Open, nothing received.
        case held
        /// The server answered `503` (and closed, or is about to).
        case refused
        /// The server closed without sending a byte.
        case closedSilently
        /// Anything else (other bytes, a reset); carries a description for the failure message.
        case other(String)
    }

    /// The loopback address the crowd connects from.
    public let source: String
    /// The crowd's open sockets.
    public private(set) var descriptors: [Int32] = []

    /// Opens `count` connections to `127.0.0.1:port` from `source`.
    public init(count: Int, port: Int, from source: String) throws {
        self.source = source
        descriptors.reserveCapacity(count)
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw LoopbackError("socket failed: errno \(errno)") }
            // Bounds a connect whose SYN the kernel had to retry (a full accept queue); Linux applies
            // the send timeout to connect.
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard bindSource(fd, source) else {
                let code = errno
                Glibc.close(fd)
                throw LoopbackError("bind to \(source) failed: errno \(code)")
            }
            guard connectToLoopback(fd, port: port) else {
                let code = errno
                Glibc.close(fd)
                throw LoopbackError("connect from \(source) failed: errno \(code)")
            }
            descriptors.append(fd)
        }
    }

    deinit { closeAll() }

    /// What became of each connection so far, read without waiting (bytes stay queued).
    public func fates() -> [Fate] {
        descriptors.map { fd in
            var chunk = [UInt8](repeating: 0, count: 512)
            let count = chunk.withUnsafeMutableBytes {
                recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_PEEK))
            }
            if count > 0 {
                let text = String(decoding: chunk[0..<count], as: UTF8.self)
                return text.hasPrefix("HTTP/1.1 503 ") ? .refused : .other("received \(text.debugDescription)")
            }
            if count == 0 { return .closedSilently }
            let code = errno
            return code == EAGAIN || code == EWOULDBLOCK ? .held : .other("errno \(code)")
        }
    }

    /// Closes the first `count` connections of the crowd.
    public func close(first count: Int) {
        for fd in descriptors.prefix(count) { Glibc.close(fd) }
        descriptors.removeFirst(min(count, descriptors.count))
    }

    /// Closes every connection of the crowd.
    public func closeAll() { close(first: descriptors.count) }
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
