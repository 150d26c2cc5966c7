// swift-tools-version:6.0
//
// Portcullis: identity federation and authorization server for Docker/OCI registries.
// No package dependencies: everything comes from the Swift toolchain or a Debian C library
// bound through a system-library target below.
import Foundation
import PackageDescription

/// Settings every Swift target shares.
let strictness: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

/// A system C library bound through `Sources/<name>/module.modulemap` + `shim.h`.
func systemLibrary(_ name: String, pkgConfig: String, apt: [String]) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt(apt)])
}

var targets: [Target] = [
    // MARK: C libraries (each touched by exactly one Swift wrapper target)
    systemLibrary("COpenSSL", pkgConfig: "openssl", apt: ["libssl-dev"]),
    systemLibrary("CCrypt", pkgConfig: "libxcrypt", apt: ["libcrypt-dev"]),
    systemLibrary("CSQLite3", pkgConfig: "sqlite3", apt: ["libsqlite3-dev"]),
    systemLibrary("CYAML", pkgConfig: "yaml-0.1", apt: ["libyaml-dev"]),
    systemLibrary("CCurl", pkgConfig: "libcurl", apt: ["libcurl4-openssl-dev"]),
    systemLibrary("CLDAP", pkgConfig: "ldap", apt: ["libldap-dev"]),
    systemLibrary("CPQ", pkgConfig: "libpq", apt: ["libpq-dev"]),
    // Linux-only socket glue Glibc does not export (epoll, eventfd, timerfd, accept4).
    .target(name: "CLinux"),

    // MARK: Core (no I/O)
    .target(name: "Diagnostics", swiftSettings: strictness),
    .target(name: "Threading", swiftSettings: strictness),
    .target(name: "HTTPCore", dependencies: ["Diagnostics"], swiftSettings: strictness),
    .target(name: "Storage", dependencies: ["Threading", "Diagnostics"], swiftSettings: strictness),
    // CI workload identity: trusted issuers, trust policies and their pure evaluation over a token's claims.
    .target(name: "JSONScanning", swiftSettings: strictness),
    .target(name: "WorkloadIdentity", dependencies: ["JSONScanning"], swiftSettings: strictness),

    // MARK: Edges (C libraries, sockets, SQL)
    .target(name: "CryptoCore", dependencies: ["COpenSSL", "CCrypt", "Diagnostics"], swiftSettings: strictness),
    .target(
        name: "Configuration", dependencies: ["CYAML", "Diagnostics", "WorkloadIdentity"], swiftSettings: strictness),
    .target(
        name: "HTTPServer",
        dependencies: ["CLinux", "HTTPCore", "CryptoCore", "Diagnostics", "Threading"],
        swiftSettings: strictness),
    // The outbound HTTP port (no C): what plugins fetch through; HTTPClient implements it over libcurl.
    .target(name: "HTTPFetchingCore", dependencies: ["Diagnostics"], swiftSettings: strictness),
    .target(
        name: "HTTPClient", dependencies: ["CCurl", "HTTPFetchingCore", "Threading", "Diagnostics"],
        swiftSettings: strictness),
    .target(name: "LDAPClient", dependencies: ["CLDAP", "Threading", "Diagnostics"], swiftSettings: strictness),
    // The store's queries written once over a connection protocol (no C): both SQL backends run them.
    .target(name: "SQLStorage", dependencies: ["Storage", "Diagnostics", "Threading"], swiftSettings: strictness),
    .target(
        name: "SQLiteStorage", dependencies: ["CSQLite3", "SQLStorage", "Storage", "Threading", "Diagnostics"],
        swiftSettings: strictness),
    .target(
        name: "PostgresStorage", dependencies: ["CPQ", "SQLStorage", "Storage", "Threading", "Diagnostics"],
        swiftSettings: strictness),
    // `db copy`: one deployment's rows into another database, either backend to either, verified per table.
    .target(
        name: "DatabaseCopy",
        dependencies: ["SQLStorage", "SQLiteStorage", "PostgresStorage", "Storage", "CryptoCore", "Diagnostics"],
        swiftSettings: strictness),

    // MARK: Identity and tokens
    .target(
        name: "IdentityCore", dependencies: ["Diagnostics", "Threading", "Storage", "HTTPFetchingCore"],
        swiftSettings: strictness),
    // The pure policy: principals, scopes, who may do what (no I/O, no HTTP, no keys).
    .target(name: "Authorization", dependencies: ["IdentityCore", "Storage"], swiftSettings: strictness),
    // JWS/JWT and JWK (RFC 7515, 7519, 7517) over CryptoCore's keys, for the token endpoint and plugins alike.
    .target(name: "JOSE", dependencies: ["CryptoCore", "Diagnostics", "JSONScanning"], swiftSettings: strictness),
    .target(
        name: "TokenAuthority",
        dependencies: [
            "Authorization", "JOSE", "IdentityCore", "CryptoCore", "Storage", "HTTPCore", "Diagnostics", "Threading",
            "OAuth2", "WorkloadIdentity",
        ],
        swiftSettings: strictness),
    // Federated identities to local accounts: links, provisioning, group → team sync.
    .target(
        name: "IdentityMapping", dependencies: ["IdentityCore", "Storage", "Diagnostics"], swiftSettings: strictness),
    // The OAuth2 client (PKCE, code exchange, refresh, revocation) every redirect provider shares, OpenID
    // discovery, the per-issuer JWKS cache and ID token validation, over the HTTPFetching port (no C, no curl).
    .target(
        name: "OAuth2", dependencies: ["IdentityCore", "HTTPFetchingCore", "JOSE", "CryptoCore", "Diagnostics"],
        swiftSettings: strictness),
    // Conformance suites every provider plugin's tests run (imports Swift Testing).
    .target(
        name: "ProviderTesting", dependencies: ["IdentityCore", "Diagnostics", "Storage", "Threading"],
        swiftSettings: strictness),

    // MARK: Registry integration (notifications, catalog, deletion, outgoing webhooks)
    // Notification and manifest shapes, the RegistryAPI contract, reconciliation plans: no I/O.
    .target(name: "RegistryCore", dependencies: ["Diagnostics", "Storage"], swiftSettings: strictness),
    // RegistryAPI over libcurl (through HTTPClient), with its own short-lived tokens.
    .target(
        name: "RegistryClient",
        dependencies: ["RegistryCore", "HTTPClient", "CryptoCore", "Diagnostics", "Threading"],
        swiftSettings: strictness),
    // Signed outgoing webhooks with retries and a delivery log.
    .target(
        name: "Webhooks",
        dependencies: ["RegistryCore", "Storage", "HTTPClient", "CryptoCore", "Diagnostics", "Threading"],
        swiftSettings: strictness),
    // The events endpoint, the event worker, reconciliation and deletion through Portcullis.
    .target(
        name: "RegistryIntegration",
        dependencies: [
            "RegistryCore", "Storage", "HTTPCore", "Diagnostics", "Threading", "Authorization",
            "IdentityCore", "Webhooks", "CryptoCore",
        ],
        swiftSettings: strictness),

    // MARK: Application services (accounts, teams, namespaces, repositories, tokens, robots, search, stars, audit)
    // for every front door: the CLI, the REST API and the web UI. No HTTP, no plugins.
    .target(
        name: "Administration",
        dependencies: [
            "Storage", "IdentityCore", "Diagnostics", "Authorization", "CryptoCore", "Threading", "Webhooks",
            "IdentityMapping", "WorkloadIdentity",
        ],
        swiftSettings: strictness),

    // `portcullis import portus`: a Portus 2.4 database's rows, read through a row port (no libpq here), carried
    // over through the store API and the services' rules in one transaction.
    .target(
        name: "PortusImport",
        dependencies: ["Administration", "Storage", "IdentityCore", "Webhooks", "RegistryCore", "Diagnostics"],
        swiftSettings: strictness),

    // MARK: REST API
    // `/api/v1`: the route table, its OpenAPI document, conventions and authentication; first resources.
    .target(
        name: "RESTAPI",
        dependencies: [
            "HTTPCore", "Diagnostics", "IdentityCore", "Storage", "Administration", "Authorization", "Webhooks",
            "RegistryCore", "WorkloadIdentity", "JSONScanning",
        ],
        swiftSettings: strictness),

    // MARK: Web UI
    // Server-rendered pages over the application services: sessions, CSRF, the escaping HTML builder, assets.
    .target(
        name: "WebUI",
        dependencies: [
            "HTTPCore", "Diagnostics", "IdentityCore", "Storage", "Administration", "Authorization", "CryptoCore",
            "WorkloadIdentity",
        ],
        swiftSettings: strictness),

    // MARK: Identity provider plugins (only ServerApp imports them)
    .target(
        name: "LocalPasswords", dependencies: ["IdentityCore", "CryptoCore", "Storage", "Threading", "Diagnostics"],
        path: "Plugins/LocalPasswords", swiftSettings: strictness),
    .target(
        name: "ApplicationTokens", dependencies: ["IdentityCore", "CryptoCore", "Storage", "Diagnostics"],
        path: "Plugins/ApplicationTokens", swiftSettings: strictness),
    .target(
        name: "LDAP", dependencies: ["IdentityCore", "LDAPClient", "Storage", "Threading", "Diagnostics"],
        path: "Plugins/LDAP", swiftSettings: strictness),
    .target(
        name: "OIDC",
        dependencies: ["IdentityCore", "OAuth2", "HTTPFetchingCore", "JOSE", "CryptoCore", "Diagnostics"],
        path: "Plugins/OIDC", swiftSettings: strictness),
    // The social providers: OAuth2 + REST (GitHub, Bitbucket) and OpenID Connect wrapped (GitLab, Google).
    .target(
        name: "GitHub", dependencies: ["IdentityCore", "OAuth2", "HTTPFetchingCore", "Diagnostics"],
        path: "Plugins/GitHub", swiftSettings: strictness),
    .target(
        name: "GitLab", dependencies: ["IdentityCore", "OAuth2", "HTTPFetchingCore", "Diagnostics"],
        path: "Plugins/GitLab", swiftSettings: strictness),
    .target(
        name: "Google", dependencies: ["IdentityCore", "OAuth2", "HTTPFetchingCore", "Diagnostics"],
        path: "Plugins/Google", swiftSettings: strictness),
    .target(
        name: "Bitbucket", dependencies: ["IdentityCore", "OAuth2", "HTTPFetchingCore", "Diagnostics"],
        path: "Plugins/Bitbucket", swiftSettings: strictness),

    // MARK: Composition root and executable
    .target(
        name: "ServerApp",
        dependencies: [
            "Configuration", "CryptoCore", "Diagnostics", "HTTPCore", "HTTPServer", "HTTPClient",
            "PostgresStorage", "SQLiteStorage", "Storage", "Threading", "IdentityCore", "Authorization", "JOSE",
            "TokenAuthority", "DatabaseCopy",
            "LocalPasswords", "ApplicationTokens", "LDAP", "OIDC", "IdentityMapping", "RegistryCore", "RegistryClient",
            "RegistryIntegration", "Webhooks", "RESTAPI", "Administration", "WebUI",
            "GitHub", "GitLab", "Google", "Bitbucket", "OAuth2", "WorkloadIdentity", "PortusImport",
        ],
        swiftSettings: strictness),
    .executableTarget(name: "portcullis", dependencies: ["ServerApp"], swiftSettings: strictness),

    // MARK: Tests
    .testTarget(name: "HTTPCoreTests", dependencies: ["HTTPCore"], swiftSettings: strictness),
    .testTarget(
        name: "HTTPServerTests", dependencies: ["HTTPServer", "HTTPCore", "CryptoCore", "TestSupport"],
        swiftSettings: strictness),
    .testTarget(
        name: "ConfigurationTests", dependencies: ["Configuration", "Diagnostics", "WorkloadIdentity"],
        swiftSettings: strictness),
    .testTarget(
        name: "StorageTests",
        dependencies: [
            "SQLiteStorage", "SQLStorage", "Storage", "PostgresStorage", "TestSupport", "Threading", "DatabaseCopy",
        ],
        swiftSettings: strictness),
    .testTarget(name: "CryptoCoreTests", dependencies: ["CryptoCore", "TestSupport"], swiftSettings: strictness),
    .testTarget(
        name: "WebUITests",
        dependencies: [
            "WebUI", "Administration", "Storage", "SQLiteStorage", "HTTPCore", "Diagnostics", "Threading",
            "ProviderTesting", "TestSupport", "Webhooks", "CryptoCore", "RegistryIntegration", "RegistryCore",
            "RegistryClient", "Authorization", "OIDC", "HTTPClient", "IdentityCore", "IdentityMapping",
            "WorkloadIdentity",
        ],
        swiftSettings: strictness),
    .testTarget(
        name: "SupportTests",
        dependencies: ["Diagnostics", "Threading", "HTTPClient", "HTTPServer", "HTTPCore", "TestSupport"],
        swiftSettings: strictness),
    // Child processes with deadlines, free ports, temporary directories, and a WebDriver client for headless
    // Chromium: shared by the test targets that drive real binaries and browsers.
    .target(
        name: "TestSupport",
        dependencies: [
            "CryptoCore", "SQLiteStorage", "PostgresStorage", "HTTPClient", "HTTPServer", "HTTPCore", "JOSE",
            "Diagnostics", "WorkloadIdentity", "CLinux", "Storage", "Threading",
        ],
        path: "Tests/TestSupport",
        swiftSettings: strictness),
    .testTarget(
        name: "ServerAppTests",
        dependencies: [
            "ServerApp", "Configuration", "TestSupport", "CryptoCore", "Authorization", "JOSE", "TokenAuthority",
            "RegistryCore", "Diagnostics", "RegistryIntegration", "WebUI", "Threading", "PostgresStorage",
            "SQLiteStorage", "Storage",
        ],
        // SQL the tests load into a real PostgreSQL (a Portus database's schema), read from the package root.
        exclude: ["Fixtures"],
        swiftSettings: strictness),
    .testTarget(
        name: "IdentityTests",
        dependencies: [
            "IdentityCore", "ProviderTesting", "LocalPasswords", "ApplicationTokens", "SQLiteStorage",
            "Storage", "CryptoCore", "Administration",
        ],
        swiftSettings: strictness),
    // The application services over a real SQLite store, and the resource policy's table.
    .testTarget(
        name: "AdministrationTests",
        dependencies: [
            "Administration", "Authorization", "Storage", "SQLiteStorage", "IdentityCore", "CryptoCore", "Diagnostics",
            "Threading", "Webhooks", "TestSupport", "WorkloadIdentity", "IdentityMapping",
        ],
        swiftSettings: strictness),
    .testTarget(
        name: "TokenAuthorityTests",
        dependencies: [
            "TokenAuthority", "Authorization", "JOSE", "IdentityCore", "CryptoCore", "Storage", "SQLiteStorage",
            "HTTPCore", "Administration", "ApplicationTokens", "Threading", "TestSupport",
        ],
        swiftSettings: strictness),
    // Trust policies and their evaluation; CI token logins and refreshes at the real token endpoint against a
    // loopback issuer (HostileIssuer), with an injected clock.
    .testTarget(
        name: "WorkloadIdentityTests",
        dependencies: [
            "WorkloadIdentity", "TokenAuthority", "Authorization", "JOSE", "IdentityCore", "CryptoCore", "Storage",
            "SQLiteStorage", "HTTPCore", "HTTPClient", "HTTPFetchingCore", "OAuth2", "Threading", "TestSupport",
            "Diagnostics", "LocalPasswords",
        ],
        swiftSettings: strictness),
    // The policy tables and the resolver over a real SQLite store.
    .testTarget(
        name: "AuthorizationTests", dependencies: ["Authorization", "IdentityCore", "Storage", "SQLiteStorage"],
        swiftSettings: strictness),
    // JWS signing and verification, JWKs, cross-checked against python3-cryptography.
    .testTarget(name: "JOSETests", dependencies: ["JOSE", "CryptoCore", "TestSupport"], swiftSettings: strictness),
    // Plan tables and store tests; login provisioning and sync against a real slapd.
    .testTarget(
        name: "IdentityMappingTests",
        dependencies: [
            "IdentityMapping", "IdentityCore", "Storage", "SQLiteStorage", "Diagnostics", "LDAP",
            "Threading", "TestSupport",
        ],
        swiftSettings: strictness),
    // Starts a real slapd (Debian) per suite: the LDAP client and the LDAP provider plugin against it.
    .testTarget(
        name: "LDAPTests",
        dependencies: [
            "LDAPClient", "LDAP", "IdentityCore", "ProviderTesting", "SQLiteStorage", "Storage",
            "Threading", "Diagnostics", "TestSupport", "LocalPasswords", "CryptoCore",
        ],
        swiftSettings: strictness),
    .testTarget(
        name: "RegistryCoreTests", dependencies: ["RegistryCore", "Storage"], swiftSettings: strictness),
    // RegistryClient against a real docker-registry on loopback.
    .testTarget(
        name: "RegistryClientTests",
        dependencies: ["RegistryClient", "RegistryCore", "HTTPClient", "CryptoCore", "TestSupport"],
        swiftSettings: strictness),
    // The events endpoint and worker, reconciliation and deletion over a real SQLite store.
    .testTarget(
        name: "RegistryIntegrationTests",
        dependencies: [
            "RegistryIntegration", "RegistryCore", "Storage", "SQLiteStorage", "HTTPCore", "HTTPServer",
            "Diagnostics", "Threading", "Authorization", "Webhooks", "TestSupport", "HTTPClient", "CryptoCore",
        ],
        swiftSettings: strictness),
    // Deliveries to a real HTTP receiver on loopback.
    .testTarget(
        name: "WebhooksTests",
        dependencies: [
            "Webhooks", "RegistryCore", "Storage", "SQLiteStorage", "HTTPServer", "HTTPCore", "HTTPClient",
            "CryptoCore",
            "Diagnostics", "TestSupport", "Administration",
        ],
        swiftSettings: strictness),
    // The API's conventions over the in-process router, and its resources over a real SQLite store.
    .testTarget(
        name: "RESTAPITests",
        dependencies: [
            "RESTAPI", "HTTPCore", "IdentityCore", "Storage", "SQLiteStorage", "ApplicationTokens", "Diagnostics",
            "ProviderTesting", "Threading", "Administration", "CryptoCore", "Webhooks", "Authorization",
            "TestSupport", "WorkloadIdentity",
        ],
        swiftSettings: strictness),
    // The OAuth2 client, discovery, the JWKS cache and ID token checks, and the oidc plugin: against a hostile
    // issuer on loopback (our HTTPServer) and the real oidc-provider-mock.
    .testTarget(
        name: "OIDCTests",
        dependencies: [
            "OAuth2", "OIDC", "IdentityCore", "HTTPClient", "HTTPServer", "HTTPCore", "JOSE", "CryptoCore",
            "Diagnostics", "Storage", "SQLiteStorage", "Threading", "ProviderTesting", "TestSupport",
        ],
        swiftSettings: strictness),
    // GitHub, GitLab, Google and Bitbucket against loopback fakes of their endpoints (our HTTPServer).
    .testTarget(
        name: "SocialProviderTests",
        dependencies: [
            "GitHub", "GitLab", "Google", "Bitbucket", "OAuth2", "IdentityCore", "HTTPClient", "HTTPFetchingCore",
            "CryptoCore", "Diagnostics", "Storage", "SQLiteStorage", "Threading", "ProviderTesting", "TestSupport",
        ],
        swiftSettings: strictness),
    // The Portus importer over snapshots written in the tests, on SQLite and PostgreSQL stores.
    .testTarget(
        name: "PortusImportTests",
        dependencies: ["PortusImport", "Administration", "Storage", "Webhooks", "CryptoCore", "TestSupport"],
        swiftSettings: strictness),
    // Every error code the project defines: one spelling (module.snake_case), listed in docs/errors.md.
    .testTarget(
        name: "ErrorVocabularyTests",
        dependencies: [
            "Administration", "ApplicationTokens", "Configuration", "CryptoCore", "Diagnostics", "HTTPClient",
            "HTTPCore", "HTTPServer", "IdentityCore", "IdentityMapping", "JOSE", "LDAPClient", "RegistryCore",
            "RegistryIntegration", "RESTAPI", "Storage", "TestSupport", "TokenAuthority", "Webhooks", "WebUI",
            "DatabaseCopy",
            "PortusImport",
        ],
        swiftSettings: strictness),
    // Starts Debian's docker-registry and drives skopeo against a live portcullis.
    .testTarget(name: "EndToEndTests", dependencies: ["CryptoCore", "TestSupport"], swiftSettings: strictness),
]

var products: [Product] = [.executable(name: "portcullis", targets: ["portcullis"])]

// libFuzzer targets link only when asked for (`make fuzz` sets PORTCULLIS_FUZZ=1 and builds them
// into their own scratch path): a plain `swift build` has no LLVMFuzzerRunDriver to link against.
// One target per parser of untrusted input; each keeps its seed corpus in `corpus/` (see docs/fuzzing.md).
if ProcessInfo.processInfo.environment["PORTCULLIS_FUZZ"] == "1" {
    targets.append(.target(name: "FuzzDriver", path: "Tests/Fuzz/FuzzDriver", swiftSettings: strictness))
    let fuzzers: [(name: String, dependencies: [Target.Dependency])] = [
        ("HTTPParserFuzzer", ["HTTPCore"]),
        ("FormFuzzer", ["HTTPCore"]),
        ("ScopeFuzzer", ["Authorization"]),
        ("BasicCredentialsFuzzer", ["TokenAuthority", "HTTPCore"]),
        ("JWTFuzzer", ["JOSE", "CryptoCore"]),
        ("NotificationFuzzer", ["RegistryCore"]),
        ("ManifestFuzzer", ["RegistryCore"]),
        ("YAMLConfigFuzzer", ["Configuration"]),
        ("ClaimsFuzzer", ["WorkloadIdentity"]),
    ]
    for fuzzer in fuzzers {
        targets.append(
            .executableTarget(
                name: fuzzer.name, dependencies: ["FuzzDriver"] + fuzzer.dependencies,
                path: "Tests/Fuzz/\(fuzzer.name)",
                exclude: ["corpus"], swiftSettings: strictness))
        products.append(.executable(name: fuzzer.name, targets: [fuzzer.name]))
    }
}

// The oidc callback benchmark (`.ci/bench-oidc`, `make bench`) links only when asked for (PORTCULLIS_BENCH=1, into
// its own scratch path), since it builds the test support in release.
if ProcessInfo.processInfo.environment["PORTCULLIS_BENCH"] == "1" {
    targets.append(
        .executableTarget(
            name: "OIDCBench",
            dependencies: [
                "OIDC", "OAuth2", "IdentityCore", "HTTPClient", "CryptoCore", "Diagnostics", "SQLiteStorage", "Storage",
                "Threading", "TestSupport",
            ],
            path: "Tests/Bench/OIDCBench", swiftSettings: strictness))
    products.append(.executable(name: "OIDCBench", targets: ["OIDCBench"]))
    // The loopback CI issuer `.ci/bench-workload` points the release server at (issue 14 §4).
    targets.append(
        .executableTarget(
            name: "WorkloadBench", dependencies: ["CryptoCore", "JOSE", "TestSupport"],
            path: "Tests/Bench/WorkloadBench",
            swiftSettings: strictness))
    products.append(.executable(name: "WorkloadBench", targets: ["WorkloadBench"]))
}

let package = Package(
    name: "Portcullis",
    products: products,
    dependencies: [],
    targets: targets
)
