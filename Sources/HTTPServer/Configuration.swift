import Diagnostics
import HTTPCore

/// Where the server finds its certificate chain and private key for HTTPS.
public struct TLSConfiguration: Sendable, Equatable {
    /// A PEM file holding the server certificate, optionally followed by intermediates.
    public var certificatePath: String
    /// A PEM file holding the private key of the certificate (never logged).
    public var keyPath: String

    /// Creates a TLS configuration from two PEM files.
    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}

/// Where responder tasks run.
public enum ResponderExecution: Sendable, Equatable {
    /// Tasks prefer their connection's event-loop thread (a Swift `TaskExecutor`): a responder that
    /// does not suspend elsewhere answers with no thread hop. Work it awaits elsewhere (actors, a
    /// `BlockingPool`) runs there and resumes on the loop. Synchronous CPU work in a responder delays
    /// that loop's other connections, as in nginx or SwiftNIO.
    case eventLoop
    /// Tasks run on the cooperative pool; responses come back through a locked queue and an eventfd.
    /// Costs a thread hop (measured about 20-30% of peak throughput for a trivial responder).
    case cooperativePool
}

/// How the HTTP server listens and the limits it enforces on every connection.
public struct HTTPServerConfiguration: Sendable {
    /// The numeric address to listen on (`127.0.0.1`, `0.0.0.0`, `::`, `::1`) or `localhost`. Default: `127.0.0.1`.
    public var host: String
    /// The TCP port; 0 asks the kernel for a free one (`start()` returns it). Default: 5080.
    public var port: Int
    /// The number of event-loop threads, each with its own `SO_REUSEPORT` listener. Default: the core count.
    public var eventLoops: Int
    /// The most connections open at once; a connection beyond it is answered `503` and closed. Default: 10000.
    public var maxConnections: Int
    /// The most connections one client address may have open at once (IPv6 counted per /64); one
    /// beyond it is answered `503` and closed. Peers in `trustedProxies` are exempt. Default: 256.
    public var maxConnectionsPerAddress: Int
    /// Reverse proxies, exempt from `maxConnectionsPerAddress` because their connections carry many
    /// clients (whose addresses arrive only with each request). Default: none.
    public var trustedProxies: [CIDR]
    /// How long a keep-alive connection may sit between requests (and how long a write may stall). Default: 60 s.
    public var idleTimeout: Duration
    /// How long a new connection may take to deliver its first request head (TLS handshake included),
    /// and a kept-alive connection from the first byte of a later request to the end of its headers.
    /// A connection that sent nothing is closed silently; a partial head gets `408`. Default: 10 s.
    public var headerTimeout: Duration
    /// How long a client may take to send a request body once the headers are in. Default: 30 s.
    public var bodyTimeout: Duration
    /// The largest request line plus header section, in bytes; larger gets 431. Default: 16 KiB.
    public var maxHeaderBytes: Int
    /// HTTPS settings; nil serves plain HTTP. Default: nil.
    public var tls: TLSConfiguration?
    /// Where responder tasks run. Default: `.eventLoop`.
    public var responderExecution: ResponderExecution

    /// Creates a configuration; every parameter has the default documented on its property.
    public init(
        host: String = "127.0.0.1", port: Int = 5080, eventLoops: Int? = nil, maxConnections: Int = 10000,
        maxConnectionsPerAddress: Int = 256, trustedProxies: [CIDR] = [], idleTimeout: Duration = .seconds(60),
        headerTimeout: Duration = .seconds(10),
        bodyTimeout: Duration = .seconds(30), maxHeaderBytes: Int = 16 * 1024, tls: TLSConfiguration? = nil,
        responderExecution: ResponderExecution = .eventLoop
    ) {
        self.host = host
        self.port = port
        self.eventLoops = eventLoops ?? HTTPServerConfiguration.coreCount
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.trustedProxies = trustedProxies
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maxHeaderBytes = maxHeaderBytes
        self.tls = tls
        self.responderExecution = responderExecution
    }

    static var coreCount: Int {
        let count = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return count > 0 ? count : 1
    }
}

/// Why the server could not start.
public struct HTTPServerError: CodedError, Sendable {
    /// A stable identifier of the failure.
    public enum Code: String, Sendable, CaseIterable {
        /// Another process already listens on the address and port.
        case addressInUse = "http_server.address_in_use"
        /// The process may not bind that port (a port below 1024 without the capability).
        case permissionDenied = "http_server.permission_denied"
        /// The host is not a numeric IPv4/IPv6 address or `localhost`, or the port is out of range.
        case invalidAddress = "http_server.invalid_address"
        /// A socket, epoll or eventfd call failed for another reason.
        case systemCallFailed = "http_server.system_call_failed"
        /// The certificate or key could not be loaded.
        case tlsConfiguration = "http_server.tls_configuration"
        /// `start()` was called on a server that is running or stopped.
        case alreadyStarted = "http_server.already_started"
    }

    /// What went wrong.
    public let code: Code
    /// Details for the operator (addresses, errno text); never secrets.
    public let reason: String

    /// Creates an error.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

}

#if canImport(Glibc)
    import Glibc
#endif
