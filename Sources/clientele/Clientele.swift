import ArgumentParser
import LinearAlgebra

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

    static func main() {
        MemoryReuse.keepFreedMemory()
        BLASLibrary.keepCallsOnTheirThread()
        main(nil)
    }
}
