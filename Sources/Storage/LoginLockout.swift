import Foundation

/// The password-login record of one account from one client address: the per-address half of lockout.
///
/// Lockout locks an account *from an address* first (so guesses from elsewhere cannot lock its owner out
/// of their usual address), and remembers where the account last logged in successfully: an address with
/// a recent success is a *known* address, which an account-wide lock does not shut out.
public struct AddressLoginState: Sendable, Hashable {
    /// The account.
    public var userID: User.ID
    /// The client address (after trusted-proxy resolution).
    public var clientAddress: String
    /// Consecutive failed password logins of the account from this address since its last success here.
    public var failedCount: Int
    /// How many times the account was locked from this address since its last success here (each lock
    /// lasts longer than the one before).
    public var lockCount: Int
    /// Until when password logins of the account from this address are refused, if locked.
    public var lockedUntil: Date?
    /// The last failed login from this address, if any.
    public var lastFailureAt: Date?
    /// The last successful login from this address, if any.
    public var lastSuccessAt: Date?

    /// Creates a record; a fresh one has no failures, locks or successes.
    public init(
        userID: User.ID, clientAddress: String, failedCount: Int = 0, lockCount: Int = 0, lockedUntil: Date? = nil,
        lastFailureAt: Date? = nil, lastSuccessAt: Date? = nil
    ) {
        self.userID = userID
        self.clientAddress = clientAddress
        self.failedCount = failedCount
        self.lockCount = lockCount
        self.lockedUntil = lockedUntil
        self.lastFailureAt = lastFailureAt
        self.lastSuccessAt = lastSuccessAt
    }

    /// Whether the account logged in successfully from this address within `period` before `now`.
    public func isKnown(at now: Date, within period: TimeInterval) -> Bool {
        guard let lastSuccessAt else { return false }
        return now.timeIntervalSince(lastSuccessAt) <= period
    }

    /// The lock in force at `now`, if any.
    public func lock(at now: Date) -> Date? { lockedUntil.flatMap { $0 > now ? $0 : nil } }
}
