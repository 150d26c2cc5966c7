import Configuration
import CryptoCore
import Diagnostics
import Foundation
import TokenAuthority

/// The events secrets a registry sends with its notifications: a `{file: PATH}` one whose file is missing
/// is generated, as the first signing key is, so a fresh clone's `make run` starts with every registry able
/// to deliver notifications instead of logging that its secret cannot be read.
enum RegistryEventSecrets {
    /// Random bytes in a generated secret (written as 64 hex digits: header-safe, and four times the
    /// 16-byte floor `config check` holds shared secrets to).
    static let generatedBytes = 32

    /// Writes a new secret (hex, mode 0600, never replacing a file) for every registry whose `eventsSecret`
    /// is a `{file: PATH}` that does not exist, and tells `announce` which registry and file, never the
    /// value. `{env: NAME}` secrets and registries without one are left alone: there is nothing to create.
    ///
    /// - Throws: `CommandFailure` (cannot create) naming the key path and file.
    static func createMissing(
        _ registries: [RegistrySettings], announce: (_ registry: String, _ path: String) -> Void
    ) throws(CommandFailure) {
        for (index, registry) in registries.enumerated() {
            guard case .file(let path)? = registry.eventsSecret?.reference,
                !FileManager.default.fileExists(atPath: path)
            else { continue }
            do {
                try KeyRotation.writeNewFile(
                    path, contents: Hex.encode(SecureRandom.bytes(count: generatedBytes)) + "\n", mode: 0o600)
            } catch {
                // Another process (a second `serve`, `registry config`) may have written it meanwhile.
                if FileManager.default.fileExists(atPath: path) { continue }
                throw CommandFailure(
                    .cannotCreate, "registries[\(index)].eventsSecret: cannot create \(path): \(error)")
            }
            announce(registry.name, path)
        }
    }

    /// What `serve` calls on every start, after the signing keys: creates missing secrets, saying where.
    static func ensure(_ registries: [RegistrySettings], logger: Logger) throws(CommandFailure) {
        try createMissing(registries) { registry, path in
            logger.notice(
                "generated the registry's events secret on first start; `portcullis registry config` prints the "
                    + "registry's config.yml block with it",
                ["registry": registry, "file": path])
        }
    }
}

/// `portcullis registry config [--registry NAME] [--bundle PATH]`: the `auth` and `notifications` sections
/// to paste into the registry's `config.yml`, exactly matching this configuration (realm, service, issuer,
/// the certificates to trust, the events endpoint and its secret).
enum RegistryConfigCommand {
    static func run(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let only = parsed.option("registry")
        let bundle = parsed.option("bundle")
        // Not quiet: creating the signing key is announced as serve announces it.
        let context = try AppContext(&parsed, quiet: false)
        try parsed.finish(maxPositionals: 0)
        let configuration = context.configuration
        let wiring = RegistryWiring(configuration: configuration, clients: [:], logger: context.logger)
        let registry = try wiring.registry(named: only)
        // Run before the first start, this creates what serve would (the registry needs both to start).
        try ServeCommand.ensureSigningKeys(configuration.token, logger: context.logger)
        try RegistryEventSecrets.createMissing([registry]) { name, path in
            printError("generated the events secret of registry '\(name)' in \(path) (mode 0600)")
        }
        let certificates = try certificateBundle(configuration.token, writingTo: bundle)
        let secret: String?
        if let reference = registry.eventsSecret {
            do { secret = try reference.reveal() } catch {
                throw CommandFailure(
                    .configuration,
                    "the events secret of registry '\(registry.name)' (\(reference.referenceDescription)) cannot be "
                        + "read here: \(error); run this where serve runs, with its environment")
            }
        } else {
            secret = nil
            printError(
                "registry '\(registry.name)' has no eventsSecret, so Portcullis would refuse its notifications; the "
                    + "block has no notifications section (add eventsSecret: {file: var/keys/registry-events.secret})")
        }
        print(
            block(configuration: configuration, registry: registry, rootCertificateBundle: certificates, secret: secret)
        )
    }

    /// The block itself. Values are JSON strings, which YAML reads verbatim whatever they hold.
    static func block(
        configuration: PortcullisConfiguration, registry: RegistrySettings, rootCertificateBundle: String,
        secret: String?
    ) -> String {
        let base = configuration.server.publicURL.absoluteString.trimmingSuffix("/")
        var lines = [
            "# Registry '\(InertText.escaped(registry.name))' (service \(InertText.escaped(registry.service))): the "
                + "auth and notifications sections of its config.yml",
            "# (Docker Distribution 2.x, Debian's docker-registry). Replace those sections there and restart it.",
            "auth:",
            "  token:",
            "    realm: \(JSONText.quoted(base + configuration.token.path))",
            "    service: \(JSONText.quoted(registry.service))",
            "    issuer: \(JSONText.quoted(configuration.token.issuer))",
            "    rootcertbundle: \(JSONText.quoted(rootCertificateBundle))",
        ]
        if let secret {
            lines += [
                "# The Authorization header carries the events secret: keep this file readable by the registry only.",
                "notifications:",
                "  events:",
                "    includereferences: true",
                "  endpoints:",
                "    - name: portcullis",
                "      url: \(JSONText.quoted(base + configuration.notifications.path))",
                "      headers:",
                "        Authorization: [\(JSONText.quoted("Bearer " + secret))]",
                "      timeout: 5s",
                "      threshold: 5",
                "      backoff: 10s",
                "      ignoredmediatypes: [application/octet-stream]",
            ]
        }
        return lines.joined(separator: "\n")
    }

    /// The absolute path the registry reads its trusted certificates from: `--bundle PATH`, written with
    /// every configured certificate; else the one signing certificate itself. Several keys (after
    /// `keys rotate`) need one file holding them all, so `--bundle` is then required.
    private static func certificateBundle(_ token: TokenSettings, writingTo output: String?) throws(CommandFailure)
        -> String
    {
        guard let output else {
            guard token.signingKeys.count == 1 else {
                throw CommandFailure(
                    .usage,
                    "\(token.signingKeys.count) signing keys are configured and the registry needs their certificates "
                        + "in one file: add --bundle PATH")
            }
            return absolute(token.signingKeys[0].certificate)
        }
        let ring: SigningKeyRing
        do {
            ring = try SigningKeyRing.load(token.keyRingEntries, keyIDFormat: token.ringKeyIDFormat)
        } catch {
            throw CommandFailure(.noInput, "cannot load token.signingKeys: \(error)")
        }
        do {
            try Data(ring.certificateBundle().utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            throw CommandFailure(.cannotCreate, "cannot write \(output): \(error.localizedDescription)")
        }
        printError("wrote the certificates of \(ring.published.count) signing key(s) to \(output)")
        return absolute(output)
    }

    /// `path` made absolute against the working directory, where relative configuration paths resolve.
    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

extension String {
    /// The string without one trailing `suffix`.
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
