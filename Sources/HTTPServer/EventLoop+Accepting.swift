// Accepting connections, and refusing the ones over a limit before they cost more than a table entry.

import CLinux
import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import Synchronization

extension EventLoop {

    func acceptConnections() {
        for _ in 0..<64 {
            guard let (fd, address) = acceptConnection(listenFD) else {
                let code = errno
                if code == EINTR || code == ECONNABORTED { continue }
                if code == EMFILE || code == ENFILE {
                    logger.warning("out of file descriptors; pausing accept for 100 ms", ["error": errnoText(code)])
                    _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
                    acceptPausedUntil = now + 100
                }
                return
            }
            if stopDeadline != nil {
                close(fd)
                continue
            }
            var limitKey: IPAddress? = nil
            var viaTrustedProxy = false
            switch limits.connections.admit(address.ipAddress, now: now) {
            case .admitted(let key):
                limitKey = key
            case .exempt:
                viaTrustedProxy = true
            case .refused(let key, let refusals):
                metrics.rejectedPerAddress.add(1, ordering: .relaxed)
                if let refusals {
                    logRefusals(
                        refusals, of: key, "refused connections: the address holds the most connections allowed")
                }
                // Best effort: the socket buffer of a fresh connection always takes these few bytes.
                _ = sendSome(fd, tooManyFromAddress[...])
                close(fd)
                continue
            }
            let open = metrics.open.add(1, ordering: .relaxed).newValue
            if open > configuration.maxConnections {
                metrics.open.subtract(1, ordering: .relaxed)
                metrics.rejected.add(1, ordering: .relaxed)
                if let limitKey { limits.connections.release(limitKey) }
                _ = sendSome(fd, serviceUnavailable[...])
                close(fd)
                continue
            }
            metrics.accepted.add(1, ordering: .relaxed)
            let (host, port) = address.hostAndPort
            var session: TLSServerSession? = nil
            if let tlsContext {
                do {
                    session = try TLSServerSession(context: tlsContext, socket: fd)
                } catch {
                    logger.warning("TLS session setup failed", ["error": "\(error)"])
                    metrics.open.subtract(1, ordering: .relaxed)
                    if let limitKey { limits.connections.release(limitKey) }
                    close(fd)
                    continue
                }
            }
            let connection = Connection(
                fd: fd, generation: nextGeneration,
                info: HTTPConnectionInfo(remoteAddress: host, remotePort: port, isTLS: session != nil),
                limitKey: limitKey, viaTrustedProxy: viaTrustedProxy, maxHeaderBytes: configuration.maxHeaderBytes,
                tls: session)
            nextGeneration &+= 1
            // Generation 0 (low 32 bits) marks the listener and the eventfd in epoll keys.
            if nextGeneration & 0xFFFF_FFFF == 0 { nextGeneration &+= 1 }
            while connections.count <= Int(fd) { connections.append(nil) }
            connections[Int(fd)] = connection
            connectionCount += 1
            connection.interest = EPOLLIN.rawValue
            register(fd, events: EPOLLIN.rawValue, generation: connection.generation)
            // Until its first request head is in (the TLS handshake included) a connection has the
            // header timeout, not the idle one: a client that connects and sends nothing is closed
            // without a response when it runs out, as nginx does; one that sent part of a head gets 408.
            connection.phase = .idle
            connection.deadline = now + headerMillis
            connection.timeoutAnswers408 = false
        }
    }

    /// Counts a request from a trusted proxy against its forwarded client; false when that client
    /// already has the most requests in flight. `key` is what to release once the response is written.
    func admitForwardedClient(of request: HTTPRequest, key: inout IPAddress?) -> Bool {
        let client = limits.forwarded.resolve(connection: request.connection, headers: request.head.headers)
        switch limits.requestsThroughProxies.admit(IPAddress(client.clientAddress), now: now) {
        case .admitted(let counted):
            // nil for an unparseable peer address (never from a socket): not counted.
            key = counted
            return true
        case .exempt:
            return true
        case .refused(let key, let refusals):
            metrics.rejectedForwarded.add(1, ordering: .relaxed)
            if let refusals {
                logRefusals(
                    refusals, of: key, "refused requests: the forwarded client has the most requests in flight allowed")
            }
            return false
        }
    }

    /// One warning for a run of refusals from one address (`ConnectionsPerAddress` throttles them).
    private func logRefusals(_ refusals: Int, of key: IPAddress, _ message: String) {
        logger.warning(
            message,
            [
                "address": ConnectionsPerAddress.describe(key), "limit": "\(limits.connections.limit)",
                "refused_since_last_warning": "\(refusals)",
            ])
    }
}

/// A complete response that ends the connection, for answers written before any parsing.
func closingResponse(_ statusLine: String, _ body: String) -> [UInt8] {
    Array(
        "HTTP/1.1 \(statusLine)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            .utf8)
}

let serviceUnavailable = closingResponse("503 Service Unavailable", "503 Service Unavailable\n")
/// Kept-alive: the proxy's connection serves other clients too.
let tooManyInFlight: HTTPResponse = {
    var response = HTTPResponse.text(
        "503 Service Unavailable: too many requests in flight from this client\n", status: .serviceUnavailable)
    response.headers.add(name: "Retry-After", value: "1")
    return response
}()
let tooManyFromAddress = closingResponse(
    "503 Service Unavailable", "503 Service Unavailable: too many connections from this address\n")
