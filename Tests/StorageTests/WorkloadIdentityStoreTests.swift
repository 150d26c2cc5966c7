import Foundation
import Storage
import TestSupport
import Testing

@testable import SQLiteStorage

/// Migration 18 over SQLite: single-use `jti` records and workload refresh tokens.
@Suite(.storeBackends("WorkloadIdentityStoreTests")) struct WorkloadIdentityStoreTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: StoreBackend.allCases) func aJTIIsRecordedOnceUntilItExpiresAndThenMayBeTakenOver(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let until = Self.start.addingTimeInterval(300)
            func use(_ jti: String, issuer: String = "github", at offset: TimeInterval) async throws -> Bool {
                try await store.write {
                    try $0.recordWorkloadTokenUse(
                        issuer: issuer, jti: jti, expiresAt: until, at: Self.start.addingTimeInterval(offset))
                }
            }
            let first = try await use("j1", at: 0)
            let replay = try await use("j1", at: 10)
            let otherIssuer = try await use("j1", issuer: "gitlab", at: 10)
            let afterExpiry = try await use("j1", at: 301)
            #expect(first && !replay, "a replay is refused")
            #expect(otherIssuer, "jtis are per issuer")
            #expect(afterExpiry, "an expired record is taken over: its token is refused anyway")
            await #expect(throws: StoreError.self) { try await use("", at: 0) }
        }
    }

    @Test(arguments: StoreBackend.allCases) func aRefreshTokenIsFoundByItsHashRevokedByPolicyAndPrunedOnceExpired(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            @Sendable func token(_ n: Int, policy: String) -> WorkloadRefreshToken {
                WorkloadRefreshToken(
                    id: .init(0), secretHash: String(repeating: String(n), count: 64), policy: policy,
                    issuer: "github", jti: "jti-\(n)", service: "registry", claims: #"{"repository_id":"1"}"#,
                    createdAt: Self.start, expiresAt: Self.start.addingTimeInterval(3600))
            }
            let id = try await store.write { try $0.createWorkloadRefreshToken(token(1, policy: "a")) }
            _ = try await store.write { try $0.createWorkloadRefreshToken(token(2, policy: "b")) }
            let found = try #require(
                try await store.read { try $0.workloadRefreshToken(secretHash: String(repeating: "1", count: 64)) })
            #expect(found.id == id && found.policy == "a" && found.jti == "jti-1" && found.revokedAt == nil)
            #expect(found.claims == #"{"repository_id":"1"}"# && found.expiresAt == Self.start.addingTimeInterval(3600))
            #expect(try await store.write { try $0.revokeWorkloadRefreshTokens(ofPolicy: "a", at: Self.start) } == 1)
            #expect(
                try await store.read { try $0.workloadRefreshToken(secretHash: String(repeating: "1", count: 64)) }?
                    .revokedAt == Self.start)
            _ = try await store.write {
                try $0.recordWorkloadTokenUse(
                    issuer: "github", jti: "x", expiresAt: Self.start.addingTimeInterval(60), at: Self.start)
            }
            #expect(try await store.write { try $0.pruneWorkloadIdentity(expiredBefore: Self.start) } == 0)
            #expect(
                try await store.write {
                    try $0.pruneWorkloadIdentity(expiredBefore: Self.start.addingTimeInterval(7200))
                } == 3)
        }
    }
}
