import Clustering
import Foundation
import LifetimeValue
import Segmentation
import Testing
import Transactions

/// The pipeline on the CDNOW sample (the 1/10th sample of the CDNOW master log: no header,
/// customer id, date and amount in columns 1, 3 and 5): every file of the result directory,
/// the same bytes on a second run, and nothing half-written when a run fails.
@Suite struct PipelineTests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("datasets/cdnow/CDNOW_sample.txt").path

    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-pipeline-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func job(_ extra: String = "", segmentation: String = #"{"k": 3, "nInit": 4}"#, log: String = PipelineTests.sample) throws -> Job {
        let text = """
            {"name": "cdnow-sample",
             "transactions": {"path": "\(log)", "delimiter": "whitespace", "header": false,
                              "customer": 1, "date": 3, "amount": 5, "dateFormat": "yyyyMMdd"},
             "period": {"unit": "weeks", "calibrationEnd": "1997-09-30", "observationEnd": "1998-06-30"\(extra)},
             "segmentation": \(segmentation)}
            """
        return try JobValidation.validate(bytes: Array(text.utf8), source: directory + "/job.json")
    }

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    func names(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    /// The job's calibration summary, as `clientele summarize` makes it with the same window.
    func calibrationSummary(_ job: Job) throws -> CustomerSummary {
        let log = try TransactionLogReader.read(path: job.transactions.path, format: job.transactions.format,
                                                onBadRow: job.transactions.onBadRow)
        return try CustomerSummary(log: log, options: SummaryOptions(
            period: job.period.periodLength, unit: job.period.unit, calibrationEnd: job.period.calibrationEnd,
            observationEnd: job.period.observationEnd))
    }

    @Test func runWritesEveryFileOfTheResultDirectory() throws {
        let output = directory + "/result"
        let outcome = try Pipeline.run(job: try job(), output: output, clienteleVersion: "test")
        #expect(names(output) == ["assignments.csv", "job.json", "log.txt", "models", "profiles.csv", "profiles.json", "report.html"])
        #expect(names(output + "/models") == ["bgnbd.json", "churn-logistic.json", "gamma-gamma.json"])
        #expect(names(directory) == ["result"])

        let rows = try read(output + "/assignments.csv").split(separator: "\n")
        #expect(rows[0] == "customer_id,segment,segment_label,frequency,recency,T,monetary_value,expected_purchases,p_alive,churn_probability,clv")
        #expect(rows.count == 2357 + 1)
        #expect(outcome.customers == 2357 && outcome.transactions == 6919)
        // Customer 00004 bought on 1997-01-01, 01-18, 08-02 and 12-12: three repeat days,
        // the last 345 days after the first, observed for 545 days to 1998-06-30 (in weeks).
        let first = rows[1].split(separator: ",", omittingEmptySubsequences: false)
        #expect(first[0] == "00004" && first[3] == "3.0" && Double(first[4]) == 345.0 / 7 && Double(first[5]) == 545.0 / 7)
        #expect(Double(first[6]) == (29.73 + 14.96 + 26.48) / 3)
        #expect(rows.dropFirst().allSatisfy { $0.split(separator: ",").count == 11 && !$0.contains("nan") })

        let profiles = try read(output + "/profiles.csv").split(separator: "\n")
        #expect(profiles.count == 4)
        #expect(profiles[0].hasPrefix("id,label,size,share,share_of_clv,mean_p_alive,churn_rate,total_clv,mean_clv,mean_recency,median_recency,centroid_recency,"))
        // No column twice: the means of the features clv and p_alive are the columns of their own.
        let header = profiles[0].split(separator: ",")
        #expect(Set(header).count == header.count, "\(header)")
        #expect(outcome.profiles.map(\.size).reduce(0, +) == 2357)
        #expect(abs(outcome.profiles.compactMap(\.shareOfCLV).reduce(0, +) - 1) < 1e-12)

        let asRun = try JobValidation.validate(path: output + "/job.json")
        #expect(asRun.transactions.path == Self.sample && asRun.period.observationEnd?.description == "1998-06-30")
        #expect(try read(output + "/models/bgnbd.json").contains(#""createdAt" : "1998-06-30T00:00:00Z""#))
        let log = try read(output + "/log.txt")
        #expect(log.contains("churn: no purchase in the holdout window: "))
        #expect(log.hasSuffix(outcome.summaryLine + "\n"))
    }

    /// Each model file names the calibration summary it was fitted on by the fingerprint
    /// `clientele fit` would record for that summary written by `clientele summarize`.
    /// Something that appears at the output while the job runs (an empty directory, which a
    /// plain rename would replace) is left alone and the result is not published.
    @Test func anOutputThatAppearsDuringTheRunIsNotReplaced() throws {
        let output = directory + "/appeared"
        #expect {
            try ResultDirectory.publish(output, replacing: false) { staging in
                try Data("x\n".utf8).write(to: URL(fileURLWithPath: staging + "/log.txt"))
                #expect(mkdir(output, 0o755) == 0)
            }
        } throws: { error in
            "\(error)" == "\(output): appeared while the job ran; it is left as it is and the result is not published"
        }
        #expect(names(output).isEmpty)
        #expect(names(directory) == ["appeared"])
    }

    @Test func modelFilesCarryTheFingerprintOfTheCalibrationSummary() throws {
        let job = try job()
        let output = directory + "/result"
        _ = try Pipeline.run(job: job, output: output, clienteleVersion: "test")
        let summary = try calibrationSummary(job)
        let expected = try CustomerSummary.read(bytes: summary.csvBytes(), path: "summary.csv", unit: job.period.unit).fingerprint
        #expect(expected == summary.fingerprint && expected.hasPrefix("sha256:"))
        for name in ["bgnbd", "gamma-gamma", "churn-logistic"] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(output)/models/\(name).json"))
            let object = try JSONSerialization.jsonObject(with: bytes) as? [String: Any]
            #expect(object?["dataFingerprint"] as? String == expected, "\(name)")
        }
    }

    /// The spend model's file counts the customers its fit used: the calibration summary's
    /// repeat buyers with positive spend, not every customer.
    @Test func theSpendModelCountsTheRepeatBuyersItWasFittedOn() throws {
        let job = try job()
        let output = directory + "/result"
        let outcome = try Pipeline.run(job: job, output: output, clienteleVersion: "test")
        let summary = try calibrationSummary(job)
        let monetary = try #require(summary.monetaryValue)
        let repeatBuyers = summary.frequency.indices.filter { summary.frequency[$0] > 0 && monetary[$0] > 0 }.count
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(output)/models/gamma-gamma.json"))
        let object = try JSONSerialization.jsonObject(with: bytes) as? [String: Any]
        #expect(repeatBuyers < outcome.customers && object?["customers"] as? Int == repeatBuyers)
    }

    /// Refunds larger than a customer's repeat purchases make its mean spend negative, as in
    /// lifetimes' summary: the default job (log1p on monetary value and CLV) still runs, the
    /// customer's expected spend is the model's lowest, never negative, so no CLV is below 0,
    /// and a refund with no purchase in its period is counted in log.txt.
    @Test func refundsLargerThanThePurchasesRunAndGiveNoNegativeValue() throws {
        let refunds = [" 00004 0001 19970118  1  -100", " 00004 0001 19970802  1  -100", " 00004 0001 19971212  1  -100",
                       " 00004 0001 19980301  1  -5"]
        let log = directory + "/refunds.txt"
        try (read(Self.sample) + refunds.joined(separator: "\n") + "\n").write(toFile: log, atomically: true, encoding: .utf8)
        let output = directory + "/result"
        _ = try Pipeline.run(job: try job(log: log), output: output, clienteleVersion: "test")
        let lines = try read(output + "/assignments.csv").split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let header = lines[0].map(String.init)
        let monetary = try #require(header.firstIndex(of: "monetary_value")), clv = try #require(header.firstIndex(of: "clv"))
        let refunded = try #require(lines.first { $0[0] == "00004" })
        #expect(Double(refunded[monetary])! < 0)
        #expect(Double(refunded[clv])! > 0)
        #expect(lines.dropFirst().allSatisfy { Double($0[clv])! >= 0 })
        #expect(try read(output + "/log.txt").contains("1 refunds fell in periods without a purchase and were not counted"))
    }

    /// With Pareto/NBD as the purchase model the churn features come from a BG/NBD fitted for
    /// them alone: log.txt says so and gives its parameters, which are those the churn model
    /// file records.
    @Test func theChurnModelsOwnBGNBDIsNamedInTheLog() throws {
        let text = """
            {"name": "pnbd", "transactions": {"path": "\(Self.sample)", "delimiter": "whitespace", "header": false,
                                              "customer": 1, "date": 3, "amount": 5, "dateFormat": "yyyyMMdd"},
             "period": {"unit": "weeks", "calibrationEnd": "1997-09-30", "observationEnd": "1998-06-30"},
             "models": {"purchase": "pareto-nbd"}, "segmentation": {"k": 3, "nInit": 2}}
            """
        let job = try JobValidation.validate(bytes: Array(text.utf8), source: directory + "/pnbd.json")
        _ = try Pipeline.run(job: job, output: directory + "/pnbd", clienteleVersion: "test")
        let log = try read(directory + "/pnbd/log.txt")
        let bgnbd = try BGNBD.fit(PurchaseHistories(calibrationSummary(job))).model
        #expect(log.contains("features from a BG/NBD model fitted for them (r \(bgnbd.r), alpha \(bgnbd.alpha), a \(bgnbd.a), b \(bgnbd.b)), not the job's pareto-nbd"))
        #expect(try read(directory + "/pnbd/models/churn-logistic.json").contains("\(bgnbd.alpha)"))
    }

    @Test func theSameJobGivesTheSameBytes() throws {
        let job = try job(segmentation: #"{"k": "auto", "kRange": [2, 4], "nInit": 3}"#)
        _ = try Pipeline.run(job: job, output: directory + "/first", clienteleVersion: "test")
        _ = try Pipeline.run(job: job, output: directory + "/second", clienteleVersion: "test")
        for file in ["job.json", "profiles.json", "profiles.csv", "assignments.csv", "report.html",
                     "models/bgnbd.json", "models/gamma-gamma.json", "models/churn-logistic.json"] {
            #expect(try read("\(directory)/first/\(file)") == read("\(directory)/second/\(file)"), "\(file)")
        }
        #expect(try read(directory + "/first/profiles.json").contains(#""kSelection": ["#))
    }

    /// A job's k-means prepares and fits only the first rows of the customers' groups (one
    /// history and spend); its segments are those of the preparation and fit of every
    /// customer's features, read back from assignments.csv (its numbers read back to the
    /// same bits), with no grouping known.
    @Test func jobSegmentsAreThoseOfKMeansOnEveryCustomer() throws {
        let job = try job()
        guard case .fixed(let k) = job.segmentation.k else { Issue.record("the job's k is fixed"); return }
        _ = try Pipeline.run(job: job, output: directory + "/run", clienteleVersion: "test")
        let lines = try read(directory + "/run/assignments.csv").split(separator: "\n")
        #expect(lines[0] == "customer_id,segment,segment_label,frequency,recency,T,monetary_value,expected_purchases,p_alive,churn_probability,clv")
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        // The numbers are the last eight fields, whatever the label holds.
        let numbers = ["frequency", "recency", "T", "monetary_value", "expected_purchases", "p_alive", "churn_probability", "clv"]
        let column = { (name: String) in rows.map { Double($0[$0.count - 8 + numbers.firstIndex(of: name)!])! } }
        let specifications = zip(job.segmentation.features, job.segmentation.transforms).map { FeatureSpecification(name: $0, transforms: $1) }
        let full = try FeaturePreparation.fitted(specifications, to: job.segmentation.features.map(column))
        let fit = try KMeans.fit(full.data, options: KMeans.Options(k: k, seed: job.segmentation.seed, initializations: job.segmentation.nInit))
        #expect(rows.map { Int($0[1])! } == fit.labels)
        #expect(Set(fit.labels).count == k)
    }

    /// Above `Pipeline.largestOverlappedJob` customers segmentation waits for the churn model
    /// to drop its design, and the churn model takes its metrics before it scores the
    /// customers; below it, the customers are scored first and the profiles and
    /// assignments.csv are made while the metrics are taken. The result is the same, byte for
    /// byte, and log.txt has the same lines in the same order but for the timings, whether
    /// the segments use the churn probability or not.
    @Test func segmentationWaitingForTheChurnDesignGivesTheSameBytes() throws {
        let withoutTimings = { (log: String) in
            log.split(separator: "\n").map { $0.replacing(/\d+\.\d+ s/, with: "_ s") }.filter { !$0.hasPrefix("[") || $0.hasSuffix("_ s") }
        }
        for (name, segmentation) in [("", #"{"k": 3, "nInit": 4}"#),
                                     ("-on-churn", #"{"k": 3, "features": ["recency", "frequency", "churn_probability"]}"#)] {
            let job = try job(segmentation: segmentation)
            _ = try Pipeline.run(job: job, output: directory + "/beside" + name, clienteleVersion: "test")
            _ = try Pipeline.run(job: job, output: directory + "/after" + name, clienteleVersion: "test", overlapLimit: 0)
            for file in ["job.json", "profiles.json", "profiles.csv", "assignments.csv", "report.html",
                         "models/bgnbd.json", "models/gamma-gamma.json", "models/churn-logistic.json"] {
                #expect(try read("\(directory)/beside\(name)/\(file)") == read("\(directory)/after\(name)/\(file)"), "\(file)")
            }
            let log = withoutTimings(try read("\(directory)/beside\(name)/log.txt"))
            #expect(log == withoutTimings(try read("\(directory)/after\(name)/log.txt")))
            let stages = log.filter { $0.hasPrefix("[") }
            #expect(stages == ["[read] _ s", "[summarize] _ s", "[purchase model] _ s", "[spend model] _ s", "[scoring] _ s"]
                + (name.isEmpty ? ["[segmentation] _ s", "[churn model] _ s"] : ["[churn model] _ s", "[segmentation] _ s"])
                + ["[profiles] _ s", "[write] _ s", "[report] _ s"])
            // The churn model's line follows its time.
            #expect(log.firstIndex { $0.hasPrefix("churn: ") } == log.firstIndex(of: "[churn model] _ s").map { $0 + 1 })
        }
        // A churn failure while segmentation waits releases it, and fails the run; so does one
        // while the profiles wait for the churn probabilities.
        let failing = try JobValidation.validate(bytes: Array("""
            {"name": "no-holdout-buyers",
             "transactions": {"path": "\(Self.sample)", "delimiter": "whitespace", "header": false,
                              "customer": 1, "date": 3, "amount": 5, "dateFormat": "yyyyMMdd"},
             "period": {"unit": "weeks", "calibrationEnd": "1998-06-29", "observationEnd": "1998-06-30"},
             "segmentation": {"k": 3}}
            """.utf8), source: directory + "/job.json")
        for limit in [0, Pipeline.largestOverlappedJob] {
            #expect {
                try Pipeline.run(job: failing, output: directory + "/failed", clienteleVersion: "test", overlapLimit: limit)
            } throws: { error in
                (error as? PipelineError)?.stage == "churn model"
            }
            #expect(!FileManager.default.fileExists(atPath: directory + "/failed"))
        }
    }

    /// A result directory that does not fit (a 256 KiB tmpfs; its files are written past the
    /// page cache where the file system allows): the run fails naming the file and the reason,
    /// and nothing is left on the file system. Needs `mount -t tmpfs` (root); without it the
    /// test says why and checks nothing.
    @Test func aResultThatDoesNotFitFailsAndLeavesNothing() throws {
        let point = directory + "/small"
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: false)
        let mount = try Process.run(URL(fileURLWithPath: "/bin/mount"), arguments: ["-t", "tmpfs", "-o", "size=256k", "tmpfs", point])
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else {
            print("aResultThatDoesNotFitFailsAndLeavesNothing skipped: mount -t tmpfs failed (it needs root)")
            return
        }
        defer { try? Process.run(URL(fileURLWithPath: "/bin/umount"), arguments: [point]).waitUntilExit() }
        #expect {
            try Pipeline.run(job: try job(), output: point + "/result", clienteleVersion: "test")
        } throws: { error in
            "\(error)".contains("No space left on device") && "\(error)".contains(".result.partial-")
        }
        #expect(names(point).isEmpty)
    }

    @Test func theReportIsSelfContainedWithItsCharts() throws {
        _ = try Pipeline.run(job: try job(), output: directory + "/result", clienteleVersion: "test")
        let report = try read(directory + "/result/report.html")
        #expect(report.components(separatedBy: "<svg ").count - 1 == 4 + 5)
        for title in ["Share of customers and of CLV by segment", "Mean holdout purchases, actual and predicted, by calibration frequency",
                      "P(alive) by frequency and recency", "Churn model lift by decile", "Distribution of clv by segment"] {
            #expect(report.contains("<title>\(title)</title>"), "\(title)")
        }
        #expect(!report.contains("<script") && !report.contains("http:") && !report.contains("https:") && !report.contains("src="))
    }

    @Test func aFailedRunLeavesNoResultAndNoStagingDirectory() throws {
        let bad = directory + "/bad.txt"
        try " 00001 0001 19970101  1   11.77\n 00002 0002 19971341  1   12.00\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let output = directory + "/result"
        #expect {
            try Pipeline.run(job: try job(log: bad), output: output, clienteleVersion: "test")
        } throws: { error in
            "\(error)" == "read: \(bad):2: column \"3\": \"19971341\" is not a yyyyMMdd date"
        }
        #expect(names(directory) == ["bad.txt"])

        // The output's parent is a file: nothing can be staged, and nothing is left.
        let file = directory + "/file"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: ResultDirectory.WriteError.self) {
            try Pipeline.run(job: try job(), output: file + "/result", clienteleVersion: "test")
        }
        #expect(names(directory) == ["bad.txt", "file"])

        // An existing result is never overwritten by `run`.
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false)
        #expect(throws: ResultDirectory.WriteError.self) {
            try Pipeline.run(job: try job(), output: output, clienteleVersion: "test")
        }
    }

    /// Replacing (the demo's) replaces an earlier result whole and leaves nothing beside it,
    /// but refuses a directory that is not a result, before any work and without touching it;
    /// a missing parent directory is named as the user gave it.
    @Test func replacingReplacesOnlyAnEarlierResult() throws {
        let output = directory + "/result"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false)
        try "my notes\n".write(toFile: output + "/notes.txt", atomically: true, encoding: .utf8)
        #expect {
            try Pipeline.run(job: try job(), output: output, replacing: true, clienteleVersion: "test")
        } throws: { error in
            "\(error)" == "\(output): exists and is not a Clientele result directory (one holds job.json, profiles.json, assignments.csv), so it is not replaced; choose another output or remove it"
        }
        #expect(try names(output) == ["notes.txt"] && read(output + "/notes.txt") == "my notes\n")
        #expect(names(directory) == ["result"])

        try FileManager.default.removeItem(atPath: output)
        _ = try Pipeline.run(job: try job(), output: output, clienteleVersion: "test")
        let first = try read(output + "/assignments.csv")
        try "a note added later\n".write(toFile: output + "/notes.txt", atomically: true, encoding: .utf8)
        _ = try Pipeline.run(job: try job(segmentation: #"{"k": 2, "nInit": 4}"#), output: output, replacing: true, clienteleVersion: "test")
        #expect(!names(output).contains("notes.txt") && names(output).contains("report.html"))
        #expect(try read(output + "/assignments.csv") != first)
        #expect(names(directory) == ["result"])

        #expect {
            try Pipeline.run(job: try job(), output: directory + "/missing/result", clienteleVersion: "test")
        } throws: { error in
            "\(error)" == "\(directory)/missing: no such directory, so the result directory cannot be made in it; create it first"
        }
        #expect(names(directory) == ["result"])
    }

    /// A calibration end on the log's last day, the observation end the job leaves to it,
    /// leaves no holdout: refused as such once the log is read, not by the churn model.
    @Test func aCalibrationEndOnTheDefaultObservationEndIsRefused() throws {
        let text = """
            {"name": "no-holdout",
             "transactions": {"path": "\(Self.sample)", "delimiter": "whitespace", "header": false,
                              "customer": 1, "date": 3, "amount": 5, "dateFormat": "yyyyMMdd"},
             "period": {"unit": "weeks", "calibrationEnd": "1998-06-30"}}
            """
        let job = try JobValidation.validate(bytes: Array(text.utf8), source: directory + "/job.json")
        #expect {
            try Pipeline.run(job: job, output: directory + "/result", clienteleVersion: "test")
        } throws: { error in
            "\(error)" == "summarize: period.calibrationEnd (1998-06-30) must fall in an earlier day than the observation end (1998-06-30: period.observationEnd, or the log's last day when the job gives none), or the holdout window is empty"
        }
        #expect(names(directory).isEmpty)
    }

    /// The churn model runs beside segmentation; its failure still fails the run, names its
    /// stage and leaves nothing behind. In a one-day holdout two customers of the sample buy,
    /// too few for 5-fold cross-validation.
    @Test func aChurnFailureBesideSegmentationFailsTheRun() throws {
        let text = """
            {"name": "no-holdout-buyers",
             "transactions": {"path": "\(Self.sample)", "delimiter": "whitespace", "header": false,
                              "customer": 1, "date": 3, "amount": 5, "dateFormat": "yyyyMMdd"},
             "period": {"unit": "weeks", "calibrationEnd": "1998-06-29", "observationEnd": "1998-06-30"},
             "segmentation": {"k": 3}}
            """
        let job = try JobValidation.validate(bytes: Array(text.utf8), source: directory + "/job.json")
        #expect {
            try Pipeline.run(job: job, output: directory + "/result", clienteleVersion: "test")
        } throws: { error in
            (error as? PipelineError)?.stage == "churn model" && "\(error)".hasSuffix("needs at least 2 folds and 5 customers of each class (2355 churned, 2 retained)")
        }
        #expect(names(directory).isEmpty)
    }

    /// The report is written beside the other files. Its failure fails the run under its own
    /// stage once the other files are written; a failure of the other files is the one
    /// reported, and only after the report has finished, so that nothing writes into the
    /// directory once the run has thrown.
    @Test func aFailureWhileTheReportIsWrittenBesideTheOtherFilesSurfaces() throws {
        let job = try job()
        let reportFails = directory + "/report-fails"
        try FileManager.default.createDirectory(atPath: reportFails + "/report.html", withIntermediateDirectories: true)
        #expect {
            try Pipeline.run(job: job, into: reportFails, clienteleVersion: "test")
        } throws: { error in
            (error as? PipelineError)?.stage == "report" && "\(error)".contains("report.html")
        }
        // A failed run's log.txt says what ran and how it failed (the queue keeps it in failed/).
        #expect(names(reportFails) == ["assignments.csv", "job.json", "log.txt", "models", "profiles.csv", "profiles.json", "report.html"])
        let failedLog = try read(reportFails + "/log.txt")
        #expect(failedLog.contains("[read] ") && failedLog.contains("\nfailed: report: "), "\(failedLog)")

        let writeFails = directory + "/write-fails"
        try FileManager.default.createDirectory(atPath: writeFails + "/job.json", withIntermediateDirectories: true)
        #expect {
            try Pipeline.run(job: job, into: writeFails, clienteleVersion: "test")
        } throws: { error in
            (error as? PipelineError)?.stage == "write" && "\(error)".contains("job.json")
        }
        #expect(names(writeFails) == ["job.json", "log.txt", "report.html"])
        #expect(try read(writeFails + "/report.html").hasSuffix("</html>\n"))
    }

    @Test func rfmSegmentsAndNoChurnWithoutAHoldout() throws {
        let text = """
            {"name": "rfm", "transactions": {"path": "\(Self.sample)", "delimiter": "whitespace", "header": false,
                                             "customer": 1, "date": 3, "amount": 5},
             "period": {"unit": "weeks"},
             "segmentation": {"method": "rfm", "features": ["recency", "frequency", "monetary_value"]}}
            """
        let job = try JobValidation.validate(bytes: Array(text.utf8), source: directory + "/rfm.json")
        let outcome = try Pipeline.run(job: job, output: directory + "/rfm", clienteleVersion: "test")
        #expect(outcome.labels.contains("Champions") && outcome.labels.contains("Lost"))
        #expect(Set(outcome.labels).count == outcome.labels.count)
        let log = try read(directory + "/rfm/log.txt")
        #expect(!log.contains("churn"))
        // A job built in code (validation refuses it in a file) that asks for the churn model
        // without a calibration end fails before any work and leaves no result.
        var asking = job
        asking.models.churn = .logistic
        do {
            _ = try Pipeline.run(job: asking, output: directory + "/asking", clienteleVersion: "test")
            Issue.record("expected the run to be refused")
        } catch {
            #expect("\(error)" == #"churn model: models.churn "logistic" needs period.calibrationEnd: its labels are purchases in the holdout window after it"#)
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/asking"))
        let rows = try read(directory + "/rfm/assignments.csv").split(separator: "\n")
        #expect(rows.dropFirst().allSatisfy { $0.split(separator: ",")[9] == "nan" })
        #expect(names(directory + "/rfm/models") == ["bgnbd.json", "gamma-gamma.json"])
    }
}
