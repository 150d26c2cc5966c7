/// Where a fragment stops being UTF-8, so a stray Latin-1 byte is reported where it is rather than as a
/// YAML error at the start of the file.
enum TextEncoding {
    /// The location and value of the first byte of `bytes` that does not belong to a well-formed UTF-8
    /// sequence, or nil when all of it is UTF-8. Lines count from 1 after each LF; columns count
    /// characters (Unicode scalars) from 1, as the YAML parser's own locations do.
    static func firstNonUTF8Byte(in bytes: [UInt8]) -> (line: Int, column: Int, byte: UInt8)? {
        var line = 1
        var column = 1
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length: Int
            // The well-formed sequences of Unicode's Table 3-7: no overlong forms, no surrogates, ≤ U+10FFFF.
            var secondRange: ClosedRange<UInt8> = 0x80...0xBF
            switch lead {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                secondRange = 0xA0...0xBF
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                secondRange = 0x80...0x9F
            case 0xF0:
                length = 4
                secondRange = 0x90...0xBF
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                secondRange = 0x80...0x8F
            default: return (line, column, lead)
            }
            for offset in 1..<length {
                guard index + offset < bytes.count else { return (line, column, lead) }
                let byte = bytes[index + offset]
                let range = offset == 1 ? secondRange : 0x80...0xBF
                guard range.contains(byte) else { return (line, column, lead) }
            }
            if lead == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
            index += length
        }
        return nil
    }
}
