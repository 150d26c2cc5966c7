import Diagnostics
import Foundation
import WorkloadIdentity

/// The validated, typed configuration of a Portcullis server.
///
/// Built by ``ConfigurationLoader`` from `config.d/*.yaml` fragments and `PORTCULLIS_*` environment
/// variables; every field has a default except list entries' required keys.
public struct PortcullisConfiguration: Sendable, Hashable {
    /// The HTTP listener.
    public var server = ServerSettings()
    /// Structured logging.
    public var log = LogSettings()
    /// The database.
    public var storage = StorageSettings()
    /// The token endpoint and signing keys.
    public var token = TokenSettings()
    /// Portus's permission switches.
    public var policy = PolicySettings()
    /// The audit log.
    public var audit = AuditSettings()
    /// The endpoint that receives registry notifications, and the worker that processes them.
    public var notifications = NotificationSettings()
    /// Periodic reconciliation of the stored catalog with each registry.
    public var catalogSync = CatalogSyncSettings()
    /// Outgoing webhooks: how deliveries are sent and retried.
    public var webhooks = WebhookSettings()
    /// The web UI.
    public var ui = UISettings()
    /// Sign-in through identity providers, and passwords at the registry.
    public var login = LoginSettings()
    /// The registries this server issues tokens for, in file order.
    public var registries: [RegistrySettings] = []
    /// The identity providers, in file order (sort by ``ProviderSettings/order`` to use them).
    public var providers: [ProviderSettings] = []
    /// CI workload identity: trusted CI issuers and the trust policies whose names are `docker login` usernames.
    public var workloadIdentity = WorkloadIdentitySettings()
    /// The fragments that were loaded, in load order.
    public var fragments: [String] = []
    /// Where each value was written, for checks made after loading (not part of the value: two
    /// configurations that differ only in where they were written are equal).
    public var origins = ConfigOrigins()

    /// A configuration with every default and no registries or providers.
    public init() {}

    /// The effective configuration as YAML, with secrets shown only as their references.
    public func renderEffective() -> String {
        YAMLRenderer.render(.map(Self.fields.map { ($0.key, $0.render(self)) }))
    }

    /// ``renderEffective()`` with the origin of every value as a comment at the end of its line:
    /// `file:line` of the fragment that set it (the last one, when later fragments override),
    /// `$PORTCULLIS_…` for the environment, or `default`. `config check --origins` prints it.
    public func renderEffectiveWithOrigins() -> String {
        YAMLRenderer.render(.map(Self.fields.map { ($0.key, $0.render(self)) })) { keyPath in
            origins.origin(of: keyPath)
        }
    }

    static let fields: [Field<PortcullisConfiguration>] = [
        .section("server", \.server, ServerSettings.fields),
        .section("log", \.log, LogSettings.fields),
        .section("storage", \.storage, StorageSettings.fields),
        .section("token", \.token, TokenSettings.fields),
        .section("policy", \.policy, PolicySettings.fields),
        .section("audit", \.audit, AuditSettings.fields),
        .section("notifications", \.notifications, NotificationSettings.fields),
        .section("catalogSync", \.catalogSync, CatalogSyncSettings.fields),
        .section("webhooks", \.webhooks, WebhookSettings.fields),
        .section("ui", \.ui, UISettings.fields),
        .section("login", \.login, LoginSettings.fields),
        .records(
            "registries",
            \.registries,
            "Registries this server issues tokens for; a later fragment's entry with the same name overrides key by key."
        ),
        .records(
            "providers", \.providers,
            "Identity providers; a later fragment's entry with the same id overrides key by key, others are added."),
        .section("workloadIdentity", \.workloadIdentity, WorkloadIdentitySettings.fields),
    ]

    /// Top-level keys holding lists of named entries (merged by name across fragments, ``FragmentMerge``);
    /// they cannot be set from the environment.
    static var listSections: Set<String> { Set(FragmentMerge.namedLists.keys) }
}

/// The HTTP listener.
public struct ServerSettings: Sendable, Hashable {
    /// The address and port to listen on. Default `127.0.0.1:5080`.
    public var listen = ListenAddress(host: "127.0.0.1", port: 5080)
    /// The URL clients use to reach this server (the token realm and UI links derive from it).
    public var publicURL = URL(string: "http://127.0.0.1:5080")!
    /// Event-loop threads; 0 means one per core. Default 0.
    public var eventLoops = 0
    /// Open connections beyond this are refused. Default 4096.
    public var maxConnections = 4096
    /// Open connections from one client address beyond this are refused (IPv6 per /64); through
    /// trusted proxies, requests in flight per forwarded client. Default 256.
    public var maxConnectionsPerAddress = 256
    /// A kept-alive connection idle between requests is closed after this. Default 60s.
    public var idleTimeout: Duration = .seconds(60)
    /// A new connection's first request head, and a later head from its first byte, must arrive within
    /// this. Default 10s.
    public var headerTimeout: Duration = .seconds(10)
    /// The request body must arrive within this. Default 30s.
    public var bodyTimeout: Duration = .seconds(30)
    /// Larger request bodies are refused with 413. Default 1MiB.
    public var maxBodySize = 1 << 20
    /// In-flight requests get this long to finish on shutdown. Default 10s.
    public var shutdownGracePeriod: Duration = .seconds(10)
    /// Peers whose `X-Forwarded-For` is believed, as CIDR blocks; exempt from the per-address
    /// connection cap. Default none.
    public var trustedProxies: [String] = []
    /// In-process TLS; both paths or neither.
    public var tls = TLSSettings()

    /// The defaults.
    public init() {}

    static let fields: [Field<ServerSettings>] = [
        .value("listen", \.listen, .listenAddress, "Address and port to listen on; IPv6 as [::1]:5080."),
        .value(
            "publicURL",
            \.publicURL,
            .httpURL,
            "The URL clients reach this server at; the token realm is derived from it."
        ),
        .value("eventLoops", \.eventLoops, .integer(0...1024), "Event-loop threads; 0 means one per CPU core."),
        .value(
            "maxConnections",
            \.maxConnections,
            .integer(1...1_000_000),
            "Open connections beyond this are refused."
        ),
        .value(
            "maxConnectionsPerAddress",
            \.maxConnectionsPerAddress,
            .integer(1...1_000_000),
            "Open connections from one client address (IPv6: per /64) beyond this are refused; through trustedProxies, requests in flight per forwarded client."
        ),
        .value(
            "idleTimeout",
            \.idleTimeout,
            .duration(.seconds(1)...(.seconds(3600))),
            "A kept-alive connection idle between requests is closed after this."
        ),
        .value(
            "headerTimeout",
            \.headerTimeout,
            .duration(.seconds(1)...(.seconds(600))),
            "A new connection's first request head (a later one's from its first byte) must arrive within this; silence is closed, a partial head gets 408."
        ),
        .value(
            "bodyTimeout",
            \.bodyTimeout,
            .duration(.seconds(1)...(.seconds(3600))),
            "The request body must arrive within this."
        ),
        .value(
            "maxBodySize",
            \.maxBodySize,
            .byteSize(1024...(1 << 30)),
            "Larger request bodies are refused with 413."
        ),
        .value(
            "shutdownGracePeriod",
            \.shutdownGracePeriod,
            .duration(.zero...(.seconds(600))),
            "In-flight requests get this long to finish on shutdown."
        ),
        .value(
            "trustedProxies",
            \.trustedProxies,
            .list(of: .cidr),
            "Peers (CIDR blocks) whose X-Forwarded-For header is believed, exempt from maxConnectionsPerAddress; from the environment, comma-separated."
        ),
        .section("tls", \.tls, TLSSettings.fields),
    ]
}

/// In-process TLS for the listener.
public struct TLSSettings: Sendable, Hashable {
    /// PEM certificate chain; `nil` serves plain HTTP.
    public var certificate: String?
    /// PEM private key of the certificate.
    public var key: String?

    /// No TLS.
    public init() {}

    /// Whether TLS is configured.
    public var isEnabled: Bool { certificate != nil && key != nil }

    static let fields: [Field<TLSSettings>] = [
        .optional(
            "certificate",
            \.certificate,
            .path,
            "PEM certificate chain; set with key to serve HTTPS, leave both unset for HTTP."
        ),
        .optional("key", \.key, .path, "PEM private key for the certificate."),
    ]
}

/// Structured logging.
public struct LogSettings: Sendable, Hashable {
    /// A log level name; the server maps it onto its logger's level.
    public enum Level: String, Sendable, Hashable, CaseIterable {
        /// Everything, including per-request detail.
        case debug
        /// Normal operation.
        case info
        /// Significant but normal events.
        case notice
        /// Something unexpected that was handled.
        case warning
        /// Something failed.
        case error
    }

    /// A log line format.
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// `key=value` pairs.
        case logfmt
        /// One JSON object a line.
        case json
    }

    /// Lines below this level are dropped. Default `info`.
    public var level = Level.info
    /// The line format. Default `logfmt`.
    public var format = Format.logfmt

    /// The defaults.
    public init() {}

    static let fields: [Field<LogSettings>] = [
        .value("level", \.level, .oneOf(Level.self), "Lines below this level are dropped."),
        .value("format", \.format, .oneOf(Format.self), "Line format: logfmt (key=value) or json."),
    ]
}

/// The database.
public struct StorageSettings: Sendable, Hashable {
    /// A storage backend.
    public enum Driver: String, Sendable, Hashable, CaseIterable {
        /// An embedded SQLite file.
        case sqlite
        /// A PostgreSQL server.
        case postgres
    }

    /// The backend. Default `sqlite`.
    public var driver = Driver.sqlite
    /// SQLite settings, used when `driver` is `sqlite`.
    public var sqlite = SQLiteSettings()
    /// PostgreSQL settings, used when `driver` is `postgres`.
    public var postgres = PostgresSettings()
    /// Whether `serve` starts although the database, a key or a secret file is open to group or others.
    /// Default false: it refuses and says which `chmod` to run.
    public var allowLooseModes = false
    /// How long an instance's lease on a singleton job lasts without renewal: when the instance dies, another
    /// one on the same database takes its jobs over within this time. Default 30s.
    public var leaseDuration: Duration = .seconds(30)

    /// The defaults.
    public init() {}

    static let fields: [Field<StorageSettings>] = [
        .value("driver", \.driver, .oneOf(Driver.self), "Storage backend."),
        .section("sqlite", \.sqlite, SQLiteSettings.fields),
        .section("postgres", \.postgres, PostgresSettings.fields),
        .value(
            "allowLooseModes", \.allowLooseModes, .boolean,
            "Start even when the database, a signing or TLS key, or a {file:} secret is open to group or others (refused by default, with the chmod to run)."
        ),
        .value(
            "leaseDuration", \.leaseDuration, .duration(.seconds(3)...(.seconds(600))),
            "How long an instance's lease on a singleton job (catalog sync, group sync, pruning) lasts unrenewed: when it dies, another instance takes its jobs over within this time."
        ),
    ]
}

/// The embedded SQLite database.
public struct SQLiteSettings: Sendable, Hashable {
    /// The database file, created if missing. Default `var/portcullis.sqlite3`.
    public var path = "var/portcullis.sqlite3"
    /// How long a writer waits for a lock. Default 5s.
    public var busyTimeout: Duration = .seconds(5)

    /// The defaults.
    public init() {}

    static let fields: [Field<SQLiteSettings>] = [
        .value("path", \.path, .path, "Database file, created if missing (relative to the working directory)."),
        .value("busyTimeout", \.busyTimeout, .duration(.zero...(.seconds(600))), "How long a writer waits for a lock."),
    ]
}

/// A PostgreSQL server.
public struct PostgresSettings: Sendable, Hashable {
    /// The connection URL (`postgres://user:password@host/db`), a secret because it may hold a
    /// password; required when the driver is `postgres`.
    public var url: Secret?
    /// Connections kept open. Default 10.
    public var poolSize = 10
    /// libpq's `sslmode`, overriding the URL's; nil keeps the URL's (libpq's default is `prefer`).
    public var sslMode: SSLMode?
    /// CA certificates (PEM) the server's certificate must chain to, for `verify-ca` and `verify-full`.
    public var caFile: String?
    /// The longest one database statement may run, waiting for the writers' lock included. Default 30s.
    public var statementTimeout: Duration = .seconds(30)
    /// Whether statements are prepared once per connection (fastest); false for a pooler in transaction mode
    /// that cannot carry them (PgBouncer before 1.21). Default true.
    public var preparedStatements = true

    /// libpq's TLS modes.
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        case disable
        case allow
        case prefer
        case require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// The defaults.
    public init() {}

    static let fields: [Field<PostgresSettings>] = [
        .optional(
            "url",
            \.url,
            .secret,
            "Connection URL (postgres://user:password@host/db) by reference; required with the postgres driver."
        ),
        .value("poolSize", \.poolSize, .integer(1...1000), "Connections kept open."),
        .optional(
            "sslMode", \.sslMode, .oneOf(SSLMode.self), "TLS to the server (libpq sslmode); unset keeps the URL's."),
        .optional("caFile", \.caFile, .path, "CA certificates (PEM) the server's certificate must chain to."),
        .value(
            "statementTimeout", \.statementTimeout, .duration(.milliseconds(100)...(.seconds(3600))),
            "Longest one statement may run (set per transaction); then the request fails with 503."),
        .value(
            "preparedStatements", \.preparedStatements, .boolean,
            "Prepare statements once per connection; false behind a pooler in transaction mode that cannot keep them."),
    ]
}

/// The token endpoint and the keys that sign registry tokens.
public struct TokenSettings: Sendable, Hashable {
    /// The `iss` claim; the registry's `auth.token.issuer` must match. Default `portcullis`.
    public var issuer = "portcullis"
    /// How long a registry token is valid. Default 300s (bounds 60s...1h).
    public var lifetime: Duration = .seconds(300)
    /// The signing keys: all are published; the one whose certificate became valid most recently signs (see `keys rotate`).
    public var signingKeys = [
        SigningKeySettings(key: "var/keys/signing-key.pem", certificate: "var/keys/signing-cert.pem")
    ]
    /// The token endpoint path. Default `/v2/token`.
    public var path = "/v2/token"
    /// How the `kid` header names a key. Default `libtrust` (what registry 2.x requires).
    public var keyIDFormat = KeyIDFormat.libtrust
    /// How long a minted token is handed out again for the same user, registry and grants. Default 10s; 0s
    /// signs every token.
    public var reuseWindow: Duration = .seconds(10)
    /// Refresh-token expiry and the per-user limit.
    public var refresh = RefreshTokenSettings()
    /// The per-user limit of application tokens.
    public var applicationTokens = ApplicationTokenSettings()
    /// The limits of robot accounts.
    public var robots = RobotSettings()

    /// How token headers name the signing key.
    public enum KeyIDFormat: String, Sendable, Hashable, CaseIterable {
        /// Docker libtrust form (`ABCD:EFGH:…`), required by registry 2.x.
        case libtrust
        /// RFC 7638 JWK thumbprint, for registry 3.x with a `jwks` file.
        case jwkThumbprint = "jwk-thumbprint"
    }

    /// The defaults.
    public init() {}

    static let fields: [Field<TokenSettings>] = [
        .value("issuer", \.issuer, .string, "The iss claim; the registry's auth.token.issuer must equal it."),
        .value(
            "lifetime",
            \.lifetime,
            .duration(.seconds(60)...(.seconds(3600))),
            "How long a registry token is valid."
        ),
        .records(
            "signingKeys", \.signingKeys,
            "Signing key pairs; all are published, the newest valid certificate signs (10 s after its notBefore)."),
        .value("path", \.path, .urlPath, "Path of the token endpoint (the registry's auth.token.realm ends with it)."),
        .value(
            "keyIDFormat", \.keyIDFormat, .oneOf(KeyIDFormat.self),
            "kid header form: libtrust (registry 2.x) or jwk-thumbprint (registry 3.x with jwks)."),
        .value(
            "reuseWindow", \.reuseWindow, .duration(.zero...(.seconds(60))),
            "Hand out a token minted this recently again for the same user, registry and grants; 0s signs every time."
        ),
        .section("refresh", \.refresh, RefreshTokenSettings.fields),
        .section("applicationTokens", \.applicationTokens, ApplicationTokenSettings.fields),
        .section("robots", \.robots, RobotSettings.fields),
    ]
}

/// One token signing key and its certificate (the registry trusts the certificate).
public struct SigningKeySettings: Sendable, Hashable, SchemaRecord {
    /// PEM private key file.
    public var key = ""
    /// PEM certificate file for the key; the registry's `rootcertbundle` must contain it.
    public var certificate = ""

    /// A key pair with empty paths (both are required in a fragment).
    public init() {}

    /// A key pair at the given paths.
    public init(key: String, certificate: String) {
        self.key = key
        self.certificate = certificate
    }

    static let fields: [Field<SigningKeySettings>] = [
        .value("key", \.key, .path, required: true, "PEM private key file; generated on first start if missing."),
        .value(
            "certificate",
            \.certificate,
            .path,
            required: true,
            "PEM certificate for the key; the registry's rootcertbundle must hold it."
        ),
    ]
}

/// Portus's permission switches (`user_permission`, `delete`, `anonymous_browsing`, …).
public struct PolicySettings: Sendable, Hashable {
    /// Who may push (Portus `user_permission.push_images.policy`).
    public enum PushPolicy: String, Sendable, Hashable, CaseIterable {
        /// Owners and contributors of a team namespace, and users in their personal namespace.
        case allowTeams = "allow-teams"
        /// Users only in their personal namespace; admins anywhere.
        case allowPersonal = "allow-personal"
        /// Only admins.
        case adminOnly = "admin-only"
    }

    /// Who may push images. Default `allow-teams`.
    public var pushImages = PushPolicy.allowTeams
    /// Tag and repository deletion.
    public var delete = DeletePolicy()
    /// What non-admin users may do.
    public var userPermission = UserPermissions()
    /// Whether anonymous users may browse and pull public namespaces. Default true.
    public var anonymousBrowsing = true
    /// Whether the first user created through bootstrap becomes admin. Default true.
    public var firstUserAdmin = true
    /// The per-client-address limits on password guessing.
    public var passwordGuessing = PasswordGuessingSettings()

    /// The Portus defaults.
    public init() {}

    static let fields: [Field<PolicySettings>] = [
        .value(
            "pushImages",
            \.pushImages,
            .oneOf(PushPolicy.self),
            "Who may push: allow-teams, allow-personal or admin-only."
        ),
        .section("delete", \.delete, DeletePolicy.fields),
        .section("userPermission", \.userPermission, UserPermissions.fields),
        .value(
            "anonymousBrowsing",
            \.anonymousBrowsing,
            .boolean,
            "Anonymous users may browse and pull public namespaces."
        ),
        .value(
            "firstUserAdmin",
            \.firstUserAdmin,
            .boolean,
            "The first user, created by the explicit bootstrap, becomes admin."
        ),
        .section("passwordGuessing", \.passwordGuessing, PasswordGuessingSettings.fields),
    ]
}

/// Tag and repository deletion (Portus `delete`).
public struct DeletePolicy: Sendable, Hashable {
    /// Whether deletion is possible at all. Default true, as in Portus.
    public var enabled = true
    /// Whether team contributors (not only owners and admins) may delete. Default false.
    public var contributors = false

    /// The Portus defaults.
    public init() {}

    static let fields: [Field<DeletePolicy>] = [
        .value("enabled", \.enabled, .boolean, "Tags and repositories may be deleted (by owners and admins)."),
        .value("contributors", \.contributors, .boolean, "Team contributors may delete too."),
    ]
}

/// What non-admin users may do (Portus `user_permission.*.enabled`); admins always may.
public struct UserPermissions: Sendable, Hashable {
    /// Owners may change a namespace's visibility. Default true.
    public var changeVisibility = true
    /// Users may create teams. Default true.
    public var createTeam = true
    /// Team owners may manage members. Default true.
    public var manageTeam = true
    /// Users may create namespaces. Default true.
    public var createNamespace = true
    /// Owners may edit namespaces. Default true.
    public var manageNamespace = true
    /// Owners may create webhooks. Default true.
    public var createWebhook = true
    /// Owners may edit webhooks. Default true.
    public var manageWebhook = true

    /// The Portus defaults.
    public init() {}

    static let fields: [Field<UserPermissions>] = [
        .value("changeVisibility", \.changeVisibility, .boolean, "Namespace owners may change its visibility."),
        .value("createTeam", \.createTeam, .boolean, "Non-admin users may create teams."),
        .value("manageTeam", \.manageTeam, .boolean, "Team owners may add and remove members."),
        .value("createNamespace", \.createNamespace, .boolean, "Non-admin users may create namespaces."),
        .value("manageNamespace", \.manageNamespace, .boolean, "Namespace owners may edit it."),
        .value("createWebhook", \.createWebhook, .boolean, "Namespace owners may create webhooks."),
        .value("manageWebhook", \.manageWebhook, .boolean, "Namespace owners may edit webhooks."),
    ]
}
