import Configuration
import Diagnostics
import Foundation
import IdentityCore
import SQLiteStorage
import Storage
import Threading
import TokenAuthority

/// The checks `serve` makes before it starts, beyond the configuration files' own rules: providers'
/// `config:` blocks, signing keys and certificates, TLS files, the length of shared secrets, and the modes
/// of database, key and secret files.
///
/// `serve` and `config check` both run ``issues(_:environment:logger:)``, so what one accepts the other
/// accepts too. Every problem comes back at once, located at the `file:line:column` of the key that
/// names it (or `(defaults)` for a default). Nothing here writes a file, opens the database or reaches
/// the network: providers are made and shut down again on a private in-memory store.
enum StartupValidation {
    /// The shortest shared secret accepted, in bytes: 128 bits, as a registry's events secret must
    /// resist guessing by anyone who can reach the notifications endpoint.
    static let minimumSharedSecretBytes = 16

    /// Every problem `serve` would refuse to start on, in the order of the checks.
    static func issues(
        _ configuration: PortcullisConfiguration, environment: [String: String], logger: Logger
    ) async -> [ConfigIssue] {
        var issues = await providerIssues(configuration, logger: logger)
        issues += signingKeyIssues(configuration)
        issues += tlsIssues(configuration)
        issues += sharedSecretIssues(configuration, environment: environment)
        issues += fileModeIssues(configuration)
        return issues
    }

    // MARK: Providers

    /// Decodes and makes every enabled provider as `serve` does (strict `config:` decoding, unknown types,
    /// the factories' own checks, mapping rules, at least one password provider), then shuts them down.
    static func providerIssues(_ configuration: PortcullisConfiguration, logger: Logger) async -> [ConfigIssue] {
        let origins = configuration.origins
        let enabled = configuration.providers.filter { $0.enabled && !$0.id.isEmpty && !$0.type.isEmpty }
        guard !enabled.isEmpty else {
            if configuration.providers.contains(where: { $0.enabled }) { return [] }  // already reported
            return [noPasswordProvider(origins)]
        }
        let store: any Store
        do {
            store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory, generationPollInterval: nil))
        } catch {
            return [
                ConfigIssue(
                    .unreadable, at: origins.location(of: "providers"), keyPath: "providers", message: "\(error)")
            ]
        }
        let ioPool = BlockingPool(name: "check-io", threads: 1)
        let cpuPool = BlockingPool(name: "check-cpu", threads: 1)
        defer {
            ioPool.shutdown()
            cpuPool.shutdown()
        }
        var issues: [ConfigIssue] = []
        var providers: [any IdentityProvider] = []
        for entry in enabled {
            let typePath = entry.keyPath + ".type"
            guard BuiltinProviders.registry.contains(type: entry.type) else {
                let known = BuiltinProviders.registry.typeNames.joined(separator: ", ")
                issues.append(
                    ConfigIssue(
                        .invalidValue, at: origins.location(of: typePath), keyPath: typePath,
                        message: "unknown provider type '\(entry.type)'; known types: \(known)"))
                continue
            }
            do {
                providers.append(
                    try TokenAuthorityAssembly.makeProvider(
                        entry, store: store, ioPool: ioPool, cpuPool: cpuPool, audit: DiscardingAudit(), logger: logger)
                )
            } catch let error as ConfigurationError {
                issues += error.issues
            } catch {
                let reason = (error as? ProviderError)?.reason ?? "\(error)"
                let configPath = entry.keyPath + ".config"
                issues.append(
                    ConfigIssue(
                        .invalidValue, at: origins.location(of: configPath), keyPath: configPath, message: reason))
            }
        }
        if issues.isEmpty && !providers.contains(where: { $0 is any PasswordAuthenticating }) {
            issues.append(noPasswordProvider(origins))
        }
        if issues.isEmpty {
            do {
                _ = try IdentityMappingAssembly(
                    settings: configuration.providers, providers: providers, store: store, logger: logger)
            } catch {
                for line in error.message.split(separator: "\n") {
                    let path = String(line.prefix { $0 != " " && $0 != ":" })
                    issues.append(
                        ConfigIssue(.invalidValue, at: origins.location(of: path), keyPath: "", message: String(line)))
                }
            }
        }
        for provider in providers { await provider.shutdown() }
        // Providers may have queued work when they were made (the local provider prepares its dummy hash
        // on the CPU pool). Each pool has one thread and runs jobs in order, so an empty job run last
        // means theirs are done: a process exiting right after the check must not tear OpenSSL down under
        // a running job (seen as a SIGSEGV in `exit`).
        await cpuPool.run {}
        await ioPool.run {}
        await store.close()
        return issues
    }

    private static func noPasswordProvider(_ origins: ConfigOrigins) -> ConfigIssue {
        ConfigIssue(
            .missingKey, at: origins.location(of: "providers"), keyPath: "providers",
            message: "no enabled password provider is configured, so nobody could log in; add one under providers:")
    }

    // MARK: Keys and certificates

    /// The signing keys `serve` needs: the first pair may be missing altogether (it is generated on first
    /// start), any other missing file is an error naming its path; existing pairs must load.
    static func signingKeyIssues(_ configuration: PortcullisConfiguration) -> [ConfigIssue] {
        let origins = configuration.origins
        let files = FileManager.default
        var issues: [ConfigIssue] = []
        var allExist = true
        for (index, entry) in configuration.token.signingKeys.enumerated() {
            let keyExists = files.fileExists(atPath: entry.key)
            let certificateExists = files.fileExists(atPath: entry.certificate)
            if keyExists && certificateExists { continue }
            allExist = false
            if index == 0 && !keyExists && !certificateExists { continue }  // generated on first start
            for (name, path, exists) in [
                ("key", entry.key, keyExists), ("certificate", entry.certificate, certificateExists),
            ]
            where !exists {
                let keyPath = "token.signingKeys[\(index)].\(name)"
                let other = name == "key" ? entry.certificate : entry.key
                issues.append(
                    ConfigIssue(
                        .missingFile, at: origins.location(of: keyPath), keyPath: keyPath,
                        message: "the signing \(name) \(path) is missing"
                            + (index == 0
                                ? " while \(other) exists (serve generates a pair only when both are missing)"
                                : " (run 'portcullis keys rotate' to make a further key)")))
            }
        }
        if issues.isEmpty && allExist && !configuration.token.signingKeys.isEmpty {
            do { _ = try SigningKeyRingStore.configured(by: configuration.token) } catch {
                issues.append(
                    ConfigIssue(
                        .invalidValue, at: origins.location(of: "token.signingKeys"), keyPath: "token.signingKeys",
                        message: error.message.replacingOccurrences(of: "token.signingKeys: ", with: "")))
            }
        }
        return issues
    }

    /// The TLS certificate and key must be readable files when TLS is on.
    static func tlsIssues(_ configuration: PortcullisConfiguration) -> [ConfigIssue] {
        let tls = configuration.server.tls
        guard tls.isEnabled, let certificate = tls.certificate, let key = tls.key else { return [] }
        return [("certificate", certificate), ("key", key)].compactMap { name, path in
            guard !FileManager.default.isReadableFile(atPath: path) else { return nil }
            let keyPath = "server.tls.\(name)"
            return ConfigIssue(
                .missingFile, at: configuration.origins.location(of: keyPath), keyPath: keyPath,
                message: "the TLS \(name) \(path) is missing or unreadable")
        }
    }

    // MARK: Secrets

    /// Shared secrets (a registry's events secret) shorter than ``minimumSharedSecretBytes``. A secret
    /// that cannot be read here (a variable set only where `serve` runs) is checked when `serve` starts;
    /// `serve` itself refuses notifications from a registry whose secret cannot be read, and says so.
    static func sharedSecretIssues(
        _ configuration: PortcullisConfiguration, environment: [String: String]
    ) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        for (index, registry) in configuration.registries.enumerated() {
            guard let secret = registry.eventsSecret, let value = try? secret.reveal(environment: environment) else {
                continue
            }
            let length = value.utf8.count
            guard length < minimumSharedSecretBytes else { continue }
            let keyPath = "registries[\(index)].eventsSecret"
            issues.append(
                ConfigIssue(
                    .weakSecret, at: configuration.origins.location(of: keyPath), keyPath: keyPath,
                    message: "the secret \(secret.referenceDescription) holds \(length) bytes; a shared secret needs "
                        + "at least \(minimumSharedSecretBytes) so it cannot be guessed "
                        + "(make one with: openssl rand -hex 32)"))
        }
        return issues
    }

    // MARK: File modes

    /// Files that hold secrets, with the key path that names each: the SQLite database (password hashes)
    /// and its `-wal`/`-shm` files, the signing keys, the TLS key, and every `{file: …}` secret, the ones
    /// inside providers' `config:` blocks included.
    static func sensitiveFiles(_ configuration: PortcullisConfiguration) -> [(keyPath: String, path: String)] {
        var files: [(String, String)] = []
        if configuration.storage.driver == .sqlite {
            let path = configuration.storage.sqlite.path
            files += [
                ("storage.sqlite.path", path), ("storage.sqlite.path", path + "-wal"),
                ("storage.sqlite.path", path + "-shm"),
            ]
        }
        for (index, entry) in configuration.token.signingKeys.enumerated() {
            files.append(("token.signingKeys[\(index)].key", entry.key))
        }
        if let key = configuration.server.tls.key { files.append(("server.tls.key", key)) }
        if case .file(let path)? = configuration.storage.postgres.url?.reference {
            files.append(("storage.postgres.url", path))
        }
        for (index, registry) in configuration.registries.enumerated() {
            if case .file(let path)? = registry.eventsSecret?.reference {
                files.append(("registries[\(index)].eventsSecret", path))
            }
        }
        for provider in configuration.providers where provider.enabled {
            files += secretFiles(in: provider.config, keyPath: provider.keyPath + ".config")
        }
        return files
    }

    /// `{file: PATH}` mappings anywhere under `node`.
    private static func secretFiles(in node: ConfigNode, keyPath: String) -> [(String, String)] {
        if let entries = node.entries {
            if entries.count == 1, entries[0].key == "file", let path = entries[0].value.scalarText, !path.isEmpty {
                return [(keyPath, path)]
            }
            return entries.flatMap { secretFiles(in: $0.value, keyPath: keyPath + "." + $0.key) }
        }
        if let items = node.items {
            return items.enumerated().flatMap { secretFiles(in: $1, keyPath: "\(keyPath)[\($0)]") }
        }
        return []
    }

    /// Every existing sensitive file that group or others may access, with its mode, each path once.
    static func looseFiles(_ configuration: PortcullisConfiguration) -> [(keyPath: String, path: String, mode: mode_t)]
    {
        var seen: Set<String> = []
        var found: [(String, String, mode_t)] = []
        for (keyPath, path) in sensitiveFiles(configuration) where seen.insert(path).inserted {
            var status = stat()
            guard stat(path, &status) == 0, status.st_mode & 0o077 != 0 else { continue }
            found.append((keyPath, path, status.st_mode & 0o7777))
        }
        return found
    }

    /// An issue for every loose file, unless `storage.allowLooseModes` is set.
    static func fileModeIssues(_ configuration: PortcullisConfiguration) -> [ConfigIssue] {
        guard !configuration.storage.allowLooseModes else { return [] }
        return looseFiles(configuration).map { keyPath, path, mode in
            ConfigIssue(
                .looseFileMode, at: configuration.origins.location(of: keyPath), keyPath: keyPath,
                message: "\(path) is open to group or others (mode 0\(String(mode, radix: 8))); run: chmod 600 "
                    + "\(shellQuoted(path)) (or set storage.allowLooseModes: true)")
        }
    }

    /// The one command that fixes every file-mode issue, or nil when there is none to fix.
    static func chmodCommand(_ configuration: PortcullisConfiguration) -> String? {
        guard !configuration.storage.allowLooseModes else { return nil }
        let paths = looseFiles(configuration).map { shellQuoted($0.path) }
        return paths.isEmpty ? nil : "chmod 600 " + paths.joined(separator: " ")
    }

    /// `path` as one shell word.
    static func shellQuoted(_ path: String) -> String {
        let plain =
            !path.isEmpty
            && path.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
                        || "/._-+,:@%".unicodeScalars.contains($0))
            }
        return plain ? path : "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// An audit sink that drops everything: providers made only to be checked never log anyone in.
private struct DiscardingAudit: AuditRecording {
    func record(_ event: NewAuditEvent) async {}
}
