import Administration
import Foundation
import RegistryCore
import Storage
import Webhooks

// Repositories, tags, stars and webhooks: what lives in the namespaces imported before.
extension ImportRun {
    /// The name users type for a Portus repository (`ns/app`, or `app` in the global namespace).
    func fullName(of repository: PortusRepository) -> String {
        let namespace = repository.namespaceID.flatMap { portusNamespaces[$0] }
        guard let namespace else { return "?/\(repository.name)" }
        return Repository.fullName(
            repository.name, namespace: namespace.name, kind: namespace.isGlobal ? .global : .regular)
    }

    mutating func importRepositories() throws {
        for repository in snapshot.repositories {
            let label = fullName(of: repository)
            guard let namespaceID = repository.namespaceID, let namespace = namespaces[namespaceID] else {
                report.note(.repository, label, .refused, ["its namespace was not imported"])
                continue
            }
            if repository.isMarked {
                report.note(.repository, label, .skipped, ["Portus was deleting it (marked)"])
                continue
            }
            guard RepositoryName.isValid(namespace.kind == .global ? repository.name : label) else {
                report.note(.repository, label, .refused, ["not a repository name a registry accepts"])
                continue
            }
            if let existing = try writer.repository(
                named: repository.name, in: namespace.id, registry: options.registry)
            {
                repositoryIDs[repository.id] = existing.id
                report.note(.repository, label, .present)
                continue
            }
            let created = try writer.createRepository(
                name: repository.name, in: namespace.id, registry: options.registry)
            if let description = Self.description(repository.description) {
                try writer.setDescription(description, forRepository: created.id)
            }
            repositoryIDs[repository.id] = created.id
            report.note(.repository, label, .created)
        }
    }

    mutating func importTags() throws {
        for tag in snapshot.tags {
            let repository = portusRepositories[tag.repositoryID]
            let label = "\(repository.map(fullName(of:)) ?? "repository #\(tag.repositoryID)"):\(tag.name)"
            guard let repositoryID = repositoryIDs[tag.repositoryID] else {
                report.note(.tag, label, .skipped, ["its repository was not imported"])
                continue
            }
            if tag.isMarked {
                report.note(.tag, label, .skipped, ["Portus was deleting it (marked)"])
                continue
            }
            guard let digest = tag.digest, digest.hasPrefix("sha256:") || digest.hasPrefix("sha512:") else {
                report.note(
                    .tag, label, .refused,
                    ["Portus never learnt its digest: `portcullis registry sync` records it from the registry"])
                continue
            }
            if try writer.tag(named: tag.name, in: repositoryID) != nil {
                report.note(.tag, label, .present)
                continue
            }
            let author = tag.userID.flatMap { portusUsers[$0] }
            let stored = try writer.recordTagPush(
                TagPush(
                    repositoryID: repositoryID, name: tag.name, digest: digest, size: tag.size,
                    pushedByID: tag.userID.flatMap { userIDs[$0] },
                    pushedByName: tag.username.flatMap { $0.isEmpty ? nil : $0 } ?? author?.username,
                    pushedAt: tag.createdAt))
            if let pulledAt = tag.pulledAt { try writer.recordPull(ofTag: stored.id, at: pulledAt) }
            report.note(.tag, label, .created)
        }
    }

    mutating func importStars() throws {
        for star in snapshot.stars {
            let username = portusUsers[star.userID]?.username ?? "user #\(star.userID)"
            let repository = portusRepositories[star.repositoryID].map(fullName(of:)) ?? "#\(star.repositoryID)"
            let label = "\(repository) by \(username)"
            guard let userID = userIDs[star.userID], let repositoryID = repositoryIDs[star.repositoryID] else {
                report.note(.star, label, .skipped, ["its user or repository was not imported"])
                continue
            }
            if try writer.hasStarred(userID, repositoryID) {
                report.note(.star, label, .present)
            } else {
                _ = try writer.star(repositoryID, by: userID)
                report.note(.star, label, .created)
            }
        }
    }

    mutating func importWebhooks() throws {
        for hook in snapshot.webhooks {
            // Portus prepended http:// to a URL saved without a scheme; rows from before that rule may lack it.
            var url = hook.url.contains("://") ? hook.url : "http://" + hook.url
            let namespace = hook.namespaceID.flatMap { namespaces[$0] }
            let label =
                "\(namespace?.name ?? "namespace #\(hook.namespaceID.map(String.init) ?? "NULL")") "
                + Self.withoutCredentials(url)
            guard let namespace else {
                report.note(.webhook, label, .refused, ["its namespace was not imported"])
                continue
            }
            var notes = ["sends Portcullis's signed JSON body (\(hook.isEnabled ? "enabled" : "disabled"))"]
            var basic: (username: String, password: String)?
            if let username = hook.username, !username.isEmpty, let password = hook.password, !password.isEmpty {
                basic = (username, password)
            }
            // Credentials in the URL (which Portus's HTTP client sent as Basic authentication) never stay there.
            if var components = URLComponents(string: url), let user = components.user {
                if basic == nil { basic = (user, components.password ?? "") }
                components.user = nil
                components.password = nil
                url = components.string ?? url
                notes.append("credentials moved from the URL to the Authorization header")
            }
            var headers = hook.headers.map { WebhookHeader(name: $0.name, value: $0.value) }
            if let basic {
                if headers.contains(where: { $0.name.lowercased() == "authorization" }) {
                    report.note(
                        .webhook, label, .refused, ["it has both Basic credentials and its own Authorization header"])
                    continue
                }
                // Portus sent HTTP Basic credentials; here they are one more header, sealed like the others.
                let credentials = Data("\(basic.username):\(basic.password)".utf8).base64EncodedString()
                headers.append(WebhookHeader(name: "Authorization", value: "Basic \(credentials)"))
            }
            do {
                try WebhookRules.validateURL(url)
                try WebhookRules.validateHeaders(headers)
            } catch {
                report.note(.webhook, label, .refused, [String(describing: error)])
                continue
            }
            if try writer.webhooks(in: namespace.id).contains(where: { $0.url == url }) {
                report.note(.webhook, label, .present)
                continue
            }
            guard let sealer = options.sealer else {
                report.note(.webhook, label, .refused, ["sealing its headers needs webhooks.secretsKey"])
                continue
            }
            if hook.requestMethod == 0 { notes.append("Portus sent GET; Portcullis POSTs") }
            if hook.contentType == 1 { notes.append("the form content type is not kept") }
            if !headers.isEmpty { notes.append("headers sealed") }
            _ = try WebhookAdministration.createSealed(
                NewWebhook(
                    namespaceID: namespace.id, url: url, format: .json, events: WebhookEvent.allCases, headers: headers,
                    isEnabled: hook.isEnabled, secret: WebhookSecret.generate()),
                sealer: sealer, in: writer)
            report.note(.webhook, label, .created, notes)
        }
    }

    /// `url` with any `user:password@` replaced by `***@`, for the report (such a URL is refused, not stored).
    static func withoutCredentials(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let at = authority.lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + "***" + String(url[at...])
    }

    /// Lists the users whose application tokens stay behind (their secrets are bcrypt hashes).
    mutating func reportTokens() {
        let byUser = Dictionary(grouping: snapshot.applicationTokens, by: \.userID)
        for (userID, tokens) in byUser.sorted(by: { $0.key < $1.key }) {
            let username = portusUsers[userID]?.username ?? "user #\(userID)"
            report.unrecoverableTokens.append((username, tokens.map(\.application).sorted()))
        }
    }
}
