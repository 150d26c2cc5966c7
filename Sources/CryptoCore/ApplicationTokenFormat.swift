import Foundation

/// The shape of application token secrets: `pct_` (robot accounts: `pcr_`) + 43 base62 characters of 32 random bytes + a
/// 6-character base62 CRC32 of those 43 characters (GitHub's scheme).
///
/// The prefix makes leaked tokens easy to spot (secret scanners, logs); the checksum lets a typo or a
/// string that merely looks like a token be refused without a database read. It lives here, not in the
/// application-tokens plugin, because the services that issue tokens and the plugin that verifies them
/// both need it, and neither may import the other.
public enum ApplicationTokenFormat {
    /// What every personal application token starts with.
    public static let prefix = "pct_"
    /// What every robot account's token starts with: a different prefix, so a leaked robot token is told
    /// apart at a glance and the verifier knows which table to read. As long as `prefix`.
    public static let robotPrefix = "pcr_"
    /// Characters of the random part: 32 bytes need 43 base62 digits (62^43 > 2^256).
    public static let randomLength = 43
    /// Characters of the checksum: a CRC32 needs 6 base62 digits (62^6 > 2^32).
    public static let checksumLength = 6
    /// The length of a whole token.
    public static let length = prefix.utf8.count + randomLength + checksumLength
    /// How many characters of the random part are kept as the display prefix.
    static let displayedRandomCharacters = 6

    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// A fresh random token starting with `prefix` (`ApplicationTokenFormat.prefix` or `.robotPrefix`).
    public static func generate(prefix: String = prefix) -> String {
        let random = base62(SecureRandom.bytes(count: 32), width: randomLength)
        return prefix + random + checksum(of: random)
    }

    /// Whether `text` has the token shape with this prefix and a matching checksum (no database involved).
    public static func isWellFormed(_ text: String, prefix: String = prefix) -> Bool {
        let bytes = Array(text.utf8)
        let prefixBytes = Array(prefix.utf8)
        guard bytes.count == length, bytes.starts(with: prefixBytes) else { return false }
        let body = bytes[prefixBytes.count...]
        guard body.allSatisfy(isBase62) else { return false }
        let random = String(decoding: body.prefix(randomLength), as: UTF8.self)
        let sum = String(decoding: body.suffix(checksumLength), as: UTF8.self)
        return checksum(of: random) == sum
    }

    /// The visible start of a token (`pct_` and six random characters), stored to tell tokens apart.
    public static func displayPrefix(of token: String) -> String {
        String(token.prefix(prefix.count + displayedRandomCharacters))
    }

    /// The lowercase hex SHA-256 of a token, which is all the database keeps.
    public static func secretHash(of token: String) -> String {
        Hex.encode(Digest.sha256(token))
    }

    /// The base62 CRC32 checksum of `random`.
    static func checksum(of random: String) -> String {
        let crc = CRC32.checksum(Array(random.utf8))
        return base62(
            [UInt8(crc >> 24), UInt8((crc >> 16) & 0xff), UInt8((crc >> 8) & 0xff), UInt8(crc & 0xff)],
            width: checksumLength)
    }

    /// `bytes` as a big-endian number in exactly `width` base62 digits, left-padded with `0`.
    static func base62(_ bytes: [UInt8], width: Int) -> String {
        var number = bytes
        var digits: [UInt8] = []
        digits.reserveCapacity(width)
        while digits.count < width {
            var remainder = 0
            for index in number.indices {
                let accumulator = remainder * 256 + Int(number[index])
                number[index] = UInt8(accumulator / 62)
                remainder = accumulator % 62
            }
            digits.append(alphabet[remainder])
        }
        precondition(number.allSatisfy { $0 == 0 }, "base62 width too small for the value")
        return String(decoding: digits.reversed(), as: UTF8.self)
    }

    private static func isBase62(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte)
    }
}

/// CRC-32 (IEEE 802.3, the zlib one), table-driven.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1 }
        return value
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = (crc >> 8) ^ table[Int((crc ^ UInt32(byte)) & 0xff)] }
        return crc ^ 0xFFFF_FFFF
    }
}
