import CCurl
import Synchronization
import Threading

/// An `HTTPFetching` client over libcurl easy handles, run on a `BlockingPool`.
///
/// Each request checks out an easy handle from a small idle list (reset between uses, so libcurl's
/// per-handle connection cache gives keep-alive to repeat hosts), performs it on a pool thread, and
/// returns the handle. TLS verification is on by default, redirects are not followed by default, and
/// every request has connect and total timeouts and a response size limit.
public final class CurlHTTPClient: HTTPFetching {
    /// Defaults that apply to every request unless the request overrides them.
    public struct Configuration: Sendable {
        /// The limit for establishing a connection (TCP and TLS). Default: 5 seconds.
        public var connectTimeout: Duration = .seconds(5)
        /// The limit for a whole exchange, redirects included. Default: 30 seconds.
        public var timeout: Duration = .seconds(30)
        /// The largest accepted response body in bytes. Default: 8 MiB.
        public var maxResponseBytes: Int = 8 << 20
        /// The largest accepted total size of response header lines. Default: 64 KiB.
        public var maxHeaderBytes: Int = 64 << 10
        /// Whether 3xx redirects are followed. Default: false.
        public var followRedirects: Bool = false
        /// How many redirects are followed at most when following is on. Default: 5.
        public var maxRedirects: Int = 5
        /// A PEM bundle of trusted CA certificates; nil uses the system store. Default: nil.
        public var caFile: String?
        /// Whether server certificates and host names are verified. Default: true; turn off only in tests.
        public var verifyTLS: Bool = true
        /// The `User-Agent` header. Default: "Portcullis".
        public var userAgent: String = "Portcullis"
        /// How many idle easy handles are kept for reuse. Default: 8.
        public var maxIdleHandles: Int = 8

        /// Creates the default configuration.
        public init() {}
    }

    /// The defaults applied to requests.
    public let configuration: Configuration
    private let pool: BlockingPool
    private let idleHandles = Mutex<[EasyHandle]>([])

    /// The pool clients use when none is given: created on first use and kept for the process's life,
    /// because a `BlockingPool`'s threads must never outlive the pool object.
    public static let defaultPool = BlockingPool(name: "http-client", threads: 8)

    /// Creates a client that runs transfers on `pool` (which must outlive the client's requests),
    /// or on the shared `defaultPool` when `pool` is nil.
    public init(configuration: Configuration = Configuration(), pool: BlockingPool? = nil) {
        self.configuration = configuration
        self.pool = pool ?? Self.defaultPool
    }

    /// Sends `request` on the blocking pool; see `HTTPFetching` for the contract.
    public func send(_ request: OutboundRequest) async throws -> InboundResponse {
        let prepared = try PreparedRequest(request, defaults: configuration)
        return try await pool.run { [self] in try self.perform(prepared) }
    }

    /// Runs one transfer synchronously on the calling (pool) thread.
    private func perform(_ request: PreparedRequest) throws -> InboundResponse {
        guard CurlGlobal.initialized else {
            throw HTTPClientError(.transferFailed, message: "curl_global_init failed")
        }
        let handle = try checkOut()
        defer { checkIn(handle) }
        return try handle.perform(request, configuration: configuration)
    }

    private func checkOut() throws -> EasyHandle {
        if let reused = idleHandles.withLock({ $0.popLast() }) { return reused }
        guard let fresh = EasyHandle() else {
            throw HTTPClientError(.transferFailed, message: "curl_easy_init failed")
        }
        return fresh
    }

    private func checkIn(_ handle: EasyHandle) {
        handle.reset()
        let limit = configuration.maxIdleHandles
        // A handle that does not fit is dropped here, outside the lock; its deinit closes its connections.
        let surplus: EasyHandle? = idleHandles.withLock { idle in
            guard idle.count < limit else { return handle }
            idle.append(handle)
            return nil
        }
        _ = surplus
    }
}

/// Runs `curl_global_init` exactly once, before the first transfer.
private enum CurlGlobal {
    static let initialized: Bool = curl_global_init(ccurl_global_all()) == CURLE_OK
}

/// A request that passed validation, with every default resolved.
struct PreparedRequest: Sendable {
    let method: OutboundRequest.Method
    let url: String
    let headerLines: [String]
    let body: [UInt8]?
    let timeoutMilliseconds: Int
    let connectTimeoutMilliseconds: Int
    let maxResponseBytes: Int
    let followRedirects: Bool

    init(_ request: OutboundRequest, defaults: CurlHTTPClient.Configuration) throws {
        guard OutboundRequest.Method.supported.contains(request.method) else {
            throw HTTPClientError(.invalidRequest, message: "unsupported method \(request.method)")
        }
        method = request.method
        url = try Self.validatedURL(request.url)
        var lines: [String] = []
        var hasExpect = false
        for (name, value) in request.headers {
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
                throw HTTPClientError(.invalidRequest, message: "invalid header name")
            }
            guard !value.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a || $0 == 0 }) else {
                throw HTTPClientError(.invalidRequest, message: "header \(name) contains CR, LF or NUL")
            }
            let lowered = name.lowercased()
            guard lowered != "content-length" && lowered != "transfer-encoding" else {
                throw HTTPClientError(.invalidRequest, message: "\(name) is computed by the client")
            }
            if lowered == "expect" { hasExpect = true }
            // libcurl drops "Name:" with an empty value; "Name;" sends it empty.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        // Without this libcurl sends "Expect: 100-continue" for larger bodies and stalls up to a second
        // against servers that ignore it.
        if !hasExpect { lines.append("Expect:") }
        headerLines = lines
        if request.body != nil && (request.method == .get || request.method == .head) {
            throw HTTPClientError(.invalidRequest, message: "\(request.method) requests cannot have a body")
        }
        body = request.body
        timeoutMilliseconds = try Self.milliseconds(request.timeout ?? defaults.timeout, "timeout")
        connectTimeoutMilliseconds = try Self.milliseconds(
            request.connectTimeout ?? defaults.connectTimeout, "connect timeout")
        maxResponseBytes = request.maxResponseBytes ?? defaults.maxResponseBytes
        guard maxResponseBytes > 0 else {
            throw HTTPClientError(.invalidRequest, message: "the response size limit must be positive")
        }
        followRedirects = request.followRedirects ?? defaults.followRedirects
    }

    private static func validatedURL(_ url: String) throws -> String {
        let lowered = url.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
            throw HTTPClientError(.invalidURL, message: "only http and https URLs are allowed")
        }
        guard url.utf8.count <= 8192, url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw HTTPClientError(.invalidURL, message: "URL is too long or contains spaces or non-ASCII bytes")
        }
        let rest = url.utf8.dropFirst(lowered.hasPrefix("https://") ? 8 : 7)
        let authority = rest.prefix { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
        guard !authority.isEmpty else { throw HTTPClientError(.invalidURL, message: "URL has no host") }
        return url
    }

    private static func milliseconds(_ duration: Duration, _ what: String) throws -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, seconds < 86_400 * 7, duration > .zero else {
            throw HTTPClientError(.invalidRequest, message: "\(what) must be positive and under a week")
        }
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}

/// Collects one response from libcurl's callbacks; used by exactly one transfer at a time.
final class ResponseSink {
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var headerBytes = 0
    let maxBodyBytes: Int
    let maxHeaderBytes: Int
    var exceededLimit = false

    init(maxBodyBytes: Int, maxHeaderBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
    }

    func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard body.count + bytes.count <= maxBodyBytes else {
            exceededLimit = true
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0d || $0 == 0x0a }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return bytes[bytes.startIndex..<bytes.startIndex] }
        return bytes[first...last]
    }

    func appendHeaderLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        headerBytes += bytes.count
        guard headerBytes <= maxHeaderBytes else {
            exceededLimit = true
            return false
        }
        let line = Self.trimmed(bytes[...])
        if line.starts(with: "HTTP/".utf8) {
            // A new status line: an interim (1xx) or redirect response came before; keep only the last.
            headers.removeAll()
        } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            let name = Self.trimmed(line[..<colon])
            let value = Self.trimmed(line[(colon + 1)...])
            if !name.isEmpty {
                headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            }
        }
        return true
    }
}

private func receiveBody(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return 0 }
    // Returning less than `length` makes libcurl abort the transfer with CURLE_WRITE_ERROR.
    return sink.appendBody(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private func receiveHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return 0 }
    return sink.appendHeaderLine(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

/// One libcurl easy handle plus its error buffer; used by one transfer at a time (checked out).
final class EasyHandle: @unchecked Sendable {
    private let curl: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let errorBufferSize = Int(ccurl_error_size())

    init?() {
        guard let curl = curl_easy_init() else { return nil }
        self.curl = curl
        errorBuffer = .allocate(capacity: errorBufferSize)
        errorBuffer.initialize(repeating: 0, count: errorBufferSize)
    }

    deinit {
        curl_easy_cleanup(curl)
        errorBuffer.deallocate()
    }

    /// Clears every option but keeps the connection cache, so the next request can reuse connections.
    func reset() { curl_easy_reset(curl) }

    func perform(_ request: PreparedRequest, configuration: CurlHTTPClient.Configuration) throws -> InboundResponse {
        let sink = ResponseSink(maxBodyBytes: request.maxResponseBytes, maxHeaderBytes: configuration.maxHeaderBytes)
        errorBuffer[0] = 0
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for line in request.headerLines {
            guard let appended = curl_slist_append(headerList, line) else {
                throw HTTPClientError(.transferFailed, message: "curl_slist_append failed")
            }
            headerList = appended
        }

        var status = CURLE_OK
        func set(_ result: CURLcode) { if status == CURLE_OK { status = result } }
        set(ccurl_setopt_ptr(curl, CURLOPT_ERRORBUFFER, errorBuffer))
        set(ccurl_setopt_str(curl, CURLOPT_URL, request.url))
        set(ccurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1))
        set(ccurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMilliseconds))
        set(ccurl_setopt_long(curl, CURLOPT_TIMEOUT_MS, request.timeoutMilliseconds))
        set(ccurl_setopt_str(curl, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(ccurl_setopt_str(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        set(ccurl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0))
        set(ccurl_setopt_long(curl, CURLOPT_MAXREDIRS, configuration.maxRedirects))
        set(ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, configuration.verifyTLS ? 1 : 0))
        set(ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, configuration.verifyTLS ? 2 : 0))
        if let caFile = configuration.caFile { set(ccurl_setopt_str(curl, CURLOPT_CAINFO, caFile)) }
        set(ccurl_setopt_str(curl, CURLOPT_USERAGENT, configuration.userAgent))
        // Lets libcurl refuse a too-large body up front when the server announces its length.
        set(ccurl_setopt_off(curl, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(request.maxResponseBytes)))
        set(ccurl_setopt_ptr(curl, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList)))
        set(ccurl_setopt_callback(curl, CURLOPT_WRITEFUNCTION, receiveBody))
        set(ccurl_setopt_callback(curl, CURLOPT_HEADERFUNCTION, receiveHeader))
        let context = Unmanaged.passUnretained(sink).toOpaque()
        set(ccurl_setopt_ptr(curl, CURLOPT_WRITEDATA, context))
        set(ccurl_setopt_ptr(curl, CURLOPT_HEADERDATA, context))
        setMethodAndBody(request, set)
        guard status == CURLE_OK else { throw error(for: status, sink: sink) }

        let result = withExtendedLifetime(sink) { curl_easy_perform(curl) }
        guard result == CURLE_OK else { throw error(for: result, sink: sink) }
        var code = 0
        _ = ccurl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &code)
        return InboundResponse(status: code, headers: sink.headers, body: sink.body)
    }

    private func setMethodAndBody(_ request: PreparedRequest, _ set: (CURLcode) -> Void) {
        switch request.method {
        case .get: set(ccurl_setopt_long(curl, CURLOPT_HTTPGET, 1))
        case .head: set(ccurl_setopt_long(curl, CURLOPT_NOBODY, 1))
        case .post: set(ccurl_setopt_long(curl, CURLOPT_POST, 1))
        default: set(ccurl_setopt_str(curl, CURLOPT_CUSTOMREQUEST, request.method.rawValue))
        }
        // PUT and PATCH always carry a body (possibly empty, so Content-Length: 0 is sent).
        let body =
            request.body ?? (request.method == .post || request.method == .put || request.method == .patch ? [] : nil)
        guard let body else { return }
        set(ccurl_setopt_off(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
        // COPYPOSTFIELDS copies the bytes now; POSTFIELDS would keep this temporary pointer.
        if body.isEmpty {
            set(ccurl_setopt_str(curl, CURLOPT_COPYPOSTFIELDS, ""))
        } else {
            body.withUnsafeBytes {
                set(ccurl_setopt_ptr(curl, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress)))
            }
        }
    }

    private func error(for code: CURLcode, sink: ResponseSink) -> HTTPClientError {
        let buffered = errorBuffer[0] != 0 ? String(cString: errorBuffer) : ""
        let message = buffered.isEmpty ? String(cString: curl_easy_strerror(code)) : buffered
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPClientError(.timeout, message: message)
        case CURLE_FILESIZE_EXCEEDED:
            return HTTPClientError(.responseTooLarge, message: message)
        case CURLE_WRITE_ERROR where sink.exceededLimit:
            return HTTPClientError(.responseTooLarge, message: "response exceeds \(sink.maxBodyBytes) bytes")
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_SEND_ERROR,
            CURLE_RECV_ERROR, CURLE_GOT_NOTHING:
            return HTTPClientError(.connectionFailed, message: message)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return HTTPClientError(.invalidURL, message: message)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_USE_SSL_FAILED:
            return HTTPClientError(.tlsFailed, message: message)
        case CURLE_TOO_MANY_REDIRECTS:
            return HTTPClientError(.tooManyRedirects, message: message)
        default:
            return HTTPClientError(.transferFailed, message: message)
        }
    }
}
