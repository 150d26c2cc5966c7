import SQLiteStorage
import Storage
import TestSupport
import Testing

/// Names differing only in case are one account: lookups find either spelling, exact spelling first, and
/// collisions stored before that rule stay reachable by their exact spelling only.
@Suite(.storeBackends("UsernameLookupTests")) struct UsernameLookupTests {
    @Test(arguments: StoreBackend.allCases) func aNameIsFoundInAnySpellingOfItsCase(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let alice = try await store.write { try $0.createUser(NewUser(username: "Alice")) }
            let found = try await store.read { reader in
                try ["Alice", "alice", "ALICE", "aLiCe", "alice ", "alicia"].map { try reader.user(named: $0)?.id }
            }
            #expect(found == [alice.id, alice.id, alice.id, alice.id, nil, nil])
        }
    }

    @Test(arguments: StoreBackend.allCases) func oldCollisionsAreReachableByTheirExactSpellingAndAmbiguousOtherwise(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let (upper, lower) = try await store.write { writer in
                (try writer.createUser(NewUser(username: "Dora")), try writer.createUser(NewUser(username: "dora")))
            }
            let (byUpper, byLower, byOther, all) = try await store.read { reader in
                (
                    try reader.user(named: "Dora")?.id, try reader.user(named: "dora")?.id,
                    try reader.user(named: "DORA")?.id, try reader.users(namedIgnoringCase: "dora").map(\.id)
                )
            }
            #expect(byUpper == upper.id)
            #expect(byLower == lower.id)
            #expect(byOther == nil, "an ambiguous spelling names nobody")
            #expect(all == [lower.id, upper.id], "exact spelling first, then by id")
        }
    }

    @Test(arguments: StoreBackend.allCases) func onlyASCIILettersFold(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.write { try $0.createUser(NewUser(username: "J\u{FC}rgen")) }
            let (folded, exact, nonASCIIFold) = try await store.read { reader in
                (
                    try reader.user(named: "j\u{FC}rgen")?.username, try reader.user(named: "J\u{FC}rgen")?.username,
                    try reader.user(named: "J\u{DC}RGEN")?.username
                )
            }
            #expect(folded == "J\u{FC}rgen", "the ASCII J folds")
            #expect(exact == "J\u{FC}rgen")
            #expect(nonASCIIFold == nil, "Ü is not folded to ü: older names compare byte for byte beyond ASCII")
        }
    }
}
