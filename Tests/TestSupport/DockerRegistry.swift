import Foundation

/// A Docker Distribution 2.8 registry (Debian's `docker-registry`) on a free loopback port, with
/// filesystem storage in its own temporary directory; token auth, deletion and notifications optional.
///
/// `stop()` kills the process and keeps the storage, so `start()` can bring the same registry back
/// (a restart test); `remove()` also deletes the directory (done on deinit too).
public final class DockerRegistry {
    /// The executable every test starts.
    public static let executable = "/usr/bin/docker-registry"

    /// Whether Debian's `docker-registry` is installed (`.ci/install-deps test` installs it).
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// The `auth.token` section: the registry trusts tokens signed by a key certified in the bundle.
    public struct TokenAuth: Sendable {
        /// The token endpoint URL the 401 challenge names (the registry itself never calls it).
        public var realm: String
        /// The audience tokens must carry.
        public var service: String
        /// The issuer tokens must carry.
        public var issuer: String
        /// Path of the PEM bundle of trusted signing certificates.
        public var rootCertificateBundle: String

        /// Describes token auth.
        public init(realm: String, service: String, issuer: String, rootCertificateBundle: String) {
            self.realm = realm
            self.service = service
            self.issuer = issuer
            self.rootCertificateBundle = rootCertificateBundle
        }
    }

    /// One `notifications.endpoints` entry, with test-friendly (short) retry settings by default.
    public struct Notifications: Sendable {
        /// Where envelopes are POSTed.
        public var url: String
        /// The `Authorization` header value sent with every envelope (nil: none).
        public var authorization: String?
        /// `ignoredmediatypes`, e.g. `application/octet-stream` to drop blob events.
        public var ignoredMediaTypes: [String]
        /// `ignore.actions`, e.g. `pull`.
        public var ignoredActions: [String]
        /// Per-delivery timeout (Go duration).
        public var timeout: String
        /// Consecutive failures before the breaker backs off.
        public var threshold: Int
        /// How long the breaker waits (Go duration).
        public var backoff: String
        /// `events.includereferences`: manifest events list their references.
        public var includeReferences: Bool

        /// Describes an endpoint; the defaults retry quickly and filter nothing.
        public init(
            url: String, authorization: String? = nil, ignoredMediaTypes: [String] = [], ignoredActions: [String] = [],
            timeout: String = "2s", threshold: Int = 3, backoff: String = "200ms", includeReferences: Bool = false
        ) {
            self.url = url
            self.authorization = authorization
            self.ignoredMediaTypes = ignoredMediaTypes
            self.ignoredActions = ignoredActions
            self.timeout = timeout
            self.threshold = threshold
            self.backoff = backoff
            self.includeReferences = includeReferences
        }
    }

    /// Everything that varies between the registries tests start.
    public struct Options: Sendable {
        /// Token auth, or nil for an open registry.
        public var tokenAuth: TokenAuth?
        /// `storage.delete.enabled`: off makes manifest DELETE answer 405.
        public var deleteEnabled: Bool
        /// A notifications endpoint, or nil.
        public var notifications: Notifications?
        /// `http.prefix` (such as `/registry/`): the API lives under it; nil for the root.
        public var pathPrefix: String?
        /// The port, or nil for a free one.
        public var port: Int?
        /// Top-level sections pasted verbatim at the end of `config.yml`, as an operator pastes what
        /// `portcullis registry config` prints (leave `tokenAuth` and `notifications` nil then).
        public var pastedSections: String?

        /// Describes a registry; the defaults give an open registry with deletion enabled on a free port.
        public init(
            tokenAuth: TokenAuth? = nil, deleteEnabled: Bool = true, notifications: Notifications? = nil,
            pathPrefix: String? = nil, port: Int? = nil, pastedSections: String? = nil
        ) {
            self.tokenAuth = tokenAuth
            self.deleteEnabled = deleteEnabled
            self.notifications = notifications
            self.pathPrefix = pathPrefix
            self.port = port
            self.pastedSections = pastedSections
        }

        /// Whether `GET /v2/` challenges for a token: token auth configured, or an `auth:` section pasted.
        var usesTokenAuth: Bool {
            tokenAuth != nil || (pastedSections?.split(separator: "\n").contains { $0.hasPrefix("auth:") } ?? false)
        }
    }

    /// What this registry was configured with.
    public let options: Options
    /// The loopback port it listens on.
    public let port: Int
    /// Its configuration, logs and storage.
    public let directory: TemporaryDirectory
    private var process: BackgroundProcess?
    private var starts = 0

    /// The `host:port` clients put in image references.
    public var host: String { "127.0.0.1:\(port)" }
    /// The base URL, path prefix included, without a trailing slash (`…/v2/` follows it).
    public var url: String {
        let prefix = (options.pathPrefix ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        return "http://\(host)" + (prefix.isEmpty ? "" : "/\(prefix)")
    }
    /// The configuration file the registry runs.
    public var configFile: URL { directory.path("config.yml") }
    /// The storage root (kept across `stop()`/`start()`).
    public var storageDirectory: URL { directory.path("storage") }
    /// Whether the process is up.
    public var isRunning: Bool { process?.isRunning ?? false }

    /// Writes the configuration in a new temporary directory; ``start()`` runs it.
    public init(_ options: Options = Options()) throws {
        self.options = options
        port = try options.port ?? freePort()
        directory = try TemporaryDirectory("registry")
        do {
            try FileManager.default.createDirectory(at: storageDirectory, withIntermediateDirectories: true)
            try configuration().write(to: configFile, atomically: true, encoding: .utf8)
        } catch {
            directory.remove()
            throw error
        }
    }

    /// The YAML the registry reads. Values go in as JSON strings, which YAML reads verbatim.
    private func configuration() -> String {
        // Debug logging: on a refused token the registry names the real reason (wrong audience,
        // untrusted key), which is what a failing test needs to show.
        var lines = [
            "version: 0.1",
            "log:",
            "  level: debug",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            "    rootdirectory: \(quoted(storageDirectory.path))",
            "  delete:",
            "    enabled: \(options.deleteEnabled)",
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            "  addr: 127.0.0.1:\(port)",
            "  secret: \(quoted("test-\(UUID().uuidString)"))",
        ]
        if let prefix = options.pathPrefix {
            let trimmed = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            lines.append("  prefix: \(quoted("/\(trimmed)/"))")
        }
        if let auth = options.tokenAuth {
            lines += [
                "auth:",
                "  token:",
                "    realm: \(quoted(auth.realm))",
                "    service: \(quoted(auth.service))",
                "    issuer: \(quoted(auth.issuer))",
                "    rootcertbundle: \(quoted(auth.rootCertificateBundle))",
            ]
        }
        if let notifications = options.notifications {
            lines += [
                "notifications:",
                "  events:",
                "    includereferences: \(notifications.includeReferences)",
                "  endpoints:",
                "    - name: test-listener",
                "      url: \(quoted(notifications.url))",
                "      timeout: \(notifications.timeout)",
                "      threshold: \(notifications.threshold)",
                "      backoff: \(notifications.backoff)",
            ]
            if let authorization = notifications.authorization {
                lines += ["      headers:", "        Authorization: [\(quoted(authorization))]"]
            }
            if !notifications.ignoredMediaTypes.isEmpty {
                lines.append(
                    "      ignoredmediatypes: [\(notifications.ignoredMediaTypes.map(quoted).joined(separator: ", "))]")
            }
            if !notifications.ignoredActions.isEmpty {
                lines += [
                    "      ignore:",
                    "        actions: [\(notifications.ignoredActions.map(quoted).joined(separator: ", "))]",
                ]
            }
        }
        lines += ["health:", "  storagedriver:", "    enabled: false"]
        if let pasted = options.pastedSections { lines.append(pasted) }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    private func quoted(_ value: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [value], options: [.withoutEscapingSlashes])) ?? Data()
        let array = String(decoding: data, as: UTF8.self)
        return String(array.dropFirst().dropLast())
    }

    /// Starts `docker-registry serve` (again, on the same storage, after ``stop()``) and waits until
    /// `GET /v2/` answers as configured: 401 with the Bearer challenge under token auth, else 200.
    public func start(timeout seconds: Double = 20) async throws {
        guard process == nil else { return }
        guard Self.isInstalled else {
            throw DockerRegistryError("\(Self.executable) is missing; run .ci/install-deps test")
        }
        starts += 1
        // Every REGISTRY_* variable overrides the configuration (skopeo's REGISTRY_AUTH_FILE would
        // become auth.file and stop the registry from starting), so none is passed on.
        let process = try BackgroundProcess(
            name: "docker-registry", executable: Self.executable, arguments: ["serve", configFile.path],
            environment: [:], removing: ["REGISTRY_"], directory: directory.url,
            logFile: directory.path("registry-\(starts).log"))
        self.process = process
        let tokenAuth = options.usesTokenAuth
        let probe = url + "/v2/"
        // A registry that exited (a configuration it refused, a port taken) ends the wait at once.
        let ready = try await waitUntil(seconds: seconds) {
            guard process.isRunning else { return true }
            let answer = try await Self.probe(probe)
            return tokenAuth ? answer.status == 401 && answer.bearerChallenge : answer.status == 200
        }
        guard ready, process.isRunning else {
            let log = process.logTail()
            stop()
            throw DockerRegistryError("the registry on \(host) did not become ready\n\(log)")
        }
    }

    /// Status of `GET url` and whether it carried a Bearer challenge, through curl (no client state).
    private static func probe(_ url: String) async throws -> (status: Int, bearerChallenge: Bool) {
        let result = try await Processes.run(
            "/usr/bin/curl", ["-sS", "-m", "5", "-D", "-", "-o", "/dev/null", url], timeout: 10)
        guard result.status == 0 else { return (0, false) }
        let lines = result.stdout.split(whereSeparator: \.isNewline).map(String.init)
        let status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
        let bearer = lines.contains { $0.lowercased().hasPrefix("www-authenticate: bearer realm=") }
        return (status, bearer)
    }

    /// The end of the current (or last) run's log.
    public func logTail(_ characters: Int = 4000) -> String {
        if let process { return process.logTail(characters) }
        let last = directory.path("registry-\(starts).log")
        guard let text = try? String(contentsOf: last, encoding: .utf8) else { return "(registry not started)" }
        return "--- docker-registry log (\(last.path)) ---\n" + String(text.suffix(characters))
    }

    /// Kills the registry by PID and keeps its storage; safe to call more than once.
    public func stop() {
        process?.stop()
        process = nil
    }

    /// Kills the registry and removes its directory.
    public func remove() {
        stop()
        directory.remove()
    }

    deinit { remove() }
}

/// The registry launcher could not bring the registry up.
public struct DockerRegistryError: Error, CustomStringConvertible {
    /// What went wrong, with the end of the registry's log.
    public let description: String
    /// Wraps a message.
    public init(_ description: String) { self.description = description }
}
