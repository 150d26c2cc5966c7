import CCrypt
import COpenSSL

/// Password hashing and verification through libxcrypt (bcrypt `$2b$` and yescrypt `$y$`).
///
/// Both operations are deliberately slow CPU work (bcrypt cost 12 is about 200 ms here): call them
/// from a small CPU-bound `BlockingPool`, never directly from an async task. Thread-safe: each call
/// uses its own heap-allocated `crypt_data`.
public enum PasswordHash {
    /// A hashing method and its work factor.
    public enum Method: Sendable, Hashable {
        /// bcrypt (`$2b$`) with a log2 cost of 4 to 31; passwords over 72 bytes are refused.
        case bcrypt(cost: Int = 12)
        /// yescrypt (`$y$`) with libxcrypt's default cost.
        case yescrypt
    }

    /// bcrypt ignores every byte after the 72nd, so longer passwords are refused rather than truncated.
    public static let maximumBcryptPasswordBytes = 72
    /// The longest password accepted by any method (bounds the work an attacker can request).
    public static let maximumPasswordBytes = 1024
    /// Stored hashes longer than this are treated as garbage.
    static let maximumHashLength = 512

    /// Hashes `password` with a fresh random salt and returns the modular-crypt string to store.
    ///
    /// - Throws: `CryptoError.passwordTooLong` (over 72 bytes for bcrypt, over 1024 otherwise),
    ///   `.passwordContainsNUL`, `.invalidArgument` for a bcrypt cost outside 4…31, or `.hashingFailed`.
    public static func make(password: String, method: Method = .bcrypt()) throws -> String {
        let bytes = Array(password.utf8)
        guard !bytes.contains(0) else {
            throw CryptoError(.passwordContainsNUL, reason: "password contains a NUL byte")
        }
        let prefix: String
        let count: UInt
        switch method {
        case .bcrypt(let cost):
            guard (4...31).contains(cost) else {
                throw CryptoError(.invalidArgument, reason: "bcrypt cost must be 4...31")
            }
            guard bytes.count <= maximumBcryptPasswordBytes else {
                throw CryptoError(.passwordTooLong, reason: "bcrypt passwords are limited to 72 bytes")
            }
            prefix = "$2b$"
            count = UInt(cost)
        case .yescrypt:
            guard bytes.count <= maximumPasswordBytes else {
                throw CryptoError(.passwordTooLong, reason: "passwords are limited to \(maximumPasswordBytes) bytes")
            }
            prefix = "$y$"
            count = 0
        }
        var setting = [CChar](repeating: 0, count: Int(ccrypt_gensalt_output_size()))
        let salted = setting.withUnsafeMutableBufferPointer { buffer in
            // No random bytes passed: libxcrypt reads the OS RNG itself.
            crypt_gensalt_rn(prefix, count, nil, 0, buffer.baseAddress, Int32(buffer.count))
        }
        guard salted != nil else { throw CryptoError(.hashingFailed, reason: "crypt_gensalt_rn failed for \(prefix)") }
        let settingString = OpenSSLSupport.string(fromNulTerminated: setting)
        guard let hash = crypt(password, setting: settingString), hash.hasPrefix(prefix) else {
            throw CryptoError(.hashingFailed, reason: "crypt_rn failed for \(prefix)")
        }
        return hash
    }

    /// Whether `password` matches the stored modular-crypt `hash`.
    ///
    /// Accepts `$2a$`, `$2b$`, `$2y$` and `$y$`; any other or malformed hash, an empty hash, a password
    /// with a NUL byte, or a password bcrypt would truncate (over 72 bytes) gives false. The final
    /// comparison is constant-time.
    public static func verify(password: String, against hash: String) -> Bool {
        let bytes = Array(password.utf8)
        guard !bytes.contains(0), bytes.count <= maximumPasswordBytes else { return false }
        guard hash.utf8.count <= maximumHashLength,
            hash.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        else { return false }
        let isBcrypt = hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$")
        guard isBcrypt || hash.hasPrefix("$y$") else { return false }
        if isBcrypt && bytes.count > maximumBcryptPasswordBytes { return false }
        guard let computed = crypt(password, setting: hash) else { return false }
        return ConstantTime.equals(Array(computed.utf8), Array(hash.utf8))
    }

    /// One `crypt_rn` call with a zeroed heap `crypt_data` that is wiped again afterwards.
    private static func crypt(_ password: String, setting: String) -> String? {
        let size = Int(ccrypt_data_size())
        let data = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        data.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        defer {
            OPENSSL_cleanse(data, size)
            data.deallocate()
        }
        guard let result = ccrypt_rn(password, setting, data, Int32(size)) else { return nil }
        let text = String(cString: result)
        // crypt_rn documents NULL on failure, but "*"-prefixed failure tokens exist in the crypt family.
        return text.hasPrefix("*") ? nil : text
    }
}
