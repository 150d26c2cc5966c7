/// The orders a page of users may be read in (`StoreReading.users(in:descending:offset:limit:)`).
public enum UserOrder: String, Sendable, Hashable, CaseIterable {
    /// By username (byte order).
    case username
    /// By creation time.
    case createdAt
    /// By last login; accounts that never logged in come first, ascending.
    case lastLoginAt
}
