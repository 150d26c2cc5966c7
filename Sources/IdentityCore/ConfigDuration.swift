import Foundation

/// A length of time in a provider's `config:` block: `600`, `"300s"`, `"10m"`, `"1h30m"`, `"2d"`.
///
/// A plain integer (or a string of digits) counts seconds. Units are `s`, `m`, `h` and `d`, and may be
/// combined largest first (`1h30m`). Durations are whole seconds from 0 up to ten years.
public struct ConfigDuration: Sendable, Hashable, Comparable, Decodable, CustomStringConvertible {
    /// The longest accepted duration (ten years), so arithmetic on dates can never overflow.
    public static let maximumSeconds = 10 * 366 * 86_400

    /// The length in seconds.
    public let seconds: Int

    /// A duration of `seconds` (clamped to 0...``maximumSeconds``).
    public init(seconds: Int) { self.seconds = min(max(seconds, 0), Self.maximumSeconds) }

    /// A duration of `minutes`.
    public static func minutes(_ minutes: Int) -> ConfigDuration { ConfigDuration(seconds: minutes * 60) }

    /// The length as a `TimeInterval`, for date arithmetic.
    public var timeInterval: TimeInterval { TimeInterval(seconds) }

    /// Parses `text` (`"90"`, `"90s"`, `"10m"`, `"1h30m"`); nil when it is not a duration.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 32 else { return nil }
        if let plain = Int(trimmed) {
            guard (0...Self.maximumSeconds).contains(plain) else { return nil }
            self.seconds = plain
            return
        }
        let units: [Character: Int] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
        var total = 0
        var digits = ""
        var lastUnitSize = Int.max
        for character in trimmed {
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else if let size = units[character] {
                // Each unit once and largest first: `1h30m`, never `30m1h` or `1m1m`.
                guard let value = Int(digits), size < lastUnitSize else { return nil }
                let (product, overflow) = value.multipliedReportingOverflow(by: size)
                guard !overflow else { return nil }
                total += product
                guard total <= Self.maximumSeconds else { return nil }
                lastUnitSize = size
                digits = ""
            } else {
                return nil
            }
        }
        guard digits.isEmpty else { return nil }
        self.seconds = total
    }

    /// Decodes an integer number of seconds or a duration string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let parsed = ConfigDuration(parsing: text) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription:
                        "\"\(text)\" is not a duration (use seconds, or a number with s, m, h or d, like 10m or 1h30m)")
            }
            self = parsed
            return
        }
        let value = try container.decode(Int.self)
        guard (0...Self.maximumSeconds).contains(value) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\(value) seconds is out of range 0...\(Self.maximumSeconds)")
        }
        self.seconds = value
    }

    /// Orders durations by length.
    public static func < (lhs: ConfigDuration, rhs: ConfigDuration) -> Bool { lhs.seconds < rhs.seconds }

    /// The shortest exact form: `10m`, `90s`, `1h30m`.
    public var description: String {
        guard seconds > 0 else { return "0s" }
        var rest = seconds
        var text = ""
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }
}
