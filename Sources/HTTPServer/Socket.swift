// Thin wrappers over the socket calls the server makes; errno becomes a typed error here.

import CLinux
import Glibc
import HTTPCore

/// A resolved listening address.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0
    var family: Int32 { Int32(storage.ss_family) }

    /// Parses a numeric IPv4/IPv6 address (or `localhost`) and a port.
    init(host: String, port: Int) throws(HTTPServerError) {
        guard (0...65535).contains(port) else {
            throw HTTPServerError(.invalidAddress, "port \(port) is out of range")
        }
        let name = host == "localhost" ? "127.0.0.1" : (host.isEmpty ? "0.0.0.0" : host)
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET, name, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: v4) { raw.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else if inet_pton(AF_INET6, name, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: v6) { raw.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            throw HTTPServerError(.invalidAddress, "\(host) is not a numeric IPv4 or IPv6 address")
        }
    }

    init() {}

    /// The numeric host and port of an accepted peer.
    var hostAndPort: (String, Int) {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer -> (String, Int) in
            if family == AF_INET {
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                    var address = v4.pointee.sin_addr
                    inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
                    return (decode(text), Int(UInt16(bigEndian: v4.pointee.sin_port)))
                }
            } else if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                    var address = v6.pointee.sin6_addr
                    inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
                    return (decode(text), Int(UInt16(bigEndian: v6.pointee.sin6_port)))
                }
            }
            return ("unknown", 0)
        }
    }
}

extension SocketAddress {
    /// The peer's address as a value, IPv4-mapped IPv6 (`::ffff:a.b.c.d` from a dual-stack listener)
    /// as the IPv4 address it stands for; nil for a family other than IPv4 and IPv6.
    var ipAddress: IPAddress? {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer -> IPAddress? in
            if family == AF_INET {
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    .v4(UInt32(bigEndian: $0.pointee.sin_addr.s_addr))
                }
            } else if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                    var value: UInt128 = 0
                    withUnsafeBytes(of: v6.pointee.sin6_addr) { bytes in
                        for byte in bytes { value = value << 8 | UInt128(byte) }
                    }
                    return IPAddress.v6(value).unmapped
                }
            }
            return nil
        }
    }
}

private func decode(_ text: [CChar]) -> String {
    text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// The text of an errno value.
func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// Creates a non-blocking listening socket bound to `address`.
func makeListener(_ address: SocketAddress, reusePort: Bool, backlog: Int32 = 1024) throws(HTTPServerError) -> Int32 {
    let fd = socket(address.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw HTTPServerError(.systemCallFailed, "socket: \(errnoText(errno))") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    if reusePort {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
    }
    var storage = address.storage
    let bound = withUnsafePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, address.length) }
    }
    if bound != 0 {
        let code = errno
        close(fd)
        switch code {
        case EADDRINUSE: throw HTTPServerError(.addressInUse, "port \(address.hostAndPort.1): \(errnoText(code))")
        case EACCES: throw HTTPServerError(.permissionDenied, "port \(address.hostAndPort.1): \(errnoText(code))")
        case EADDRNOTAVAIL: throw HTTPServerError(.invalidAddress, "\(address.hostAndPort.0): \(errnoText(code))")
        default: throw HTTPServerError(.systemCallFailed, "bind: \(errnoText(code))")
        }
    }
    guard listen(fd, backlog) == 0 else {
        let code = errno
        close(fd)
        if code == EADDRINUSE { throw HTTPServerError(.addressInUse, "listen: \(errnoText(code))") }
        throw HTTPServerError(.systemCallFailed, "listen: \(errnoText(code))")
    }
    return fd
}

/// The port a bound socket listens on.
func boundPort(_ fd: Int32) -> Int {
    var address = SocketAddress()
    address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    var length = address.length
    let result = withUnsafeMutablePointer(to: &address.storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return result == 0 ? address.hostAndPort.1 : 0
}

/// Accepts one pending connection as a non-blocking socket; nil with `errno` set when none.
func acceptConnection(_ listener: Int32) -> (Int32, SocketAddress)? {
    var address = SocketAddress()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let fd = withUnsafeMutablePointer(to: &address.storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            clinux_accept4(listener, $0, &length, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
        }
    }
    guard fd >= 0 else { return nil }
    address.length = length
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    return (fd, address)
}

/// Receives into `buffer`; the byte count, 0 at end of stream, or -1 with errno set.
func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Int {
    let capacity = buffer.count
    return buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, capacity, 0) }
}

/// Sends as much of `bytes` as the socket takes without blocking; -1 with errno set on failure.
func sendSome(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Int {
    bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
}

/// The monotonic clock in milliseconds.
func monotonicMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

extension Duration {
    /// The duration in whole milliseconds, at least 1 for any positive duration.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let value = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return value == 0 && attoseconds > 0 ? 1 : value
    }
}
