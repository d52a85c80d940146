import ArgumentParser
import Clustering
import Foundation
import Transactions

/// `clientele cluster`: k-means segments of a numeric feature table, with the feature
/// preparation, the choice of k and the segment profiles of the Clustering module.
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Segment customers by k-means on a numeric feature CSV.",
        discussion: """
            Reads a CSV with a header; a customer_id column, if present, is kept as the key and \
            every other column (or those of --features) is a feature. Each feature is prepared by \
            --transform (default zscore, so that no feature dominates by its units), k-means runs \
            --n-init times from greedy k-means++ seeds and keeps the lowest inertia. --k auto tries \
            k = 2…10 (--k-range) and keeps the highest silhouette, preferring the smaller k within \
            0.01; every k's scores are printed. Writes customer_id,segment,segment_label and prints \
            k, inertia (in the prepared space), iterations, the algorithm, the scores and the profiles.
            --method rfm instead scores a customer summary (recency, T, frequency, monetary_value) \
            by quintiles and writes its named RFM segments (the grid is in the README).

            Transforms: none, log1p, zscore, robust (median/IQR), winsorize:LOWER:UPPER, chained \
            with + and applied left to right; FEATURE=CHAIN sets one feature's chain.

            Example:
              clientele cluster features.csv --k auto --seed 42 --features recency,frequency,monetary_value \\
                --transform log1p+zscore --output assignments.csv --profiles profiles.json
            """)

    @Argument(help: "The feature CSV (header; customer_id kept as the key if present).")
    var featureFile: String

    @Option(help: "kmeans, or rfm: the named RFM segments of a customer summary (recency, T, frequency, monetary_value).")
    var method = "kmeans"

    @Option(parsing: .unconditional, help: "The number of segments, or auto (k-means only).")
    var k: String?

    @Option(name: .customLong("k-range"), help: "The range of k tried by --k auto, as LOW-HIGH (default 2-10).")
    var givenKRange: String?

    var kRange: String { givenKRange ?? "2-10" }

    @Option(parsing: .unconditional, help: "Seed of the k-means++ draws and the silhouette sample.")
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "Initializations; the lowest inertia is kept.")
    var nInit = 10

    @Option(parsing: .unconditional, help: "Iteration limit per initialization.")
    var maxIterations = 300

    @Option(parsing: .unconditional, help: "Convergence tolerance, relative to the mean feature variance.")
    var tolerance = 1e-4

    @Option(help: "automatic, lloyd or hamerly.")
    var algorithm = "automatic"

    @Option(help: "Comma-separated feature columns (default: every column but the key and the sample weight).")
    var features: String?

    @Option(name: .customLong("transform"), help: "A transform chain for every feature (log1p+zscore), or FEATURE=CHAIN; repeatable.")
    var transforms: [String] = []

    @Option(name: .customLong("feature-weight"), help: "FEATURE=W: the feature counts W times in the squared distance; repeatable.")
    var featureWeights: [String] = []

    @Option(help: "A column of sample weights (≥ 0).")
    var sampleWeightColumn: String?

    @Option(parsing: .unconditional, help: "Worker threads (default: every core); the result does not depend on it.")
    var threads: Int?

    @Option(help: "Where to write the segment profiles (JSON).")
    var profiles: String?

    @Option(help: "Where to write the assignments CSV (written whole or not at all).")
    var output: String

    func validate() throws {
        guard method == "kmeans" || method == "rfm" else { throw ValidationError("--method must be kmeans or rfm, got \"\(method)\"") }
        if method == "kmeans" {
            guard let k else { throw ValidationError("--k is needed with --method kmeans: a whole number ≥ 1 or auto") }
            guard k == "auto" || (Int(k) ?? 0) >= 1 else { throw ValidationError("--k must be a whole number ≥ 1 or auto, got \"\(k)\"") }
        } else if k != nil {
            throw ValidationError("--k is for k-means: RFM's segments are the cells of its score grid that have customers")
        }
        // An option that would change nothing is refused rather than ignored unsaid.
        if givenKRange != nil, k != "auto" {
            throw ValidationError("--k-range is for --k auto; with \(k.map { "--k \($0)" } ?? "--method rfm") it would change nothing")
        }
        if method == "rfm", let (option, _) = [("--features", selectedFeatures != nil), ("--transform", !transforms.isEmpty),
                                                ("--feature-weight", !featureWeights.isEmpty)].first(where: \.1) {
            throw ValidationError("\(option) is for k-means: RFM scores recency, frequency and monetary value as the summary has them")
        }
        _ = try parsedRange()
        guard nInit >= 1 else { throw ValidationError("--n-init must be at least 1") }
        guard maxIterations >= 1 else { throw ValidationError("--max-iterations must be at least 1") }
        guard tolerance >= 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a number ≥ 0") }
        guard KMeans.Algorithm(rawValue: algorithm) != nil else {
            throw ValidationError("--algorithm must be automatic, lloyd or hamerly, got \"\(algorithm)\"")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        // The feature options' own form is checked here, before any file is read; whether the
        // features they name are in the file is the run's to say.
        // A feature listed twice would count twice in every distance, as a job file refuses too.
        if let twice = selectedFeatures?.firstRepeated {
            throw ValidationError("--features lists \"\(twice)\" twice; list each feature once (--feature-weight weighs one more)")
        }
        var transformed = Set<String?>(), weighed = Set<String>()
        for text in transforms where !transformed.insert(try Self.transform(text).feature).inserted {
            throw ValidationError("--transform \(text): a transform for \(text.contains("=") ? "this feature" : "every feature") is given twice")
        }
        for text in featureWeights where !weighed.insert(try Self.weight(text).feature).inserted {
            throw ValidationError("--feature-weight \(text): this feature's weight is given twice")
        }
    }

    /// --features as a list, blanks around each name trimmed.
    private var selectedFeatures: [String]? {
        features?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    /// --transform's FEATURE=CHAIN, or CHAIN for every feature: the feature named, if any, and
    /// the chain's steps (joined by +, `none` for no step).
    private static func transform(_ text: String) throws -> (feature: String?, chain: [FeatureTransform]) {
        let equals = text.firstIndex(of: "=")
        let steps = (equals.map { text[text.index(after: $0)...] } ?? text[...]).split(separator: "+", omittingEmptySubsequences: false)
        // An empty feature or step (`=zscore`, `frequency=`, `zscore+`, `''`) is a slip, not
        // a request for no transform: `none` says that.
        guard equals.map({ $0 > text.startIndex }) ?? true, !steps.contains(where: \.isEmpty) else {
            throw ValidationError("--transform \(text): write STEPS or FEATURE=STEPS, the steps joined by + (log1p, zscore, none), none empty")
        }
        do {
            return (equals.map { String(text[..<$0]) },
                    try steps.filter { $0 != "none" }.map { try FeatureTransform(parsing: String($0)) })
        } catch {
            throw ValidationError("--transform \(text): \(error)")
        }
    }

    /// FEATURE=W's feature and weight; W must be a finite number above 0.
    private static func weight(_ text: String) throws -> (feature: String, weight: Double) {
        let parts = text.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, let weight = Double(parts[1]), weight > 0, weight.isFinite else {
            throw ValidationError("--feature-weight \(text): write FEATURE=W with a feature column and W > 0")
        }
        return (parts[0], weight)
    }

    private func parsedRange() throws -> ClosedRange<Int> {
        let parts = kRange.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 2, parts[0] <= parts[1] else {
            throw ValidationError("--k-range must be LOW-HIGH with 2 ≤ LOW ≤ HIGH, got \"\(kRange)\"")
        }
        return parts[0]...parts[1]
    }

    func run() throws {
        try Report.begin(outputs: ["--output": output, "--profiles": profiles], inputs: [featureFile])
        if method == "rfm" { return try runRFM() }
        let k = self.k ?? "auto"
        var selected = selectedFeatures
        if var names = selected, let sampleWeightColumn { names.append(sampleWeightColumn); selected = names }
        let outcomeNames = ["clv", "p_alive", "churn_probability"]
        let table = try NumericTable.read(path: featureFile, selecting: selected, ifPresent: selected == nil ? [] : outcomeNames)
        var names = table.columnNames
        var columns = table.columns
        if let selected {
            names = Array(names.prefix(selected.count))
            columns = Array(columns.prefix(selected.count))
        }
        var sampleWeights: [Double]?
        if let sampleWeightColumn {
            guard let index = names.firstIndex(of: sampleWeightColumn) else {
                throw CommandError("\(featureFile): no column \"\(sampleWeightColumn)\" for --sample-weight-column")
            }
            sampleWeights = columns.remove(at: index)
            names.remove(at: index)
            if let weights = sampleWeights, let bad = weights.firstIndex(where: { $0 < 0 }) {
                throw CommandError("\(SourceLocation(file: featureFile, line: table.lines[bad], column: sampleWeightColumn)): sample weight \(weights[bad]) is below 0; a weight is a number ≥ 0")
            }
        }
        let specifications = try featureSpecifications(names)
        let (preparation, data) = try FeaturePreparation.fitted(specifications, to: columns)
        var options = KMeans.Options(k: Int(k) ?? 2, seed: seed, initializations: nInit, maxIterations: maxIterations,
                                     tolerance: tolerance, algorithm: KMeans.Algorithm(rawValue: algorithm) ?? .automatic,
                                     threads: threads)
        let fit: KMeansResult
        if k == "auto" {
            let selection = try KSelection(data: data, weights: sampleWeights, range: try parsedRange(), options: options)
            reportLine("   k     inertia  silhouette  calinski-harabasz  davies-bouldin")
            for c in selection.candidates {
                reportLine(String(format: "%4d %11.6g %11.4f %18.6g %15.4f%@", c.k, c.inertia, c.silhouette, c.calinskiHarabasz,
                             c.daviesBouldin, c.k == selection.chosenK ? "  ← chosen" : ""))
            }
            fit = selection.fit
        } else {
            options.k = Int(k)!
            fit = try KMeans.fit(data, weights: sampleWeights, options: options)
        }
        let centroids = fit.centers.map(preparation.originalUnits)
        let segmentProfiles = try SegmentProfile.profiles(
            labels: fit.labels, centroids: centroids, features: Array(zip(names, columns)),
            outcomes: .init(clv: column("clv", in: table), pAlive: column("p_alive", in: table),
                            churn: column("churn_probability", in: table)))
        // The scores are taken before anything is written, so that a failure among them
        // leaves the outputs as they were; they are defined for 2 ≤ segments < rows (k equal to
        // the rows, every row its own segment, is a fit without them).
        let occupied = Set(fit.labels).count
        let quality = occupied >= 2 && occupied < table.rowCount
            ? try ClusterQuality(data: data, labels: fit.labels, k: fit.k, seed: seed, threads: threads) : nil
        try writeOutputs(ids: table.ids, key: table.keyColumn ?? "row", labels: fit.labels,
                         label: { segmentProfiles[$0].label }, profiles: segmentProfiles)
        reportLine("k \(fit.k), inertia \(fit.inertia) (prepared space), \(fit.iterations) iterations\(fit.converged ? "" : " (not converged)"), \(fit.algorithm.rawValue), best of \(nInit) initializations")
        if let quality {
            reportLine("silhouette \(quality.silhouette), calinski-harabasz \(quality.calinskiHarabasz), davies-bouldin \(quality.daviesBouldin)")
        } else if occupied >= 2 {
            reportLine("no silhouette or other scores: every row is a segment of its own")
        }
        printSegments(segmentProfiles)
        reportLine("\(table.rowCount) customers → \(output)")
    }

    private func printSegments(_ segmentProfiles: [SegmentProfile]) {
        let width = segmentProfiles.map(\.label.count).max() ?? 0
        for profile in segmentProfiles {
            let label = profile.label + String(repeating: " ", count: width - profile.label.count)
            reportLine("segment \(profile.id)  \(label)  " + String(format: "%8d customers (%.1f%%)", profile.size, 100 * profile.share))
        }
    }


    /// RFM scores of a customer summary and profiles of its named segments.
    private func runRFM() throws {
        let names = ["recency", "T", "frequency", "monetary_value"]
        let table = try NumericTable.read(path: featureFile, selecting: names, ifPresent: ["clv", "p_alive", "churn_probability"])
        let (recency, T, frequency, monetary) = (table.columns[0], table.columns[1], table.columns[2], table.columns[3])
        let scores = try RFMScores(timeSinceLastPurchase: zip(T, recency).map { $0 - $1 }, frequency: frequency, monetary: monetary)
        let segmentNames = RFMSegment.allCases.map(\.rawValue)
        let segmentProfiles = try SegmentProfile.profiles(
            labels: scores.segmentIndices, names: segmentNames, features: Array(zip(names, table.columns.prefix(4))),
            outcomes: .init(clv: column("clv", in: table), pAlive: column("p_alive", in: table),
                            churn: column("churn_probability", in: table)))
        let byID = Dictionary(uniqueKeysWithValues: segmentProfiles.map { ($0.id, $0) })
        try writeOutputs(ids: table.ids, key: table.keyColumn ?? "row", labels: scores.segmentIndices,
                         label: { byID[$0]!.label }, profiles: segmentProfiles)
        printSegments(segmentProfiles)
        reportLine("\(table.rowCount) customers → \(output)")
    }

    /// Each feature's transforms and weight from --transform and --feature-weight.
    private func featureSpecifications(_ names: [String]) throws -> [FeatureSpecification] {
        var specifications = names.map { FeatureSpecification(name: $0, transforms: [.zScore]) }
        for text in transforms {
            let (name, chain) = try Self.transform(text)
            if let name {
                guard let j = names.firstIndex(of: name) else { throw CommandError("--transform \(text): no feature \"\(name)\"") }
                specifications[j].transforms = chain
            } else {
                for j in specifications.indices { specifications[j].transforms = chain }
            }
        }
        for text in featureWeights {
            let (name, weight) = try Self.weight(text)
            guard let j = names.firstIndex(of: name) else { throw CommandError("--feature-weight \(text): no feature \"\(name)\"") }
            specifications[j].weight = weight
        }
        return specifications
    }

    private func column(_ name: String, in table: NumericTable) -> [Double]? {
        table.columnNames.firstIndex(of: name).map { table.columns[$0] }
    }

    /// The assignments and, with --profiles, the profiles, published together: both or neither.
    private func writeOutputs(ids: CustomerIDs, key: String, labels: [Int], label: (Int) -> String,
                              profiles segmentProfiles: [SegmentProfile]) throws {
        var text = "\(csvField(key)),segment,segment_label\n"
        text.reserveCapacity(labels.count * 32)
        for (i, segment) in labels.enumerated() {
            text += "\(csvField(ids[i])),\(segment),\(csvField(label(segment)))\n"
        }
        var files = [(pieces: [Array(text.utf8)], path: output)]
        if let profiles {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            files.append((pieces: [Array(try encoder.encode(segmentProfiles))], path: profiles))
        }
        try writeFilesAtomically(files)
    }
}
