import CryptoCore
import Foundation
import TestSupport
import Testing

@Suite struct SigningTests {
    let message = Array("header.payload".utf8)

    @Test(arguments: [SigningAlgorithm.es256, .rs256])
    func aSignatureVerifiesWithTheMatchingPublicKey(algorithm: SigningAlgorithm) async throws {
        let rsa = await TestKeys.rsa()
        let key = algorithm == .es256 ? TestKeys.ec : rsa
        let signature = try key.sign(message, algorithm: algorithm)
        #expect(key.publicKey.verify(signature: signature, message: message, algorithm: algorithm))
        if algorithm == .es256 { #expect(signature.count == 64) } else { #expect(signature.count == 256) }
    }

    @Test(arguments: [SigningAlgorithm.es256, .rs256])
    func aTamperedMessageOrSignatureFailsVerification(algorithm: SigningAlgorithm) async throws {
        let rsa = await TestKeys.rsa()
        let key = algorithm == .es256 ? TestKeys.ec : rsa
        var signature = try key.sign(message, algorithm: algorithm)
        #expect(
            !key.publicKey.verify(signature: signature, message: Array("header.payloaD".utf8), algorithm: algorithm))
        signature[5] ^= 0x01
        #expect(!key.publicKey.verify(signature: signature, message: message, algorithm: algorithm))
    }

    @Test func anES256SignatureOfTheWrongLengthFails() throws {
        let signature = try TestKeys.ec.sign(message, algorithm: .es256)
        let publicKey = TestKeys.ec.publicKey
        #expect(!publicKey.verify(signature: Array(signature.dropLast()), message: message, algorithm: .es256))
        #expect(!publicKey.verify(signature: signature + [0], message: message, algorithm: .es256))
        #expect(!publicKey.verify(signature: [], message: message, algorithm: .es256))
        // A DER signature is not accepted where JWS requires raw r || s.
        let der = TestDER.ecdsaSignature(raw: signature)
        #expect(!publicKey.verify(signature: der, message: message, algorithm: .es256))
    }

    @Test func aSignatureFromTheWrongKeyOrAlgorithmFails() async throws {
        let rsa = await TestKeys.rsa()
        let other = try PrivateKey.generate(.ecP256)
        let signature = try other.sign(message, algorithm: .es256)
        #expect(!TestKeys.ec.publicKey.verify(signature: signature, message: message, algorithm: .es256))
        #expect(!rsa.publicKey.verify(signature: signature, message: message, algorithm: .es256))
        #expect(throws: CryptoError.algorithmMismatch) { try TestKeys.ec.sign(message, algorithm: .rs256) }
    }

    @Test func rsaKeysUnder2048BitsAreRefused() {
        #expect(throws: CryptoError.weakKey) { try PrivateKey.generate(.rsa(bits: 1024)) }
    }

    @Test func es256SignaturesVerifyWithTheOpenSSLCommandLine() async throws {
        let scratch = try Scratch()
        try scratch.write("key.pem", try TestKeys.ec.pemEncoded())
        try scratch.write("message", message)
        try scratch.write(
            "signature.der", TestDER.ecdsaSignature(raw: try TestKeys.ec.sign(message, algorithm: .es256)))
        try await scratch.run("openssl", ["pkey", "-in", "key.pem", "-pubout", "-out", "public.pem"])
        let result = try await scratch.run(
            "openssl", ["dgst", "-sha256", "-verify", "public.pem", "-signature", "signature.der", "message"])
        #expect(result.status == 0 && result.output.contains("Verified OK"), "\(result.output)")
    }

    @Test func signaturesMadeByTheOpenSSLCommandLineVerify() async throws {
        let rsa = await TestKeys.rsa()
        let scratch = try Scratch()
        try scratch.write("message", message)
        for (key, algorithm) in [(TestKeys.ec, SigningAlgorithm.es256), (rsa, .rs256)] {
            try scratch.write("key.pem", try key.pemEncoded())
            let result = try await scratch.run(
                "openssl", ["dgst", "-sha256", "-sign", "key.pem", "-out", "signature", "message"])
            #expect(result.status == 0, "\(result.output)")
            var signature = try scratch.read("signature")
            if algorithm == .es256 { signature = try #require(TestDER.rawSignature(der: signature)) }
            #expect(key.publicKey.verify(signature: signature, message: message, algorithm: algorithm))
        }
    }

    @Test func verificationLeavesNoStaleOpenSSLErrorsBehind() throws {
        // A failed verification followed by a refused PEM must report only the PEM problem.
        _ = TestKeys.ec.publicKey.verify(
            signature: [UInt8](repeating: 1, count: 64), message: message, algorithm: .es256)
        do {
            _ = try PrivateKey(pem: "not pem")
            Issue.record("garbage PEM was accepted")
        } catch let error as CryptoError {
            #expect(error == .invalidPEM)
            #expect(!error.openSSLErrors.contains { $0.contains("ECDSA") || $0.contains("bad signature") })
        }
    }
}

@Suite struct KeyEncodingTests {
    @Test(arguments: [KeyKind.ecP256, .rsa(bits: 2048)])
    func privateKeysRoundTripThroughPKCS8PEM(kind: KeyKind) async throws {
        let rsa = await TestKeys.rsa()
        let key = kind == .ecP256 ? TestKeys.ec : rsa
        let pem = try key.pemEncoded()
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let reloaded = try PrivateKey(pem: pem)
        #expect(reloaded.kind == kind)
        #expect(reloaded.publicKey.spkiDER == key.publicKey.spkiDER)
        #expect(try reloaded.pemEncoded() == pem)
    }

    @Test func traditionalECAndRSAPEMKeysFromOpenSSLLoad() async throws {
        let scratch = try Scratch()
        try await scratch.run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.pem"])
        try await scratch.run("openssl", ["genrsa", "-traditional", "-out", "rsa.pem", "2048"])
        let ecPEM = String(decoding: try scratch.read("ec.pem"), as: UTF8.self)
        let rsaPEM = String(decoding: try scratch.read("rsa.pem"), as: UTF8.self)
        #expect(ecPEM.contains("BEGIN EC PRIVATE KEY"))
        #expect(rsaPEM.contains("BEGIN RSA PRIVATE KEY"))
        #expect(try PrivateKey(pem: ecPEM).kind == .ecP256)
        #expect(try PrivateKey(pem: rsaPEM).kind == .rsa(bits: 2048))
    }

    @Test func unsupportedEncryptedAndWeakKeysAreRefusedWithPreciseErrors() async throws {
        let scratch = try Scratch()
        try await scratch.run("openssl", ["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"])
        try await scratch.run("openssl", ["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "p384.pem"])
        try await scratch.run("openssl", ["genrsa", "-out", "small.pem", "1024"])
        try await scratch.run(
            "openssl",
            [
                "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:secret",
                "-out", "encrypted.pem",
            ])
        func pem(_ name: String) throws -> String { String(decoding: try scratch.read(name), as: UTF8.self) }
        #expect(throws: CryptoError.unsupportedKey) { try PrivateKey(pem: try pem("ed.pem")) }
        #expect(throws: CryptoError.unsupportedKey) { try PrivateKey(pem: try pem("p384.pem")) }
        #expect(throws: CryptoError.weakKey) { try PrivateKey(pem: try pem("small.pem")) }
        #expect(throws: CryptoError.invalidPEM) { try PrivateKey(pem: try pem("encrypted.pem")) }
        #expect(throws: CryptoError.invalidPEM) { try PrivateKey(pem: "") }
    }

    @Test func publicKeyPEMMatchesOpenSSLAndRoundTrips() async throws {
        let rsa = await TestKeys.rsa()
        let scratch = try Scratch()
        for key in [TestKeys.ec, rsa] {
            try scratch.write("key.pem", try key.pemEncoded())
            let result = try await scratch.run("openssl", ["pkey", "-in", "key.pem", "-pubout"])
            #expect(result.output == key.publicKey.pemEncoded())
            let reloaded = try PublicKey(pem: result.output)
            #expect(reloaded.spkiDER == key.publicKey.spkiDER)
            #expect(try PublicKey(spkiDER: key.publicKey.spkiDER).kind == key.kind)
        }
        #expect(TestKeys.ec.publicKey.spkiDER.count == 91)
        #expect(rsa.publicKey.spkiDER.count == 294)
    }

    @Test func malformedSubjectPublicKeyInfoIsRefused() {
        let der = TestKeys.ec.publicKey.spkiDER
        #expect(throws: CryptoError.invalidDER) { try PublicKey(spkiDER: []) }
        #expect(throws: CryptoError.invalidDER) { try PublicKey(spkiDER: Array(der.dropLast())) }
        #expect(throws: CryptoError.invalidDER) { try PublicKey(spkiDER: der + [0]) }
        #expect(throws: CryptoError.invalidDER) { try PublicKey(spkiDER: [UInt8](repeating: 0x30, count: 40)) }
    }
}

/// The Docker libtrust key id, checked against an independent computation.
@Suite struct LibtrustKeyIDTests {
    @Test func theLibtrustKeyIDMatchesAnIndependentPythonComputation() async throws {
        let rsa = await TestKeys.rsa()
        let scratch = try Scratch()
        for key in [TestKeys.ec.publicKey, rsa.publicKey] {
            let kid = key.libtrustKeyID()
            let groups = kid.split(separator: ":")
            #expect(groups.count == 12)
            #expect(
                groups.allSatisfy { $0.count == 4 && $0.allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains($0) } }
            )
            try scratch.write("spki.der", key.spkiDER)
            let script = """
                import base64, hashlib
                s = base64.b32encode(hashlib.sha256(open('spki.der', 'rb').read()).digest()[:30]).decode()
                print(':'.join(s[i:i + 4] for i in range(0, len(s), 4)))
                """
            let python = try await scratch.run("python3", ["-c", script])
            #expect(python.output.trimmingCharacters(in: .whitespacesAndNewlines) == kid)
        }
    }
}
