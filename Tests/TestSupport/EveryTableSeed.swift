import Foundation
import Storage

/// Rows in every table of today's schema, written through the Store API as the server writes them, for the
/// tests of `db copy`: NULLs and set values, flags both ways, non-ASCII and quoted text, sealed secrets,
/// timestamps with milliseconds. A table a new migration adds gets no row here until this is extended, and the
/// copy tests that check every table holds a row fail until then.
public enum EveryTableSeed {
    /// The password of the user `copy-admin` (hashed with the store's format by the caller's `passwordHash`).
    public static let adminName = "copy-admin"

    /// Writes the rows, dated `now`; `passwordHash` is stored for `copy-admin`.
    public static func fill(_ store: any Store, now: Date, passwordHash: String? = nil) async throws {
        // Milliseconds that do not round to whole seconds: a timestamp must survive to the millisecond.
        let now = Date(timeIntervalSince1970: (now.timeIntervalSince1970 * 1000).rounded() / 1000 + 0.123)
        try await store.write { writer in
            let team = try writer.team(named: "platform") ?? writer.createTeam(name: "platform")
            let admin = try writer.createUser(
                NewUser(
                    username: adminName, email: "admin@example.test", displayName: "Zoë \"Admin\" 🚢",
                    passwordHash: passwordHash, isAdmin: true))
            let plain = try writer.createUser(NewUser(username: "copy-plain", isEnabled: false))
            _ = try writer.addTeamMember(team: team.id, user: admin.id, role: .owner)
            _ = try writer.addTeamMember(team: team.id, user: plain.id, role: .viewer, syncedFrom: "ldap:corp")
            let link = try writer.linkIdentity(providerID: "oidc", subject: "sub-1", to: admin.id)
            try writer.saveFederatedIdentity(
                FederatedIdentity(
                    linkID: link.id, providerID: "oidc", subject: "sub-1", userID: admin.id,
                    issuer: "https://idp.example.test", sealedGrant: "sealed:v1:AAECAwQ=", checkedAt: now))
            try writer.setAdminGrant(of: admin.id, provider: "oidc")
            try writer.createLoginState(
                LoginState(
                    stateHash: String(repeating: "a", count: 64), browserHash: String(repeating: "b", count: 64),
                    providerID: "oidc", intent: .signIn, pending: "{}", next: "/", createdAt: now,
                    expiresAt: now.addingTimeInterval(600)))
            let session = try writer.createWebSession(
                userID: admin.id, secretHash: String(repeating: "c", count: 64), csrfToken: "csrf",
                expiresAt: now.addingTimeInterval(3600), client: "Firefox", address: "192.0.2.1")
            try writer.attachIdentityLink(link.id, toSession: session.id)
            try writer.addSetupCode(hash: String(repeating: "d", count: 64), at: now)
            try writer.saveAddressLoginState(
                AddressLoginState(
                    userID: plain.id, clientAddress: "192.0.2.7", failedCount: 2, lastFailureAt: now))

            let namespace = try writer.createNamespace(
                name: "platform", team: team.id, visibility: .protected, kind: .regular, personalOwner: nil,
                description: "it's the platform's")
            let repository = try writer.createRepository(name: "app", in: namespace.id, registry: "registry.local")
            let tag = try writer.recordTagPush(
                TagPush(
                    repositoryID: repository.id, name: "v1", digest: "sha256:" + String(repeating: "e", count: 64),
                    mediaType: "application/vnd.oci.image.manifest.v1+json", size: 1234, pushedByID: admin.id,
                    pushedByName: adminName, platforms: ["linux/amd64"], pushedAt: now))
            try writer.recordPull(ofTag: tag.id, at: now)
            _ = try writer.star(repository.id, by: admin.id)

            _ = try writer.createApplicationToken(
                NewApplicationToken(
                    ownerID: admin.id, name: "laptop", secretHash: String(repeating: "f", count: 64), prefix: "pcl_x"))
            _ = try writer.createRefreshToken(
                userID: admin.id, service: "registry.local", secretHash: String(repeating: "1", count: 64),
                client: "docker")
            _ = try writer.createRobotAccount(
                NewRobotAccount(
                    teamID: team.id, name: "ci", secretHash: String(repeating: "2", count: 64), prefix: "pcr_x",
                    actions: ["pull", "push"], namespaces: ["platform"], createdByID: admin.id,
                    createdByName: adminName, expiresAt: now.addingTimeInterval(86_400)))
            _ = try writer.createTeamGroupLink(
                team: team.id, provider: "ldap", group: "developers", role: .contributor, createdBy: adminName, at: now)

            let webhook = try writer.createWebhook(
                NewWebhook(
                    namespaceID: namespace.id, url: "https://hooks.example.test/in", format: .json,
                    events: [.push, .delete], headers: [WebhookHeader(name: "Authorization", value: "sealed:v1:BQYH")],
                    secret: "sealed:v1:CAkKCw=="))
            let delivery = try writer.enqueueWebhookDelivery(
                NewWebhookDelivery(
                    webhookID: webhook.id, changeID: "change-1", event: .push, contentType: "application/json",
                    body: #"{"tag":"v1"}"#, notBefore: now))
            let claimed = try writer.claimDueWebhookDeliveries(
                at: now, limit: 1, holder: "webhooks@seed", leaseUntil: now.addingTimeInterval(70))
            guard let claim = claimed.first?.claim else {
                throw StoreError(.notFound, "the seeded webhook delivery was not claimed")
            }
            _ = try writer.recordWebhookAttempt(
                WebhookAttemptResult(
                    deliveryID: delivery.id, attemptedAt: now, status: 500, latencyMilliseconds: 12,
                    responseExcerpt: "oops", error: nil, newState: .retrying, nextAttemptAt: now.addingTimeInterval(60)),
                under: claim)
            _ = try writer.enqueueWebhookDelivery(
                NewWebhookDelivery(
                    webhookID: webhook.id, changeID: "change-1", event: .push, contentType: "application/json",
                    body: #"{"tag":"v1"}"#, notBefore: now, redeliveryOf: delivery.id))

            _ = try writer.recordRegistryEvent(
                eventID: "event-1", registry: "registry.local", repository: "platform/app", payload: "{}")
            // Claimed, so the claim columns (migration 20) hold values too.
            _ = try writer.claimRegistryEvents(
                limit: 1, holder: "events@seed", leaseUntil: now.addingTimeInterval(300), at: now)
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "user.login", outcome: .success, actorID: admin.id, actorName: adminName,
                    clientIP: "192.0.2.1", detail: #"{"provider":"local"}"#, time: now))
            _ = try writer.recordWorkloadTokenUse(
                issuer: "https://token.actions.example.test", jti: "jti-1", expiresAt: now.addingTimeInterval(300),
                at: now)
            _ = try writer.createWorkloadRefreshToken(
                WorkloadRefreshToken(
                    id: RecordID(0), secretHash: String(repeating: "3", count: 64), policy: "deploy",
                    issuer: "https://token.actions.example.test", jti: "jti-1", service: "registry.local",
                    claims: #"{"repository_id":"1"}"#, createdAt: now, expiresAt: now.addingTimeInterval(3600)))
            _ = try writer.acquireLease("catalog-sync", holder: "instance-a", for: 30, at: now)
            _ = try writer.countGuessingFailure(from: "198.51.100.9", window: 600, at: now)
        }
    }
}
