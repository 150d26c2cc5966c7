// Writing responses, closing connections, timeouts and shutdown, on the loop thread.

import CLinux
import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import Synchronization

extension EventLoop {

    func flush(_ connection: Connection) {
        guard connection.hasPendingOutput else {
            updateInterest(connection)
            return
        }
        while connection.hasPendingOutput {
            let pending = connection.output[connection.outputOffset...]
            let written: Int
            if let tls = connection.tls {
                switch tls.write(pending) {
                case .done(let bytes): written = bytes
                case .wantsRead, .wantsWrite: written = -2
                case .closed, .failed: written = -1
                }
            } else {
                written = sendSome(connection.fd, pending)
                if written < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    if code != EAGAIN && code != EWOULDBLOCK {
                        closeConnection(connection)
                        return
                    }
                }
            }
            if written == -1 {
                closeConnection(connection)
                return
            }
            if written < 0 {
                // The peer is not reading; the idle timeout also bounds a stalled write.
                connection.deadline = now + idleMillis
                connection.timeoutAnswers408 = false
                updateInterest(connection)
                return
            }
            connection.outputOffset += written
        }
        connection.output.removeAll(keepingCapacity: connection.output.capacity <= 64 * 1024)
        connection.outputOffset = 0
        if connection.phase == .processing {
            if connection.closeAfterWrite {
                beginLingering(connection)
                return
            }
            enterIdle(connection)
            if connection.readPaused && !connection.peerClosed {
                connection.readPaused = false
                updateInterest(connection)
                processInput(connection)
                if isOpen(connection) && !connection.readPaused { readAvailable(connection) }
                return
            }
            processInput(connection)
            return
        }
        if connection.closeAfterWrite {
            beginLingering(connection)
            return
        }
        updateInterest(connection)
        // Body bytes that arrived while `100 Continue` was still queued are waiting in the parser.
        processInput(connection)
    }

    func enterIdle(_ connection: Connection) {
        connection.phase = .idle
        connection.deadline = now + idleMillis
        connection.timeoutAnswers408 = false
        updateInterest(connection)
    }

    func answerParseError(_ connection: Connection, _ error: HTTPParseError) {
        metrics.parseErrors.add(1, ordering: .relaxed)
        let requestID = RequestIDMiddleware.generateID()
        logger.debug(
            "refused a malformed request",
            [
                "code": error.code.rawValue, "status": "\(error.status.code)", "peer": connection.info.remoteAddress,
                "request_id": requestID,
            ])
        let response = HTTPResponseSerializer.errorResponse(for: error, requestID: requestID)
        serializer.serialize(
            response, requestMethod: connection.head?.method ?? .get, requestVersion: .http1_1, keepAlive: false,
            epochSeconds: time(nil),
            into: &connection.output)
        connection.phase = .processing
        connection.closeAfterWrite = true
        flush(connection)
    }

    /// Half-closes after the last response and drains input for up to a second, so a client still
    /// sending (a refused body) reads our response instead of a connection reset.
    func beginLingering(_ connection: Connection) {
        connection.phase = .lingering
        connection.deadline = now + 1000
        connection.timeoutAnswers408 = false
        connection.tls?.close()
        shutdown(connection.fd, Int32(SHUT_WR))
        connection.readPaused = false
        updateInterest(connection)
    }

    func closeConnection(_ connection: Connection) {
        guard isOpen(connection) else { return }
        connection.tls?.close()
        connection.tls = nil
        close(connection.fd)
        connections[Int(connection.fd)] = nil
        connectionCount -= 1
        metrics.open.subtract(1, ordering: .relaxed)
        if let key = connection.limitKey { limits.connections.release(key) }
    }

    // MARK: Timeouts and shutdown

    func sweepTimeouts() {
        if let until = acceptPausedUntil, now >= until {
            acceptPausedUntil = nil
            if listenFD >= 0 { register(listenFD, events: EPOLLIN.rawValue) }
        }
        for case let connection? in connections where connection.deadline != 0 && now >= connection.deadline {
            if connection.phase != .lingering && (connection.phase != .idle || connection.isFresh) {
                metrics.timeouts.add(1, ordering: .relaxed)
            }
            if connection.timeoutAnswers408 && connection.tls == nil && !connection.hasPendingOutput {
                _ = sendSome(connection.fd, requestTimeout[...])
            }
            closeConnection(connection)
        }
    }

    func beginStopping(deadline: Int64) {
        guard stopDeadline == nil else { return }
        stopDeadline = deadline
        if listenFD >= 0 {
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
            close(listenFD)
            listenFD = -1
        }
        for case let connection? in connections {
            switch connection.phase {
            case .idle where !connection.hasPendingOutput:
                closeConnection(connection)
            case .processing:
                connection.keepAlive = false
            default:
                break
            }
        }
    }
}

let requestTimeout = closingResponse("408 Request Timeout", "408 Request Timeout\n")
