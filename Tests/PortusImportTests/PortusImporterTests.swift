import Administration
import CryptoCore
import Foundation
import Storage
import TestSupport
import Testing
import Webhooks

@testable import PortusImport

/// The importer over snapshots written here, on both store backends: what a run leaves alone, completes,
/// refuses and rolls back. `PortusImportCommandTests` drives the command against a real Portus database.
@Suite(.storeBackends("PortusImporterTests")) struct PortusImporterTests {
    static func options(
        links: [String: PortusDirectoryLink] = [:], sealer: WebhookSecretSealer? = nil, strict: Bool = false
    ) -> PortusImportOptions {
        PortusImportOptions(registry: "local", sealer: sealer, directoryLinks: links, actor: "cli:test", strict: strict)
    }

    @Test(arguments: StoreBackend.allCases)
    func anExistingAccountIsLeftAsItIsAndLinkedOnceItsDirectoryIdentityIsFound(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let bob = try await store.write {
                try AccountAdministration.provision(NewUser(username: "bob", email: "bob@here.example"), in: $0).0
            }
            var snapshot = PortusSnapshot()
            snapshot.users = [PortusUser(id: 3, username: "Bob", email: "bob@portus.example")]

            let first = try await PortusImporter.run(snapshot, options: Self.options(), into: store)
            #expect(first.count(.user, .present) == 1 && !first.changed)
            let link = PortusDirectoryLink(providerID: "corp-ldap", subject: "uuid-of-bob")
            let second = try await PortusImporter.run(
                snapshot, options: Self.options(links: ["Bob": link]), into: store)
            #expect(second.count(.user, .updated) == 1)
            let third = try await PortusImporter.run(snapshot, options: Self.options(links: ["Bob": link]), into: store)
            #expect(third.count(.user, .present) == 1 && !third.changed, "a second run with the link changes nothing")

            let (stored, links, linkEvents) = try await store.read { reader in
                (
                    try reader.user(id: bob.id), try reader.identityLinks(of: bob.id),
                    try reader.auditEvents(matching: AuditEventFilter(action: "user.link"), offset: 0, limit: 5).total
                )
            }
            #expect(stored?.email == "bob@here.example", "what Portcullis holds is never overwritten")
            #expect(links.map(\.subject) == ["uuid-of-bob"] && linkEvents == 1)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func strictModeRollsBackEverythingWhenARecordIsRefused(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            var snapshot = PortusSnapshot()
            snapshot.users = [PortusUser(id: 1, username: "alice", encryptedPassword: "$2a$04$abcdefghijklmnopqrstuv")]
            snapshot.teams = [PortusTeam(id: 1, name: "ops", isHidden: false, description: nil)]
            snapshot.namespaces = [
                PortusNamespace(id: 1, name: "ops", teamID: 1, isGlobal: false, description: nil, visibility: 2)
            ]
            snapshot.webhooks = [
                PortusWebhook(
                    id: 1, namespaceID: 1, name: "hook", url: "https://hooks.example/x", username: nil, password: nil,
                    requestMethod: 1, contentType: 0, isEnabled: true, headers: [])
            ]

            // Without webhooks.secretsKey the webhook is refused; --strict then imports nothing at all.
            let strict = try await PortusImporter.run(snapshot, options: Self.options(strict: true), into: store)
            #expect(strict.rolledBack && strict.count(.webhook, .refused) == 1 && strict.count(.user, .created) == 1)
            #expect(try await store.read { try $0.countUsers() } == 0)

            let lenient = try await PortusImporter.run(snapshot, options: Self.options(), into: store)
            #expect(!lenient.rolledBack && lenient.count(.namespace, .created) == 1)
            let ops = try await store.read { try $0.namespace(named: "ops") }
            #expect(ops?.visibility == .public)

            let sealer = WebhookSecretSealer(key: AEADKey.generate())
            let completed = try await PortusImporter.run(snapshot, options: Self.options(sealer: sealer), into: store)
            #expect(completed.count(.webhook, .created) == 1 && completed.count(.namespace, .present) == 1)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func namesPortcullisCannotTakeAreRefusedTheSameWayOnEveryRun(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.write {
                try AccountAdministration.provision(NewUser(username: "ci"), in: $0)
            }
            var snapshot = PortusSnapshot()
            // "Dev Team" would become dev_team, the name another Portus team has as it is: that one keeps it.
            snapshot.teams = [
                PortusTeam(id: 1, name: "Dev Team", isHidden: false, description: nil),
                PortusTeam(id: 2, name: "dev_team", isHidden: false, description: "the real one"),
            ]
            snapshot.namespaces = [
                PortusNamespace(id: 1, name: "ci", teamID: 2, isGlobal: false, description: nil, visibility: 0),
                PortusNamespace(id: 2, name: "apps", teamID: 1, isGlobal: false, description: nil, visibility: 0),
            ]
            snapshot.activities = [
                PortusActivity(
                    id: 7, trackableType: "Team", trackableID: 2, ownerType: "User", ownerID: 99, key: "team.Odd Key",
                    parameters: nil, recipientType: nil, recipientID: nil,
                    createdAt: Date(timeIntervalSince1970: 1_500_000_000))
            ]
            for run in 1...2 {
                let report = try await PortusImporter.run(snapshot, options: Self.options(), into: store)
                let refused = report.entries.filter { $0.outcome == .refused }.map { "\($0.kind.rawValue) \($0.name)" }
                #expect(refused == ["team Dev Team", "namespace ci", "namespace apps"], "run \(run)")
                #expect(report.count(.activity, run == 1 ? .created : .present) == 1, "run \(run)")
            }
            let (team, events) = try await store.read { reader in
                (
                    try reader.team(named: "dev_team"),
                    try reader.auditEvents(matching: AuditEventFilter(action: "portus.*"), offset: 0, limit: 5).events
                )
            }
            #expect(team?.description == "the real one")
            #expect(events.map(\.action) == ["portus.unknown"] && events.first?.target == "team:dev_team")
            #expect(events.first?.time == Date(timeIntervalSince1970: 1_500_000_000) && events.first?.actorName == nil)
        }
    }
}
