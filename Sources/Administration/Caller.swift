import Storage

/// Who is asking a service to act: a logged-in user (with their administrator flag as authenticated), or
/// nobody. A small value the front doors (CLI, REST API) build once per request.
public struct Caller: Sendable, Hashable {
    /// The user, or nil for an anonymous caller.
    public var userID: User.ID?
    /// Whether the user is an administrator (always false for anonymous callers).
    public var isAdmin: Bool

    /// An anonymous caller.
    public static let anonymous = Caller(userID: nil, isAdmin: false)

    /// A logged-in user.
    public static func user(_ id: User.ID, isAdmin: Bool = false) -> Caller { Caller(userID: id, isAdmin: isAdmin) }

    /// The caller a stored user acts as.
    public init(_ user: User) {
        self.init(userID: user.id, isAdmin: user.isAdmin)
    }

    private init(userID: User.ID?, isAdmin: Bool) {
        self.userID = userID
        self.isAdmin = userID != nil && isAdmin
    }

    /// The store's visibility rules for this caller.
    var viewer: SearchViewer {
        guard let userID else { return .anonymous }
        return isAdmin ? .administrator(userID) : .user(userID)
    }
}
