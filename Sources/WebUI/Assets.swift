import CryptoCore
import HTTPCore

/// The UI's static files, served from memory under content-hashed names (`/assets/app.3f2a9c1d.css`) with a
/// one-year immutable cache lifetime: a new build has new names, so a browser never keeps a stale one.
public struct Assets: Sendable {
    /// One file.
    public struct File: Sendable {
        /// The path it is served at, hash included.
        public let path: String
        /// Its bytes.
        public let bytes: [UInt8]
        /// Its media type.
        public let contentType: String
        /// The link to it.
        let link: Link

        init(name: String, extension fileExtension: String, text: String, contentType: String) {
            bytes = Array(text.utf8)
            let hash = Hex.encode(Digest.sha256(bytes).prefix(6))
            path = "/assets/\(name).\(hash).\(fileExtension)"
            link = Link.path(path.split(separator: "/").map(String.init))
            self.contentType = contentType
        }
    }

    /// The stylesheet.
    public let styleSheet = File(
        name: "app", extension: "css", text: styleSheetText, contentType: "text/css; charset=utf-8")
    /// The script.
    public let script = File(
        name: "app", extension: "js", text: scriptText, contentType: "text/javascript; charset=utf-8")
    /// The logo, also the favicon.
    public let logo = File(name: "logo", extension: "svg", text: logoText, contentType: "image/svg+xml")

    /// The files, as built into this binary.
    public static let bundled = Assets()

    /// Every file.
    public var all: [File] { [styleSheet, script, logo] }

    /// Their total size in bytes (the budget is 60 KB).
    public var totalBytes: Int { all.reduce(0) { $0 + $1.bytes.count } }

    /// The response for `file`: cached for a year, never sniffed.
    static func response(for file: File) -> HTTPResponse {
        var response = HTTPResponse(status: .ok)
        response.body = file.bytes
        response.headers.add(name: "Content-Type", value: file.contentType)
        response.headers.add(name: "Cache-Control", value: "public, max-age=31536000, immutable")
        return response
    }

    /// A portcullis: the mark in the top bar and the favicon.
    static let logoText = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24">\
        <rect x="2" y="2" width="20" height="20" rx="4" fill="#0b5fcc"/>\
        <path d="M7 5v13M12 5v15M17 5v13M5 9h14M5 14h14" stroke="#fff" stroke-width="2" stroke-linecap="round"/>\
        </svg>
        """
}
