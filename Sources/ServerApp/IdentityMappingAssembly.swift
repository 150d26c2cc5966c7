import Administration
import Configuration
import Diagnostics
import Foundation
import IdentityCore
import IdentityMapping
import Storage
import TokenAuthority

/// The token endpoint's view of the identity mapper.
struct MappedIdentityLinker: IdentityLinking {
    let mapper: IdentityMapper

    func link(_ identity: ExternalIdentity) async throws -> IdentityLinkOutcome {
        switch try await mapper.map(identity) {
        case .mapped(let userID): .linked(userID: userID.rawValue)
        case .refused(let refusal): .refused(message: refusal.description, code: refusal.code.rawValue)
        }
    }
}

extension MappingSettings {
    /// The rules this block describes; problems (an empty group or team) name their key path.
    func rules(keyPath: String) throws(CommandFailure) -> MappingRules {
        var problems: [String] = []
        for (index, rule) in groupSync.rules.enumerated() {
            let path = "\(keyPath).mapping.groupSync.rules[\(index)]"
            if rule.group.isEmpty { problems.append("\(path).group must not be empty") }
            if rule.team.isEmpty { problems.append("\(path).team must not be empty") }
        }
        if let domain = emailDomain, domain != "fromDN", domain.isEmpty || domain.contains("@") || domain.contains(" ")
        {
            problems.append("\(keyPath).mapping.emailDomain '\(domain)' is not a domain (or fromDN)")
        }
        guard problems.isEmpty else { throw CommandFailure(.configuration, problems.joined(separator: "\n")) }
        let guess: EmailGuess =
            switch emailDomain {
            case nil: .none
            case "fromDN": .distinguishedName
            case let domain?: .domain(domain)
            }
        var rules = MappingRules(
            autoProvision: autoProvision, adminGroups: adminGroups.map(GroupPattern.init), adminBases: adminBases,
            emailGuess: guess,
            syncMode: groupSync.mode == .authoritative ? .authoritative : .additive,
            syncInterval: groupSync.interval, preProvision: groupSync.preProvision,
            syncRules: groupSync.rules.map {
                GroupSyncRule(
                    group: GroupPattern($0.group), team: $0.team, role: TeamRole(rawValue: $0.role.rawValue) ?? .viewer,
                    createTeam: $0.create)
            })
        rules.suffixesTakenUsernames = usernameCollision == .suffix
        rules.requiresVerifiedEmail = requireVerifiedEmail
        return rules
    }
}

/// The mapper and the group syncers of the configured providers.
struct IdentityMappingAssembly {
    let mapper: IdentityMapper
    /// One syncer per enabled provider that is a group directory, with its rules.
    let syncers: [(provider: ProviderID, rules: MappingRules, syncer: GroupSyncer)]

    /// `reservedUsernames`: names provisioning may not give an account (CI trust policies').
    init(
        settings: [ProviderSettings], providers: [any IdentityProvider], store: any Store, logger: Logger,
        reservedUsernames: [String: String] = [:]
    ) throws(CommandFailure) {
        var rules: [ProviderID: MappingRules] = [:]
        var problems: [String] = []
        for entry in settings where entry.enabled {
            do { rules[ProviderID(rawValue: entry.id)] = try entry.mapping.rules(keyPath: entry.keyPath) } catch {
                problems.append(error.message)
            }
        }
        // Sync settings on a provider that cannot list groups would silently do nothing: say so instead.
        for entry in settings where entry.enabled {
            let sync = entry.mapping.groupSync
            guard
                !sync.rules.isEmpty || sync.interval > .zero || sync.preProvision || !entry.mapping.adminGroups.isEmpty,
                let provider = providers.first(where: { $0.id.rawValue == entry.id }),
                !(provider is any GroupDirectory),
                !(provider is any RedirectAuthenticating)
            else { continue }
            problems.append(
                "\(entry.keyPath).mapping: provider type '\(entry.type)' reports no groups, so adminGroups and "
                    + "groupSync cannot apply; remove them")
        }
        guard problems.isEmpty else { throw CommandFailure(.configuration, problems.joined(separator: "\n")) }
        let provisioner = PersonalAccountProvisioner(reservedUsernames: reservedUsernames)
        mapper = IdentityMapper(
            store: store, rules: rules, provisioner: provisioner, logger: logger.named("mapping"))
        syncers = providers.compactMap { provider in
            guard let directory = provider as? any GroupDirectory else { return nil }
            let providerRules = rules[provider.id] ?? MappingRules()
            return (
                provider.id, providerRules,
                GroupSyncer(
                    directory: directory, rules: providerRules, store: store, provisioner: provisioner,
                    logger: logger.named("group-sync").with(["provider": provider.id.rawValue]))
            )
        }
    }
}
