import CryptoCore
import Foundation
import IdentityCore
import Storage

/// Verifies robot accounts' `pcr_` tokens for `ApplicationTokenProvider`: `docker login -u <team>+<robot>
/// -p <token>`. Robots are made by `RobotAccountService` (Administration); this is only the check.
///
/// A well-formed robot token is the provider's: unknown → `.rejected(.invalidCredentials)`; the username is
/// not the robot's `<team>+<name>` → `.rejected(.invalidCredentials)`; revoked or expired →
/// `.rejected(.expired)`. Success is an identity of origin `.robot`, carrying the robot's restriction; the
/// policy then holds it to its team's namespaces. Every refusal is audited with the robot's name.
///
/// Not cached: a robot's expiry is not an authorization change, and one indexed read per login is cheap.
/// Threading: immutable; `authenticate` may run concurrently.
struct RobotTokenVerifier: Sendable {
    let id: ProviderID
    let context: ProviderContext
    let touchInterval: TimeInterval

    /// Whether `secret` is shaped like a robot token (prefix and length; the checksum is checked later).
    static func claims(_ secret: String) -> Bool {
        secret.utf8.count == ApplicationTokenFormat.length && secret.hasPrefix(ApplicationTokenFormat.robotPrefix)
    }

    func authenticate(_ credentials: PasswordCredentials) async throws -> PasswordOutcome {
        let secret = credentials.password
        guard ApplicationTokenFormat.isWellFormed(secret, prefix: ApplicationTokenFormat.robotPrefix) else {
            return .notMine
        }
        let hash = ApplicationTokenFormat.secretHash(of: secret)
        let found: (robot: RobotAccount, team: Team)?
        do {
            found = try await context.store.read { reader -> (robot: RobotAccount, team: Team)? in
                guard let robot = try reader.robotAccount(secretHash: hash),
                    let team = try reader.team(id: robot.teamID)
                else { return nil }
                return (robot, team)
            }
        } catch {
            throw ProviderError(.internalFailure, provider: id, reason: "reading the robot account failed: \(error)")
        }
        guard let found, ConstantTime.equals(found.robot.secretHash, hash) else {
            await audit(credentials, robotName: nil, reason: "unknown_token")
            return .rejected(.invalidCredentials)
        }
        let loginName = RobotAccount.loginName(team: found.team.name, robot: found.robot.name)
        // Team and robot names are lower case; a robot name typed in another case still names it.
        guard loginName == credentials.username.lowercased() else {
            await audit(credentials, robotName: loginName, reason: "wrong_username")
            return .rejected(.invalidCredentials)
        }
        let now = context.now()
        guard found.robot.isUsable(at: now) else {
            await audit(
                credentials, robotName: loginName, reason: found.robot.revokedAt == nil ? "expired" : "revoked")
            return .rejected(.expired)
        }
        if found.robot.lastUsedAt.map({ now.timeIntervalSince($0) >= touchInterval }) ?? true {
            let robotID = found.robot.id
            do {
                try await context.store.write { try $0.touchRobotAccount(robotID, at: now) }
            } catch {
                context.logger.warning(
                    "recording robot account use failed", ["robot_id": "\(robotID)", "error": "\(error)"])
            }
        }
        return .authenticated(
            ExternalIdentity(
                provider: id, subject: "robot:\(found.robot.id.rawValue)", username: loginName,
                origin: .robot(robotID: found.robot.id.rawValue), restriction: found.robot.restriction,
                credential: .applicationToken))
    }

    private func audit(_ credentials: PasswordCredentials, robotName: String?, reason: String) async {
        var detail = ["provider": id.rawValue, "reason": reason]
        if let robotName { detail["robot"] = robotName }
        let json = (try? JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys]))
            .flatMap { String(data: $0, encoding: .utf8) }
        await context.audit.record(
            NewAuditEvent(
                action: "login.robot", outcome: .denied, actorName: robotName,
                target: "robot:\(credentials.username.prefix(200))", clientIP: credentials.clientAddress,
                detail: json, time: context.now()))
    }
}
