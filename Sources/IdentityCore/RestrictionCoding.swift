import Diagnostics
import Foundation
import Storage

/// Why a stored restriction could not be read.
public struct RestrictionCodingError: CodedError, Sendable, Hashable {
    /// Stable machine-readable codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The stored restriction of a token is not valid JSON of an `AccessRestriction`.
        case corruptRestriction = "identity.corrupt_restriction"
    }

    /// The code.
    public var code: Code
    /// Detail for people; never contains a secret.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// The JSON text of an `AccessRestriction` in an application token's `scope` column, with sorted arrays so
/// equal restrictions are stored as equal text.
///
/// Here, beside `AccessRestriction`, because the service that stores tokens (Administration) and the
/// plugin that verifies them both need it, and neither may import the other.
public enum RestrictionCoding {
    private struct Stored: Codable {
        var namespaces: [String]?
        var actions: [String]?
    }

    /// The stored text of `restriction`; nil when it limits nothing.
    public static func encode(_ restriction: AccessRestriction?) throws -> String? {
        guard let restriction, !restriction.isUnrestricted else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(
            Stored(namespaces: restriction.namespaces?.sorted(), actions: restriction.actions?.sorted()))
        return String(decoding: data, as: UTF8.self)
    }

    /// The restriction stored as `text`; nil for none.
    ///
    /// - Throws: `RestrictionCodingError(.corruptRestriction)` when the text is not a restriction.
    public static func decode(_ text: String?) throws(RestrictionCodingError) -> AccessRestriction? {
        guard let text else { return nil }
        guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(text.utf8)) else {
            throw RestrictionCodingError(.corruptRestriction, reason: "the stored restriction is not valid JSON")
        }
        let restriction = AccessRestriction(
            namespaces: stored.namespaces.map(Set.init), actions: stored.actions.map(Set.init))
        return restriction.isUnrestricted ? nil : restriction
    }
}

extension ApplicationToken {
    /// The restriction stored with the token (nil: the token may do whatever its owner may).
    ///
    /// - Throws: `RestrictionCodingError(.corruptRestriction)` when the stored text is not a restriction.
    public func decodedRestriction() throws(RestrictionCodingError) -> AccessRestriction? {
        try RestrictionCoding.decode(scope)
    }
}

extension RobotAccount {
    /// What the robot's credential is limited to: its actions, and its namespaces when it names some. The
    /// team's own namespaces bound it further, where the policy reads the robot's team.
    public var restriction: AccessRestriction {
        AccessRestriction(namespaces: namespaces.map(Set.init), actions: Set(actions))
    }

    /// The name the robot logs in with: `<team>+<robot>` (Quay's spelling; `+` is in no username).
    public static func loginName(team: String, robot: String) -> String { team + "+" + robot }
}
