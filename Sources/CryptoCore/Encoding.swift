import Foundation

/// Standard padded base64 (RFC 4648 §4), as HTTP Basic credentials use it.
public enum Base64 {
    /// The 6-bit value of each alphabet byte; 0xFF for anything else.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        return table
    }()

    /// Decodes padded base64; nil for a length that is not a multiple of four, a byte outside the
    /// alphabet, or padding anywhere but the end. Decoded four characters at a time straight from the text's
    /// bytes: it runs for every `docker login` and token request (twice when the fast path declines one), and a
    /// CI job token makes the credentials a kilobyte long.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        if let decoded = text.utf8.withContiguousStorageIfAvailable({ decode(bytes: $0) }) { return decoded }
        return Array(text.utf8).withUnsafeBufferPointer { decode(bytes: $0) }
    }

    private static func decode(bytes input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard input.count % 4 == 0 else { return nil }
        var count = input.count
        if count > 0, input[count - 1] == UInt8(ascii: "=") { count -= 1 }
        if count > 0, input[count - 1] == UInt8(ascii: "=") { count -= 1 }
        return values.withUnsafeBufferPointer { table -> [UInt8]? in
            // Every 6-bit value is below 0x40; 0xFF marks a byte outside the alphabet (`=` included).
            func value(_ index: Int) -> UInt32 { UInt32(table[Int(input[index])]) }
            var output = [UInt8]()
            output.reserveCapacity(count * 3 / 4)
            var index = 0
            while index + 4 <= count {
                let (a, b, c, d) = (value(index), value(index + 1), value(index + 2), value(index + 3))
                guard (a | b | c | d) & 0x80 == 0 else { return nil }
                let group = a << 18 | b << 12 | c << 6 | d
                output.append(UInt8(truncatingIfNeeded: group >> 16))
                output.append(UInt8(truncatingIfNeeded: group >> 8))
                output.append(UInt8(truncatingIfNeeded: group))
                index += 4
            }
            switch count - index {
            case 0: return output
            case 2:
                let (a, b) = (value(index), value(index + 1))
                // Leftover bits must be zero, as in every canonical encoding.
                guard (a | b) & 0x80 == 0, b & 0x0F == 0 else { return nil }
                output.append(UInt8(truncatingIfNeeded: a << 2 | b >> 4))
                return output
            case 3:
                let (a, b, c) = (value(index), value(index + 1), value(index + 2))
                guard (a | b | c) & 0x80 == 0, c & 0x03 == 0 else { return nil }
                let group = a << 18 | b << 12 | c << 6
                output.append(UInt8(truncatingIfNeeded: group >> 16))
                output.append(UInt8(truncatingIfNeeded: group >> 8))
                return output
            default: return nil
            }
        }
    }
}

/// Base64url without padding (RFC 4648 §5), as JOSE uses it.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Encodes `bytes` as unpadded base64url, byte by byte: it runs for every token issued, where
    /// Foundation's encoder plus two string replacements cost more than the signature.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        let outputCount = (input.count * 8 + 5) / 6
        return String(unsafeUninitializedCapacity: outputCount) { output in
            var out = 0
            var index = 0
            while index + 3 <= input.count {
                let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
                output[out] = alphabet[Int(chunk >> 18 & 63)]
                output[out + 1] = alphabet[Int(chunk >> 12 & 63)]
                output[out + 2] = alphabet[Int(chunk >> 6 & 63)]
                output[out + 3] = alphabet[Int(chunk & 63)]
                out += 4
                index += 3
            }
            switch input.count - index {
            case 1:
                let chunk = UInt32(input[index]) << 16
                output[out] = alphabet[Int(chunk >> 18 & 63)]
                output[out + 1] = alphabet[Int(chunk >> 12 & 63)]
                out += 2
            case 2:
                let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
                output[out] = alphabet[Int(chunk >> 18 & 63)]
                output[out + 1] = alphabet[Int(chunk >> 12 & 63)]
                output[out + 2] = alphabet[Int(chunk >> 6 & 63)]
                out += 3
            default: break
            }
            return out
        }
    }

    /// The 6-bit value of each alphabet byte; 0xFF for anything else.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Decodes unpadded base64url; nil for any other character, for padding, or for an impossible length.
    /// Bits left over after the last whole byte are ignored (JOSE checks canonical spelling itself). Decoded
    /// byte by byte: every ID token and JWK passes here, where rebuilding standard base64 in a String for
    /// Foundation's decoder cost more than the RSA verification.
    public static func decode(_ text: String) -> [UInt8]? {
        var output = [UInt8]()
        output.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var count = 0
        for byte in text.utf8 {
            let value = values[Int(byte)]
            guard value != 0xFF else { return nil }
            accumulator = (accumulator << 6 | UInt32(value)) & 0xFFFFFF
            bits += 6
            count += 1
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        guard count % 4 != 1 else { return nil }
        return output
    }

    /// Decodes unpadded base64url that is spelt canonically: nil for any other character, for padding, for an
    /// impossible length, and for non-zero bits left over after the last whole byte, so that each byte string
    /// has exactly one accepted spelling (a JWS part must; checked here in the one pass that decodes it,
    /// instead of encoding the result again to compare).
    public static func decodeCanonical(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        let remainder = text.count % 4
        guard remainder != 1 else { return nil }
        let outputCount = text.count / 4 * 3 + (remainder == 0 ? 0 : remainder - 1)
        var valid = true
        // Four characters make three bytes: a whole group is one table lookup per character and one 24-bit
        // word, without per-byte bookkeeping (every CI login's token passes here).
        let output = [UInt8](unsafeUninitializedCapacity: outputCount) { buffer, count in
            var index = text.startIndex
            var out = 0
            while index + 4 <= text.endIndex {
                let a = values[Int(text[index])], b = values[Int(text[index + 1])]
                let c = values[Int(text[index + 2])], d = values[Int(text[index + 3])]
                guard (a | b | c | d) & 0xC0 == 0 else {
                    valid = false
                    break
                }
                let word = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                buffer[out] = UInt8(truncatingIfNeeded: word >> 16)
                buffer[out + 1] = UInt8(truncatingIfNeeded: word >> 8)
                buffer[out + 2] = UInt8(truncatingIfNeeded: word)
                out += 3
                index += 4
            }
            if valid, remainder > 0 {
                var word: UInt32 = 0
                for offset in 0..<remainder {
                    let value = values[Int(text[index + offset])]
                    guard value != 0xFF else {
                        valid = false
                        break
                    }
                    word = word << 6 | UInt32(value)
                }
                // 2 characters carry 1 byte and 4 spare bits, 3 carry 2 bytes and 2 spare bits: spare bits must be 0.
                let spareBits = UInt32(remainder == 2 ? 4 : 2)
                if valid, word & ((1 << spareBits) - 1) == 0 {
                    word >>= spareBits
                    for offset in (0..<(remainder - 1)).reversed() {
                        buffer[out] = UInt8(truncatingIfNeeded: word >> UInt32(8 * offset))
                        out += 1
                    }
                } else {
                    valid = false
                }
            }
            count = valid ? out : 0
        }
        return valid ? output : nil
    }
}

/// Lowercase hexadecimal text for bytes.
public enum Hex {
    @usableFromInline static let digits = Array("0123456789abcdef".utf8)

    /// Encodes `bytes` as lowercase hex, two characters per byte.
    @inlinable
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output = [UInt8]()
        output.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes hex of either case; nil for an odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 2 == 0 else { return nil }
        var output = [UInt8]()
        output.reserveCapacity(input.count / 2)
        var index = 0
        while index < input.count {
            guard let high = nibble(input[index]), let low = nibble(input[index + 1]) else { return nil }
            output.append(high << 4 | low)
            index += 2
        }
        return output
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// RFC 4648 base32 with the standard alphabet and no padding (used by libtrust key ids).
enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func encodeUnpadded(_ bytes: [UInt8]) -> String {
        var output = [UInt8]()
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 0x1f)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 0x1f)]) }
        return String(decoding: output, as: UTF8.self)
    }
}
