import CryptoCore
import SQLStorage

/// A table's row count and checksum, fed its rows in primary-key order: SHA-256 over a canonical text of each
/// value, the same whichever backend the rows came from (a flag is the integer 0 or 1 on both, timestamps are
/// integer milliseconds on both, text is its UTF-8 bytes, bytes their hex), so equal tables give equal sums.
struct TableChecksum {
    private let hasher = SHA256Hasher()
    /// The rows fed so far.
    private(set) var rows = 0

    /// Adds one row.
    mutating func add(_ row: [SQLValue]) {
        var text = ""
        for value in row {
            switch value {
            case .null: text += "N;"
            case .integer(let number): text += "I\(number);"
            case .real(let number): text += "R\(number);"
            // The length first: no text can pass for two values, or for a value and a row's end.
            case .text(let string): text += "T\(string.utf8.count):\(string);"
            case .blob(let bytes): text += "B\(bytes.count):\(Hex.encode(bytes));"
            }
        }
        text += "\n"
        hasher.update(text)
        rows += 1
    }

    /// The checksum as 64 hexadecimal digits.
    func finish() -> String { Hex.encode(hasher.finish()) }

}
