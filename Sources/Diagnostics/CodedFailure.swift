/// A `CodedError` that is a code, a message and where it was raised: the whole body that error types
/// without further fields would otherwise each repeat (`ManifestError`, `NotificationError`, …, which are
/// this type over their own code enum).
///
/// As in swift-certificates' `CertificateError`, the place it was raised is recorded for logs and
/// debugging; like the reason, it takes no part in equality, which compares codes only.
public struct CodedFailure<Code>: CodedError, Sendable, Hashable
where Code: RawRepresentable & Hashable & Sendable, Code.RawValue == String {
    /// The stable code.
    public var code: Code
    /// A sentence for people naming what went wrong; never a secret.
    public var message: String
    /// The `#fileID` of the line that raised it.
    public var fileID: String
    /// The line that raised it.
    public var line: Int

    /// Creates an error, recording where it was raised.
    public init(_ code: Code, _ message: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.fileID = fileID
        self.line = line
    }

    /// The message, as `CodedError` reports it (`description` is `code: message`).
    public var reason: String { message }
}
