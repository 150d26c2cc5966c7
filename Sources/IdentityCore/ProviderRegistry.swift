/// Where a provider entry's `config:` block comes from, decoded into the factory's typed configuration.
///
/// The composition root makes `Configuration.ProviderSettings` conform (through its `decodeConfig(as:)`),
/// so decoding errors keep their `file:line:column`; tests can conform a plain dictionary or JSON.
public protocol ProviderConfigurationSource {
    /// Decodes the configuration block as `type`; throws the source's own decoding error.
    func decode<T: Decodable>(_ type: T.Type) throws -> T
}

/// An immutable table from provider `type` names (`local`, `ldap`) to the factories that make them.
///
/// Built once at start from every plugin the binary links; read concurrently afterwards.
public struct ProviderRegistry: Sendable {
    private let factories: [String: any ProviderFactory.Type]

    /// Creates a registry; two factories with the same `typeName` are a programming error and stop the process.
    public init(_ factories: [any ProviderFactory.Type]) {
        var table: [String: any ProviderFactory.Type] = [:]
        for factory in factories {
            precondition(
                table[factory.typeName] == nil, "two provider factories share the type name \(factory.typeName)")
            table[factory.typeName] = factory
        }
        self.factories = table
    }

    /// The type names this registry knows, sorted.
    public var typeNames: [String] { factories.keys.sorted() }

    /// Whether a factory answers to `type`.
    public func contains(type: String) -> Bool { factories[type] != nil }

    /// Decodes `configuration` for the factory of `type` and makes a provider instance.
    ///
    /// - Throws: `ProviderError(.misconfigured)` listing the known types when `type` is unknown; the
    ///   source's decoding error unchanged (so its location survives); or whatever the factory's `make`
    ///   throws (a `ProviderError(.misconfigured)` by contract).
    public func makeProvider(
        type: String, id: ProviderID, displayName: String, configuration: some ProviderConfigurationSource,
        context: ProviderContext
    ) throws -> any IdentityProvider {
        guard let factory = factories[type] else {
            let known = typeNames.isEmpty ? "none" : typeNames.joined(separator: ", ")
            throw ProviderError(
                .misconfigured, provider: id, reason: "unknown provider type \"\(type)\" (known types: \(known))")
        }
        return try Self.make(
            factory, id: id, displayName: displayName, configuration: configuration, context: context)
    }

    /// Opens the factory existential so its associated `Configuration` type can be named.
    private static func make<Factory: ProviderFactory>(
        _ factory: Factory.Type, id: ProviderID, displayName: String,
        configuration: some ProviderConfigurationSource, context: ProviderContext
    ) throws -> any IdentityProvider {
        let decoded = try configuration.decode(Factory.Configuration.self)
        return try Factory.make(id: id, displayName: displayName, configuration: decoded, context: context)
    }
}
