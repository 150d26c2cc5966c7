import Diagnostics
import Foundation
import Synchronization

/// The shape a JSON value must have: a small typed description from which the API both checks request
/// bodies and writes the OpenAPI document's schemas, so the two cannot drift apart.
///
/// Objects are closed: a member the schema does not name is an error (`FIELD_UNKNOWN`), as the API's
/// conventions promise, and the document says `additionalProperties: false`.
///
/// ```swift
/// static let profileUpdate = JSONSchema.object([
///     .optional("display_name", .nullable(.string(maxLength: 200))),
///     .optional("email", .nullable(.string(maxLength: 254, format: "email"))),
/// ])
/// ```
public indirect enum JSONSchema: Sendable {
    /// A string of `minLength`…`maxLength` characters, optionally one of `allowed`, with an informative
    /// `format` (`email`, `date-time`, `uri`) the document states and checks do not enforce beyond length, and
    /// a `pattern` (ECMA-262, anchored) the document states for clients and generators and the check enforces
    /// (the HTTP parser already refuses NUL and malformed escapes in paths and queries).
    case string(
        minLength: Int = 0, maxLength: Int? = nil, format: String? = nil, allowed: [String]? = nil,
        pattern: String? = nil)
    /// An integer in `minimum`…`maximum`.
    case integer(minimum: Int64? = nil, maximum: Int64? = nil)
    /// `true` or `false`.
    case boolean
    /// An array of `items`, at most `maxItems` long.
    case array(JSONSchema, maxItems: Int? = nil)
    /// A closed object with these members.
    case object([Member])
    /// `schema` or `null`.
    case nullable(JSONSchema)
    /// `schema` under a name: the document lists it once under `components/schemas` and refers to it.
    case named(String, JSONSchema)
    /// Any object (documents passed through whole, such as the OpenAPI document itself).
    case anyObject
    /// A value matching at least one of these (answers whose shape a parameter chooses, such as grouped tags).
    case anyOf([JSONSchema])

    /// One member of an object schema.
    public struct Member: Sendable {
        /// The member's name.
        public var name: String
        /// Its schema.
        public var schema: JSONSchema
        /// Whether the member must be present.
        public var isRequired: Bool
        /// What it means, for the document.
        public var summary: String?

        /// A member that must be present.
        public static func required(_ name: String, _ schema: JSONSchema, _ summary: String? = nil) -> Member {
            Member(name: name, schema: schema, isRequired: true, summary: summary)
        }

        /// A member that may be left out.
        public static func optional(_ name: String, _ schema: JSONSchema, _ summary: String? = nil) -> Member {
            Member(name: name, schema: schema, isRequired: false, summary: summary)
        }
    }

    /// A string with no limits.
    public static let anyString = JSONSchema.string()
    /// An RFC 3339 timestamp string.
    public static let timestamp = JSONSchema.string(format: "date-time")
}

// MARK: Checking

extension JSONSchema {
    /// Every way `value` departs from the schema, each naming the field (`email`, `items[2].name`); empty
    /// when it conforms. Stops after `limit` problems, so a hostile body cannot make a huge error document.
    public func problems(in value: JSONValue, field: String = "", limit: Int = 20) -> [APIErrorItem] {
        var found: [APIErrorItem] = []
        check(value, field: field, into: &found, limit: limit)
        return found
    }

    private func check(_ value: JSONValue, field: String, into found: inout [APIErrorItem], limit: Int) {
        guard found.count < limit else { return }
        func add(_ code: String, _ message: String) {
            found.append(APIErrorItem(code: code, message: message, field: field.isEmpty ? nil : field))
        }
        func wrongType(_ expected: String) {
            add(
                "FIELD_TYPE_INVALID",
                "\(field.isEmpty ? "The body" : field) must be \(expected), not \(value.typeName).")
        }
        switch self {
        case .named(_, let inner): inner.check(value, field: field, into: &found, limit: limit)
        case .nullable(let inner):
            if value != .null { inner.check(value, field: field, into: &found, limit: limit) }
        case .boolean:
            if value.boolValue == nil { wrongType("a boolean") }
        case .anyObject:
            guard case .object = value else { return wrongType("an object") }
        case .anyOf(let choices):
            var best: [APIErrorItem]?
            for choice in choices {
                let problems = choice.problems(in: value, field: field, limit: limit)
                if problems.isEmpty { return }
                if problems.count < (best?.count ?? Int.max) { best = problems }
            }
            found += (best ?? []).prefix(limit - found.count)
        case .integer(let minimum, let maximum):
            guard let number = value.integerValue else { return wrongType("an integer") }
            if let minimum, number < minimum { add("FIELD_INVALID", "\(field) must be at least \(minimum).") }
            if let maximum, number > maximum { add("FIELD_INVALID", "\(field) must be at most \(maximum).") }
        case .string(let minLength, let maxLength, _, let allowed, let pattern):
            guard let text = value.stringValue else { return wrongType("a string") }
            if let pattern, !PatternCache.shared.text(text, matches: pattern) {
                add("FIELD_INVALID", "\(field) must match \(pattern).")
            }
            let length = text.count
            if length < minLength { add("FIELD_INVALID", "\(field) must be at least \(minLength) characters long.") }
            if let maxLength, length > maxLength {
                add("FIELD_INVALID", "\(field) must be at most \(maxLength) characters long.")
            }
            if let allowed, !allowed.contains(text) {
                add("FIELD_INVALID", "\(field) must be one of: \(allowed.joined(separator: ", ")).")
            }
        case .array(let items, let maxItems):
            guard case .array(let elements) = value else { return wrongType("an array") }
            if let maxItems, elements.count > maxItems {
                add("FIELD_INVALID", "\(field) must have at most \(maxItems) items.")
            }
            for (index, element) in elements.enumerated() {
                items.check(element, field: "\(field)[\(index)]", into: &found, limit: limit)
            }
        case .object(let members):
            guard case .object(let given) = value else { return wrongType("an object") }
            let prefix = field.isEmpty ? "" : field + "."
            for (name, _) in given where !members.contains(where: { $0.name == name }) {
                guard found.count < limit else { return }
                let shown = InertName.shown(name)
                found.append(
                    APIErrorItem(
                        code: "FIELD_UNKNOWN", message: "Unknown field \(shown).", field: prefix + shown))
            }
            for member in members {
                if let memberValue = value[member.name] {
                    member.schema.check(memberValue, field: prefix + member.name, into: &found, limit: limit)
                } else if member.isRequired, found.count < limit {
                    found.append(
                        APIErrorItem(
                            code: "FIELD_REQUIRED", message: "\(prefix + member.name) is required.",
                            field: prefix + member.name))
                }
            }
        }
    }
}

/// Client-chosen names repeated back in error messages: cut short and made inert (`InertText`), so an error
/// document never carries a megabyte or a terminal escape back to whoever prints it.
enum InertName {
    static func shown(_ name: String) -> String { InertText.escaped(name, limit: 64) }
}

// MARK: The document's form

extension JSONSchema {
    /// The JSON Schema (2020-12, as OpenAPI 3.1 uses) of this description; named schemas become `$ref`s
    /// and are added to `components`.
    func document(components: inout [(String, JSONValue)]) -> JSONValue {
        switch self {
        case .named(let name, let inner):
            if !components.contains(where: { $0.0 == name }) {
                components.append((name, .null))  // Reserved first: a schema may refer to itself.
                let rendered = inner.document(components: &components)
                if let index = components.firstIndex(where: { $0.0 == name }) { components[index].1 = rendered }
            }
            return .object([("$ref", .string("#/components/schemas/\(name)"))])
        case .nullable(let inner):
            if case .object(var members) = inner.document(components: &components),
                let typeIndex = members.firstIndex(where: { $0.0 == "type" }),
                let type = members[typeIndex].1.stringValue
            {
                members[typeIndex].1 = .array([.string(type), .string("null")])
                if let allowedIndex = members.firstIndex(where: { $0.0 == "enum" }),
                    case .array(let allowed) = members[allowedIndex].1
                {
                    members[allowedIndex].1 = .array(allowed + [.null])
                }
                return .object(members)
            }
            return .object([("anyOf", .array([inner.document(components: &components), .object([("type", "null")])]))])
        case .boolean: return .object([("type", "boolean")])
        case .anyObject: return .object([("type", "object")])
        case .anyOf(let choices):
            return .object([("anyOf", .array(choices.map { $0.document(components: &components) }))])
        case .integer(let minimum, let maximum):
            var members: [(String, JSONValue)] = [("type", "integer")]
            if let minimum { members.append(("minimum", .integer(minimum))) }
            if let maximum { members.append(("maximum", .integer(maximum))) }
            return .object(members)
        case .string(let minLength, let maxLength, let format, let allowed, let pattern):
            var members: [(String, JSONValue)] = [("type", "string")]
            if let pattern { members.append(("pattern", .string(pattern))) }
            if minLength > 0 { members.append(("minLength", .integer(Int64(minLength)))) }
            if let maxLength { members.append(("maxLength", .integer(Int64(maxLength)))) }
            if let format { members.append(("format", .string(format))) }
            if let allowed { members.append(("enum", .array(allowed.map { .string($0) }))) }
            return .object(members)
        case .array(let items, let maxItems):
            var members: [(String, JSONValue)] = [
                ("type", "array"), ("items", items.document(components: &components)),
            ]
            if let maxItems { members.append(("maxItems", .integer(Int64(maxItems)))) }
            return .object(members)
        case .object(let properties):
            var rendered: [(String, JSONValue)] = []
            for property in properties {
                var schema = property.schema.document(components: &components)
                if let summary = property.summary, case .object(var members) = schema, members.first?.0 != "$ref" {
                    members.append(("description", .string(summary)))
                    schema = .object(members)
                }
                rendered.append((property.name, schema))
            }
            var members: [(String, JSONValue)] = [("type", "object"), ("properties", .object(rendered))]
            let required = properties.filter(\.isRequired).map { JSONValue.string($0.name) }
            if !required.isEmpty { members.append(("required", .array(required))) }
            members.append(("additionalProperties", .bool(false)))
            return .object(members)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    /// A string value from a literal (`"integer"`), for building documents.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONSchema {
    /// A string of 1…`maxLength` characters matching the anchored regular expression `pattern` (names in paths:
    /// the document states the rule, so generated clients and fuzzers keep to it, and the check enforces it).
    public static func patterned(_ pattern: String, maxLength: Int) -> JSONSchema {
        .string(minLength: 1, maxLength: maxLength, pattern: pattern)
    }
}

/// The compiled form of each schema pattern, made once: compiling a regular expression cost more than the rest
/// of checking a request's parameters, and the route table names only a handful of patterns. The content
/// routes' patterns are matched by plain Swift instead (`ContentAPI.patternMatchers`).
final class PatternCache: Sendable {
    static let shared = PatternCache()
    private let compiled = Mutex<[String: NSRegularExpression]>([:])

    /// Whether `pattern` (anchored by its own `^…$`) finds a match in `text`; a pattern that does not compile
    /// matches nothing, so a mistake in the route table refuses input rather than letting it through.
    func text(_ text: String, matches pattern: String) -> Bool {
        if let matcher = ContentAPI.patternMatchers[pattern] { return matcher(text) }
        return expression(pattern, matches: text)
    }

    /// `text` against the compiled regular expression (what the fast matchers are tested against).
    func expression(_ pattern: String, matches text: String) -> Bool {
        let expression = compiled.withLock { cache -> NSRegularExpression? in
            if let found = cache[pattern] { return found }
            guard let made = try? NSRegularExpression(pattern: pattern) else { return nil }
            cache[pattern] = made
            return made
        }
        guard let expression else { return false }
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        return expression.firstMatch(in: text, range: range) != nil
    }
}
