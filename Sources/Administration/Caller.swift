import Authorization
import Diagnostics
import Foundation
import Storage

/// Who acts on the model: every administration operation takes one, asks the policy about it, and names it
/// in the audit event it writes. (Named `Caller`, not `Actor`, so as not to shadow Swift's `Actor` protocol.)
public struct Caller: Sendable, Hashable, CustomStringConvertible {
    /// The kinds of acting party.
    public enum Kind: Sendable, Hashable {
        /// A logged-in account (the REST API, the web UI); its admin flag is re-read in every transaction.
        case user(User.ID)
        /// The operator at the command line: whoever can read config.d and the database acts as a system
        /// administrator, named after their login for the audit log.
        case `operator`
        /// Nobody logged in (anonymous browsing of public namespaces).
        case anonymous
    }

    /// What kind of party this is.
    public var kind: Kind
    /// The name audit events record (`alice`, `cli:root`); nil for anonymous.
    public var name: String?
    /// Whether the caller had administrator rights when the front door authenticated it (the operator always
    /// has). Services that change the model re-read the account in their transaction (`ResolvedCaller`); this
    /// flag serves read-only questions such as what a search may show.
    public var isAdmin: Bool
    /// The namespaces the credential may reach when it is restricted (an application token made for some
    /// namespaces), nil for every namespace the account may reach. Routes about one namespace refuse the others
    /// at the front door; listings across namespaces (search, explore, stars) leave them out.
    public var namespaces: Set<String>?

    private init(kind: Kind, name: String?, isAdmin: Bool) {
        self.kind = kind
        self.name = name
        self.isAdmin = isAdmin
    }

    /// An account acting through the API or UI.
    public static func user(_ user: User) -> Caller {
        Caller(kind: .user(user.id), name: user.username, isAdmin: user.isAdmin)
    }

    /// An account known by id, name and admin flag (as authenticated), through a credential restricted to
    /// `namespaces` when given.
    public static func user(id: User.ID, username: String, isAdmin: Bool, namespaces: Set<String>? = nil) -> Caller {
        var caller = Caller(kind: .user(id), name: username, isAdmin: isAdmin)
        caller.namespaces = namespaces
        return caller
    }

    /// The caller a stored user acts as.
    public init(_ user: User) { self = .user(user) }

    /// The operator at the command line, acting as a system administrator; `login` is their OS login.
    public static func `operator`(login: String) -> Caller {
        Caller(kind: .operator, name: "cli:\(login)", isAdmin: true)
    }

    /// The operator at the command line (the spelling the token commands use).
    public static func commandLine(osUser: String) -> Caller { .operator(login: osUser) }

    /// Nobody logged in.
    public static let anonymous = Caller(kind: .anonymous, name: nil, isAdmin: false)

    /// The user id, for an account.
    public var userID: User.ID? {
        if case .user(let id) = kind { return id }
        return nil
    }

    /// The name audit records show: the username, `cli:<login>` for the operator, `anonymous` for nobody.
    public var auditName: String { name ?? "anonymous" }

    /// Whether the caller is `userID` itself or an admin.
    public func mayActFor(_ userID: User.ID) -> Bool { isAdmin || self.userID == userID }

    /// A log-safe summary.
    public var description: String { name ?? "anonymous" }
}

/// An actor as the current transaction sees it: for an account, its stored row (admin flag and enabled
/// state as of now, not as of login).
struct ResolvedCaller {
    /// The acting party.
    let actor: Caller
    /// The account's row, for a user.
    let user: User?

    /// What the resource policy knows about the caller.
    var caller: ResourceCaller {
        switch actor.kind {
        case .anonymous: .anonymous
        case .operator: .user(isAdmin: true)
        case .user: .user(isAdmin: user?.isAdmin ?? false)
        }
    }

    /// Whether the caller is an administrator (the operator always is).
    var isAdmin: Bool { caller.isAdmin }

    /// Reads the actor's account: a deleted or disabled account acts as nobody and is refused.
    init(_ actor: Caller, in reader: any StoreReading) throws {
        self.actor = actor
        if let id = actor.userID {
            guard let user = try reader.user(id: id), user.isEnabled else {
                throw AdministrationError(.unauthenticated, "the acting account no longer exists or is disabled")
            }
            self.user = user
        } else {
            self.user = nil
        }
    }

    /// Throws `administration.forbidden` (with what is missing) unless the policy allows `action`.
    func require(_ action: ResourceAction, _ settings: ResourcePolicySettings) throws {
        if case .denied(let denial) = ResourcePolicy.decide(action, by: caller, settings: settings) {
            throw AdministrationError(.forbidden, denial.message, denial: denial)
        }
    }

    /// An audit event of a successful change made by this actor.
    func audit(_ action: String, target: String, detail: [(String, String?)] = []) -> NewAuditEvent {
        let fields = detail.compactMap { key, value in value.map { (key, JSONText.quoted($0)) } }
        return NewAuditEvent(
            action: action, outcome: .success, actorID: actor.userID, actorName: actor.name, target: target,
            detail: fields.isEmpty ? nil : JSONText.object(fields))
    }

    /// The actor's role in a team; nil for a non-member or a non-user.
    func role(in teamID: Team.ID, _ reader: any StoreReading) throws -> TeamRole? {
        guard let userID = actor.userID else { return nil }
        return try reader.role(of: userID, in: teamID)
    }

    /// How the actor stands towards a namespace (a user's own personal namespace counts as owned).
    func standing(in namespace: Namespace, _ reader: any StoreReading) throws -> NamespaceStanding {
        var role = try role(in: namespace.teamID, reader)
        if namespace.kind == .personal, let userID = actor.userID, namespace.personalOwnerID == userID {
            role = .owner
        }
        return NamespaceStanding(visibility: namespace.visibility, kind: namespace.kind, role: role)
    }

    /// How the actor stands towards a team.
    func standing(in team: Team, _ reader: any StoreReading) throws -> TeamStanding {
        TeamStanding(isHidden: team.isHidden, role: try role(in: team.id, reader))
    }
}

extension Caller {
    /// The store's visibility rules for this caller (the operator at the shell sees what an administrator sees).
    var viewer: SearchViewer {
        if isAdmin { return .administrator }
        return userID.map { .user($0) } ?? .anonymous
    }
}
