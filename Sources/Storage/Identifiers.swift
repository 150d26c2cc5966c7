/// The database identifier of one record of type `Record`, typed so a user id can never be passed
/// where a team id is expected.
public struct RecordID<Record>: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The integer primary key as stored.
    public let rawValue: Int64

    /// Wraps a stored primary key.
    public init(_ rawValue: Int64) { self.rawValue = rawValue }

    /// Orders identifiers by their stored value (creation order for one table).
    public static func < (lhs: RecordID, rhs: RecordID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The bare integer, for logs and URLs.
    public var description: String { String(rawValue) }
}
