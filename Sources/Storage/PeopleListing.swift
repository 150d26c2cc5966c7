/// The people queries of `StoreReading` that the administration pages page through.
///
/// Contract: as every `StoreReading` method (synchronous, inside one transaction); a negative `offset` or
/// `limit` throws `.invalidInput`. The match is a case-insensitive (ASCII) substring taken literally: `%`,
/// `_` and quotes mean themselves.
public protocol PeopleReading {
    /// One page of the accounts whose username, e-mail or display name contains `text` (every account when
    /// `text` is nil or empty), ordered by username, with how many match in all.
    func userPage(matching text: String?, offset: Int, limit: Int) throws -> StorePage<User>
}
