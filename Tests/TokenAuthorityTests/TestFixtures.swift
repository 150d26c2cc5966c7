import CryptoCore
import Foundation
import TestSupport

/// A fresh temp directory, removed when the value is dropped.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: file(name), atomically: false, encoding: .utf8)
    }
}

/// Command-line cross-checks.
enum Tool {
    static func run(_ tool: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await offload {
            let process = try ChildProcess("/usr/bin/env", [tool] + arguments, output: .pipe, errors: .standardOutput)
            let output = process.output.map(readToEnd) ?? Data()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: output, as: UTF8.self))
        }
    }

    /// Verifies a token with python3-cryptography from its own `x5c`, independently of CryptoCore,
    /// and computes the libtrust key id the registry would (SHA-256 of the SPKI, 240 bits, base32).
    static let pythonVerifier = #"""
        import sys, json, base64, hashlib
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
        def b64u(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        token = sys.argv[1]
        h, p, s = token.split(".")
        header = json.loads(b64u(h)); claims = json.loads(b64u(p)); sig = b64u(s)
        assert header["typ"] == "JWT"
        cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0], validate=True))
        key = cert.public_key()
        message = (h + "." + p).encode()
        if header["alg"] == "ES256":
            assert len(sig) == 64
            der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
            key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        elif header["alg"] == "RS256":
            key.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            sys.exit("unexpected alg")
        spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        b32 = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode().rstrip("=")
        kid = ":".join(b32[i:i + 4] for i in range(0, 48, 4))
        assert header["kid"] == kid, (header["kid"], kid)
        print("OK", header["alg"], kid, claims)
        """#
}
