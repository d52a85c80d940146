import ArgumentParser
import Foundation
import Segmentation
#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one job synchronously, without a queue, into a new result directory.",
        discussion: """
            Reads the job file (design.md's job file: transactions, period, models, \
            segmentation, crm; see the README for every key and default), runs the pipeline \
            — summaries, purchase and spend models, CLV, churn on holdout labels, segments and \
            their profiles — and publishes DIR whole or not at all: job.json (as run, defaults \
            filled in), profiles.json, profiles.csv, assignments.csv, models/, report.html and \
            log.txt. DIR must not exist yet; the directories above it are created when \
            missing. With crm.database in the job, the result is then loaded into that database.

            Example:
              clientele run datasets/cdnow/cdnow-demo-job.json --output results/cdnow
            """)

    @Argument(help: "The job file (JSON); relative paths in it are relative to its directory.")
    var job: String

    @Option(help: "The result directory to create.")
    var output: String

    func validate() throws {
        // `newdir/.` would create newdir, then find the result "already there".
        let last = output.split(separator: "/").last
        guard let last, last != ".", last != ".." else {
            throw ValidationError("--output must name the result directory itself (as results/cdnow), got \"\(output)\"")
        }
    }

    func run() throws {
        let job = try JobValidation.validate(path: job)
        let outcome = try runPipeline(job, output: output, replacing: false)
        print(outcome.summaryLine)
        print("→ \(output)")
    }
}

/// Runs a job with a progress line on a terminal and turns its failure into one line.
func runPipeline(_ job: Job, output: String, replacing: Bool) throws -> Pipeline.Outcome {
    let created = try createParentDirectories(of: output)
    let display = StageDisplay()
    // Stopped by Ctrl-C or SIGTERM, the run takes its unpublished result with it instead of
    // leaving a hidden staging directory beside the output (`ResultDirectory.abandon`).
    StopSignals.install([SIGINT, SIGTERM, SIGHUP]) {
        display.finish()
        let unfinished = ResultDirectory.abandon(output)
        writeStandardError("clientele: stopped by a signal\(unfinished ? "; \(output) was not published" : "")\n")
        // Not exit(3): the pipeline's threads are still computing, and the libraries'
        // destructors (OpenBLAS frees its buffers) must not run under them.
        _exit(1)
    }
    let outcome: Pipeline.Outcome
    do {
        outcome = try Pipeline.run(job: job, output: output, replacing: replacing, clienteleVersion: Clientele.version,
                                   progress: display.progress)
    } catch {
        display.finish()
        // A failed run leaves nothing behind: not the directories made for its output either
        // (rmdir, deepest first, removes only those still empty).
        for directory in created.reversed() { rmdir(directory) }
        throw CommandError("\(error)")
    }
    display.finish()
    if let crm = job.crm {
        try CRMExport.export(resultDirectory: output, database: crm.database)
        print("exported to \(crm.database)")
    }
    return outcome
}

/// Creates the missing directories above `output`, as `mkdir -p` would: the result is
/// staged beside `output` before it is published, so its parent has to exist, and
/// `--output results/cdnow` in a fresh checkout should just work. A failure names the
/// directory the user asked for, not the staging directory. Returns the directories it
/// created, outermost first.
@discardableResult
func createParentDirectories(of output: String) throws -> [String] {
    var path = output
    while path.count > 1, path.hasSuffix("/") { path.removeLast() }
    guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return [] }
    var directory = path.hasPrefix("/") ? "/" : ""
    var created: [String] = []
    for component in path[..<slash].split(separator: "/") {
        directory += component
        var isDirectory: ObjCBool = false
        if mkdir(directory, 0o755) == 0 {
            created.append(directory)
        } else {
            let reason = errno == EEXIST ? "it exists and is not a directory" : String(cString: strerror(errno))
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CommandError("\(directory)/: cannot create the directory for --output \(output): \(reason)")
            }
        }
        directory += "/"
    }
    return created
}

/// The pipeline's stages on one line of standard error, only when it is a terminal.
final class StageDisplay: Sendable {
    let enabled = isatty(STDERR_FILENO) != 0

    var progress: Pipeline.Progress? {
        guard enabled else { return nil }
        return Pipeline.Progress(
            stage: { writeStandardError("\r\u{1B}[K\($0)…") },
            bytes: { done, total in
                guard total > 0 else { return }
                writeStandardError("\r\u{1B}[Kread \(min(100, done * 100 / total))%")
            })
    }

    func finish() {
        if enabled { writeStandardError("\r\u{1B}[K") }
    }
}
