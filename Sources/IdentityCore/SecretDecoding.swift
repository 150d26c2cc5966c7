import Diagnostics

extension KeyedDecodingContainer {
    /// The value behind the secret reference at `key` (`{file: PATH}` or `{env: NAME}`), read now, as provider
    /// plugins' `config:` blocks take their client secrets: an inline value, an unreadable file or an unset
    /// variable is a decoding error naming the reference, never the value.
    public func decodeSecretValue(forKey key: Key) throws -> String {
        let secret = try decode(Secret.self, forKey: key)
        do {
            return try secret.reveal()
        } catch {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: error.description)
        }
    }
}
