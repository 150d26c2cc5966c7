import CryptoCore
import Diagnostics
import Foundation
import IdentityCore
import SQLiteStorage
import Storage
import Synchronization
import TestSupport
import Testing

@testable import TokenAuthority

func createUser(_ store: some Store, _ name: String) async throws -> User {
    try await store.write { try $0.createUser(NewUser(username: name)) }
}

@Suite(.storeBackends("RefreshTokenTests")) struct RefreshTokenTests {
    @Test(arguments: StoreBackend.allCases) func anIssuedTokenRedeemsForItsUserAndServiceAndIsStoredOnlyAsAHash(
        _ backend: StoreBackend
    ) async throws {
        // The store stamps creation with the same clock the service checks expiry with, as in production.
        try await backend.withStore(now: { Date(timeIntervalSince1970: 1_800_000_000) }) { store in
            let alice = try await createUser(store, "alice")
            let service = RefreshTokenService(store: store, now: { Date(timeIntervalSince1970: 1_800_000_000) })
            let token = try await service.issue(userID: alice.id, service: "my-registry")
            #expect(token.hasPrefix("pcr_"))
            #expect(token.utf8.count == 47)
            #expect(Base64URL.decode(String(token.dropFirst(4)))?.count == 32)

            let stored = try #require(
                try await store.read { try $0.refreshToken(secretHash: RefreshTokenService.hash(token)) })
            #expect(stored.secretHash == Hex.encode(Digest.sha256(token)))
            #expect(stored.secretHash != token)
            #expect(stored.userID == alice.id && stored.service == "my-registry")
            #expect(stored.lastUsedAt == nil)

            #expect(try await service.redeem(token, service: "my-registry") == .valid(alice.id))
            // Not rotated: the same token keeps working.
            #expect(try await service.redeem(token, service: "my-registry") == .valid(alice.id))
            let used = try await store.read { try $0.refreshToken(secretHash: RefreshTokenService.hash(token)) }
            #expect(used?.lastUsedAt == Date(timeIntervalSince1970: 1_800_000_000))
        }
    }

    @Test(arguments: StoreBackend.allCases) func twoIssuedTokensDiffer(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let alice = try await createUser(store, "alice")
            let service = RefreshTokenService(store: store)
            let first = try await service.issue(userID: alice.id, service: "s")
            let second = try await service.issue(userID: alice.id, service: "s")
            #expect(first != second)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aTokenForAnotherServiceIsRefused(_ backend: StoreBackend) async throws
    {
        try await backend.withStore { store in
            let alice = try await createUser(store, "alice")
            let service = RefreshTokenService(store: store)
            let token = try await service.issue(userID: alice.id, service: "registry-a")
            #expect(try await service.redeem(token, service: "registry-b") == .invalid(.otherService))
        }
    }

    @Test(arguments: StoreBackend.allCases) func unknownAndMalformedTokensAreRefused(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { (store: any Store) async throws -> Void in
            let service = RefreshTokenService(store: store)
            let unknown = "pcr_" + Base64URL.encode(SecureRandom.bytes(count: 32))
            #expect(try await service.redeem(unknown, service: "s") == .invalid(.unknown))
            for bad in [
                "", "pcr_", "pcr_short", "xyz_" + String(unknown.dropFirst(4)), unknown + "A",
                String(unknown.dropLast()) + "=", String(unknown.dropLast()) + "é",
                "pat_" + String(repeating: "A", count: 43),
            ] {
                #expect(try await service.redeem(bad, service: "s") == .invalid(.malformed), "\(bad)")
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func revokedTokensAreRefused(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let alice = try await createUser(store, "alice")
            let service = RefreshTokenService(store: store)
            let one = try await service.issue(userID: alice.id, service: "s")
            let two = try await service.issue(userID: alice.id, service: "s")
            let three = try await service.issue(userID: alice.id, service: "s")
            #expect(try await service.revoke(one))
            #expect(try await service.redeem(one, service: "s") == .invalid(.revoked))
            #expect(try await service.redeem(two, service: "s") == .valid(alice.id))
            #expect(try await service.revokeAll(of: alice.id) == 2)
            #expect(try await service.redeem(two, service: "s") == .invalid(.revoked))
            #expect(try await service.redeem(three, service: "s") == .invalid(.revoked))
            #expect(try await service.revoke("pcr_nonsense") == false)
        }
    }

    @Test(arguments: StoreBackend.allCases) func theUserIsRecheckedAtEveryRedemption(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let alice = try await createUser(store, "alice")
            let service = RefreshTokenService(store: store)
            let token = try await service.issue(userID: alice.id, service: "s")
            #expect(try await service.redeem(token, service: "s") == .valid(alice.id))
            try await store.write { try $0.setEnabled(false, for: alice.id) }
            #expect(try await service.redeem(token, service: "s") == .invalid(.userDisabled))
            try await store.write { try $0.setEnabled(true, for: alice.id) }
            #expect(try await service.redeem(token, service: "s") == .valid(alice.id))
            try await store.write { try $0.deleteUser(alice.id) }
            let outcome = try await service.redeem(token, service: "s")
            // Deleting a user deletes their tokens; either way the token no longer works.
            #expect(outcome == .invalid(.unknown) || outcome == .invalid(.userMissing))
        }
    }
}

@Suite(.storeBackends("TokenAuditTests")) struct TokenAuditTests {
    @Test func aTokenRequestBecomesAnAuditEventWithJSONDetail() throws {
        let audit = TokenRequestAudit(
            userID: User.ID(7), username: "alice", provider: "corp-ldap", clientIP: "192.0.2.1", service: "my-registry",
            requestedScopes: ["repository:alice/demo:pull,push", "repository:other/x:pull"],
            granted: [AccessClaim(type: "repository", name: "alice/demo", actions: ["pull", "push"])], outcome: .success
        )
        let event = audit.event(at: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(event.action == "token.issue")
        #expect(event.outcome == .success)
        #expect(event.actorID == User.ID(7) && event.actorName == "alice")
        #expect(event.target == "service:my-registry")
        #expect(event.clientIP == "192.0.2.1")
        #expect(event.time == Date(timeIntervalSince1970: 1_800_000_000))
        let detail = try #require(event.detail)
        #expect(
            detail
                == #"{"provider":"corp-ldap","service":"my-registry","requested":["repository:alice/demo:pull,push","repository:other/x:pull"],"granted":["repository:alice/demo:pull,push"]}"#
        )
        let object = try JSONSerialization.jsonObject(with: Data(detail.utf8)) as? [String: Any]
        #expect(object?["granted"] as? [String] == ["repository:alice/demo:pull,push"])
    }

    @Test func aDeniedAnonymousRequestRecordsItsReasonAndBoundsHostileInput() throws {
        let scopes = (0..<80).map { "repository:\(String(repeating: "x", count: 400))\($0):pull" }
        let event = TokenRequestAudit(
            username: String(repeating: "m", count: 1000), clientIP: nil, service: "s", requestedScopes: scopes,
            grantedScopes: [], outcome: .denied, reason: "bad_credentials"
        ).event()
        #expect(event.outcome == .denied)
        #expect(event.actorID == nil)
        #expect((event.actorName?.count ?? 0) <= TokenRequestAudit.maximumTextLength + 1)
        let detail = try #require(event.detail)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(detail.utf8)) as? [String: Any])
        #expect((object["requested"] as? [String])?.count == TokenRequestAudit.maximumScopes)
        #expect(object["requestedOmitted"] as? Int == 30)
        #expect(object["reason"] as? String == "bad_credentials")
        #expect(object["provider"] == nil)
        #expect(detail.utf8.count < 20_000)
    }

    @Test(arguments: StoreBackend.allCases) func theStoreRecorderAppendsEventsAndSwallowsFailures(
        _ backend: StoreBackend
    ) async throws {
        let lines = LineCollector()
        let logger = Logger(label: "audit", sink: lines)
        try await backend.withStore { store in
            let recorder = StoreAuditRecorder(store: store, logger: logger)
            await recorder.record(
                TokenRequestAudit(
                    username: "bob", clientIP: "::1", service: "s", requestedScopes: [], grantedScopes: [],
                    outcome: .success
                ).event())
            let events = try await store.read { try $0.auditEvents(limit: 10, before: nil) }
            #expect(events.count == 1)
            #expect(events.first?.action == "token.issue")
            #expect(events.first?.actorName == "bob")
            #expect(events.first?.detail == #"{"service":"s","requested":[],"granted":[]}"#)

            await store.close()
            await recorder.record(NewAuditEvent(action: "token.issue", outcome: .failure))
        }
        #expect(lines.lines.contains { $0.contains("audit events could not be stored") })
    }
}

/// A log sink that keeps lines for assertions.
final class LineCollector: LogSink {
    private let storage = Mutex<[String]>([])
    var lines: [String] { storage.withLock { $0 } }
    func write(line: String) { storage.withLock { $0.append(line) } }
}
