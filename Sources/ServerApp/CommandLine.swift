import Foundation

/// Exit statuses of the `portcullis` command, from sysexits(3) so scripts can tell failures apart.
public enum ExitStatus: Int32, Sendable {
    /// The command did what was asked.
    case success = 0
    /// Something failed at run time (I/O, a peer) that is not one of the cases below.
    case failure = 1
    /// The command line was wrong: unknown command or option, missing argument.
    case usage = 64
    /// The input named something that does not exist or clashes (unknown user, duplicate name).
    case dataError = 65
    /// A required input (password on stdin, a file) was missing or unreadable.
    case noInput = 66
    /// A service the command needs (the database) could not be reached.
    case unavailable = 69
    /// A file could not be created.
    case cannotCreate = 73
    /// The configuration is invalid.
    case configuration = 78
}

/// A failure that ends a command: one clear line on stderr and an exit status.
public struct CommandFailure: Error, CustomStringConvertible, Sendable {
    /// The exit status.
    public let status: ExitStatus
    /// The one-line message (may contain several lines for configuration reports).
    public let message: String

    /// Creates a failure.
    public init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// Command-line arguments split into positionals, `--flags` and `--options value`.
///
/// Options may be written `--name value` or `--name=value`; `--` ends option parsing.
struct ParsedArguments {
    var positionals: [String] = []
    private var options: [String: [String]] = [:]
    private var flags: Set<String> = []
    private var consumed: Set<String> = []

    /// Parses `arguments`, treating names in `flagNames` as boolean flags and every other `--name` as
    /// an option that takes a value.
    init(_ arguments: [String], flagNames: Set<String>) throws(CommandFailure) {
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || !argument.hasPrefix("-") || argument == "-" {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            guard argument.hasPrefix("--") else {
                if argument == "-h" {
                    flags.insert("help")
                    continue
                }
                throw CommandFailure(.usage, "unknown option '\(argument)'")
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if flagNames.contains(name) {
                guard inlineValue == nil else { throw CommandFailure(.usage, "option '--\(name)' takes no value") }
                flags.insert(name)
            } else if let inlineValue {
                options[name, default: []].append(inlineValue)
            } else {
                guard index < arguments.count else {
                    throw CommandFailure(.usage, "option '--\(name)' needs a value")
                }
                options[name, default: []].append(arguments[index])
                index += 1
            }
        }
    }

    /// Whether `--name` was given.
    mutating func flag(_ name: String) -> Bool {
        consumed.insert(name)
        return flags.contains(name)
    }

    /// The value of `--name`, if given (the last one when repeated).
    mutating func option(_ name: String) -> String? {
        consumed.insert(name)
        return options[name]?.last
    }

    /// Every value of a repeatable `--name`, in order.
    mutating func repeatedOption(_ name: String) -> [String] {
        consumed.insert(name)
        return options[name] ?? []
    }

    /// Fails on any option the command did not ask about, and on surplus positionals.
    func finish(maxPositionals: Int) throws(CommandFailure) {
        let unknown = Set(options.keys).union(flags).subtracting(consumed).sorted()
        if let first = unknown.first { throw CommandFailure(.usage, "unknown option '--\(first)'") }
        if positionals.count > maxPositionals {
            throw CommandFailure(.usage, "unexpected argument '\(positionals[maxPositionals])'")
        }
    }

    /// The positional at `index`, or a usage failure naming `what`.
    func positional(_ index: Int, _ what: String) throws(CommandFailure) -> String {
        guard index < positionals.count else { throw CommandFailure(.usage, "missing \(what)") }
        return positionals[index]
    }
}

/// Reads passwords without putting them on the command line (where `ps` and shell history see them).
enum PasswordInput {
    /// Reads one line from standard input, as `docker login --password-stdin` does.
    static func fromStandardInput() throws(CommandFailure) -> String {
        guard let line = readLine(strippingNewline: true) else {
            throw CommandFailure(.noInput, "--password-stdin given but standard input is empty")
        }
        // A Windows-edited file may leave a carriage return behind.
        return line.hasSuffix("\r") ? String(line.dropLast()) : line
    }

    /// Prompts on the terminal with echo off, twice when `confirm` is set.
    static func prompt(_ label: String, confirm: Bool) throws(CommandFailure) -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            throw CommandFailure(.noInput, "no terminal to prompt for a password; use --password-stdin")
        }
        let first = try readHidden("\(label): ")
        if confirm {
            let second = try readHidden("Repeat \(label.lowercased()): ")
            guard first == second else { throw CommandFailure(.dataError, "the passwords do not match") }
        }
        return first
    }

    private static func readHidden(_ prompt: String) throws(CommandFailure) -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else {
            throw CommandFailure(.noInput, "no password entered")
        }
        return line
    }
}

/// Writes to standard error with one system call per message.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
}
