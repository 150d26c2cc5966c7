/// Helpers for provider plugins' `Configuration.init(from:)`: strict decoding, so a misspelt key or value is an
/// error at start rather than a silently ignored setting (a misspelt `startTLS` must not mean plain text).
public enum ConfigurationDecoding {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Throws a `DecodingError.dataCorrupted` naming every key of the mapping `decoder` reads that is not in
    /// `allowed`, and the known ones.
    public static func rejectUnknownKeys(in decoder: any Decoder, allowed: [String]) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        let unknown = container.allKeys.map(\.stringValue).filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription:
                        "unknown key\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")) "
                        + "(known: \(allowed.joined(separator: ", ")))"))
        }
    }

    /// Decodes a string that must be the raw value of one of `choices`, with an error listing them otherwise.
    public static func choice<T: RawRepresentable>(_ decoder: any Decoder, _ choices: [T]) throws -> T
    where T.RawValue == String {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let choice = choices.first(where: { $0.rawValue == text }) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\"\(text)\" is not one of \(choices.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }
}
