import CryptoCore
import Foundation
import Storage
import Threading

/// Remembers which username+password pairs bcrypt accepted recently, without keeping anything reversible.
///
/// The key is HMAC-SHA256 under a per-process random key of `username 0x00 password`; an entry holds the
/// user id and the password hash the password was verified against. The provider honours an entry only
/// while the user's current hash is still that hash (so a password change invalidates it) and the user
/// is enabled and not locked. Bounded like `BoundedCache`: when full, an arbitrary entry makes room.
///
/// Threading: safe from any task; every operation holds a lock for a dictionary access only.
final class VerifiedCredentialCache: Sendable {
    struct Entry: Sendable {
        let userID: User.ID
        let passwordHash: String
        let expiresAt: Date
    }

    private let mac: KeyedHMAC
    private let ttl: TimeInterval
    private let entries: BoundedCache<[UInt8], Entry>

    init(ttl: TimeInterval, capacity: Int) {
        self.mac = KeyedHMAC(key: SecureRandom.bytes(count: 32))
        self.ttl = ttl
        self.entries = BoundedCache(capacity: capacity)
    }

    /// The cache key of a username and password.
    func key(username: String, password: String) -> [UInt8] {
        var message = Array(username.utf8)
        message.append(0)
        message.append(contentsOf: password.utf8)
        return mac.code(for: message)
    }

    /// The live entry for `key` at `now`, if any (an expired one is dropped).
    func entry(for key: [UInt8], now: Date) -> Entry? {
        guard let entry = entries.value(for: key) else { return nil }
        guard entry.expiresAt > now else {
            entries.remove(key)
            return nil
        }
        return entry
    }

    /// Remembers that the password behind `key` matched `passwordHash` of `userID` at `now`.
    func insert(_ key: [UInt8], userID: User.ID, passwordHash: String, now: Date) {
        entries.insert(
            Entry(userID: userID, passwordHash: passwordHash, expiresAt: now.addingTimeInterval(ttl)), for: key)
    }

    /// Forgets `key` (the entry no longer matches the stored user).
    func remove(_ key: [UInt8]) { entries.remove(key) }

    /// How many entries are held.
    var count: Int { entries.count }
}
