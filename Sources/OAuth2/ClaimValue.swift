import Foundation

/// A JSON value of an answer whose members are not all known in advance: ID token claims, userinfo, token and
/// discovery answers. (RegistryCore's and RESTAPI's `JSONValue`s keep integers apart and member order for
/// their own strict schemas; claims need neither, only lenient readers such as `bool` and `strings`.)
public enum ClaimValue: Sendable, Hashable, Decodable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([ClaimValue])
    /// An object.
    case object([String: ClaimValue])

    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ClaimValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ClaimValue].self))
        }
    }

    /// The string, if this is one.
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The truth value: a JSON boolean, or the strings `"true"`/`"false"` some providers send
    /// (`email_verified` from Amazon Cognito and older Okta).
    public var bool: Bool? {
        switch self {
        case .bool(let value): return value
        case .string("true"): return true
        case .string("false"): return false
        default: return nil
        }
    }

    /// The strings of an array of strings, or the one string of a string (a groups claim with one group);
    /// nil for anything else. Non-string members of an array are skipped.
    public var strings: [String]? {
        switch self {
        case .string(let value): return [value]
        case .array(let values): return values.compactMap(\.string)
        default: return nil
        }
    }

    /// Parses `bytes` as a JSON object; nil when they are not one.
    public static func object(parsing bytes: [UInt8]) -> [String: ClaimValue]? {
        try? JSONDecoder().decode([String: ClaimValue].self, from: Data(bytes))
    }
}
