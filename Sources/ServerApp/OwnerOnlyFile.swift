import Foundation

/// Files the CLI writes that may hold what others must not read (an audit export names users, addresses
/// and scopes): created owner-only, mode 0600, whatever the umask.
enum OwnerOnlyFile {
    /// Writes `bytes` to `path` with mode 0600.
    ///
    /// The bytes go to a new temporary file beside `path`, created with `O_EXCL` and mode 0600 (and
    /// `fchmod` to 0600 again, since the umask only ever removes bits but a filesystem may not honour
    /// the mode), flushed with `fsync`, then renamed over `path`. An existing file is therefore replaced,
    /// never rewritten in place, so its old mode cannot survive and a reader never sees half a file; a
    /// symbolic link at `path` is replaced, not followed.
    static func write(_ bytes: [UInt8], to path: String) throws(CommandFailure) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary =
            directory + "/." + url.lastPathComponent + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure(path, errno) }
        var problem: Int32 = 0
        if fchmod(descriptor, 0o600) != 0 { problem = errno }
        var offset = 0
        while problem == 0 && offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                problem = errno
            } else {
                offset += written
            }
        }
        if problem == 0 && fsync(descriptor) != 0 { problem = errno }
        if close(descriptor) != 0 && problem == 0 { problem = errno }
        if problem == 0 && rename(temporary, path) != 0 { problem = errno }
        if problem != 0 {
            unlink(temporary)
            throw failure(path, problem)
        }
    }

    private static func failure(_ path: String, _ code: Int32) -> CommandFailure {
        CommandFailure(.cannotCreate, "cannot write \(path): \(String(cString: strerror(code)))")
    }
}
