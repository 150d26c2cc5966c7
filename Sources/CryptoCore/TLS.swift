import COpenSSL
import Diagnostics

// Non-blocking TLS for the HTTP server's event loops, over OpenSSL 3.
//
// The event loop owns the socket and epoll; this file only turns SSL_* results into
// "done / wants read / wants write / closed / failed", so the loop can re-arm epoll.

/// Why TLS could not be set up or a TLS connection failed.
public struct TLSError: CodedError, Sendable {
    /// A stable identifier of the failure.
    public enum Code: String, Sendable, CaseIterable {
        /// The certificate file is missing or is not a PEM certificate chain.
        case invalidCertificate = "tls.invalid_certificate"
        /// The key file is missing, is not a PEM private key, or does not match the certificate.
        case invalidKey = "tls.invalid_key"
        /// OpenSSL could not create a context or session.
        case setupFailed = "tls.setup_failed"
    }

    /// What went wrong.
    public let code: Code
    /// OpenSSL's explanation (file paths and library reasons, never key material).
    public let reason: String

    /// Creates an error.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

}

/// A server-side TLS context: certificate chain, private key and protocol policy (TLS 1.2 minimum).
///
/// Thread-safe after creation: OpenSSL 3 contexts may be shared read-only by every event loop.
public final class TLSServerContext: @unchecked Sendable {
    fileprivate let context: OpaquePointer

    /// Loads a PEM certificate chain and its private key.
    ///
    /// Throws `invalidCertificate` or `invalidKey` (including a key that does not match), or `setupFailed`.
    public init(certificatePath: String, keyPath: String) throws(TLSError) {
        guard let method = TLS_server_method(), let context = SSL_CTX_new(method) else {
            throw TLSError(.setupFailed, "SSL_CTX_new: \(drainErrors())")
        }
        self.context = context
        // Macros Swift cannot import (SSL_CTX_set_min_proto_version, SSL_CTX_set_mode) expand to SSL_CTX_ctrl.
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        // Partial writes plus a moving buffer: the loop retries with whatever is left of its output array.
        _ = SSL_CTX_ctrl(
            context, SSL_CTRL_MODE, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), nil)
        // SSL_OP_NO_RENEGOTIATION is (uint64_t)1 << 30, a composite macro Swift cannot import.
        _ = SSL_CTX_set_options(context, UInt64(1) << 30)
        guard SSL_CTX_use_certificate_chain_file(context, certificatePath) == 1 else {
            throw TLSError(.invalidCertificate, "\(certificatePath): \(drainErrors())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyPath, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError(.invalidKey, "\(keyPath): \(drainErrors())")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError(.invalidKey, "the key does not match the certificate: \(drainErrors())")
        }
    }

    deinit { SSL_CTX_free(context) }
}

/// The outcome of one non-blocking TLS step.
public enum TLSStepResult: Sendable, Equatable {
    /// The step finished: bytes read or written (0 for a completed handshake).
    case done(Int)
    /// Retry when the socket is readable.
    case wantsRead
    /// Retry when the socket is writable.
    case wantsWrite
    /// The peer closed the TLS session cleanly.
    case closed
    /// The session failed (protocol error, reset); close the socket.
    case failed(String)
}

/// One server-side TLS session over a non-blocking socket the caller owns.
///
/// Not thread-safe: the event loop that owns the socket is its only user. The caller closes the
/// socket after `close()`.
public final class TLSServerSession {
    private let ssl: OpaquePointer
    private let context: TLSServerContext

    /// Starts a session on `socket` (accept state).
    public init(context: TLSServerContext, socket: Int32) throws(TLSError) {
        guard let ssl = SSL_new(context.context) else {
            throw TLSError(.setupFailed, "SSL_new: \(drainErrors())")
        }
        guard SSL_set_fd(ssl, socket) == 1 else {
            SSL_free(ssl)
            throw TLSError(.setupFailed, "SSL_set_fd: \(drainErrors())")
        }
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        self.context = context
    }

    deinit { SSL_free(ssl) }

    /// Whether the handshake has completed.
    public var isEstablished: Bool { SSL_is_init_finished(ssl) == 1 }

    /// The negotiated protocol (`TLSv1.3`), for logs.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// Advances the handshake; `.done(0)` once it is complete.
    public func handshake() -> TLSStepResult {
        let result = SSL_do_handshake(ssl)
        return result == 1 ? .done(0) : outcome(result)
    }

    /// Reads decrypted bytes into `buffer` (up to its count).
    public func read(into buffer: inout [UInt8]) -> TLSStepResult {
        let count = Int32(clamping: buffer.count)
        let result = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, count) }
        return result > 0 ? .done(Int(result)) : outcome(result)
    }

    /// Encrypts and sends as much of `bytes` as the socket accepts.
    public func write(_ bytes: ArraySlice<UInt8>) -> TLSStepResult {
        guard !bytes.isEmpty else { return .done(0) }
        let count = Int32(clamping: bytes.count)
        let result = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, count) }
        return result > 0 ? .done(Int(result)) : outcome(result)
    }

    /// Sends close_notify without waiting for the peer's (the socket is closed right after).
    public func close() {
        if isEstablished { _ = SSL_shutdown(ssl) }
        ERR_clear_error()
    }

    private func outcome(_ result: Int32) -> TLSStepResult {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantsRead
        case SSL_ERROR_WANT_WRITE: return .wantsWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            ERR_clear_error()
            return .failed("socket error or unexpected EOF")
        default:
            return .failed("TLS error \(code): \(drainErrors())")
        }
    }
}

/// Empties OpenSSL's per-thread error queue into one line, so stale errors never leak into later calls.
private func drainErrors() -> String {
    var messages: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var text = [CChar](repeating: 0, count: 256)
        text.withUnsafeMutableBufferPointer { ERR_error_string_n(code, $0.baseAddress, 256) }
        messages.append(text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
    return messages.isEmpty ? "no OpenSSL error" : messages.joined(separator: "; ")
}
