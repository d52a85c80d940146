import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a command's report goes (its estimates, counts and the `→ path` line): standard
/// output, unless one of the command's output files is standard output itself
/// (`--output /dev/stdout`, `/dev/fd/1`, or the file standard output is redirected to), so
/// that the data written there is not mixed with the report, which then goes to standard
/// error.
enum Report {
    nonisolated(unsafe) private(set) static var toStandardError = false

    /// Called once a command knows its output paths, before it reports anything.
    static func route(outputs: [String?]) {
        toStandardError = outputs.contains { $0.map(isStandardOutput) ?? false }
    }

    /// What a command that reads `inputs` and writes `outputs` (by option) does first: routes
    /// the report (`route`), refuses an empty output path as usage (status 64), and refuses an
    /// output that is one of its inputs (the same regular file, by device and inode, through
    /// whatever path or link), which would be replaced before, or while, it is read.
    static func begin(outputs: KeyValuePairs<String, String?>, inputs: [String?]) throws {
        route(outputs: outputs.map(\.value))
        for case let (option, path?) in outputs where path.isEmpty {
            throw ValidationError("\(option) must name a file, got an empty path")
        }
        func file(_ path: String) -> stat? {
            var facts = stat()
            guard stat(path, &facts) == 0, (facts.st_mode & S_IFMT) == S_IFREG else { return nil }
            return facts
        }
        for case let (_, output?) in outputs {
            guard let target = file(output) else { continue }
            for case let input? in inputs {
                if let source = file(input), sameFile(source, target) {
                    throw CommandError("\(output) is also an input (\(input)); give the output a file of its own")
                }
            }
        }
    }

    /// Whether `path` names the file, pipe or terminal that standard output is.
    static func isStandardOutput(_ path: String) -> Bool {
        var standardOutput = stat(), target = stat()
        guard fstat(STDOUT_FILENO, &standardOutput) == 0, stat(path, &target) == 0 else { return false }
        return sameFile(standardOutput, target)
    }

    /// Whether two `stat` results are of one file (device and inode).
    private static func sameFile(_ a: stat, _ b: stat) -> Bool { a.st_dev == b.st_dev && a.st_ino == b.st_ino }
}

/// One line of a command's report (see `Report`).
func reportLine(_ line: String) {
    if Report.toStandardError { writeStandardError(line + "\n") } else { print(line) }
}
