import COpenSSL

/// Plumbing shared by every OpenSSL-backed file of CryptoCore (internal; TLS.swift may use it too).
enum OpenSSLSupport {
    /// Empties this thread's OpenSSL error queue and returns its messages, oldest first.
    ///
    /// Every failure path drains the queue, so a later unrelated call never reports a stale error.
    static func drainErrors() -> [String] {
        var messages: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            // A hostile input can pile up errors; a handful is enough for a log line.
            guard messages.count < 8 else { continue }
            buffer.withUnsafeMutableBufferPointer { pointer in
                ERR_error_string_n(code, pointer.baseAddress, pointer.count)
            }
            messages.append(string(fromNulTerminated: buffer))
        }
        return messages
    }

    /// Builds a `CryptoError` carrying whatever OpenSSL queued for this failure.
    static func error(_ code: CryptoError.Code, _ reason: String) -> CryptoError {
        CryptoError(code, reason: reason, openSSLErrors: drainErrors())
    }

    /// Discards the error queue after an expected failure (a failed verification, a probe).
    static func clearErrors() { ERR_clear_error() }

    /// Decodes a NUL-terminated C string held in a Swift array.
    static func string(fromNulTerminated chars: [CChar]) -> String {
        let bytes = chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Runs `body` with a read-only memory BIO over `bytes`.
    static func withReadBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> T) throws -> T {
        guard bytes.count < Int(Int32.max) else { throw CryptoError(.invalidArgument, reason: "input too large") }
        return try bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
                throw error(.internalFailure, "BIO_new_mem_buf failed")
            }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Runs `write` against a fresh memory BIO and returns everything it wrote.
    static func collectWrittenBytes(_ what: String, _ write: (OpaquePointer) -> Int32) throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw error(.internalFailure, "BIO_new failed") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw error(.internalFailure, "writing \(what) failed") }
        var data: UnsafeMutablePointer<CChar>?
        let length = ccrypto_bio_get_mem_data(bio, &data)
        guard length > 0, let data else { throw error(.internalFailure, "writing \(what) produced nothing") }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    /// Encodes with an `i2d_*` function, sizing first because i2d advances the pointer it is given.
    static func derEncode(
        _ what: String, _ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32
    ) throws -> [UInt8] {
        let size = encode(nil)
        guard size > 0 else { throw error(.internalFailure, "sizing \(what) failed") }
        var output = [UInt8](repeating: 0, count: Int(size))
        let written = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return encode(&cursor)
        }
        guard written == size else { throw error(.internalFailure, "encoding \(what) failed") }
        return output
    }

    /// Big-endian magnitude of a BIGNUM, left-padded with zeros to `width` bytes when given.
    static func bytes(of bignum: OpaquePointer, paddedTo width: Int? = nil) -> [UInt8] {
        let length = width ?? Int(ccrypto_bn_num_bytes(bignum))
        guard length > 0 else { return [] }
        var output = [UInt8](repeating: 0, count: length)
        _ = output.withUnsafeMutableBufferPointer { BN_bn2binpad(bignum, $0.baseAddress, Int32(length)) }
        return output
    }

    /// A new BIGNUM from big-endian bytes; the caller frees it with `BN_free`.
    static func bignum(_ bytes: [UInt8]) throws -> OpaquePointer {
        let result = bytes.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        guard let result else { throw error(.internalFailure, "BN_bin2bn failed") }
        return result
    }

    /// A static C string OpenSSL may keep a pointer to (OSSL_PARAM_BLD reads names only at `to_param`).
    static func cString(_ string: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
