import CryptoCore
import TestSupport
import Testing

/// Hashing is deliberately slow CPU work: the tests run it on their own threads, as production code
/// runs it on a CPU pool, so the cooperative threads other suites share stay free.
private func make(password: String, method: PasswordHash.Method) async throws -> String {
    try await offload { try PasswordHash.make(password: password, method: method) }
}

private func verify(password: String, against hash: String) async -> Bool {
    (try? await offload { PasswordHash.verify(password: password, against: hash) }) ?? false
}

@Suite struct PasswordHashTests {
    /// Classic bcrypt vectors from the OpenBSD / John the Ripper test suites.
    static let vectors: [(password: String, hash: String)] = [
        ("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
        ("U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"),
        ("U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"),
        ("", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"),
    ]

    @Test func classicBcryptVectorsVerify() async throws {
        for vector in Self.vectors {
            #expect(await verify(password: vector.password, against: vector.hash), "\(vector.hash)")
            #expect(await !verify(password: vector.password + "x", against: vector.hash))
        }
    }

    @Test func the2yAnd2bVariantsOfTheSameHashBothVerify() async throws {
        let hash = "abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm"
        #expect(await verify(password: "password", against: "$2y$04$" + hash))
        #expect(await verify(password: "password", against: "$2b$04$" + hash))
    }

    @Test func aFreshBcryptHashUses2bAndTheRequestedCost() async throws {
        let hash = try await make(password: "correct horse", method: .bcrypt(cost: 4))
        #expect(hash.hasPrefix("$2b$04$"))
        #expect(hash.count == 60)
        #expect(await verify(password: "correct horse", against: hash))
        #expect(await !verify(password: "correct horsf", against: hash))
        #expect(try await make(password: "correct horse", method: .bcrypt(cost: 4)) != hash)
    }

    @Test func yescryptHashesRoundTrip() async throws {
        let hash = try await make(password: "ünïcödé pässwörd", method: .yescrypt)
        #expect(hash.hasPrefix("$y$"))
        #expect(await verify(password: "ünïcödé pässwörd", against: hash))
        #expect(await !verify(password: "unicode password", against: hash))
    }

    @Test func bcryptRefusesPasswordsLongerThan72Bytes() async throws {
        let limit = String(repeating: "a", count: 72)
        let hash = try await make(password: limit, method: .bcrypt(cost: 4))
        #expect(await verify(password: limit, against: hash))
        await #expect(throws: CryptoError.passwordTooLong) {
            try await make(password: limit + "X", method: .bcrypt(cost: 4))
        }
        // bcrypt would ignore the 73rd byte and say yes; verification must say no instead.
        #expect(await !verify(password: limit + "X", against: hash))
        // yescrypt has no such limit.
        let long = try await make(password: limit + "X", method: .yescrypt)
        #expect(await verify(password: limit + "X", against: long))
        #expect(await !verify(password: limit, against: long))
    }

    @Test func badCostsAndNULBytesAreRefused() async throws {
        await #expect(throws: CryptoError.invalidArgument) { try await make(password: "x", method: .bcrypt(cost: 3)) }
        await #expect(throws: CryptoError.invalidArgument) { try await make(password: "x", method: .bcrypt(cost: 32)) }
        await #expect(throws: CryptoError.passwordContainsNUL) {
            try await make(password: "a\u{0}b", method: .yescrypt)
        }
        #expect(await !verify(password: "U*U\u{0}junk", against: Self.vectors[0].hash))
    }

    @Test func garbageOrUnsupportedHashesNeverVerify() async throws {
        let garbage = [
            "", "$", "$2b$", "$2b$04$", "$2b$99$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm", "*0", "plain",
            "$6$saltsalt$hash", "$1$abc$def", "ab01234567890", "$y$", "$y$j9T$", "$2b$04$short",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe", String(repeating: "$2b$", count: 500),
        ]
        for hash in garbage {
            #expect(await !verify(password: "U*U", against: hash), "\(hash)")
            #expect(await !verify(password: "", against: hash), "\(hash)")
        }
    }
}
