import Diagnostics
import Foundation

/// The `portcullis` command line: `serve`, `config check`, `db migrate`, `keys generate`, and the
/// `user`, `team` and `namespace` administration commands.
public enum PortcullisCommand {
    static let usage = """
        usage: portcullis <command> [options]

        Commands:
          serve                                 serve the token authority, UI and API
          config check [--origins]              validate config.d as serve does at start (keys, secrets, file
                                                modes, providers) and print the effective configuration;
                                                --origins: with the file:line (or $VARIABLE) that set each value
          config keys                           list every configuration key (Markdown table)
          db migrate                            apply pending database migrations
          db status                             the storage driver and the schema version (without migrating)
          db copy --to postgres://…|sqlite:PATH [--replace] [--dry-run]
                                                copy the configured database (it may be serving: one snapshot)
                                                into another, migrated first, in one transaction, verified by
                                                row counts and a checksum per table; --replace empties a target
                                                that holds data; --dry-run prints the counts, writes nothing
          doctor                                check stored data against today's rules (usernames, case
                                                collisions, namespace names, an admin); exit 1 if it lists any
          audit tail [--lines N] [--follow]     the newest audit events (token requests, logins, changes)
          audit search [--actor NAME] [--action A|FAMILY.*] [--target T|PREFIX*] [--since DATE] [--until DATE]
                       [--offset N] [--limit N]
                                                matching audit events, newest first, with the total
          audit export --csv [--output PATH]    the whole audit log as CSV
          audit archive --before DATE [--output PATH] [--gzip]
                                                events before DATE to JSON Lines (0600), then deleted
          keys generate [--type ec|rsa] [--bits N] [--key PATH] [--certificate PATH] [--force]
                                                write a signing key (mode 0600) and its self-signed certificate
          keys rotate [--type ec|rsa] [--activate-in 1h] [--key PATH] [--certificate PATH]
                                                a new key, published now, signing from --activate-in later
          keys bundle [--output PATH]           the certificates for the registry's rootcertbundle
          keys jwks [--output PATH]             the JWK Set for registry 3.x's jwks option
          token create USER NAME [--expires-in D] [--namespace N]... [--action pull|push|delete|api:read|api:write|*]...
                                                an application token (the docker login password), shown once
          token list USER
          token revoke USER NAME
          token refresh list USER               the user's live refresh tokens (docker's offline tokens): id,
                                                service, client, created, last used, expiry; never the token
          token refresh revoke USER ID
          robot create NAME --team TEAM --action pull|push|delete... --expires-in D [--namespace N]...
                [--note TEXT] [--as USER]       a robot account (a team's token for CI; login TEAM+NAME),
                                                shown once; push brings pull; --as: made by that team owner
          robot list --team TEAM
          robot show NAME --team TEAM
          robot revoke NAME --team TEAM [--as USER]
          user create NAME [--email E] [--admin] [--password-stdin] [--no-password]
          user list [PAGING]                    PAGING: [--offset N] [--limit N] [--sort FIELD] [--desc]
          user show NAME                        account, personal namespace and teams
          user set-password NAME [--password-stdin]
          user make-admin|revoke-admin NAME
          user link NAME --provider ID --issuer URL --subject SUB   link an SSO identity (never by email)
          user unlink NAME --provider ID --subject SUB
          user enable|disable NAME              disabling revokes refresh tokens; never the last admin
          user delete NAME                      with tokens, links and memberships (an empty personal
                                                namespace too); not the last admin or a team's last owner
          team create NAME [--owner USER] [--description TEXT]
          team list [PAGING]
          team show TEAM                        members with role and source, namespaces
          team add-member TEAM USER [--role owner|contributor|viewer]
                                                administrators are always added as owners
          team remove-member TEAM USER          never the last owner
          team set-role TEAM USER owner|contributor|viewer
          team groups TEAM                      provider groups named as members (synced at sign-in)
          team add-group TEAM --provider ID --group NAME [--role owner|contributor|viewer]
          team remove-group TEAM --provider ID --group NAME
          team update TEAM [--name NEW] [--description TEXT]
          team delete TEAM [--namespaces-to TEAM]
          namespace create NAME --team TEAM [--visibility private|protected|public] [--description TEXT]
          namespace list [PAGING]
          namespace show NAME
          namespace set-visibility NAME private|protected|public
          namespace set-description NAME TEXT
          namespace transfer NAME TEAM          hand the namespace to another team
          namespace delete NAME                 an empty regular namespace (delete its repositories first)
          ldap sync [--provider ID] [--dry-run]  sync group → team memberships now (and pre-provision group
                                                members when configured), printing each change
          registry config [--registry NAME] [--bundle PATH]
                                                the auth and notifications sections for the registry's config.yml
                                                (realm, service, issuer, rootcertbundle, events URL and secret);
                                                creates a missing signing key and events secret first
          registry sync [--registry NAME] [--dry-run]
                                                reconcile the stored catalog with the registry now, printing each
                                                change; never removes anything on a failed or partial listing
          registry events [--state failed|pending|processed|ignored] [--limit N]
                                                stored registry notifications in one state, oldest first (default
                                                failed, with the reason)
          repository list [NAMESPACE] [--registry NAME] [--json]
          repository show NS/REPO [--registry NAME]
                                                description, star count, tag count
          repository delete NS/REPO --as USER [--registry NAME]
                                                delete every manifest of the repository at the registry, then the
                                                repository (the registry must allow deletion)
          tag list NS/REPO [--registry NAME] [--json]
                                                digest, media type, size, author, pushed and last pulled, pull count
          tag delete NS/REPO:TAG --as USER [--registry NAME]
                                                delete the tag's manifest at the registry (and so every tag sharing
                                                its digest), then record it; a registry refusal changes nothing
          webhook create NAMESPACE URL [--format json|cloudevents] [--events push,delete] [--header 'Name: value']...
                                                an outgoing webhook; prints its id and signing secret, shown once
          webhook list [NAMESPACE]              webhooks (never their secrets or header values)
          webhook deliveries WEBHOOK_ID [--limit N]
                                                the delivery log: state, attempts, status, latency, response
          webhook redeliver DELIVERY_ID         send a delivery again, with the identical body
          search QUERY [--as USER] [--kind repository,tag,namespace,team] [--page N] [--per-page N]
                                                substring search (3+ characters; NS/REPO:TAG finds tags) over
                                                what USER may see (no --as: everything, as an administrator)
          star|unstar NS/REPO --as USER [--registry NAME]
          starred --as USER [--page N] [--per-page N]
          db seed [--repositories N] [--tags N] [--users N] [--teams N] [--seed-name-prefix P] [--batch N]
                  [--crowded-namespace N] [--busy-repository N]
                                                fill the database with deterministic rows (tests, benchmarks);
                                                the last N repositories in ns0, N tags in repo0
          webhook enable|disable|delete WEBHOOK_ID
          import portus --database postgres://USER@HOST/DB [--dry-run] [--strict] [--registry NAME]
                [--ldap-provider ID]            import a Portus 2.4 PostgreSQL database (users with their bcrypt
                                                passwords, LDAP users linked through the LDAP provider, teams,
                                                namespaces, repositories, tags, stars, webhooks, activities as
                                                audit history); idempotent; --dry-run writes nothing; --strict
                                                imports nothing if any row is refused

        Repository and tag deletions act as the user named by --as (required: the audit log names a real
        person, and the authorization policy decides as it would for that user's token). --registry may be
        left out when only one registry is configured.

        Every command takes --config DIR (default: $PORTCULLIS_CONFIG, else ./config.d).
        Passwords come from a prompt or from standard input with --password-stdin, never from arguments.
        Exit status: 0 ok, 1 failure, 64 usage, 65 bad data (unknown or duplicate name),
        66 missing input, 69 database unavailable, 73 cannot create file, 78 invalid configuration.
        """

    /// Runs the command named by the process arguments and exits with its status.
    ///
    /// The exit skips the C library's `atexit` handlers (`_exit` after flushing standard output and error):
    /// those include OpenSSL's global cleanup, and a blocking-pool thread still finishing a queued job (a
    /// provider's dummy hash, an LDAP unbind) would run OpenSSL or libldap while it is torn down, which
    /// crashed a command that had already printed its answer (SIGSEGV, seen under load). Nothing of ours
    /// needs those handlers: every store write is committed before a command returns.
    public static func main() async {
        let status = await run(Array(CommandLine.arguments.dropFirst()))
        fflush(nil)
        _exit(status.rawValue)
    }

    /// Runs one command line (without the program name) and returns its exit status; errors are
    /// printed to standard error as one line.
    public static func run(_ arguments: [String]) async -> ExitStatus {
        do {
            try await dispatch(arguments)
            return .success
        } catch let failure as CommandFailure {
            // Messages quote names and reasons others chose: each line is made inert (``InertText``).
            printError("portcullis: \(InertText.escapedLines(failure.message))")
            if failure.status == .usage { printError("Run 'portcullis --help' for usage.") }
            return failure.status
        } catch {
            printError("portcullis: \(InertText.escapedLines("\(error)"))")
            return .failure
        }
    }

    private static func dispatch(_ arguments: [String]) async throws {
        guard let command = arguments.first else { throw CommandFailure(.usage, "no command given") }
        let rest = Array(arguments.dropFirst())
        switch command {
        case "-h", "--help", "help":
            print(usage)
        case "--version", "version":
            print("portcullis \(Version.current)")
        case "serve":
            try await ServeCommand.run(rest)
        case "doctor":
            try await DoctorCommand.run(rest)
        case "config":
            try await subcommand(command, rest, ["check": ConfigCommands.check, "keys": ConfigCommands.keys])
        case "audit":
            try await subcommand(
                command, rest,
                [
                    "tail": AuditCommands.tail, "export": AuditCommands.export, "archive": AuditArchiveCommand.run,
                    "search": AuditSearchCommand.run,
                ])
        case "db":
            try await subcommand(
                command, rest,
                [
                    "migrate": DatabaseCommands.migrate, "status": DatabaseCommands.status, "seed": SeedCommand.run,
                    "search-timing": SearchTimingCommand.run, "copy": DatabaseCopyCommand.run,
                ])
        case "keys":
            try await subcommand(
                command, rest,
                [
                    "generate": KeyCommands.generate, "rotate": KeyCommands.rotate, "bundle": KeyCommands.bundle,
                    "jwks": KeyCommands.jwks,
                ])
        case "token":
            try await subcommand(
                command, rest,
                [
                    "create": TokenCommands.create, "list": TokenCommands.list, "revoke": TokenCommands.revoke,
                    "refresh": TokenCommands.refresh,
                ])
        case "robot":
            try await subcommand(
                command, rest,
                [
                    "create": RobotCommands.create, "list": RobotCommands.list, "show": RobotCommands.show,
                    "revoke": RobotCommands.revoke,
                ])
        case "user":
            try await subcommand(
                command, rest,
                [
                    "create": UserCommands.create, "list": UserCommands.list, "show": UserCommands.show,
                    "set-password": UserCommands.setPassword, "make-admin": UserCommands.makeAdmin,
                    "revoke-admin": UserCommands.revokeAdmin, "enable": UserCommands.enable,
                    "disable": UserCommands.disable, "delete": UserCommands.delete, "link": UserCommands.link,
                    "unlink": UserCommands.unlink,
                ])
        case "team":
            try await subcommand(
                command, rest,
                [
                    "create": TeamCommands.create, "list": TeamCommands.list, "show": TeamCommands.show,
                    "add-member": TeamCommands.addMember, "remove-member": TeamCommands.removeMember,
                    "set-role": TeamCommands.setRole, "update": TeamCommands.update, "delete": TeamCommands.delete,
                    "groups": TeamCommands.groups, "add-group": TeamCommands.addGroup,
                    "remove-group": TeamCommands.removeGroup,
                ])
        case "ldap":
            try await subcommand(command, rest, ["sync": LDAPCommands.sync])
        case "registry":
            try await subcommand(
                command, rest,
                ["sync": RegistryCommands.sync, "events": RegistryCommands.events, "config": RegistryConfigCommand.run])
        case "repository":
            try await subcommand(
                command, rest,
                [
                    "list": RepositoryCommands.list, "show": RepositoryShowCommand.run,
                    "delete": RepositoryCommands.delete,
                ])
        case "tag":
            try await subcommand(command, rest, ["list": TagCommands.list, "delete": TagCommands.delete])
        case "webhook":
            try await subcommand(
                command, rest,
                [
                    "create": WebhookCommands.create, "list": WebhookCommands.list,
                    "deliveries": WebhookCommands.deliveries, "redeliver": WebhookCommands.redeliver,
                    "delete": WebhookCommands.delete, "enable": WebhookCommands.enable,
                    "disable": WebhookCommands.disable,
                ])
        case "namespace":
            try await subcommand(
                command, rest,
                [
                    "create": NamespaceCommands.create, "list": NamespaceCommands.list, "show": NamespaceCommands.show,
                    "set-visibility": NamespaceCommands.setVisibility,
                    "set-description": NamespaceCommands.setDescription, "transfer": NamespaceCommands.transfer,
                    "delete": NamespaceCommands.delete,
                ])
        case "import":
            try await subcommand(command, rest, ["portus": ImportCommands.portus])
        case "search", "star", "unstar", "starred":
            try await SearchCommands.run(command, rest)
        default:
            throw CommandFailure(.usage, "unknown command '\(command)'")
        }
    }

    private static func subcommand(
        _ command: String, _ arguments: [String], _ table: [String: ([String]) async throws -> Void]
    ) async throws {
        guard let name = arguments.first, !name.hasPrefix("-") else {
            if arguments.first == "--help" || arguments.first == "-h" {
                print(usage)
                return
            }
            throw CommandFailure(
                .usage, "'\(command)' needs a subcommand: \(table.keys.sorted().joined(separator: ", "))")
        }
        guard let action = table[name] else {
            throw CommandFailure(
                .usage,
                "unknown subcommand '\(command) \(name)'; expected one of: \(table.keys.sorted().joined(separator: ", "))"
            )
        }
        let rest = Array(arguments.dropFirst())
        if rest.contains("--help") || rest.contains("-h") {
            print(usage)
            return
        }
        try await action(rest)
    }
}

/// The version of this build.
public enum Version {
    /// The release this source tree will become.
    public static let current = "0.1.0-dev"
}
