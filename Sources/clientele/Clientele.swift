import ArgumentParser
import Foundation
import LinearAlgebra
#if canImport(Glibc)
import Glibc
#endif

@main
struct Clientele: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "clientele",
        abstract: "Customer summaries, lifetime-value models and segments from transaction logs.",
        discussion: """
            Start with `clientele summarize` on a transaction log; `clientele doctor` tells \
            which BLAS the numerics use.

            Example:
              clientele summarize datasets/cdnow/CDNOW_master.txt --delimiter whitespace \\
                --amount-column dollar_value --unit weeks --calibration-end 1997-09-30 \\
                --observation-end 1998-06-30 --output summary.csv
            """,
        version: version,
        subcommands: [SummarizeCommand.self, FitCommand.self, PredictCommand.self, ClusterCommand.self, ChurnCommand.self, SimulateCommand.self, DoctorCommand.self,
                      SubmitCommand.self, WorkerCommand.self, StatusCommand.self, RunCommand.self, DemoCommand.self, ExportCommand.self]
    )

    /// What does no numerics: the queue's `submit` and `status`, `doctor`, the top-level help
    /// and the version. They skip the start again with OpenBLAS's kernels
    /// (`restartWithOpenBLASKernels`), which would only add to their start-up time.
    static let commandsWithoutNumerics = Set(([SubmitCommand.self, StatusCommand.self, DoctorCommand.self] as [any ParsableCommand.Type])
        .compactMap { $0.configuration.commandName } + ["help", "-h", "--help", "--version"])

    static func main() {
        if let command = CommandLine.arguments.dropFirst().first, !commandsWithoutNumerics.contains(command) {
            restartWithOpenBLASKernels()
        }
        MemoryReuse.keepFreedMemory()
        BLASLibrary.keepCallsOnTheirThread()
        run(Array(CommandLine.arguments.dropFirst()))
    }

    /// ArgumentParser's `main`, but with a failure of the run reported by the command that
    /// ran: an option refused only once the run has read what it needs (`predict --horizon`
    /// against the model's unit) shows that command's usage, not the top level's.
    static func run(_ arguments: [String]) -> Never {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
            exit()
        } catch let error as ValidationError {
            let subcommand = type(of: command)
            let name = subcommand.configuration.commandName.map { " \($0)" } ?? ""
            FileHandle.standardError.write(Data("Error: \(error.message)\nUsage: \(usageString(for: subcommand))\n  See 'clientele\(name) --help' for more information.\n".utf8))
            exit(withError: ExitCode.validationFailure)
        } catch {
            exit(withError: error)
        }
    }

    /// Starts the process again, once, with `OPENBLAS_CORETYPE` set, when OpenBLAS has fallen
    /// back to its generic SSE3 kernels on a CPU with AVX2 or AVX-512
    /// (`BLASLibrary.betterCoreType`). OpenBLAS picks its kernels when it is loaded, before
    /// `main`, hence the `exec` of the same binary with the same arguments (and the same
    /// process id, which a worker's leases name). On the Xeon of "Performance", where
    /// OpenBLAS 0.3.21 takes the CPU for a Prescott, the 1M job's k-means and churn model
    /// spend 0.4 s less CPU with the SkylakeX kernels. Nothing happens when the environment
    /// already names a core type, with the reference BLAS, or when `exec` fails.
    static func restartWithOpenBLASKernels() {
        #if os(Linux)
        let name = "OPENBLAS_CORETYPE"
        guard let core = BLASLibrary.suggestedCoreType else { return }
        setenv(name, core, 1)
        // The binary by its own path first, so that the process keeps its name (`ps`, `top`
        // and the kernel's messages show the executed file's name, "exe" for the link);
        // the link itself if that path is gone (a binary replaced while it ran).
        var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if readlink("/proc/self/exe", &target, target.count - 1) > 0 {
            execv(target, CommandLine.unsafeArgv)
        }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Still here: exec failed; run as started.
        unsetenv(name)
        #endif
    }
}
