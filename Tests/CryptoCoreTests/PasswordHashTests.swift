import CryptoCore
import Testing

@Suite struct PasswordHashTests {
    /// Classic bcrypt vectors from the OpenBSD / John the Ripper test suites.
    static let vectors: [(password: String, hash: String)] = [
        ("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
        ("U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"),
        ("U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"),
        ("", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"),
    ]

    @Test func classicBcryptVectorsVerify() {
        for vector in Self.vectors {
            #expect(PasswordHash.verify(password: vector.password, against: vector.hash), "\(vector.hash)")
            #expect(!PasswordHash.verify(password: vector.password + "x", against: vector.hash))
        }
    }

    @Test func the2yAnd2bVariantsOfTheSameHashBothVerify() {
        let hash = "abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm"
        #expect(PasswordHash.verify(password: "password", against: "$2y$04$" + hash))
        #expect(PasswordHash.verify(password: "password", against: "$2b$04$" + hash))
    }

    @Test func aFreshBcryptHashUses2bAndTheRequestedCost() throws {
        let hash = try PasswordHash.make(password: "correct horse", method: .bcrypt(cost: 4))
        #expect(hash.hasPrefix("$2b$04$"))
        #expect(hash.count == 60)
        #expect(PasswordHash.verify(password: "correct horse", against: hash))
        #expect(!PasswordHash.verify(password: "correct horsf", against: hash))
        #expect(try PasswordHash.make(password: "correct horse", method: .bcrypt(cost: 4)) != hash)
    }

    @Test func yescryptHashesRoundTrip() throws {
        let hash = try PasswordHash.make(password: "ünïcödé pässwörd", method: .yescrypt)
        #expect(hash.hasPrefix("$y$"))
        #expect(PasswordHash.verify(password: "ünïcödé pässwörd", against: hash))
        #expect(!PasswordHash.verify(password: "unicode password", against: hash))
    }

    @Test func bcryptRefusesPasswordsLongerThan72Bytes() throws {
        let limit = String(repeating: "a", count: 72)
        let hash = try PasswordHash.make(password: limit, method: .bcrypt(cost: 4))
        #expect(PasswordHash.verify(password: limit, against: hash))
        #expect(throws: CryptoError.passwordTooLong) {
            try PasswordHash.make(password: limit + "X", method: .bcrypt(cost: 4))
        }
        // bcrypt would ignore the 73rd byte and say yes; verification must say no instead.
        #expect(!PasswordHash.verify(password: limit + "X", against: hash))
        // yescrypt has no such limit.
        let long = try PasswordHash.make(password: limit + "X", method: .yescrypt)
        #expect(PasswordHash.verify(password: limit + "X", against: long))
        #expect(!PasswordHash.verify(password: limit, against: long))
    }

    @Test func badCostsAndNULBytesAreRefused() {
        #expect(throws: CryptoError.invalidArgument) { try PasswordHash.make(password: "x", method: .bcrypt(cost: 3)) }
        #expect(throws: CryptoError.invalidArgument) { try PasswordHash.make(password: "x", method: .bcrypt(cost: 32)) }
        #expect(throws: CryptoError.passwordContainsNUL) {
            try PasswordHash.make(password: "a\u{0}b", method: .yescrypt)
        }
        #expect(!PasswordHash.verify(password: "U*U\u{0}junk", against: Self.vectors[0].hash))
    }

    @Test func garbageOrUnsupportedHashesNeverVerify() {
        let garbage = [
            "", "$", "$2b$", "$2b$04$", "$2b$99$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm", "*0", "plain",
            "$6$saltsalt$hash", "$1$abc$def", "ab01234567890", "$y$", "$y$j9T$", "$2b$04$short",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe", String(repeating: "$2b$", count: 500),
        ]
        for hash in garbage {
            #expect(!PasswordHash.verify(password: "U*U", against: hash), "\(hash)")
            #expect(!PasswordHash.verify(password: "", against: hash), "\(hash)")
        }
    }
}
