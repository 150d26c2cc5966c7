import CryptoCore
import Foundation
import IdentityCore

/// Seals a `ProviderGrant` for the store with the server's key, bound to its identity (associated data), so a
/// sealed grant moved to another identity's row does not open.
struct GrantSealer: Sendable {
    static let prefix = "sealed:v1:"
    let box: SecretBox

    init(key: AEADKey) { box = SecretBox(key: key) }

    func seal(_ grant: ProviderGrant, provider: String, subject: String) throws -> String {
        let plain = try JSONEncoder().encode(grant)
        return Self.prefix
            + Base64URL.encode(try box.seal(Array(plain), associatedData: Self.binding(provider, subject)))
    }

    func open(_ stored: String, provider: String, subject: String) throws -> ProviderGrant? {
        guard stored.hasPrefix(Self.prefix), let sealed = Base64URL.decode(String(stored.dropFirst(Self.prefix.count)))
        else { return nil }
        let plain = try box.open(sealed, associatedData: Self.binding(provider, subject))
        return try JSONDecoder().decode(ProviderGrant.self, from: Data(plain))
    }

    private static func binding(_ provider: String, _ subject: String) -> [UInt8] {
        Array("portcullis-grant\u{0}\(provider)\u{0}\(subject)".utf8)
    }
}
