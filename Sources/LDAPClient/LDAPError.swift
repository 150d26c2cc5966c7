import Diagnostics

/// A failed LDAP operation: a stable code to branch on, the libldap result code, and a message for logs.
///
/// The message may name hosts and DNs, never a password.
public struct LDAPError: CodedError, Sendable, Hashable {
    /// Stable, machine-readable kinds of failure.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The server could not be reached, or closed the connection.
        case serverDown = "ldap.server_down"
        /// The server did not answer within the connect or operation timeout.
        case timeout = "ldap.timeout"
        /// A simple bind was refused: wrong DN or password (result 49).
        case invalidCredentials = "ldap.invalid_credentials"
        /// The TLS handshake failed (untrusted certificate, wrong host name, no TLS on the server).
        case tlsFailure = "ldap.tls_failure"
        /// The base or target DN does not exist (result 32).
        case noSuchObject = "ldap.no_such_object"
        /// The bound identity may not do this (results 48 and 50, such as an anonymous search where it is denied).
        case insufficientAccess = "ldap.insufficient_access"
        /// The server is busy, unavailable or unwilling to perform (results 51 to 53).
        case serverUnavailable = "ldap.server_unavailable"
        /// The URL is not an `ldap://` or `ldaps://` URL libldap accepts.
        case invalidURL = "ldap.invalid_url"
        /// A search filter is malformed.
        case invalidFilter = "ldap.invalid_filter"
        /// Any other protocol-level failure (decoding errors, unexpected result codes).
        case protocolError = "ldap.protocol_error"
    }

    /// The kind of failure.
    public var code: Code
    /// The libldap result code (negative codes are client-side), for logs.
    public var resultCode: Int32
    /// Detail for logs: libldap's text and the server's diagnostic message.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, resultCode: Int32 = 0, message: String) {
        self.code = code
        self.resultCode = resultCode
        self.message = message
    }

    /// `timeout (-5): Timed out; no answer within 2.0 seconds`
    public var description: String { "\(code.rawValue) (\(resultCode)): \(message)" }

    /// The message, as `CodedError` names it.
    public var reason: String { message }

    /// Whether the failure means the directory cannot be used right now (down, slow, TLS broken), as
    /// opposed to an answer about the request itself.
    public var isUnavailability: Bool {
        switch code {
        case .serverDown, .timeout, .tlsFailure, .serverUnavailable: true
        default: false
        }
    }
}
