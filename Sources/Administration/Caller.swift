import Storage

/// Who asks an administration service to act: a signed-in user, or the operator at the command line.
///
/// The services decide what a caller may do from this alone (the account's id and admin flag), so the
/// CLI, the REST API and the web UI get the same answers. Audit events name `auditName`.
public struct Caller: Sendable, Hashable, CustomStringConvertible {
    /// The acting account, or nil for the operator at the shell (who has the database, so is an admin).
    public var userID: User.ID?
    /// The name audit records show: the username, or `cli:<os user>` for the operator.
    public var auditName: String
    /// Whether the caller has administrator rights.
    public var isAdmin: Bool

    /// A signed-in account.
    public init(userID: User.ID, username: String, isAdmin: Bool) {
        self.userID = userID
        self.auditName = username
        self.isAdmin = isAdmin
    }

    /// The operator at the command line: whoever can open the database may do anything an admin may.
    public static func commandLine(osUser: String) -> Caller {
        Caller(userID: nil, auditName: "cli:" + osUser, isAdmin: true)
    }

    private init(userID: User.ID?, auditName: String, isAdmin: Bool) {
        self.userID = userID
        self.auditName = auditName
        self.isAdmin = isAdmin
    }

    /// Whether the caller is `userID` itself or an admin.
    public func mayActFor(_ userID: User.ID) -> Bool { isAdmin || self.userID == userID }

    /// A log-safe summary.
    public var description: String { "Caller(\(auditName)\(isAdmin ? ", admin" : ""))" }
}
