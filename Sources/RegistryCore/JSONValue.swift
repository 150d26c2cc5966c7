import Diagnostics
import Foundation

/// A parsed JSON document that keeps integers apart from fractions and booleans, so a field of the wrong
/// JSON type is named precisely instead of being coerced.
public indirect enum JSONValue: Sendable, Hashable, Codable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number without fraction that fits 64 bits.
    case integer(Int64)
    /// Any other number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object (a repeated key keeps one of its values).
    case object([String: JSONValue])

    /// Parses a complete JSON document; throws `JSONValueError` for anything that is not one.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONValueError) {
        do {
            self = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw JSONValueError(reason: Self.describe(error))
        }
    }

    /// Decodes one value of any JSON type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Encodes the value back to JSON.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The compact JSON text of this value with sorted keys (stable, so equal values give equal text).
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a tree of plain values only fails on non-finite numbers, which parsing never yields.
        guard let data = try? encoder.encode(self) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The member `key` of an object, or `nil` for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { members[key] } else { nil }
    }

    /// The JSON type's name as a message uses it.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Foundation's decoding errors carry the parser's reason in their context; keep just that sentence.
    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        }
        return "not valid JSON"
    }
}

/// Why a document is not valid JSON.
public struct JSONValueError: CodedError, Sendable, Hashable {
    /// The one code: the document is not JSON (the reason says where and why).
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The document is not valid JSON.
        case invalid = "json.invalid"
    }

    /// Always `.invalid`.
    public var code: Code { .invalid }
    /// The parser's reason.
    public var reason: String

    /// Creates an error.
    public init(reason: String) { self.reason = reason }

    /// `invalid JSON: <reason>`.
    public var description: String { "invalid JSON: \(reason)" }
}
