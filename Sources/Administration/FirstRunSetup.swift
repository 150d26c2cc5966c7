import Authorization
import CryptoCore
import Foundation
import Storage
import Threading

/// First run: while no account exists, a one-time setup code that the server prints in its log lets someone
/// create the first administrator from the web UI. Whoever reaches the page first is not enough: they must
/// also read the server's log, so the code proves they run the server.
///
/// A code is 16 characters of an alphabet without look-alikes (no `0`/`O`, `1`/`I`), 5 bits each (80 bits),
/// shown as `XXXX-XXXX-XXXX-XXXX`; case, dashes and spaces do not matter when it is typed. Only its SHA-256 is
/// stored (`setup_codes`), so every instance that starts on an empty database may issue one and any of them
/// works; creating the administrator deletes them all. An unguessable code needs no rate limit of its own.
///
/// Throws `AdministrationError` for refusals and rule violations, `StoreError` when the database fails.
public struct FirstRunSetup: Sendable {
    /// The characters a code is made of: digits and capitals without `0`, `1`, `I` and `O` (32, so one random
    /// byte's low 5 bits pick one without bias).
    public static let alphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")
    /// The characters of a code, not counting the dashes.
    public static let codeLength = 16

    private let store: any Store
    private let hashing: BlockingPool
    private let now: @Sendable () -> Date

    /// Creates the service; `hashing` runs bcrypt off Swift's cooperative pool.
    public init(
        store: any Store, hashing: BlockingPool, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.hashing = hashing
        self.now = now
    }

    /// Whether setup is still open: no account exists yet.
    public func isNeeded() async throws -> Bool {
        try await store.read { try $0.countUsers() == 0 }
    }

    /// A fresh setup code for the server to print at start, or nil when setup is over. The code is stored
    /// hashed beside any other instance's; each works until the administrator is created.
    public func issueCode() async throws -> String? {
        let bytes = SecureRandom.bytes(count: Self.codeLength)
        let characters = bytes.map { Self.alphabet[Int($0 & 31)] }
        let code = stride(from: 0, to: Self.codeLength, by: 4).map { String(characters[$0..<$0 + 4]) }
            .joined(separator: "-")
        guard let hash = Self.hash(ofCode: code) else { return nil }
        let date = now()
        let issued = try await store.write { writer -> Bool in
            guard try writer.countUsers() == 0 else { return false }
            try writer.addSetupCode(hash: hash, at: date)
            return true
        }
        return issued ? code : nil
    }

    /// Creates the first administrator (with personal team and namespace, as `AccountAdministration.create`
    /// does, by the same rules) if `code` is a stored setup code and still no account exists; deletes every
    /// setup code in the same transaction, so a code works once and only one administrator is ever made this
    /// way. Audited as `setup.administrator_created`.
    ///
    /// - Throws: `AdministrationError` `.setupAlreadyDone` once an account exists, `.setupCodeRejected`, or the
    ///   account rules' codes (`account.invalid_username`, `account.invalid_password`, `account.invalid_email`).
    public func createAdministrator(code: String, username: String, password: Password, email: String?) async throws
        -> AccountDetails
    {
        try AccountAdministration.checkUsername(username)
        if let email { try ProfileRules.checkEmail(email) }
        try PasswordRules.check(password.text)
        let hash = Self.hash(ofCode: code)
        // Checked before bcrypt, so a wrong code costs a read, not a hash; checked again in the write below.
        try await store.read { try Self.checkOpen(hash, $0) }
        let passwordHash = try await AccountAdministration.hash(password, on: hashing)
        let date = now()
        return try await store.write { writer in
            try Self.checkOpen(hash, writer)
            let (user, namespace) = try AccountAdministration.provision(
                NewUser(username: username, email: email, passwordHash: passwordHash, isAdmin: true), in: writer)
            try writer.deleteSetupCodes()
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "setup.administrator_created", outcome: .success, actorID: user.id,
                    actorName: user.username, target: "user:\(user.username)",
                    detail: AuditDetail.json(["namespace": namespace.name]), time: date))
            return try AccountAdministration.details(user, writer)
        }
    }

    /// The stored hash of a code as typed (upper-cased, without dashes and spaces); nil when it cannot be one.
    static func hash(ofCode code: String) -> String? {
        let normalized = code.uppercased().filter { $0 != "-" && !$0.isWhitespace }
        guard normalized.count == codeLength, normalized.allSatisfy(alphabet.contains) else { return nil }
        return Hex.encode(Digest.sha256(normalized))
    }

    /// Throws unless setup is open and `hash` names a stored code.
    private static func checkOpen(_ hash: String?, _ reader: any StoreReading) throws {
        guard try reader.countUsers() == 0 else {
            throw AdministrationError(.setupAlreadyDone, "setup is done: an account exists already; sign in instead")
        }
        guard let hash, try reader.setupCodeExists(hash: hash) else {
            throw AdministrationError(
                .setupCodeRejected, "that is not the setup code the server printed in its log at start")
        }
    }
}
