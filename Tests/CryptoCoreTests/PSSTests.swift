import CryptoCore
import Foundation
import TestSupport
import Testing

/// PS256 (RSASSA-PSS with SHA-256, MGF1-SHA-256, a 32-byte salt), for OpenID providers that sign ID tokens
/// with it, cross-checked with the OpenSSL command line both ways.
@Suite struct PSSTests {
    let message = Array("header.payload".utf8)

    @Test func ps256SignaturesVerifyHereAndNotAsRS256() async throws {
        let rsa = await TestKeys.rsa()
        let signature = try rsa.sign(message, algorithm: .ps256)
        #expect(signature.count == 256)
        #expect(rsa.publicKey.verify(signature: signature, message: message, algorithm: .ps256))
        #expect(!rsa.publicKey.verify(signature: signature, message: message, algorithm: .rs256))
        let pkcs1 = try rsa.sign(message, algorithm: .rs256)
        #expect(!rsa.publicKey.verify(signature: pkcs1, message: message, algorithm: .ps256))
        #expect(throws: CryptoError.algorithmMismatch) { try TestKeys.ec.sign(message, algorithm: .ps256) }
    }

    @Test func ps256SignaturesAgreeWithTheOpenSSLCommandLine() async throws {
        let rsa = await TestKeys.rsa()
        let scratch = try Scratch()
        try scratch.write("key.pem", try rsa.pemEncoded())
        try scratch.write("message", message)
        try await scratch.run("openssl", ["pkey", "-in", "key.pem", "-pubout", "-out", "public.pem"])
        let pss = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sigopt", "rsa_mgf1_md:sha256"]
        try scratch.write("ours", try rsa.sign(message, algorithm: .ps256))
        let verified = try await scratch.run(
            "openssl", ["dgst", "-sha256"] + pss + ["-verify", "public.pem", "-signature", "ours", "message"])
        #expect(verified.status == 0 && verified.output.contains("Verified OK"), "\(verified.output)")
        let signed = try await scratch.run(
            "openssl", ["dgst", "-sha256"] + pss + ["-sign", "key.pem", "-out", "theirs", "message"])
        #expect(signed.status == 0, "\(signed.output)")
        #expect(rsa.publicKey.verify(signature: try scratch.read("theirs"), message: message, algorithm: .ps256))
    }
}
