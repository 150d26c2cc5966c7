import Diagnostics
import Foundation
import IdentityCore
import Storage
import Synchronization

extension AccessClaim {
    /// The scope text of this entry, `type:name:action1,action2`, as in a token request.
    public var scopeText: String { "\(type):\(name):\(actions.joined(separator: ","))" }
}

/// What the audit log keeps about one request to the token endpoint.
///
/// Every text that came from the client is cut to a bounded length and count, so a hostile
/// request cannot bloat the audit table.
public struct TokenRequestAudit: Sendable, Hashable {
    /// The action name of token-request audit events.
    public static let action = "token.issue"
    /// At most this many scopes are kept per list; the detail says how many were left out.
    public static let maximumScopes = 50
    /// Longer texts are cut to this many characters.
    public static let maximumTextLength = 256

    /// The authenticated user's id, if the request authenticated.
    public var userID: User.ID?
    /// The user name: the authenticated one, or the one that failed to authenticate; nil for anonymous.
    public var username: String?
    /// The identity provider that authenticated the user (or refused them), if any.
    public var provider: String?
    /// The client address.
    public var clientIP: String?
    /// The registry service named in the request.
    public var service: String
    /// The scopes as requested (raw texts).
    public var requestedScopes: [String]
    /// The scopes as granted.
    public var grantedScopes: [String]
    /// How the request ended.
    public var outcome: AuditOutcome
    /// Why it was denied or failed (a short code or phrase, never a secret), if it was.
    public var reason: String?

    /// Describes one token request.
    public init(
        userID: User.ID? = nil, username: String?, provider: String? = nil, clientIP: String?, service: String,
        requestedScopes: [String], grantedScopes: [String], outcome: AuditOutcome, reason: String? = nil
    ) {
        self.userID = userID
        self.username = username
        self.provider = provider
        self.clientIP = clientIP
        self.service = service
        self.requestedScopes = requestedScopes
        self.grantedScopes = grantedScopes
        self.outcome = outcome
        self.reason = reason
    }

    /// Describes one token request whose grants are the `access` claim of the minted token.
    public init(
        userID: User.ID? = nil, username: String?, provider: String? = nil, clientIP: String?, service: String,
        requestedScopes: [String], granted: [AccessClaim], outcome: AuditOutcome, reason: String? = nil
    ) {
        self.init(
            userID: userID, username: username, provider: provider, clientIP: clientIP, service: service,
            requestedScopes: requestedScopes, grantedScopes: granted.map(\.scopeText), outcome: outcome,
            reason: reason)
    }

    /// The audit event: actor, `token.issue`, target `service:<service>`, and a JSON `detail` with
    /// `provider`, `service`, `requested`, `granted` and `reason` (absent members left out).
    public func event(at time: Date? = nil) -> NewAuditEvent {
        // Appended to one string rather than assembled from member arrays: every token request builds one,
        // and the intermediate arrays and strings were most of its cost.
        var detail = "{"
        detail.reserveCapacity(64 + (requestedScopes.first?.utf8.count ?? 0) + (grantedScopes.first?.utf8.count ?? 0))
        if let provider { detail += "\"provider\":" + JSONText.quoted(Self.bounded(provider)) + "," }
        detail += "\"service\":" + JSONText.quoted(Self.bounded(service))
        Self.appendScopes("requested", requestedScopes, to: &detail)
        Self.appendScopes("granted", grantedScopes, to: &detail)
        if let reason { detail += ",\"reason\":" + JSONText.quoted(Self.bounded(reason)) }
        detail += "}"
        return NewAuditEvent(
            action: Self.action, outcome: outcome, actorID: userID, actorName: username.map(Self.bounded),
            target: "service:" + Self.bounded(service), clientIP: clientIP.map(Self.bounded),
            detail: detail, time: time)
    }

    /// Appends `,"name":[…]` with at most `maximumScopes` bounded scope texts, and `,"nameOmitted":n` when
    /// some were left out.
    private static func appendScopes(_ name: String, _ scopes: [String], to detail: inout String) {
        detail += ",\"" + name + "\":["
        for (index, scope) in scopes.prefix(maximumScopes).enumerated() {
            if index > 0 { detail += "," }
            detail += JSONText.quoted(bounded(scope))
        }
        detail += "]"
        if scopes.count > maximumScopes { detail += ",\"" + name + "Omitted\":" + String(scopes.count - maximumScopes) }
    }

    private static func bounded(_ text: String) -> String {
        // Counting UTF-8 bytes is O(1) for native strings; characters are counted only for long texts.
        if text.utf8.count <= maximumTextLength || text.count <= maximumTextLength { return text }
        return String(text.prefix(maximumTextLength)) + "…"
    }
}
