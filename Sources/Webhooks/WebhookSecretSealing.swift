import CryptoCore
import Foundation
import Storage

/// The policy that keeps webhook signing secrets and custom header values encrypted at rest.
///
/// The store holds each value as sealed text: `sealed:v1:` and the base64url of a `SecretBox` (AES-256-GCM,
/// a random 96-bit nonce per value). The associated data names the webhook's row id and the field
/// (`secret`, or a header's position and lowercased name), so a sealed value copied to another row or
/// another header does not open. Text without the prefix is a value written before encryption: `serve`
/// seals such rows at start (`sealLegacyValues`), and delivery never sends one as it is.
///
/// Stateless apart from the key; safe to share between tasks.
public struct WebhookSecretSealer: Sendable {
    /// The prefix of sealed text; the version names the format (`v1`: AES-256-GCM as described above).
    public static let prefix = "sealed:v1:"

    private let box: SecretBox

    /// A sealer with the `webhooks.secretsKey` key.
    public init(key: AEADKey) { box = SecretBox(key: key) }

    /// Which stored field a value belongs to.
    public enum Field: Sendable, Hashable {
        /// The signing secret.
        case secret
        /// The value of the custom header at `position` (from 0) named `name`.
        case header(position: Int, name: String)
    }

    /// Whether `stored` is sealed text (as opposed to a value stored before encryption).
    public static func isSealed(_ stored: String) -> Bool { stored.hasPrefix(prefix) }

    /// `value` sealed for `field` of webhook `webhookID`.
    public func seal(_ value: String, webhookID: Webhook.ID, field: Field) throws -> String {
        let sealed = try box.seal(
            Array(value.utf8), associatedData: Self.associatedData(webhookID: webhookID, field: field))
        return Self.prefix + Base64URL.encode(sealed)
    }

    /// The value `seal` sealed for this webhook and field.
    /// - Throws: `WebhookError.secretUnreadable` when `stored` is not sealed text, is malformed, or does not
    ///   open with this key for this place; the reason says which, never any part of the value.
    public func open(_ stored: String, webhookID: Webhook.ID, field: Field) throws(WebhookError) -> String {
        let place = Self.describe(field, of: webhookID)
        guard Self.isSealed(stored) else {
            throw WebhookError(
                .secretUnreadable, "the \(place) is stored unencrypted; restart serve to encrypt it")
        }
        guard let bytes = Base64URL.decode(String(stored.dropFirst(Self.prefix.count))) else {
            throw WebhookError(.secretUnreadable, "the \(place) is not valid sealed text")
        }
        let opened: [UInt8]
        do {
            opened = try box.open(bytes, associatedData: Self.associatedData(webhookID: webhookID, field: field))
        } catch {
            throw WebhookError(
                .secretUnreadable,
                "the \(place) does not decrypt with webhooks.secretsKey (a different key, or the stored value was "
                    + "changed): \(error.code.rawValue)")
        }
        guard let text = String(validating: opened, as: UTF8.self) else {
            throw WebhookError(.secretUnreadable, "the \(place) is not UTF-8 text")
        }
        return text
    }

    /// `webhook` with its secret and header values opened, as the worker sends them.
    public func opened(_ webhook: Webhook) throws(WebhookError) -> Webhook {
        var copy = webhook
        copy.secret = try open(webhook.secret, webhookID: webhook.id, field: .secret)
        for (position, header) in webhook.headers.enumerated() {
            copy.headers[position].value = try open(
                header.value, webhookID: webhook.id, field: .header(position: position, name: header.name))
        }
        return copy
    }

    /// The stored forms of `secret` and `headers` for webhook `webhookID`: each value sealed unless it is already
    /// sealed text.
    public func sealed(secret: String, headers: [WebhookHeader], for webhookID: Webhook.ID) throws
        -> (secret: String, headers: [WebhookHeader])
    {
        let storedSecret = Self.isSealed(secret) ? secret : try seal(secret, webhookID: webhookID, field: .secret)
        let storedHeaders = try headers.enumerated().map { position, header in
            Self.isSealed(header.value)
                ? header
                : WebhookHeader(
                    name: header.name,
                    value: try seal(
                        header.value, webhookID: webhookID, field: .header(position: position, name: header.name)))
        }
        return (storedSecret, storedHeaders)
    }

    /// Seals every value stored before encryption (one transaction per webhook); returns how many webhooks
    /// changed. Idempotent: sealed values are left alone.
    @discardableResult
    public func sealLegacyValues(in store: any Store) async throws -> Int {
        let legacy = try await store.read { reader in
            try reader.allWebhooks().filter { webhook in
                !Self.isSealed(webhook.secret) || webhook.headers.contains { !Self.isSealed($0.value) }
            }.map(\.id)
        }
        var changed = 0
        for webhookID in legacy {
            let sealer = self
            changed += try await store.write { writer -> Int in
                guard let webhook = try writer.webhook(id: webhookID) else { return 0 }
                let stored = try sealer.sealed(secret: webhook.secret, headers: webhook.headers, for: webhook.id)
                try writer.setWebhookSecrets(webhook.id, secret: stored.secret, headers: stored.headers)
                return 1
            }
        }
        return changed
    }

    /// What a sealed value is bound to: the row and the field, in a fixed text form.
    static func associatedData(webhookID: Webhook.ID, field: Field) -> [UInt8] {
        switch field {
        case .secret: Array("portcullis/webhooks/\(webhookID)/secret".utf8)
        case .header(let position, let name):
            Array("portcullis/webhooks/\(webhookID)/headers/\(position)/\(name.lowercased())".utf8)
        }
    }

    private static func describe(_ field: Field, of webhookID: Webhook.ID) -> String {
        switch field {
        case .secret: "signing secret of webhook \(webhookID)"
        case .header(_, let name): "value of header \(name) of webhook \(webhookID)"
        }
    }
}
