import CryptoCore
import Foundation
import TestSupport
import Testing

@Suite struct Base64DecodingTests {
    @Test(arguments: [
        ("", ""), ("Zg==", "f"), ("Zm8=", "fo"), ("Zm9v", "foo"), ("Zm9vYg==", "foob"), ("Zm9vYmE=", "fooba"),
        ("Zm9vYmFy", "foobar"),
    ])
    func theRFC4648TestVectorsDecode(encoded: String, decoded: String) {
        #expect(Base64.decode(encoded) == Array(decoded.utf8))
    }

    @Test func everyByteValueAndLengthRoundTripsWithFoundationsEncoder() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            #expect(Base64.decode(Data(bytes).base64EncodedString()) == bytes, "length \(length)")
        }
        let all = (0...255).map { UInt8($0) }
        #expect(Base64.decode(Data(all).base64EncodedString()) == all)
    }

    @Test func bothAlphabetEndsAndTheSlashAndPlusDecode() {
        #expect(Base64.decode("+/+/") == [0xFB, 0xFF, 0xBF])
        #expect(Base64.decode("AAAA") == [0, 0, 0])
        #expect(Base64.decode("////") == [0xFF, 0xFF, 0xFF])
    }

    @Test func aSubstringDecodesLikeAString() {
        let header = "Basic Zm9vOmJhcg=="
        #expect(Base64.decode(header.dropFirst(6)) == Array("foo:bar".utf8))
    }

    @Test(arguments: ["Z", "Zg", "Zg=", "Zm9vY", "Zm9vYg", "Zm9vYg=", "Zm8==", "Zg===", "Zm9vYmFy=", " Zg=="])
    func aLengthThatIsNotAMultipleOfFourIsRefused(encoded: String) {
        #expect(Base64.decode(encoded) == nil)
    }

    @Test(arguments: ["====", "Z===", "A===", "=Zg=", "Zg==Zg==", "Zm9vYg=a", "Z=g=", "==Zm"])
    func paddingAnywhereButTheLastTwoPlacesIsRefused(encoded: String) {
        #expect(Base64.decode(encoded) == nil)
    }

    @Test(arguments: ["Zm9 ", "Zm9\n", "Zm-_", "Zm9v!A==", "Zm.v", "Zü=", "Zm\u{0}v", "ＺＭ=="])
    func aCharacterOutsideTheAlphabetIsRefused(encoded: String) {
        #expect(Base64.decode(encoded) == nil)
    }

    @Test(arguments: ["Zh==", "Zm9=", "Zm9vYh==", "Zm9vYmF=", "QR==", "QUJ="])
    func nonZeroTrailingBitsAreRefused(encoded: String) {
        #expect(Base64.decode(encoded) == nil)
    }

    @Test func theCanonicalNeighboursOfRefusedTrailingBitsDecode() {
        #expect(Base64.decode("Zg==") == [0x66])
        #expect(Base64.decode("QQ==") == [0x41])
        #expect(Base64.decode("QUI=") == [0x41, 0x42])
    }
}

@Suite struct ConcurrentSigningTests {
    /// Signs a distinct message from each of `count` tasks at once and checks every signature with the public key.
    private func signConcurrently(with key: PrivateKey, algorithm: SigningAlgorithm, count: Int) async throws {
        let results = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for index in 0..<count {
                group.addTask {
                    let message = Array("message number \(index) for \(algorithm.rawValue)".utf8)
                    return (index, try key.sign(message, algorithm: algorithm))
                }
            }
            return try await group.reduce(into: [(Int, [UInt8])]()) { $0.append($1) }
        }
        #expect(results.count == count)
        for (index, signature) in results {
            let message = Array("message number \(index) for \(algorithm.rawValue)".utf8)
            #expect(key.publicKey.verify(signature: signature, message: message, algorithm: algorithm), "task \(index)")
            // A signature never verifies another task's message: contexts do not leak state between signers.
            let other = Array("message number \(index + 1) for \(algorithm.rawValue)".utf8)
            #expect(!key.publicKey.verify(signature: signature, message: other, algorithm: algorithm))
        }
    }

    @Test func manyConcurrentES256SignaturesAllVerify() async throws {
        try await signConcurrently(with: TestKeys.ec, algorithm: .es256, count: 96)
        #expect(TestKeys.ec.kind == .ecP256)
    }

    @Test func manyConcurrentRS256SignaturesAllVerify() async throws {
        let key = await TestKeys.rsa()
        try await signConcurrently(with: key, algorithm: .rs256, count: 48)
    }

    @Test func es256SignaturesAreRawSixtyFourBytesAndRS256OnesTheModulusSize() async throws {
        let message = Array("size".utf8)
        for _ in 0..<20 {
            #expect(try TestKeys.ec.sign(message, algorithm: .es256).count == 64)
        }
        let rsa = await TestKeys.rsa()
        for _ in 0..<5 {
            #expect(try rsa.sign(message, algorithm: .rs256).count == 256)
        }
    }

    @Test func aRefusedAlgorithmLeavesTheKeySigningCorrectlyAfterwards() async throws {
        let key = TestKeys.ec
        #expect(throws: CryptoError.self) { try key.sign([1, 2, 3], algorithm: .rs256) }
        let signature = try key.sign([1, 2, 3], algorithm: .es256)
        #expect(key.publicKey.verify(signature: signature, message: [1, 2, 3], algorithm: .es256))
    }

    @Test func aFreshKeySignsCorrectlyFromItsFirstUseOnManyTasks() async throws {
        let key = try PrivateKey.generate(.ecP256)
        try await signConcurrently(with: key, algorithm: .es256, count: 40)
    }
}
