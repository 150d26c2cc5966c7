import Administration
import Authorization
import Configuration
import Foundation
import IdentityMapping
import Storage

extension PolicySettings {
    /// The switches of `policy.*` as the resource policy reads them.
    var resourcePolicy: ResourcePolicySettings {
        ResourcePolicySettings(
            pushPolicy: Authorization.PushPolicy(rawValue: pushImages.rawValue) ?? .allowTeams,
            deleteEnabled: delete.enabled,
            deleteContributors: delete.contributors, anonymousBrowsing: anonymousBrowsing,
            changeVisibility: userPermission.changeVisibility, createTeam: userPermission.createTeam,
            manageTeam: userPermission.manageTeam, createNamespace: userPermission.createNamespace,
            manageNamespace: userPermission.manageNamespace, createWebhook: userPermission.createWebhook,
            manageWebhook: userPermission.manageWebhook)
    }
}

/// The application services over one open store, as the command line uses them.
struct AdministrationServices {
    /// Accounts.
    let accounts: AccountAdministration
    /// Teams and memberships.
    let teams: TeamAdministration
    /// Namespaces.
    let namespaces: NamespaceAdministration
    /// Repositories and tags.
    let repositories: RepositoryAdministration
    /// The audit log.
    let audit: AuditQueries
    /// Who the command line acts as: the operator, a system administrator, named after their login.
    let actor = Caller.operatorAtShell
}

extension AppContext {
    /// Hands `body` the identity-link service and the operator as actor; errors become command failures.
    func withIdentityLinks(_ body: (IdentityLinkAdministration, Caller) async throws -> Void) async throws {
        try await withStore { store in
            do {
                try await body(IdentityLinkAdministration(store: store), Caller.operatorAtShell)
            } catch let error as AdministrationError {
                throw CommandFailure(.dataError, error.reason.isEmpty ? error.code.rawValue : error.reason)
            } catch let error as FederatedSignInError {
                throw CommandFailure(.dataError, error.reason)
            }
        }
    }

    /// Opens the store, hands `body` the services, and closes the store again; administration errors
    /// become command failures (exit 65, or 64 for bad paging), store errors as `withStore` maps them.
    func administration<T>(_ body: (AdministrationServices) async throws -> T) async throws -> T {
        let settings = configuration.policy.resourcePolicy
        let pool = cpuPool
        return try await withStore { store in
            do {
                return try await body(
                    AdministrationServices(
                        accounts: AccountAdministration(
                            store: store, settings: settings, hashing: pool,
                            reservedUsernames: WorkloadIdentityAssembly.reservedUsernames(configuration)),
                        teams: TeamAdministration(store: store, settings: settings),
                        namespaces: NamespaceAdministration(store: store, settings: settings),
                        repositories: RepositoryAdministration(store: store, settings: settings),
                        audit: AuditQueries(store: store, settings: settings)))
            } catch let error as AdministrationError {
                throw CommandFailure(error.code == .invalidPaging ? .usage : .dataError, error.reason)
            }
        }
    }
}

extension ParsedArguments {
    /// `--offset N --limit N --sort FIELD --desc` as a page request (the CLI lists up to 1000 by default).
    mutating func page<Field: SortField>(sortedBy defaultField: Field) throws(CommandFailure) -> PageRequest<Field> {
        let (offset, limit) = try offsetAndLimit()
        var sort = defaultField
        if let name = option("sort") {
            guard let field = Field(rawValue: name) else {
                throw CommandFailure(
                    .usage, "--sort must be one of: \(Field.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sort = field
        }
        return PageRequest(offset: offset, limit: limit, sort: sort, descending: flag("desc"))
    }
}

extension ParsedArguments {
    /// `--offset N --limit N` (the CLI lists up to 1000 by default); the service checks the range.
    mutating func offsetAndLimit() throws(CommandFailure) -> (offset: Int, limit: Int) {
        var numbers: [Int] = []
        for (name, fallback) in [("offset", 0), ("limit", PageRequest<NameSortField>.maximumLimit)] {
            guard let text = option(name) else {
                numbers.append(fallback)
                continue
            }
            guard let value = Int(text) else { throw CommandFailure(.usage, "--\(name) takes a whole number") }
            numbers.append(value)
        }
        return (numbers[0], numbers[1])
    }
}

/// The line printed under a listing that was cut short, so an operator knows to page on.
func pagingFooter<Item>(_ page: Page<Item>) -> String {
    page.hasMore
        ? "(\(page.items.count) of \(page.total) shown; continue with --offset \(page.offset + page.items.count))\n"
        : ""
}
