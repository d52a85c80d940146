import Foundation
import Testing

/// `clientele cluster` as a user meets it.
extension CommandLineTests {
    @Test func clusterWritesAssignmentsAndPrintsTheFit() throws {
        let directory = try temporaryDirectory()
        let output = directory.appendingPathComponent("assignments.csv").path
        let profiles = directory.appendingPathComponent("profiles.json").path
        let outcome = try run(["cluster", "Tests/ClusteringTests/Fixtures/cdnow_features.csv", "--k", "4", "--seed", "1",
                               "--transform", "log1p+zscore", "--output", output, "--profiles", profiles])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("k 4, inertia"))
        #expect(outcome.standardOutput.contains("silhouette"))
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "row,segment,segment_label")
        #expect(lines.count == 2358)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: profiles))) as! [[String: Any]]
        #expect(json.count == 4)
        #expect(json.map { $0["size"] as! Int }.reduce(0, +) == 2357)
    }

    /// The assignments and the profiles are published together: when the profiles cannot be
    /// written, the earlier assignments stay.
    @Test func clusterWritesBothOutputsOrNeither() throws {
        let directory = try temporaryDirectory()
        let output = directory.appendingPathComponent("assignments.csv").path
        try "earlier result\n".write(toFile: output, atomically: true, encoding: .utf8)
        let outcome = try run(["cluster", "Tests/ClusteringTests/Fixtures/iris.csv", "--k", "3", "--output", output,
                               "--profiles", directory.appendingPathComponent("missing/profiles.json").path])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("missing/profiles.json: cannot write: No such file or directory"), "\(outcome.standardError)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "earlier result\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["assignments.csv"])
    }

    @Test func clusterRefusesAFeatureListedTwice() throws {
        let output = try temporaryDirectory().appendingPathComponent("assignments.csv").path
        let outcome = try run(["cluster", "Tests/ClusteringTests/Fixtures/iris.csv", "--k", "3", "--features", "x1,x3, x1",
                               "--output", output])
        #expect(outcome.status == 64)
        #expect(outcome.standardError.hasPrefix("Error: --features lists \"x1\" twice; list each feature once (--feature-weight weighs one more)\nUsage: "),
                "\(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// A feature option wrong in itself is a usage error (status 64), refused before the file
    /// is read (it does not exist here); one naming a feature the file lacks is the data's (1).
    @Test func clusterRefusesMalformedFeatureOptionsAsUsage() throws {
        let directory = try temporaryDirectory()
        let output = directory.appendingPathComponent("assignments.csv").path
        let missing = directory.appendingPathComponent("missing.csv").path
        for (option, value, message) in [
            ("--feature-weight", "x=0", "--feature-weight x=0: write FEATURE=W with a feature column and W > 0"),
            ("--feature-weight", "x=inf", "--feature-weight x=inf: write FEATURE=W with a feature column and W > 0"),
            ("--feature-weight", "x", "--feature-weight x: write FEATURE=W with a feature column and W > 0"),
            ("--transform", "log1p+cube", "--transform log1p+cube: \"cube\" is not a transform"),
            ("--transform", "x=winsorize:0.9:0.1", "--transform x=winsorize:0.9:0.1: \"winsorize:0.9:0.1\": write winsorize:LOWER:UPPER"),
            // Empty pieces used to mean "no transform at all", dropping the z-scores unsaid.
            ("--transform", "", "--transform : write STEPS or FEATURE=STEPS, the steps joined by + (log1p, zscore, none), none empty"),
            ("--transform", "+", "--transform +: write STEPS"),
            ("--transform", "frequency=", "--transform frequency=: write STEPS"),
            ("--transform", "=zscore", "--transform =zscore: write STEPS"),
            ("--transform", "zscore+", "--transform zscore+: write STEPS"),
            ("--transform", "log1p++zscore", "--transform log1p++zscore: write STEPS"),
        ] {
            let refused = try run(["cluster", missing, "--k", "2", option, value, "--output", output])
            #expect(refused.status == 64 && refused.standardError.hasPrefix("Error: \(message)"), "\(value): \(refused.standardError)")
        }
        // Options that would change nothing are refused, not ignored.
        for (options, message) in [(["--k", "3", "--k-range", "2-4"], "--k-range is for --k auto; with --k 3 it would change nothing"),
                                   (["--method", "rfm", "--k-range", "2-4"], "--k-range is for --k auto; with --method rfm it would change nothing"),
                                   (["--method", "rfm", "--transform", "log1p"], "--transform is for k-means: RFM scores recency, frequency and monetary value as the summary has them")] {
            let refused = try run(["cluster", missing, "--output", output] + options)
            #expect(refused.status == 64 && refused.standardError.hasPrefix("Error: \(message)\n"), "\(refused.standardError)")
        }
        for repeated in [["--transform", "x=log1p", "--transform", "x=zscore"], ["--feature-weight", "x=2", "--feature-weight", "x=3"]] {
            let refused = try run(["cluster", missing, "--k", "2", "--output", output] + repeated)
            #expect(refused.status == 64 && refused.standardError.contains("is given twice"), "\(refused.standardError)")
        }
        let absent = try run(["cluster", "Tests/ClusteringTests/Fixtures/iris.csv", "--k", "3", "--feature-weight", "petal=2", "--output", output])
        #expect(absent.status == 1 && absent.standardError == "Error: --feature-weight petal=2: no feature \"petal\"\n", "\(absent.standardError)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// A negative sample weight is named at its file, line and column.
    @Test func clusterRefusesANegativeWeightWhereItIs() throws {
        let directory = try temporaryDirectory()
        let features = directory.appendingPathComponent("f.csv").path
        try "customer_id,x,w\nA,1,1\nB,2,-1\nC,3,1\n".write(toFile: features, atomically: true, encoding: .utf8)
        let outcome = try run(["cluster", features, "--k", "2", "--features", "x", "--sample-weight-column", "w",
                               "--output", directory.appendingPathComponent("a.csv").path])
        #expect(outcome.status != 0)
        #expect(outcome.standardError == "Error: \(features):3: column \"w\": sample weight -1.0 is below 0; a weight is a number ≥ 0\n")
    }

    /// A feature weight so large that squared distances overflow was fitted, with a
    /// silhouette of 0 and an infinite Calinski-Harabasz; it is refused, the output untouched.
    @Test func clusterRefusesAFeatureWeightThatOverflowsTheDistances() throws {
        let directory = try temporaryDirectory()
        let features = directory.appendingPathComponent("f.csv").path
        try "customer_id,x,y\nA,1,1\nB,2,5\nC,3,2\n".write(toFile: features, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("a.csv").path
        try "earlier\n".write(toFile: output, atomically: true, encoding: .utf8)
        let outcome = try run(["cluster", features, "--k", "2", "--transform", "zscore", "--feature-weight", "x=1e308", "--output", output])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.hasPrefix("Error: feature \"x\": weight 1e+308 takes its values to "), "\(outcome.standardError)")
        #expect(outcome.standardError.hasSuffix("where squared distances overflow; give a smaller weight\n"))
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "earlier\n")
        #expect(try run(["cluster", features, "--k", "2", "--transform", "zscore", "--feature-weight", "x=1e100", "--output", output]).status == 0)
    }

    @Test func clusterAutoPrintsEveryK() throws {
        let directory = try temporaryDirectory()
        let output = directory.appendingPathComponent("assignments.csv").path
        let outcome = try run(["cluster", "Tests/ClusteringTests/Fixtures/iris.csv", "--k", "auto", "--k-range", "2-4",
                               "--features", "x1,x3", "--output", output])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("← chosen"))
        for k in 2...4 { #expect(outcome.standardOutput.contains("\n   \(k) ")) }
    }

    /// A new directory holding `features.csv` with `text`.
    func featuresFile(_ text: String) throws -> (directory: URL, input: String) {
        let directory = try temporaryDirectory()
        let input = directory.appendingPathComponent("features.csv").path
        try text.write(toFile: input, atomically: true, encoding: .utf8)
        return (directory, input)
    }

    @Test func clusterRefusesBadValuesNamingLineAndColumn() throws {
        let (directory, input) = try featuresFile("customer_id,recency,frequency\na,1,2\nb,nan,3\n")
        let output = directory.appendingPathComponent("assignments.csv").path
        let outcome = try run(["cluster", input, "--k", "2", "--output", output])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("features.csv:3: column \"recency\": \"nan\" is not a finite number"))
        #expect(!FileManager.default.fileExists(atPath: output))
        let tooMany = try run(["cluster", input.replacingOccurrences(of: "features.csv", with: "none.csv"), "--k", "2", "--output", output])
        #expect(tooMany.status != 0)
        // An id in Latin-1 (ü as the lone byte FC) would reach the CRM as bytes no one decodes.
        try Data(Array("customer_id,recency,frequency\na,1,2\nM".utf8) + [0xFC] + Array("ller,2,3\nc,3,4\n".utf8)).write(to: URL(fileURLWithPath: input))
        let latin1 = try run(["cluster", input, "--k", "2", "--output", output])
        #expect(latin1.status != 0)
        #expect(latin1.standardError.contains("features.csv:3: column \"customer_id\": customer id \"M\\xFCller\" is not UTF-8"))
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func clusterRefusesMoreSegmentsThanCustomers() throws {
        let (directory, input) = try featuresFile("customer_id,recency,frequency\na,1,2\nb,4,3\n")
        let outcome = try run(["cluster", input, "--k", "3", "--output", directory.appendingPathComponent("out.csv").path])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("2 points cannot form 3 clusters"))
    }

    /// k equal to the rows is a fit (every row its own segment) without scores: it failed on
    /// them after writing its outputs over the earlier ones.
    @Test func clusterWithOneSegmentPerRowWritesItsFitWithoutScores() throws {
        let (directory, input) = try featuresFile("customer_id,recency,frequency\na,1,2\nb,4,3\nc,9,1\n")
        let output = directory.appendingPathComponent("out.csv").path
        let outcome = try run(["cluster", input, "--k", "3", "--output", output])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("no silhouette or other scores: every row is a segment of its own"))
        let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(Set(rows.map { $0.split(separator: ",")[1] }).count == 3)
    }
}

extension CommandLineTests {
    /// The CDNOW sample's summary through --method rfm: every customer gets one of the named
    /// segments, and a one-time buyer (recency 0, so T − recency = T) is never a new customer.
    @Test func clusterByRFMWritesNamedSegments() throws {
        let directory = try temporaryDirectory()
        let output = directory.appendingPathComponent("rfm.csv").path
        let outcome = try run(["cluster", "Tests/ClusteringTests/Fixtures/cdnow_features.csv", "--method", "rfm", "--output", output])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        #expect(rows.count == 2357)
        let names = ["Champions", "Loyal customers", "Potential loyalists", "New customers", "Promising", "Need attention",
                     "About to sleep", "At risk", "Can't lose them", "Hibernating", "Lost"]
        #expect(rows.allSatisfy { names[Int($0[1])!] == String($0[2]) })
        #expect(outcome.standardOutput.contains("Champions"))
        let missingK = try run(["cluster", "Tests/ClusteringTests/Fixtures/cdnow_features.csv", "--output", output])
        #expect(missingK.status != 0 && missingK.standardError.contains("--k is needed"))
        let rfmK = try run(["cluster", "Tests/ClusteringTests/Fixtures/cdnow_features.csv", "--method", "rfm", "--k", "3", "--output", output])
        #expect(rfmK.status == 64 && rfmK.standardError.hasPrefix("Error: --k is for k-means: RFM's segments are the cells of its score grid that have customers\n"))
    }
}
