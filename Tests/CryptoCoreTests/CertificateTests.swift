import CryptoCore
import Foundation
import TestSupport
import Testing

@Suite struct CertificateTests {
    @Test func aSelfSignedCertificateHasTheRequestedFieldsAccordingToOpenSSL() async throws {
        let key = TestKeys.ec
        let certificate = try Certificate.selfSigned(
            key: key, commonName: "registry.example.test",
            subjectAlternativeNames: ["localhost", "registry.example.test", "127.0.0.1", "::1"],
            validity: .seconds(30 * 86400))
        let scratch = try Scratch()
        try scratch.write("cert.pem", certificate.pemEncoded())
        let text = try await scratch.run("openssl", ["x509", "-in", "cert.pem", "-noout", "-text"]).output
        #expect(text.contains("Version: 3 (0x2)"))
        #expect(text.contains("Subject: CN = registry.example.test"))
        #expect(text.contains("Issuer: CN = registry.example.test"))
        #expect(text.contains("ecdsa-with-SHA256"))
        #expect(text.contains("CA:FALSE"))
        #expect(text.contains("Digital Signature"))
        #expect(
            text.contains("DNS:localhost, DNS:registry.example.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"))
        let selfCheck = try await scratch.run(
            "openssl", ["verify", "-CAfile", "cert.pem", "-partial_chain", "cert.pem"])
        #expect(selfCheck.output.contains("cert.pem: OK"), "\(selfCheck.output)")
        let publicKey = try await scratch.run("openssl", ["x509", "-in", "cert.pem", "-noout", "-pubkey"]).output
        #expect(publicKey == key.publicKey.pemEncoded())
    }

    @Test func certificateFieldsAreDecoded() async throws {
        let rsa = await TestKeys.rsa()
        let before = Date()
        let certificate = try Certificate.selfSigned(
            key: rsa, commonName: "Portcullis token signer", validity: .seconds(365 * 86400))
        #expect(certificate.subjectCommonName == "Portcullis token signer")
        #expect(certificate.publicKey.spkiDER == rsa.publicKey.spkiDER)
        #expect(certificate.notBefore <= before)
        #expect(abs(certificate.notAfter.timeIntervalSince(before) - 365 * 86400) < 120)
        #expect(certificate.matches(rsa))
        #expect(!certificate.matches(TestKeys.ec))
    }

    @Test func certificatesRoundTripThroughPEMAndDER() throws {
        let certificate = try Certificate.selfSigned(
            key: TestKeys.ec, commonName: "round trip", subjectAlternativeNames: ["a.example"],
            validity: .seconds(3600))
        let fromPEM = try Certificate(pem: certificate.pemEncoded())
        #expect(fromPEM.derEncoded == certificate.derEncoded)
        let fromDER = try Certificate(der: certificate.derEncoded)
        #expect(fromDER.subjectCommonName == "round trip")
        #expect(fromDER.notAfter == certificate.notAfter)
        #expect(throws: CryptoError.invalidDER) { try Certificate(der: certificate.derEncoded + [0]) }
        #expect(throws: CryptoError.invalidPEM) {
            try Certificate(pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        }
    }

    @Test func twoCertificatesGetDifferentSerials() async throws {
        let scratch = try Scratch()
        var serials: Set<String> = []
        for index in 0..<2 {
            let certificate = try Certificate.selfSigned(key: TestKeys.ec, commonName: "s", validity: .seconds(600))
            try scratch.write("c\(index).pem", certificate.pemEncoded())
            serials.insert(
                try await scratch.run("openssl", ["x509", "-in", "c\(index).pem", "-noout", "-serial"]).output)
        }
        #expect(serials.count == 2)
    }

    @Test func namesThatCouldInjectExtraSANEntriesAreRefused() {
        for bad in ["evil.example,IP:10.0.0.1", "space name", "", "-leading.example", "a..b", "*.com\n"] {
            #expect(throws: CryptoError.invalidArgument, "\(bad)") {
                try Certificate.selfSigned(
                    key: TestKeys.ec, commonName: "x", subjectAlternativeNames: [bad], validity: .seconds(600))
            }
        }
        #expect(throws: CryptoError.invalidArgument) {
            try Certificate.selfSigned(key: TestKeys.ec, commonName: "", validity: .seconds(600))
        }
        #expect(throws: CryptoError.invalidArgument) {
            try Certificate.selfSigned(key: TestKeys.ec, commonName: "x", validity: .seconds(1))
        }
    }

    @Test func aCertificateCanStartBeingValidAtAGivenFutureTime() async throws {
        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 7 * 86400).rounded(.down))
        let certificate = try Certificate.selfSigned(
            key: TestKeys.ec, commonName: "next signer", validity: .seconds(30 * 86400), notBefore: start)
        #expect(certificate.notBefore == start)
        #expect(certificate.notAfter == start.addingTimeInterval(30 * 86400))
        let scratch = try Scratch()
        try scratch.write("future.pem", certificate.pemEncoded())
        // openssl refuses it today and accepts it once its validity has started.
        let today = try await scratch.run(
            "openssl", ["verify", "-CAfile", "future.pem", "-partial_chain", "future.pem"])
        #expect(today.output.contains("not yet valid"), "\(today.output)")
        let later = try await scratch.run(
            "openssl",
            [
                "verify", "-attime", String(Int(start.timeIntervalSince1970) + 60), "-CAfile", "future.pem",
                "-partial_chain", "future.pem",
            ])
        #expect(later.output.contains("future.pem: OK"), "\(later.output)")
    }

    @Test func aNotBeforeOutsideTheRepresentableRangeIsRefused() {
        for bad in [
            Date(timeIntervalSince1970: -1), Date(timeIntervalSince1970: 1e12), Date(timeIntervalSince1970: .infinity),
        ] {
            #expect(throws: CryptoError.invalidArgument, "\(bad)") {
                try Certificate.selfSigned(
                    key: TestKeys.ec, commonName: "x", validity: .seconds(600), notBefore: bad)
            }
        }
    }
}
