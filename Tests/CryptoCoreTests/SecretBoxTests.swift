import Testing

@testable import CryptoCore

/// AES-256-GCM sealing: what opens, and everything that must not.
@Suite struct SecretBoxTests {
    static let key = try! AEADKey(bytes: Array(0..<32))
    static let otherKey = try! AEADKey(bytes: Array(1...32))
    static let context = Array("portcullis/webhooks/7/secret".utf8)

    @Test(arguments: [0, 1, 15, 16, 17, 64, 1000])
    func aSealedValueOpensToItself(length: Int) throws {
        let plaintext = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let box = SecretBox(key: Self.key)
        let sealed = try box.seal(plaintext, associatedData: Self.context)
        #expect(sealed.count == SecretBox.nonceLength + length + SecretBox.tagLength)
        #expect(try box.open(sealed, associatedData: Self.context) == plaintext)
    }

    @Test func everySealDrawsAFreshNonce() throws {
        let box = SecretBox(key: Self.key)
        let one = try box.seal(Array("same".utf8), associatedData: Self.context)
        let two = try box.seal(Array("same".utf8), associatedData: Self.context)
        #expect(one != two)
        #expect(one.prefix(SecretBox.nonceLength) != two.prefix(SecretBox.nonceLength))
    }

    @Test func theWrongKeyDoesNotOpen() throws {
        let sealed = try SecretBox(key: Self.key).seal(Array("s3cret".utf8), associatedData: Self.context)
        #expect(throws: CryptoError.decryptionFailed) {
            try SecretBox(key: Self.otherKey).open(sealed, associatedData: Self.context)
        }
    }

    @Test func changingAnyByteOfNonceCiphertextOrTagIsDetected() throws {
        let box = SecretBox(key: Self.key)
        let sealed = try box.seal(Array("a webhook secret".utf8), associatedData: Self.context)
        for index in sealed.indices {
            var tampered = sealed
            tampered[index] ^= 0x01
            #expect(throws: CryptoError.decryptionFailed, "byte \(index)") {
                try box.open(tampered, associatedData: Self.context)
            }
        }
    }

    @Test func otherAssociatedDataDoesNotOpen() throws {
        let box = SecretBox(key: Self.key)
        let sealed = try box.seal(Array("s3cret".utf8), associatedData: Self.context)
        for other in ["portcullis/webhooks/8/secret", "portcullis/webhooks/7/headers/0/authorization", ""] {
            #expect(throws: CryptoError.decryptionFailed, "\(other)") {
                try box.open(sealed, associatedData: Array(other.utf8))
            }
        }
    }

    @Test func truncatedInputIsRefused() throws {
        let box = SecretBox(key: Self.key)
        let sealed = try box.seal(Array("s3cret".utf8), associatedData: Self.context)
        for length in 0..<(SecretBox.nonceLength + SecretBox.tagLength) {
            #expect(throws: CryptoError.malformedCiphertext, "\(length) bytes") {
                try box.open(Array(sealed.prefix(length)), associatedData: Self.context)
            }
        }
        for length in (SecretBox.nonceLength + SecretBox.tagLength)..<sealed.count {
            #expect(throws: CryptoError.decryptionFailed, "\(length) bytes") {
                try box.open(Array(sealed.prefix(length)), associatedData: Self.context)
            }
        }
    }

    @Test func keysAreExactly32BytesOfBase64AndNeverPrinted() throws {
        #expect(throws: CryptoError.invalidArgument) { try AEADKey(bytes: Array(repeating: 1, count: 16)) }
        #expect(throws: CryptoError.invalidArgument) { try AEADKey(base64: "not base64!") }
        #expect(throws: CryptoError.invalidArgument) { try AEADKey(base64: "AAAA") }
        let generated = AEADKey.generate()
        let reread = try AEADKey(base64: generated.base64EncodedForKeyFile + "\n")
        let sealed = try SecretBox(key: generated).seal([1, 2, 3], associatedData: [])
        #expect(try SecretBox(key: reread).open(sealed, associatedData: []) == [1, 2, 3])
        #expect("\(generated)" == "AEADKey(***)")
        #expect(!"\(generated)".contains(generated.base64EncodedForKeyFile))
    }
}
