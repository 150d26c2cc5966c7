// libFuzzer target for JWS/JWT: `UnverifiedJWT(compact:)` on any text, and `verify` of whatever parses
// against fixed EC and RSA keys, must never crash; a token the target signs itself must never fail on
// its signature. Built only with PORTCULLIS_FUZZ=1 (see .ci/fuzz).

import CryptoCore
import Foundation
import FuzzDriver
import JOSE

// Fixed keys made for this target only (they sign nothing anywhere else), so every run is the same.
let ecKey = try! PrivateKey(
    pem: """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgztv45IxW1STOC1c3
        jjNLO1OKCoavAGzL2kuoJ58EI2OhRANCAASpuPn/a9UPe85sMZYDpos+2t9ijK1x
        J6o+F/orUTBat5sv7n7bswjjLvNYF9PvMuk8GIcb7VbM5gVOycqv4FNB
        -----END PRIVATE KEY-----
        """)
let rsaKey = try! PrivateKey(
    pem: """
        -----BEGIN PRIVATE KEY-----
        MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDxVebmMVETpNhY
        /TZAM094oKNSoiJ9pVj1GnVOciWuavDgyZDTNZQNiv7Uv0IZmfTSxtwDehBsFDa2
        b4LIJMCZJarAHh26ydB/fy6N8pLIwABJXKxfTOd5bFz4CllIODZk3HCxct4zfF7r
        0MKepyYQ6sBS00rtTMkeZ9XK2c/YrAXr7hnClxX5kr2uhz729bqfWMaJahF0NBfm
        kNwBpRM+iOn4W5T5ehwtwSiP9rVi9FSkDsAehQ/hWf7GyuugAnE2bKpguqXhN9qi
        ZHAT2y+uF9Hx9ClhB02unk1G2XqZZWAwliJqzNga/I0RENJ8/F3DUkZfHmUfahtq
        Y+jzTE83AgMBAAECggEAGcjNxKZcPTcNjmRvWWiiAwdWq8t61+XEnVtYUStM71ep
        qLqgaJB+4vuIwn40t7uFNsfcVdrCymlWdyNu26dhlHs7xQ7yqjRJvHWAKdZS7HPn
        E+980ynKSWTUggPJCjhHR3tt5ueY6fNNyPAi+wRswr3yEmdUyAm+Kyt44hVnaYSy
        dQ/ROhMRVribwOWeu01zto6IOcgDbvedz8oFiP8rSzy0G8TQGtHF2x19RlmJVzVd
        cGc744RjRH/hwiB4oFhQJR7q+Dl0gG9VUekBBURUFWLh/i+/6tu/DERZS0JzRzpM
        rxAs7CxxUzwfuQQwv5/ZjD/CHKbcjMKtxw+lyacmEQKBgQD+Bm3lsbPk7dXDIBey
        8yKyc02gVXZNkCjH/8rivVf/hODfCrmI8kYx/k00ZvLeLrLDnVejedVnGptP+K5n
        wLs3HwvnEugKKRRhZbkgOYfR8VfGjXQ6nZuleu6cJ8X7VLw+61TDsULa2bZm9iUW
        YK6oVxmJSqKbvdmvF6aSIpfeBQKBgQDzNjen5SZWyNViVaSS7YPzL4tgZYUpDkUy
        PFUGZDrJMvdB+Ml2323NfTSdqa4Uc/4f14bp8TwZDyqsrywivILNrBG2+k1Hx4AO
        EV5/9Qn5t4Xva7+Lg75chSqNhnrfN0t2xf3hA+1hXuiXQZsESejnXIaZrIqo2wxF
        prRjIBTBCwKBgETolZNDm1s0sVIXOJaQog7qfFpMFKWBv65RU0YiuuZTs3SNwjrG
        DgitxV+7tZJT9KZf3lA4Uo1/iDYvbZAzlhWj1GTAmjV3Y1HweEGnmZJ396mi4a6s
        5nYDXQr7NxewqsgeqoXTZiFcAcD4cKMbYwXDauf1WRsKayy2K7dkrvHJAoGBAPFn
        jVKvFqDpczPJwjK8Yk5NkNA7tDKOIYy9ab+QWPFAD0CCSqYdG4Xtkv4zX8CZaVH9
        wcIPWhGdhkQlE2/fIQ44jtTKGU737FkKUHw9oosk6GI+1r8KIzb+TsBvDSLmZZcc
        6uQf28zcQY1w5wcYvX53znpWUsNLuSChWUdSnocFAoGBAN34+EfFbz6ZITB2e1v/
        PTrCjq+dGWl6BtWEflne9iFiLa19n2ZrpfSwUkoBhak+JdLe0GRFY/HIEf8X9Vzy
        5KZlSEt8rLxAgBm3lyWlLZg91gaCeT9WbUlX1KLxnPSHm2xoz33N42Hc6FijejT/
        rEKaxEXrNw2tnBMM4cs2lLG8
        -----END PRIVATE KEY-----
        """)
let keys = ["ec": ecKey.publicKey, "rsa": rsaKey.publicKey]
/// A fixed clock, so expiry decisions do not change from run to run.
let now = Date(timeIntervalSince1970: 1_800_000_000)
/// The key the target signs with. ECDSA signatures carry a random nonce (OpenSSL 3.0 has no RFC 6979),
/// which would steer a fixed-seed run down different paths on each machine, so the reproducible pass
/// (`.ci/fuzz --check` sets FUZZ_REPRODUCIBLE=1) signs with RSA PKCS#1 v1.5, which is deterministic; the
/// random search signs with the EC key, about thirty times faster.
let signer: (key: PrivateKey, algorithm: SigningAlgorithm) =
    ProcessInfo.processInfo.environment["FUZZ_REPRODUCIBLE"] == "1" ? (rsaKey, .rs256) : (ecKey, .es256)

/// The compact token an input stands for. Even first byte: the rest is the token text. Odd: the rest
/// is `header NUL payload NUL signature`, each base64url-encoded here so the fuzzer reaches the JSON
/// and the checks behind the encoding; with bit 1 set as well, the target signs it with `signer`.
func token(from input: [UInt8]) -> (text: String, signedHere: Bool)? {
    guard let control = input.first else { return nil }
    let rest = Array(input.dropFirst())
    guard control & 1 == 1 else { return (String(decoding: rest, as: UTF8.self), false) }
    let parts = rest.pieces(separatedBy: 0, limit: 3)
    let signingInput = Base64URL.encode(parts[0]) + "." + Base64URL.encode(parts.count > 1 ? parts[1] : [])
    if control & 2 == 2, let signature = try? signer.key.sign(Array(signingInput.utf8), algorithm: signer.algorithm) {
        return (signingInput + "." + Base64URL.encode(signature), true)
    }
    return (signingInput + "." + Base64URL.encode(parts.count > 2 ? parts[2] : []), false)
}

@_cdecl("JWTFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz(argc, argv) { input in
        guard let (text, signedHere) = token(from: input),
            let jwt = try? UnverifiedJWT(compact: text)
        else { return }
        _ = try? jwt.verify(using: keys, allowedAlgorithms: [.es256, .rs256], now: now)
        do {
            _ = try jwt.verify(
                keyLookup: { _ in signer.key.publicKey }, allowedAlgorithms: [.es256, .rs256], now: now)
        } catch let error as JWTError {
            precondition(
                !(signedHere && jwt.header.algorithm == signer.algorithm.rawValue && error.code == .invalidSignature),
                "a token signed with the key does not verify")
        } catch {
            preconditionFailure("verify threw something other than a JWTError: \(error)")
        }
    }
}
