import COpenSSL
import Foundation

/// An X.509 certificate held by OpenSSL, with the fields Portcullis reads already decoded.
///
/// Immutable and safe to share between threads. Only certificates whose key is EC P-256 or RSA
/// (2048 bits or more) can be loaded.
public final class Certificate: @unchecked Sendable {
    /// The OpenSSL certificate (`X509 *`), owned by this object; TLS code in this module may borrow it.
    let x509: OpaquePointer
    /// The DER encoding of the whole certificate.
    public let derEncoded: [UInt8]
    /// The certificate's subject public key.
    public let publicKey: PublicKey
    /// The start of the validity period.
    public let notBefore: Date
    /// The end of the validity period.
    public let notAfter: Date
    /// The subject's first common name (CN), if it has one.
    public let subjectCommonName: String?

    /// Takes ownership of `x509`, freeing it if any field cannot be read.
    private init(owning x509: OpaquePointer) throws {
        do {
            self.derEncoded = try OpenSSLSupport.derEncode("certificate") { i2d_X509(x509, $0) }
            guard let key = X509_get_pubkey(x509) else {
                throw OpenSSLSupport.error(.invalidDER, "certificate without a readable public key")
            }
            self.publicKey = try PublicKey(owning: key)
            self.notBefore = try CertificateFields.date(X509_get0_notBefore(x509))
            self.notAfter = try CertificateFields.date(X509_get0_notAfter(x509))
            self.subjectCommonName = CertificateFields.commonName(X509_get_subject_name(x509))
        } catch {
            X509_free(x509)
            throw error
        }
        self.x509 = x509
    }

    deinit { X509_free(x509) }

    /// Reads the first `CERTIFICATE` block of a PEM text.
    public convenience init(pem: String) throws {
        let x509 = try OpenSSLSupport.withReadBIO(Array(pem.utf8)) { bio -> OpaquePointer in
            guard let certificate = PEM_read_bio_X509(bio, nil, refusePEMPassphrase, nil) else {
                throw OpenSSLSupport.error(.invalidPEM, "no CERTIFICATE block in PEM")
            }
            return certificate
        }
        try self.init(owning: x509)
    }

    /// Reads a DER certificate; trailing bytes are refused.
    public convenience init(der: [UInt8]) throws {
        guard !der.isEmpty, der.count < Int(Int32.max) else {
            throw CryptoError(.invalidDER, reason: "empty certificate")
        }
        let x509 = try der.withUnsafeBufferPointer { buffer -> OpaquePointer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let certificate = d2i_X509(nil, &cursor, buffer.count) else {
                throw OpenSSLSupport.error(.invalidDER, "not a DER certificate")
            }
            guard cursor == buffer.baseAddress.map({ $0 + buffer.count }) else {
                X509_free(certificate)
                throw CryptoError(.invalidDER, reason: "trailing bytes after certificate")
            }
            return certificate
        }
        try self.init(owning: x509)
    }

    /// The certificate as PEM `CERTIFICATE`.
    public func pemEncoded() -> String {
        "-----BEGIN CERTIFICATE-----\n\(Data64.encodeLines(derEncoded))-----END CERTIFICATE-----\n"
    }

    /// Whether `key` is the private half of this certificate's public key.
    public func matches(_ key: PrivateKey) -> Bool {
        defer { OpenSSLSupport.clearErrors() }
        return X509_check_private_key(x509, key.pkey) == 1
    }

    /// Creates a self-signed X.509 v3 certificate for `key`, signed with SHA-256.
    ///
    /// The certificate has a random 127-bit serial, `basicConstraints` CA:FALSE, `keyUsage`
    /// digitalSignature (both critical), a subject key identifier, and a `subjectAltName` listing
    /// each entry of `subjectAlternativeNames` as an IP address when it parses as one and as a DNS name
    /// otherwise. Without `notBefore`, validity starts five minutes ago (to tolerate clock skew) and
    /// lasts `validity`; with it, validity starts exactly at `notBefore` (whole seconds, possibly in the
    /// future, as for a rotated signing key that must not be used before its turn) and lasts `validity`.
    ///
    /// - Throws: `CryptoError.invalidArgument` for an empty or over-long common name, a malformed DNS
    ///   name, a validity outside one minute to 100 years, or a `notBefore` before 1970 or after 9000;
    ///   `.certificateFailed` if OpenSSL fails.
    public static func selfSigned(
        key: PrivateKey, commonName: String, subjectAlternativeNames: [String] = [], validity: Duration,
        notBefore: Date? = nil
    ) throws -> Certificate {
        let seconds = validity.components.seconds
        guard seconds >= 60, seconds <= 100 * 366 * 86400 else {
            throw CryptoError(.invalidArgument, reason: "validity must be between one minute and 100 years")
        }
        // Year 9000 keeps notBefore + 100 years inside what X.509 GeneralizedTime can express.
        let start: time_t?
        if let notBefore {
            let interval = notBefore.timeIntervalSince1970
            guard interval.isFinite, interval >= 0, interval < 221_845_392_000 else {
                throw CryptoError(.invalidArgument, reason: "notBefore must lie between 1970 and the year 9000")
            }
            start = time_t(interval.rounded(.down))
        } else {
            start = nil
        }
        guard !commonName.isEmpty, commonName.utf8.count <= 64,
            !commonName.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw CryptoError(.invalidArgument, reason: "common name must be 1 to 64 bytes without control characters")
        }
        let sanConfiguration = try subjectAlternativeNames.map(CertificateFields.sanEntry).joined(separator: ",")

        guard let x509 = X509_new() else { throw OpenSSLSupport.error(.certificateFailed, "X509_new failed") }
        var owned = true
        defer { if owned { X509_free(x509) } }

        guard X509_set_version(x509, 2) == 1 else {
            throw OpenSSLSupport.error(.certificateFailed, "cannot set version")
        }
        var serialBytes = SecureRandom.bytes(count: 16)
        serialBytes[0] &= 0x7f  // keep the serial positive
        serialBytes[0] |= 0x40  // and of a fixed length
        let serial = try OpenSSLSupport.bignum(serialBytes)
        defer { BN_free(serial) }
        guard BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x509)) != nil else {
            throw OpenSSLSupport.error(.certificateFailed, "cannot set serial")
        }
        if let start {
            guard ASN1_TIME_set(X509_getm_notBefore(x509), start) != nil,
                ASN1_TIME_set(X509_getm_notAfter(x509), start + time_t(seconds)) != nil
            else { throw OpenSSLSupport.error(.certificateFailed, "cannot set validity") }
        } else {
            guard X509_gmtime_adj(X509_getm_notBefore(x509), -300) != nil,
                X509_gmtime_adj(X509_getm_notAfter(x509), Int(seconds)) != nil
            else { throw OpenSSLSupport.error(.certificateFailed, "cannot set validity") }
        }

        guard let name = X509_get_subject_name(x509) else {
            throw OpenSSLSupport.error(.certificateFailed, "no subject name")
        }
        let added = Array(commonName.utf8).withUnsafeBufferPointer {
            X509_NAME_add_entry_by_NID(
                name, NID_commonName, ccrypto_mbstring_utf8(), $0.baseAddress, Int32($0.count), -1, 0)
        }
        guard added == 1, X509_set_issuer_name(x509, name) == 1 else {
            throw OpenSSLSupport.error(.certificateFailed, "cannot set subject and issuer")
        }
        guard X509_set_pubkey(x509, key.pkey) == 1 else {
            throw OpenSSLSupport.error(.certificateFailed, "cannot set public key")
        }

        var context = X509V3_CTX()
        ccrypto_x509v3_set_ctx_nodb(&context)
        X509V3_set_ctx(&context, x509, x509, nil, nil, 0)
        var extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_subject_key_identifier, "hash"),
        ]
        if !sanConfiguration.isEmpty { extensions.append((NID_subject_alt_name, sanConfiguration)) }
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw OpenSSLSupport.error(.certificateFailed, "cannot build extension \(nid)")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(x509, ext, -1) == 1 else {
                throw OpenSSLSupport.error(.certificateFailed, "cannot add extension \(nid)")
            }
        }
        guard X509_sign(x509, key.pkey, EVP_sha256()) > 0 else {
            throw OpenSSLSupport.error(.certificateFailed, "signing the certificate failed")
        }
        owned = false
        return try Certificate(owning: x509)
    }
}

/// Decoding helpers for certificate fields.
enum CertificateFields {
    static func date(_ time: UnsafePointer<ASN1_TIME>?) throws -> Date {
        var broken = tm()
        guard let time, ASN1_TIME_to_tm(time, &broken) == 1 else {
            throw OpenSSLSupport.error(.invalidDER, "unreadable certificate time")
        }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&broken)))
    }

    static func commonName(_ name: OpaquePointer?) -> String? {
        guard let name else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
            let data = X509_NAME_ENTRY_get_data(entry)
        else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else {
            OpenSSLSupport.clearErrors()
            return nil
        }
        defer { ccrypto_free(utf8) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    /// One `subjectAltName` configuration entry ("IP:…" or "DNS:…"); names are checked strictly so
    /// nothing can smuggle extra entries into OpenSSL's comma-separated syntax.
    static func sanEntry(_ name: String) throws -> String {
        if isIPAddress(name) { return "IP:\(name)" }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let valid =
            !name.isEmpty && name.utf8.count <= 253
            && labels.enumerated().allSatisfy { index, label in
                if index == 0 && label == "*" && labels.count > 2 { return true }
                return !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.utf8.allSatisfy { byte in
                        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                    }
            }
        guard valid else { throw CryptoError(.invalidArgument, reason: "not a DNS name or IP address: \(name)") }
        return "DNS:\(name)"
    }

    private static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}
