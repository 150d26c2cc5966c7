/// Decodes `application/x-www-form-urlencoded` bodies (the OAuth2 token POST) into ordered pairs.
public enum URLEncodedForm {
    /// The pairs of `body` in order, with `+` as space and `%XX` decoded; nil when a `%` escape is
    /// malformed or a value is not UTF-8, so a hostile body gets a clear 400 rather than a guess.
    public static func decode(_ body: [UInt8]) -> [(name: String, value: String)]? {
        var pairs: [(name: String, value: String)] = []
        for field in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = field.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decodeComponent(parts[0]) else { return nil }
            let value = parts.count > 1 ? decodeComponent(parts[1]) : ""
            guard let value else { return nil }
            pairs.append((name, value))
        }
        return pairs
    }

    private static func decodeComponent(_ bytes: ArraySlice<UInt8>) -> String? {
        PercentDecoding.decode(bytes, plusAsSpace: true)
    }
}

/// `%XX` decoding shared by request targets and form bodies.
enum PercentDecoding {
    /// `bytes` with `%XX` escapes (and `+` as a space when `plusAsSpace`) decoded; nil on a malformed
    /// escape, an escaped NUL or invalid UTF-8, so hostile input gets a clear 400 rather than a guess.
    static func decode(_ bytes: ArraySlice<UInt8>, plusAsSpace: Bool) -> String? {
        let plus = UInt8(ascii: "+")
        let percent = UInt8(ascii: "%")
        guard bytes.contains(where: { $0 == percent || (plusAsSpace && $0 == plus) }) else {
            return String(validating: bytes, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == percent {
                guard bytes.endIndex - index > 2, let high = hexValue(bytes[index + 1]),
                    let low = hexValue(bytes[index + 2])
                else { return nil }
                let value = high << 4 | low
                if value == 0 { return nil }
                out.append(value)
                index += 3
            } else {
                out.append(plusAsSpace && byte == plus ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// The value of one hex digit of either case.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
