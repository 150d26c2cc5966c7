import CryptoCore
import Foundation
import Testing

@Suite struct DigestTests {
    @Test func sha256MatchesTheFIPSVectors() {
        #expect(Hex.encode(Digest.sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(Digest.sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func sha384AndSha512MatchTheFIPSVectors() {
        let abc = Array("abc".utf8)
        #expect(
            Hex.encode(Digest.sha384(abc))
                == "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7")
        #expect(
            Hex.encode(Digest.sha512(abc))
                == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )
    }

    @Test func hmacSha256MatchesRFC4231TestCasesOneTwoAndSix() {
        let one = HMAC.sha256(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))
        #expect(Hex.encode(one) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let two = HMAC.sha256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(two) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // Case 6: a key longer than the block size is hashed first.
        let six = HMAC.sha256(
            key: [UInt8](repeating: 0xaa, count: 131),
            message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
        #expect(Hex.encode(six) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func aKeyedHMACGivesTheRFC4231CodesAgainAndAgainFromManyTasks() async {
        let jefe = KeyedHMAC(key: Array("Jefe".utf8))
        let long = KeyedHMAC(key: [UInt8](repeating: 0xaa, count: 131))
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        let codes = await withTaskGroup(of: (String, String).self) { group in
            for _ in 0..<32 {
                group.addTask {
                    (
                        Hex.encode(jefe.code(for: Array("what do ya want for nothing?".utf8))),
                        Hex.encode(long.code(for: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
                    )
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(codes.count == 32)
        #expect(codes.allSatisfy { $0.0 == expected })
        #expect(codes.allSatisfy { $0.1 == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" })
        #expect(
            Hex.encode(KeyedHMAC(key: [UInt8](repeating: 0x0b, count: 20)).code(for: Array("Hi There".utf8)))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    @Test func secureRandomReturnsTheRequestedNumberOfDistinctBytes() {
        #expect(SecureRandom.bytes(count: 0).isEmpty)
        let a = SecureRandom.bytes(count: 32)
        let b = SecureRandom.bytes(count: 32)
        #expect(a.count == 32)
        #expect(a != b)
    }

    @Test func constantTimeEqualsComparesContentAndLength() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals("secret", "secret"))
        #expect(!ConstantTime.equals("secret", "Secret"))
    }

    @Test func base64URLRoundTripsWithoutPadding() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 250) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
    }

    @Test func base64URLEncodingMatchesFoundationsBase64WithTheURLAlphabet() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let reference = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == reference, "length \(length)")
        }
    }

    @Test func base64URLDecodingMatchesFoundationsDecoderOnEveryLength() {
        for length in 0..<300 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 7) }
            let standard = Data(bytes).base64EncodedString()
            let url = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.decode(url) == [UInt8](Data(base64Encoded: standard)!), "length \(length)")
        }
        // Bits after the last whole byte are not checked here (JOSE checks the canonical spelling).
        #expect(Base64URL.decode("AB") == [0x00])
    }

    @Test func base64URLRejectsPaddingStandardAlphabetAndImpossibleLengths() {
        #expect(Base64URL.decode("-_8=") == nil)
        #expect(Base64URL.decode("+/8") == nil)
        #expect(Base64URL.decode("abcde") == nil)
        #expect(Base64URL.decode("ab cd") == nil)
        #expect(Base64URL.decode("") == [])
    }

    @Test func canonicalDecodingAcceptsExactlyWhatEncodingWrites() {
        for length in 0..<300 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 7) }
            let text = Base64URL.encode(bytes)
            #expect(Base64URL.decodeCanonical(ArraySlice(text.utf8)) == bytes, "length \(length)")
            // Any last character other than the canonical one spells the same bytes with spare bits set.
            guard let last = text.utf8.last else { continue }
            for other in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8 where other != last {
                let variant = Array(text.utf8.dropLast()) + [other]
                let decoded = Base64URL.decodeCanonical(variant[...])
                #expect(decoded == nil || Base64URL.encode(decoded!) == String(decoding: variant, as: UTF8.self))
            }
        }
        for hostile in ["AB", "AAB", "-_8=", "+/8", "abcde", "ab cd", "A", "AAAA=", "AA\u{0}A"] {
            #expect(Base64URL.decodeCanonical(ArraySlice(hostile.utf8)) == nil, "\(hostile)")
        }
        #expect(Base64URL.decodeCanonical(ArraySlice("AA".utf8)) == [0x00])
        #expect(Base64URL.decodeCanonical([]) == [])
    }

    @Test func hexRoundTripsAndRejectsBadInput() {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "00abff")
        #expect(Hex.decode("00ABff") == [0x00, 0xab, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
