import Foundation

/// A secret given by reference (`{file: PATH}` or `{env: NAME}`), resolved only when used.
///
/// The value is never stored in the configuration and never printed: `description` is `***`, and the
/// effective configuration renders the reference, not the value. Resolution is lazy so a missing
/// variable only fails the feature that needs it, not the whole server start.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Where the value lives.
    public enum Reference: Sendable, Hashable {
        /// A file whose content (minus trailing newlines) is the value, as Docker and Kubernetes
        /// secrets are mounted.
        case file(String)
        /// An environment variable holding the value.
        case environment(String)
    }

    /// Where the value lives; safe to show.
    public let reference: Reference

    /// Creates a secret read from `reference` when revealed.
    public init(_ reference: Reference) { self.reference = reference }

    /// Always `***`.
    public var description: String { "***" }

    /// Always `***`.
    public var debugDescription: String { "***" }

    /// The reference in YAML flow form: `{file: /run/secrets/x}` or `{env: NAME}`; a name that YAML could
    /// misread is double-quoted.
    public var referenceDescription: String {
        func scalar(_ text: String) -> String {
            let plain =
                !text.isEmpty
                && text.utf8.allSatisfy { byte in
                    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                        || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                        || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                        || byte == UInt8(ascii: ".")
                }
            return plain ? text : JSONText.quoted(text)
        }
        switch reference {
        case .file(let path): return "{file: \(scalar(path))}"
        case .environment(let name): return "{env: \(scalar(name))}"
        }
    }

    /// Reads the value: the file's content without trailing line breaks, or the variable's value.
    ///
    /// This reads a file synchronously; call it at start-up or from a blocking pool, not per request.
    /// - Throws: ``SecretError`` when the file cannot be read, the variable is unset, or the value is
    ///   empty. The error names the reference, never a value.
    public func reveal(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(SecretError) -> String {
        let value: String
        switch reference {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SecretError(code: .fileUnreadable, reference: reference)
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw SecretError(code: .notUTF8, reference: reference)
            }
            var trimmed = Substring(text)
            while let last = trimmed.last, last == "\n" || last == "\r" || last == "\r\n" {
                trimmed = trimmed.dropLast()
            }
            value = String(trimmed)
        case .environment(let name):
            guard let text = environment[name] else {
                throw SecretError(code: .variableUnset, reference: reference)
            }
            value = text
        }
        guard !value.isEmpty else { throw SecretError(code: .empty, reference: reference) }
        return value
    }
}

/// Why a ``Secret`` could not be revealed; names the reference, never the value.
public struct SecretError: CodedError, Sendable, Hashable {
    /// A stable kind of failure.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The file does not exist or cannot be read.
        case fileUnreadable = "secret.file_unreadable"
        /// The file is not UTF-8 text.
        case notUTF8 = "secret.not_utf8"
        /// The environment variable is not set.
        case variableUnset = "secret.variable_unset"
        /// The value is empty.
        case empty = "secret.empty"
    }

    /// The kind of failure.
    public let code: Code
    /// The reference that failed.
    public let reference: Secret.Reference

    /// Describes a failure to reveal `reference`.
    public init(code: Code, reference: Secret.Reference) {
        self.code = code
        self.reference = reference
    }

    /// A message naming the reference (what `description` shows, without the code).
    public var reason: String {
        let place = Secret(reference).referenceDescription
        switch code {
        case .fileUnreadable: return "secret \(place): the file cannot be read"
        case .notUTF8: return "secret \(place): the file is not UTF-8 text"
        case .variableUnset: return "secret \(place): the environment variable is not set"
        case .empty: return "secret \(place): the value is empty"
        }
    }

    /// The message alone: it already says what failed, and operators have read it in this form since
    /// the first release.
    public var description: String { reason }
}

extension Secret: Decodable {
    private enum CodingKeys: String, CodingKey {
        case file, env
    }

    /// Reads `{file: PATH}` or `{env: NAME}`; an inline string is refused so secrets never sit in
    /// configuration files. The configuration loader gives the same rule located messages.
    public init(from decoder: any Decoder) throws {
        if let inline = try? decoder.singleValueContainer(), (try? inline.decode(String.self)) != nil {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "secrets must be given by reference: {file: /run/secrets/NAME} or {env: VARIABLE}"
                )
            )
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let file = try container.decodeIfPresent(String.self, forKey: .file)
        let variable = try container.decodeIfPresent(String.self, forKey: .env)
        switch (file, variable) {
        case (let path?, nil) where !path.isEmpty: self.init(.file(path))
        case (nil, let name?) where !name.isEmpty: self.init(.environment(name))
        default:
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a secret has exactly one of 'file' or 'env'")
            )
        }
    }
}
