import Foundation

/// RFC 3339 UTC timestamps (`2026-11-22T13:01:04Z`, `2026-11-22T13:01:04.123Z`), formatted by hand:
/// Foundation's formatter cost more than the rest of an access-log line or a token response together.
public enum RFC3339 {
    /// `date` in whole seconds (rounded down), as token responses' `issued_at`.
    public static func format(_ date: Date) -> String {
        format(seconds: Int64(date.timeIntervalSince1970.rounded(.down)), milliseconds: nil)
    }

    /// The UTC time `seconds` after 1970, with three fraction digits when `milliseconds` is given.
    public static func format(seconds: Int64, milliseconds: Int?) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var bytes = [UInt8](repeating: 0, count: milliseconds == nil ? 20 : 24)
        func put(_ value: Int, _ width: Int, at offset: Int) {
            var value = value
            for index in stride(from: offset + width - 1, through: offset, by: -1) {
                bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(Int(parts.tm_year) + 1900, 4, at: 0)
        put(Int(parts.tm_mon) + 1, 2, at: 5)
        put(Int(parts.tm_mday), 2, at: 8)
        put(Int(parts.tm_hour), 2, at: 11)
        put(Int(parts.tm_min), 2, at: 14)
        put(Int(parts.tm_sec), 2, at: 17)
        for (offset, character) in [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":")] as [(Int, Unicode.Scalar)] {
            bytes[offset] = UInt8(ascii: character)
        }
        if let milliseconds {
            bytes[19] = UInt8(ascii: ".")
            put(milliseconds, 3, at: 20)
        }
        bytes[bytes.count - 1] = UInt8(ascii: "Z")
        return String(decoding: bytes, as: UTF8.self)
    }
}
