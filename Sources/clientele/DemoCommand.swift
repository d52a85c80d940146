import ArgumentParser
import CRMStore
import Clustering
import Foundation
import Segmentation

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the bundled CDNOW job end to end, load it into a SQLite CRM file and print the segment profiles.",
        discussion: """
            Runs datasets/cdnow/cdnow-demo-job.json (the CDNOW master log in weeks, calibration \
            to 1997-09-30, holdout to 1998-06-30; BG/NBD, Gamma-Gamma and a logistic churn \
            model; k-means with k chosen by silhouette on recency, frequency, monetary value, \
            CLV and P(alive)) into ./demo-output (replacing an earlier result there whole, and \
            refusing a directory that is not a Clientele result), \
            exports it to the SQLite file ./demo-output.db, and prints the profiles. Open \
            demo-output/report.html in a browser for the charts.

            Example (from the repository's root):
              clientele demo
            """)

    @Option(help: "The demo's job file.")
    var job = "datasets/cdnow/cdnow-demo-job.json"

    @Option(help: "The result directory (an earlier result there is replaced; any other directory is refused).")
    var output = "demo-output"

    @Option(help: "The SQLite CRM file the result is loaded into (a path, or sqlite:PATH).")
    var database = "demo-output.db"

    func validate() throws {
        if database.contains("://") {
            throw ValidationError("--database: the demo loads into a SQLite file (a path or sqlite:PATH); for PostgreSQL run a job with crm.database, or export the demo's result")
        }
        // Read as the export reads it (an empty path and `~` are refused there) before the
        // path is made absolute.
        do {
            _ = try databasePath()
        } catch CRMStoreError.location(let message) {
            throw ValidationError("--database: \(message)")
        }
    }

    /// The SQLite file's path as given, read by the export's location parser.
    private func databasePath() throws -> String {
        guard case .sqlite(let path) = try DatabaseLocation(parsing: database.hasPrefix("sqlite:") ? database : "sqlite:" + database) else {
            throw ValidationError("--database: the demo loads into a SQLite file")
        }
        return path
    }

    func run() throws {
        var demo = try JobValidation.validate(path: job)
        let path = try databasePath()
        let file = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        demo.crm = CRMSettings(database: "sqlite:" + file)
        let outcome = try runPipeline(demo, output: output, replacing: true)
        print(profileTable(outcome))
        print(outcome.summaryLine)
        print("→ \(output)/ (open \(output)/report.html), \(database)")
    }

    private func profileTable(_ outcome: Pipeline.Outcome) -> String {
        let features = outcome.profiles.first?.features.map(\.name) ?? []
        let labelWidth = max(7, outcome.labels.map(\.count).max() ?? 0)
        var lines = ["segment  " + "label".padding(toLength: labelWidth, withPad: " ", startingAt: 0)
            + "  customers   share  CLV share  mean CLV  P(alive)  churn" + features.map { " " + pad($0, 14) }.joined()]
        for profile in outcome.profiles {
            var line = pad(String(profile.id), 7) + "  " + outcome.labels[profile.id].padding(toLength: labelWidth, withPad: " ", startingAt: 0)
            line += pad(String(profile.size), 11) + pad(percent(profile.share), 8) + pad(percent(profile.shareOfCLV), 11)
            line += pad(profile.meanCLV.map { String(format: "%.2f", $0) } ?? "–", 10)
            line += pad(profile.meanPAlive.map { String(format: "%.3f", $0) } ?? "–", 10) + pad(percent(profile.churnRate), 7)
            line += profile.features.map { " " + pad(String(format: "%.2f", $0.mean), 14) }.joined()
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n(feature columns: segment means)"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    private func percent(_ share: Double?) -> String {
        share.map { String(format: "%.1f%%", 100 * $0) } ?? "–"
    }
}
