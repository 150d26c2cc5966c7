// The oidc callback's own cost (`make bench`, .ci/bench-oidc): sign-ins per second through
// `OIDCProvider.completeLogin` with a warm JWKS, the provider's token answer served on loopback by the
// tests' HostileIssuer (one pre-signed RS256 ID token, so the issuer's signing is not measured), and the JWKS
// fetches the issuer counted per 1,000 sign-ins after the warm-up (target: 0). Then the ID token checks alone
// (parse, RS256 verify, claims), without HTTP. Built only with PORTCULLIS_BENCH=1, in release.
import CryptoCore
import Diagnostics
import Foundation
import HTTPClient
import IdentityCore
import OAuth2
import OIDC
import SQLiteStorage
import Storage
import Synchronization
import TestSupport
import Threading

struct SilentAudit: AuditRecording {
    func record(_ event: NewAuditEvent) async {}
}

let seconds = Double(ProcessInfo.processInfo.environment["BENCH_OIDC_SECONDS"] ?? "5") ?? 5
let concurrency = Int(ProcessInfo.processInfo.environment["BENCH_OIDC_CONCURRENCY"] ?? "8") ?? 8

let key = HostileIssuer.SigningKey(keyID: "bench-1", key: try PrivateKey.generate(.rsa(bits: 2048)))
let issuer = try HostileIssuer(keys: [key])
let clientID = "portcullis-bench"
let nonce = "bench-nonce"
var claims = issuer.claims(clientID: clientID, nonce: nonce, now: Date(), lifetime: 86_400)
claims["groups"] = ["developers", "registry-admins"]
claims["preferred_username"] = "alice"
let idToken = HostileIssuer.sign(claims, with: key)
issuer.update { $0.tokenAnswer = (200, HostileIssuer.tokenAnswer(idToken: idToken)) }

var curl = CurlHTTPClient.Configuration()
curl.connectTimeout = .seconds(2)
curl.timeout = .seconds(10)
let http = CurlHTTPClient(configuration: curl, pool: BlockingPool(name: "bench-http", threads: concurrency))
let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
_ = try await store.migrate()
let context = ProviderContext(
    logger: Logger(label: "bench", level: .error), store: store, ioPool: BlockingPool(name: "bench-io", threads: 2),
    cpuPool: BlockingPool(name: "bench-cpu", threads: 2), audit: SilentAudit(), http: http)
var configuration = OIDCProvider.Configuration(issuer: issuer.issuer, clientID: clientID, clientSecret: "bench")
configuration.useUserinfo = false
configuration.groupsFrom = .idToken
let provider = try OIDCProvider(id: "bench", displayName: "Bench", configuration: configuration, context: context)
// What `beginLogin` would have stored, with the nonce the pre-signed token carries.
let pending = PendingLogin(data: [
    "code_verifier": PKCE.generate().verifier, "nonce": nonce, "redirect_uri": "http://127.0.0.1:5080/cb",
])
let callback = CallbackParameters(values: ["code": "bench-code", "state": "bench-state"])

func signIn() async throws {
    let login = try await provider.completeLogin(callback, pending: pending)
    precondition(login.identity.subject == "alice" && login.identity.groups.count == 2)
}

// Warm-up: discovery and the JWKS are fetched here, once.
for _ in 0..<50 { try await signIn() }
let fetchesAfterWarmUp = issuer.jwksFetches

let count = Atomic<Int>(0)
let started = ContinuousClock.now
let deadline = started + .milliseconds(Int(seconds * 1000))
try await withThrowingTaskGroup(of: Void.self) { group in
    for _ in 0..<concurrency {
        group.addTask {
            while ContinuousClock.now < deadline {
                try await signIn()
                count.add(1, ordering: .relaxed)
            }
        }
    }
    try await group.waitForAll()
}
let elapsed = (ContinuousClock.now - started) / .seconds(1)
let signIns = count.load(ordering: .relaxed)
let fetches = issuer.jwksFetches - fetchesAfterWarmUp
print(
    String(
        format: "oidc callback, warm JWKS, token answer on loopback (%d tasks): %.0f sign-ins/s (%d in %.1f s); "
            + "JWKS fetches per 1,000 sign-ins after warm-up: %.2f (%d at warm-up)",
        concurrency, Double(signIns) / elapsed, signIns, elapsed, Double(fetches) * 1000 / Double(max(signIns, 1)),
        fetchesAfterWarmUp))

// The ID token checks alone (what the callback spends besides HTTP), on one core.
let verifier = provider.relyingParty
var checks = 0
let checkStart = ContinuousClock.now
let checkDeadline = checkStart + .milliseconds(Int(min(seconds, 3) * 1000))
while ContinuousClock.now < checkDeadline {
    _ = try await verifier.verifyIDToken(idToken, expectedNonce: nonce)
    checks += 1
}
let checkElapsed = (ContinuousClock.now - checkStart) / .seconds(1)
print(
    String(
        format: "ID token checks alone (parse, RS256 verify, claims), one task: %.0f/s", Double(checks) / checkElapsed))
await issuer.stop()
