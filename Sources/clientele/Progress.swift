#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress display on standard error, shown only when it is a terminal, so
/// that logs and pipes stay clean.
struct ProgressLine {
    let label: String
    let enabled = isatty(STDERR_FILENO) != 0
    private var lastShown = -1

    init(_ label: String) {
        self.label = label
    }

    mutating func update(_ done: Int, of total: Int) {
        guard enabled, total > 0 else { return }
        let percent = min(100, done * 100 / total)
        guard percent != lastShown else { return }
        lastShown = percent
        writeStandardError("\r\(label) \(percent)%")
    }

    func finish() {
        if enabled, lastShown >= 0 { writeStandardError("\r\u{1B}[K") }
    }
}

func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
