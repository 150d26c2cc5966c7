import Diagnostics
import Foundation

/// A JSON document as a value: what the API decodes request bodies into (after checking them against
/// the route's schema) and what it encodes responses and the OpenAPI document from.
///
/// Objects keep their members in order, so encoded output is deterministic (the checked-in
/// `docs/openapi.json` must come out byte for byte the same on every run). Integers and other numbers
/// are kept apart, so `"per_page": 1.5` is a wrong type and not a rounded 1.
public enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number without fraction or exponent that fits in 64 bits.
    case integer(Int64)
    /// Any other number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, members in order; decoding refuses repeated names.
    case object([(String, JSONValue)])

    /// The member named `name` of an object, or nil (also for non-objects).
    public subscript(name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == name }?.1
    }

    /// The string, or nil for any other kind.
    public var stringValue: String? { if case .string(let text) = self { text } else { nil } }
    /// The integer, or nil for any other kind.
    public var integerValue: Int64? { if case .integer(let value) = self { value } else { nil } }
    /// The boolean, or nil for any other kind.
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }

    /// The JSON type name used in error messages and schemas (`string`, `integer`, …).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Equal when of the same kind with equal contents; object members compare in order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }
}

// MARK: Encoding

extension JSONValue {
    /// The compact encoding (no spaces), as responses are sent.
    public func encoded() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(into: &output, indent: nil, level: 0)
        return output
    }

    /// The encoding indented by two spaces per level with a final newline, as `docs/openapi.json` is
    /// checked in (readable diffs).
    public func prettyEncoded() -> [UInt8] {
        var output: [UInt8] = []
        write(into: &output, indent: 2, level: 0)
        output.append(UInt8(ascii: "\n"))
        return output
    }

    private func write(into output: inout [UInt8], indent: Int?, level: Int) {
        func newline(_ level: Int) {
            guard let indent else { return }
            output.append(UInt8(ascii: "\n"))
            output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * level))
        }
        switch self {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let value): output.append(contentsOf: (value ? "true" : "false").utf8)
        case .integer(let value): output.append(contentsOf: String(value).utf8)
        case .number(let value):
            // JSON has no NaN or infinity; they never come from decoding, so only a programming error makes one.
            output.append(contentsOf: (value.isFinite ? "\(value)" : "null").utf8)
        case .string(let text): JSONText.appendQuoted(text, to: &output)
        case .array(let items):
            output.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                newline(level + 1)
                item.write(into: &output, indent: indent, level: level + 1)
            }
            if !items.isEmpty { newline(level) }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, (name, value)) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                newline(level + 1)
                JSONText.appendQuoted(name, to: &output)
                output.append(UInt8(ascii: ":"))
                if indent != nil { output.append(UInt8(ascii: " ")) }
                value.write(into: &output, indent: indent, level: level + 1)
            }
            if !members.isEmpty { newline(level) }
            output.append(UInt8(ascii: "}"))
        }
    }
}

extension JSONValue {
    /// `text` as a string, or `null` when absent: how every document writes an optional text.
    public static func optional(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }

    /// `date` in RFC 3339 (UTC, whole seconds), or `null` when absent: how every document writes a time.
    public static func timestamp(_ date: Date?) -> JSONValue {
        date.map { .string(RFC3339.format($0)) } ?? .null
    }
}
