/// An error with a stable machine-readable code and a reason for logs; two errors are equal when their
/// codes are, so tests match on the code (`#expect(throws: JWTError.expired)`) and reasons may change.
///
/// Conformers get `description` (`code: reason`, or the code alone) and code-only equality.
public protocol CodedError: Error, CustomStringConvertible, Equatable {
    /// The stable codes of this error type.
    associatedtype Code: RawRepresentable & Equatable where Code.RawValue == String
    /// The stable kind of failure.
    var code: Code { get }
    /// A human-readable explanation for logs (never a secret).
    var reason: String { get }
}

extension CodedError {
    /// The log line: the code, then the reason if there is one.
    public var description: String { reason.isEmpty ? code.rawValue : "\(code.rawValue): \(reason)" }

    /// Equality compares only the stable code.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}

extension CodedError where Self: Hashable, Code: Hashable {
    /// Hashes what `==` compares: the code.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
