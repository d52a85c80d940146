import Foundation
import LinearAlgebra
import Testing

/// The command-line tool as a user meets it: exit status, one clear line on standard error,
/// and output files that appear whole or not at all.
@Suite struct CommandLineTests {
    struct Outcome {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// The `clientele` binary built beside this test bundle.
    static let binary: URL = {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("clientele")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        return executable
    }()

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs the binary with `arguments`; `environment`, when given, replaces the test's own.
    func run(_ arguments: [String], environment: [String: String]? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.currentDirectoryURL = Self.repositoryRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus,
                       standardOutput: String(decoding: outData, as: UTF8.self),
                       standardError: String(decoding: errData, as: UTF8.self))
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func summarizeWritesTheCDNOWCalibrationSummary() throws {
        let output = try temporaryDirectory().appendingPathComponent("summary.csv")
        let outcome = try run(["summarize", "datasets/cdnow/CDNOW_master.txt", "--delimiter", "whitespace",
                               "--amount-column", "dollar_value", "--unit", "weeks", "--calibration-end", "1997-09-30",
                               "--observation-end", "1998-06-30", "--output", output.path])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.hasPrefix("23570 customers from 69659 transactions"))
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 23_571)
        #expect(lines[0] == "customer_id,frequency,recency,T,monetary_value,frequency_holdout,monetary_value_holdout,duration_holdout")
        #expect(lines[1].hasPrefix("00001,0,0.0,"))
    }

    /// `--output /dev/stdout` writes to the command's standard output as it is: into a pipe,
    /// and appended to a file the shell opened for appending, never replacing that file.
    @Test func outputToStandardOutputGoesWhereItLeads() throws {
        let directory = try temporaryDirectory()
        let log = directory.appendingPathComponent("tx.csv").path
        try "customer_id,date,amount\n1,2024-01-01,5\n1,2024-02-01,7\n".write(toFile: log, atomically: true, encoding: .utf8)
        let arguments = ["summarize", log, "--output", "/dev/stdout"]
        let piped = try run(arguments)
        #expect(piped.status == 0, "\(piped.standardError)")
        // The file alone: the command's report goes to standard error when its output is
        // standard output.
        #expect(piped.standardOutput == "customer_id,frequency,recency,T\n1,1,31.0,31.0\n", "\(piped.standardOutput)")
        #expect(piped.standardError.hasPrefix("1 customers from 2 transactions ") && piped.standardError.hasSuffix(" → /dev/stdout\n"))
        let huge = try run(["simulate", "--customers", "10000000000", "--output", "/dev/null"])
        #expect(huge.status == 64 && huge.standardError.hasPrefix("Error: --customers must be from 1 to 50000000"))
        // A negative number is the option's value, not another option: it gets the range.
        let negative = try run(["simulate", "--customers", "-1", "--output", "/dev/null"])
        #expect(negative.status == 64 && negative.standardError.hasPrefix("Error: --customers must be from 1 to 50000000"))
        let negativeWait = try run(["worker", "--queue", "/nonexistent", "--poll-interval", "-2"])
        #expect(negativeWait.status == 64 && negativeWait.standardError.hasPrefix("Error: --poll-interval must be a positive number of seconds"),
                "\(negativeWait.standardError)")
        let negativeTolerance = try run(["cluster", "/nonexistent.csv", "--k", "3", "--tolerance", "-1", "--output", "/dev/null"])
        #expect(negativeTolerance.status == 64 && negativeTolerance.standardError.hasPrefix("Error: --tolerance must be a number ≥ 0"),
                "\(negativeTolerance.standardError)")
        let negativeK = try run(["cluster", "/nonexistent.csv", "--k", "-3", "--output", "/dev/null"])
        #expect(negativeK.status == 64 && negativeK.standardError.hasPrefix("Error: --k must be a whole number ≥ 1 or auto, got \"-3\""),
                "\(negativeK.standardError)")
        let negativeSpend = try run(["churn", "/nonexistent.csv", "--holdout-spend-below", "-5", "--output", "/dev/null"])
        #expect(negativeSpend.status == 64 && negativeSpend.standardError.hasPrefix("Error: --holdout-spend-below must be a number above 0 (got -5.0)"),
                "\(negativeSpend.standardError)")
        let scores = try run(["simulate", "--customers", "3", "--seed", "1", "--output", "/dev/fd/1"])
        #expect(scores.status == 0 && scores.standardOutput.hasPrefix("customer_id,date,amount\n") && !scores.standardOutput.contains("→"))
        #expect(scores.standardError.contains("3 customers, ") && scores.standardError.hasSuffix(" → /dev/fd/1\n"))

        let appended = directory.appendingPathComponent("all.log").path
        try "an earlier line\n".write(toFile: appended, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        let handle = try #require(FileHandle(forWritingAtPath: appended))
        try handle.seekToEnd()
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try handle.close()
        #expect(process.terminationStatus == 0)
        let text = try String(contentsOfFile: appended, encoding: .utf8)
        #expect(text == "an earlier line\ncustomer_id,frequency,recency,T\n1,1,31.0,31.0\n", "\(text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["all.log", "tx.csv"])
    }

    /// A fresh directory with the log `tx.csv` holding `text` and an earlier `summary.csv`
    /// holding "previous result", for a run that must leave it intact.
    func logBesideAnEarlierOutput(_ text: String) throws -> (directory: URL, log: URL, output: URL) {
        let directory = try temporaryDirectory()
        let log = directory.appendingPathComponent("tx.csv")
        try text.write(to: log, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("summary.csv")
        try "previous result\n".write(to: output, atomically: true, encoding: .utf8)
        return (directory, log, output)
    }

    @Test func badInputFailsWithOneLineAndLeavesTheOldOutputIntact() throws {
        let (directory, log, output) = try logBesideAnEarlierOutput("customer_id,date,amount\n1,2024-01-01,5\n1,2024-13-01,5\n")
        let outcome = try run(["summarize", log.path, "--amount-column", "amount", "--output", output.path])
        #expect(outcome.status != 0)
        #expect(outcome.standardError == "Error: \(log.path):3: column \"date\": \"2024-13-01\" is not a yyyy-MM-dd date\n")
        #expect(try String(contentsOf: output, encoding: .utf8) == "previous result\n")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(leftovers == ["summary.csv", "tx.csv"])
    }

    @Test func skippedRowsAreCountedOnStandardError() throws {
        let directory = try temporaryDirectory()
        let log = directory.appendingPathComponent("tx.csv")
        try "customer_id,date,amount\n1,2024-01-01,5\n1,2024-01-02,x\n2,2024-01-03,1\n".write(to: log, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("summary.csv")
        let outcome = try run(["summarize", log.path, "--amount-column", "amount", "--on-bad-row", "skip", "--output", output.path])
        #expect(outcome.status == 0)
        #expect(outcome.standardError.contains("skipped 1 bad rows; the first 1:\n  \(log.path):3: column \"amount\": \"x\" is not a number"))
        #expect(FileManager.default.fileExists(atPath: output.path))
    }

    @Test func invalidOptionsSayWhatToTypeInstead() throws {
        let outcome = try run(["summarize", "x.csv", "--delimiter", "pipe", "--output", "/tmp/never.csv"])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("--delimiter must be one of: , tab ; whitespace (got \"pipe\")"))
    }

    /// A calibration end with no period after it up to the observation end leaves an empty
    /// holdout: refused before the log is read when both dates are given, once it is read
    /// when the observation end is the log's last day; the earlier output stays.
    @Test func anEmptyHoldoutWindowIsRefused() throws {
        let (_, log, output) = try logBesideAnEarlierOutput("customer_id,date,amount\n1,2024-01-01,5\n1,2024-01-09,2\n2,2024-01-12,1\n")
        let sameWeek = try run(["summarize", log.path, "--period", "week", "--calibration-end", "2024-01-09",
                                "--observation-end", "2024-01-12", "--output", output.path])
        #expect(sameWeek.status != 0)
        #expect(sameWeek.standardError.contains(
            "--calibration-end must fall in an earlier week than --observation-end (2024-01-12), or the holdout window is empty (got \"2024-01-09\")"))
        let lastDay = try run(["summarize", log.path, "--amount-column", "amount", "--calibration-end", "2024-01-12", "--output", output.path])
        #expect(lastDay.status != 0)
        #expect(lastDay.standardError == "Error: the calibration end 2024-01-12 must fall in an earlier day than the log's last day, 2024-01-12; the holdout window would be empty\n")
        #expect(try String(contentsOf: output, encoding: .utf8) == "previous result\n")
    }

    @Test func doctorNamesTheLoadedBLAS() throws {
        let outcome = try run(["doctor"])
        #expect(outcome.status == 0)
        let lines = outcome.standardOutput.split(separator: "\n")
        #expect(lines.first?.hasPrefix("clientele ") == true)
        #expect(lines.contains { $0.hasPrefix("BLAS: OpenBLAS") || $0.hasPrefix("BLAS: reference BLAS") })
        #expect(lines.contains { $0.hasPrefix("LAPACK: /") })
        #expect(try run(["--version"]).standardOutput == "0.1.0\n")
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        #expect(lines.contains { $0.hasPrefix("cores: \(online) online, ") }, "\(lines)")
    }

    /// `doctor` tells the cores the process may run on from the machine's: under `taskset -c 0`, one.
    @Test func doctorCountsTheCoresTheProcessMayRunOn() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        // util-linux, which has taskset, is part of every Debian system.
        try #require(FileManager.default.isExecutableFile(atPath: process.executableURL!.path))
        process.arguments = ["-c", "0", Self.binary.path, "doctor"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains("\ncores: \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) online, 1 this process may run on\n"), "\(text)")
    }

    /// OpenBLAS keeps each call on its caller's thread, unless the environment says otherwise.
    @Test func openBLASRunsEachCallOnItsCallersThreadUnlessTold() throws {
        var environment = ProcessInfo.processInfo.environment
        for name in BLASLibrary.threadVariables { environment[name] = nil }
        let blasLine = { (outcome: Outcome) in outcome.standardOutput.split(separator: "\n").first { $0.hasPrefix("BLAS: ") } ?? "" }
        let chosen = blasLine(try run(["doctor"], environment: environment))
        guard chosen.hasPrefix("BLAS: OpenBLAS") else {
            #expect(chosen.hasPrefix("BLAS: reference BLAS") && !chosen.contains("thread"))
            return
        }
        // The helper threads OpenBLAS's pthreads build started as it loaded are stopped, as no
        // call hands them work (a serial or OpenMP build has no such pool to stop).
        let one = BLASLibrary.helperThreadsRunning == nil ? "(1 thread per call)" : "(1 thread per call, no helper threads)"
        #expect(chosen.contains(one))
        // OpenBLAS takes an empty variable or 0 as unset, so Clientele does too.
        for unset in ["", "0"] {
            environment["OPENBLAS_NUM_THREADS"] = unset
            #expect(blasLine(try run(["doctor"], environment: environment)).contains(one))
        }
        // A count is OpenBLAS's to apply, which caps it at the cores it may use; its threads stay.
        environment["OPENBLAS_NUM_THREADS"] = "2"
        let two = min(2, ProcessInfo.processInfo.activeProcessorCount)
        #expect(blasLine(try run(["doctor"], environment: environment)).contains("(\(two) thread\(two == 1 ? "" : "s") per call)"))
        #expect(BLASLibrary.requestedThreads(["GOTO_NUM_THREADS": " 3", "OMP_NUM_THREADS": "4"]) == 3)
        #expect(BLASLibrary.requestedThreads(["OPENBLAS_NUM_THREADS": "0", "OMP_NUM_THREADS": "4x"]) == 4)
        #expect(BLASLibrary.requestedThreads(["OPENBLAS_NUM_THREADS": "", "OMP_NUM_THREADS": "-1"]) == nil)
    }

    /// summarize → fit → predict on the CDNOW sample, the paper's estimates in the model file.
    @Test func fitAndPredictTheCDNOWSample() throws {
        let directory = try temporaryDirectory()
        let summary = directory.appendingPathComponent("summary.csv").path
        #expect(try run(["summarize", "datasets/cdnow/CDNOW_sample.txt", "--no-header", "--delimiter", "whitespace",
                         "--customer-column", "1", "--date-column", "3", "--amount-column", "5", "--unit", "weeks",
                         "--calibration-end", "1997-09-30", "--observation-end", "1998-06-30", "--output", summary]).status == 0)
        let bgnbd = directory.appendingPathComponent("bgnbd.json").path
        let gg = directory.appendingPathComponent("gg.json").path
        let fit = try run(["fit", "bgnbd", summary, "--unit", "weeks", "--output", bgnbd])
        #expect(fit.status == 0, "\(fit.standardError)")
        #expect(try run(["fit", "gamma-gamma", summary, "--unit", "weeks", "--output", gg]).status == 0)
        // A penalised fit says so in its file; an unpenalised one has no penalty key at all.
        let penalised = directory.appendingPathComponent("penalised.json").path
        #expect(try run(["fit", "bgnbd", summary, "--unit", "weeks", "--penalty", "0.1", "--output", penalised]).status == 0)
        #expect(try String(contentsOfFile: penalised, encoding: .utf8).contains("\n  \"penalty\" : 0.1,\n"))
        #expect(try !String(contentsOfFile: bgnbd, encoding: .utf8).contains("\"penalty\""))
        // Given two model files, a refusal names the one that is wrong.
        let swapped = directory.appendingPathComponent("swapped.csv").path
        let spendAsPurchases = try run(["predict", gg, summary, "--unit", "weeks", "--horizon", "52", "--output", swapped])
        #expect(spendAsPurchases.status == 1 && spendAsPurchases.standardError.hasPrefix("Error: \(gg): invalid model file: \"gamma-gamma\" is not a purchase model"),
                "\(spendAsPurchases.standardError)")
        let purchasesAsSpend = try run(["predict", bgnbd, summary, "--unit", "weeks", "--horizon", "52", "--spend-model", bgnbd, "--output", swapped])
        #expect(purchasesAsSpend.status == 1 && purchasesAsSpend.standardError.hasPrefix("Error: \(bgnbd): invalid model file: \"bgnbd\" is not a spend model"),
                "\(purchasesAsSpend.standardError)")
        #expect(!FileManager.default.fileExists(atPath: swapped))
        let model = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bgnbd))) as! [String: Any]
        let parameters = model["parameters"] as! [String: Double]
        #expect(abs(parameters["r"]! - 0.2426) < 0.0005 && abs(parameters["b"]! - 2.4258) < 0.005)
        #expect(model["timeUnit"] as? String == "weeks" && model["customers"] as? Int == 2357)
        #expect(model["formatVersion"] as? Int == 1)
        // The summary's fingerprint as an independent implementation of its layout computes it.
        let fingerprints = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(
            fileURLWithPath: Self.repositoryRoot.path + "/Tests/TransactionsTests/Fixtures/fingerprints.json"))) as! [String: Any]
        let expected = (fingerprints["cdnow_sample_calibration_weeks"] as! [String: Any])["fingerprint"] as! String
        #expect(model["dataFingerprint"] as? String == expected)
        // The spend model is fitted on the repeat buyers with positive spend, and counts them.
        let rows = try String(contentsOfFile: summary, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",") }
        let repeatBuyers = rows.filter { Double($0[1])! > 0 && Double($0[4])! > 0 }.count
        let spendModel = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: gg))) as! [String: Any]
        #expect(repeatBuyers < 2357 && spendModel["customers"] as? Int == repeatBuyers)

        let predictions = directory.appendingPathComponent("predictions.csv").path
        let predict = try run(["predict", bgnbd, summary, "--unit", "weeks", "--horizon", "39", "--spend-model", gg, "--output", predictions])
        #expect(predict.status == 0, "\(predict.standardError)")
        let lines = try String(contentsOfFile: predictions, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2358)
        #expect(lines[0] == "customer_id,expected_purchases,p_alive,p_alive_at_horizon,expected_spend,clv")
        #expect(lines[1].hasPrefix("00004,1.22"))

        // A spend model whose q leaves the expected spend of one-time buyers infinite (heavy
        // tails fit so) is refused, where its formula used to give them a negative spend and CLV.
        let heavy = directory.appendingPathComponent("heavy-gg.json").path
        let edited = try String(contentsOfFile: gg, encoding: .utf8)
            .replacing(#/"q" : [0-9.e+-]+/#, with: "\"q\" : 0.8249")
        try edited.write(toFile: heavy, atomically: true, encoding: .utf8)
        let heavyOutput = directory.appendingPathComponent("heavy.csv").path
        let infinite = try run(["predict", bgnbd, summary, "--unit", "weeks", "--horizon", "39", "--spend-model", heavy, "--output", heavyOutput])
        #expect(infinite.status == 1)
        #expect(infinite.standardError.contains(": the spend model's q = 0.8249 is too small for a customer with 0 repeat purchases (p·x + q = 0.8249 ≤ 1)"),
                "\(infinite.standardError)")
        #expect(!FileManager.default.fileExists(atPath: heavyOutput))

        let wrongUnit = try run(["predict", bgnbd, summary, "--horizon", "39", "--output", predictions])
        #expect(wrongUnit.status != 0)
        #expect(wrongUnit.standardError == "Error: \(bgnbd) was fitted in weeks but the summary is in days (--unit): rescale the summary or refit\n")

        var future = try String(contentsOfFile: bgnbd, encoding: .utf8)
        future = future.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 2")
        let futureModel = directory.appendingPathComponent("future.json").path
        try future.write(toFile: futureModel, atomically: true, encoding: .utf8)
        let refused = try run(["predict", futureModel, summary, "--unit", "weeks", "--horizon", "39", "--output", predictions])
        #expect(refused.standardError == "Error: invalid model file: \(futureModel) has format version 2; this Clientele reads version 1\n")
    }

    /// An output that is one of the inputs (the same file by another path or a link) is
    /// refused before anything is read or written: it used to replace the input.
    @Test func anOutputThatIsAnInputIsRefusedAndTheInputKept() throws {
        let directory = try temporaryDirectory()
        let log = directory.appendingPathComponent("log.csv").path
        try "customer_id,date,amount\nA,2024-01-01,5\nA,2024-01-09,7\nB,2024-01-03,4\n".write(toFile: log, atomically: true, encoding: .utf8)
        let link = directory.appendingPathComponent("link.csv").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: log)
        let before = try Data(contentsOf: URL(fileURLWithPath: log))
        for output in [log, link, directory.path + "/./log.csv"] {
            let refused = try run(["summarize", log, "--amount-column", "amount", "--output", output])
            #expect(refused.status == 1)
            #expect(refused.standardError == "Error: \(output) is also an input (\(log)); give the output a file of its own\n")
        }
        let summary = directory.appendingPathComponent("summary.csv").path
        #expect(try run(["summarize", log, "--amount-column", "amount", "--output", summary]).status == 0)
        let refit = try run(["fit", "bgnbd", summary, "--output", summary])
        #expect(refit.standardError.hasSuffix("is also an input (\(summary)); give the output a file of its own\n"))
        let churn = try run(["cluster", summary, "--k", "2", "--output", directory.appendingPathComponent("a.csv").path, "--profiles", summary])
        #expect(churn.status == 1 && churn.standardError.contains("is also an input"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: log)) == before)
        #expect(try String(contentsOfFile: summary, encoding: .utf8).hasPrefix("customer_id,frequency,recency,T,monetary_value\n"))
    }

    /// A header that names two columns alike is refused at line 1 by every reader of
    /// headered files: `cluster` counted the feature twice, and `fit` took the first `T`.
    @Test func aHeaderNamingTwoColumnsAlikeIsRefused() throws {
        let directory = try temporaryDirectory()
        let features = directory.appendingPathComponent("f.csv").path
        try "customer_id,x,x\nA,1,1\nB,2,2\nC,9,9\n".write(toFile: features, atomically: true, encoding: .utf8)
        let cluster = try run(["cluster", features, "--k", "2", "--output", directory.appendingPathComponent("a.csv").path])
        #expect(cluster.status == 1)
        #expect(cluster.standardError == "Error: \(features):1: column \"x\": the header names columns 2 and 3 alike: give each column a name of its own\n")
        let summary = directory.appendingPathComponent("s.csv").path
        try "customer_id,frequency,recency,T,T\n1,2,5,9,9\n2,0,0,9,9\n".write(toFile: summary, atomically: true, encoding: .utf8)
        let fit = try run(["fit", "bgnbd", summary, "--output", directory.appendingPathComponent("m.json").path])
        #expect(fit.status == 1 && fit.standardError.hasSuffix(":1: column \"T\": the header names columns 4 and 5 alike: give each column a name of its own\n"))
    }

    /// An empty output path is usage (64), refused before any work, for every output option;
    /// a feature file with one customer twice is refused where the second row is.
    @Test func emptyOutputPathsAndRepeatedKeysAreRefused() throws {
        let directory = try temporaryDirectory()
        let features = directory.appendingPathComponent("f.csv").path
        try "customer_id,x\nA,1\nB,2\nA,3\nC,4\n".write(toFile: features, atomically: true, encoding: .utf8)
        let assignments = directory.appendingPathComponent("a.csv").path
        for (arguments, option) in [(["cluster", features, "--k", "2", "--output", ""], "--output"),
                                    (["cluster", features, "--k", "2", "--output", assignments, "--profiles", ""], "--profiles"),
                                    (["summarize", features, "--output", ""], "--output")] {
            let refused = try run(arguments)
            #expect(refused.status == 64 && refused.standardError.hasPrefix("Error: \(option) must name a file, got an empty path\nUsage: clientele "),
                    "\(refused.standardError)")
        }
        let repeated = try run(["cluster", features, "--k", "2", "--output", assignments])
        #expect(repeated.status == 1)
        #expect(repeated.standardError == "Error: \(features):4: column \"customer_id\": \"A\" already has a row on line 2\n")
        #expect(!FileManager.default.fileExists(atPath: assignments))
    }

    @Test func fitRefusesUnknownModelsAndBadSummaries() throws {
        let unknown = try run(["fit", "pareto-nbd-x", "s.csv", "--output", "/tmp/never.json"])
        #expect(unknown.status != 0)
        #expect(unknown.standardError.contains("unknown model \"pareto-nbd-x\"; available: bgnbd, mbgnbd, pareto-nbd, bgbb, gamma-gamma, sbg"))
        let directory = try temporaryDirectory()
        let summary = directory.appendingPathComponent("s.csv")
        try "customer_id,frequency,recency,T\n1,2,5,4\n".write(to: summary, atomically: true, encoding: .utf8)
        let bad = try run(["fit", "bgnbd", summary.path, "--output", directory.appendingPathComponent("m.json").path])
        #expect(bad.standardError == "Error: \(summary.path):2: customer \"1\": recency 5.0 and T 4.0: need 0 ≤ recency ≤ T\n")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("m.json").path))

        // One customer cannot identify a model: refused with the reason, nothing written.
        let one = directory.appendingPathComponent("one.csv")
        try "customer_id,frequency,recency,T,monetary_value\nA,2,5,10,3\n".write(to: one, atomically: true, encoding: .utf8)
        for model in ["bgnbd", "mbgnbd", "pareto-nbd", "bgbb", "gamma-gamma"] {
            let outcome = try run(["fit", model, one.path, "--output", directory.appendingPathComponent("m.json").path])
            #expect(outcome.status != 0 && outcome.standardError.hasPrefix("Error: "), "\(model)")
            #expect(!outcome.standardError.contains("EncodingError"), "\(model): \(outcome.standardError)")
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("m.json").path), "\(model)")
        }
        // Which symptom shows (unbounded intervals, or a Hessian that is not positive definite)
        // depends on the last bits of the BLAS kernels the processor gets; the verdict does not.
        let bgnbd = try run(["fit", "bgnbd", one.path, "--output", directory.appendingPathComponent("m.json").path])
        #expect(bgnbd.standardError.hasPrefix("Error: the fit did not converge: the "), "\(bgnbd.standardError)")
        #expect(bgnbd.standardError.hasSuffix(": the parameters are not identified by the data\n"), "\(bgnbd.standardError)")
        #expect(bgnbd.standardError.contains("the 95% intervals at the estimate are unbounded")
                || bgnbd.standardError.contains("the Hessian at the estimate is not positive definite"), "\(bgnbd.standardError)")
    }

    /// BG/BB on the grouped donations file and Pareto/NBD on the CDNOW sample, then scoring
    /// with P(n purchases) and P(alive) at the horizon.
    @Test func fitAndPredictBGBBAndParetoNBD() throws {
        let directory = try temporaryDirectory()
        let bgbb = directory.appendingPathComponent("bgbb.json").path
        let fit = try run(["fit", "bgbb", "datasets/donations/donations.csv", "--output", bgbb])
        #expect(fit.status == 0, "\(fit.standardError)")
        #expect(fit.standardOutput.contains("11104 customers"))
        let model = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bgbb))) as! [String: Any]
        #expect(abs((model["parameters"] as! [String: Double])["gamma"]! - 0.657) < 0.001 && model["timeUnit"] as? String == "periods")
        let predictions = directory.appendingPathComponent("bgbb.csv").path
        let predict = try run(["predict", bgbb, "datasets/donations/donations.csv", "--horizon", "5", "--purchase-probabilities", "5", "--output", predictions])
        #expect(predict.status == 0, "\(predict.standardError)")
        let rows = try String(contentsOfFile: predictions, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 23 && rows[0].hasSuffix("p_purchases_4,p_purchases_5") && rows[1].hasPrefix("1,"))
        // Each row's probabilities of 0…5 donations in 5 opportunities add up to one.
        for row in rows.dropFirst() {
            let values = row.split(separator: ",").dropFirst(4).compactMap { Double($0) }
            #expect(values.count == 6 && abs(values.reduce(0, +) - 1) < 1e-9)
        }

        let summary = directory.appendingPathComponent("summary.csv").path
        #expect(try run(["summarize", "datasets/cdnow/CDNOW_sample.txt", "--no-header", "--delimiter", "whitespace",
                         "--customer-column", "1", "--date-column", "3", "--amount-column", "5", "--unit", "weeks",
                         "--calibration-end", "1997-09-30", "--output", summary]).status == 0)
        let pnbd = directory.appendingPathComponent("pnbd.json").path
        let pnbdFit = try run(["fit", "pareto-nbd", summary, "--unit", "weeks", "--output", pnbd])
        #expect(pnbdFit.status == 0 && pnbdFit.standardOutput.contains("log-likelihood -9594.97"), "\(pnbdFit.standardOutput)")
        let scored = directory.appendingPathComponent("pnbd.csv").path
        #expect(try run(["predict", pnbd, summary, "--unit", "weeks", "--horizon", "52", "--discount-rate", "0.01", "--output", scored]).status == 0)
        let scoredRows = try String(contentsOfFile: scored, encoding: .utf8).split(separator: "\n")
        #expect(scoredRows[0] == "customer_id,expected_purchases,p_alive,p_alive_at_horizon,dert")
        // The whole remaining lifetime holds more purchases than the next year.
        for row in scoredRows.dropFirst() {
            let values = row.split(separator: ",").dropFirst().map { Double($0)! }
            #expect(values[3] > values[0] && values[1] >= values[2])
        }
    }

    /// `dert` for BG/NBD and BG/BB from the model files in models/, against mpmath's values
    /// (Tests/LifetimeValueTests/Fixtures/dert_cli_references.csv, make_dert_references.py): at
    /// 1% a month on a summary in weeks, ln(1.01)/4.345 per week; at 10% per opportunity for
    /// BG/BB. MBG/NBD is fitted here; for every model and customer the discounted purchases
    /// over the whole lifetime are at least those of the horizon discounted at its end.
    /// With a thousand counts a row is some 20 kB and `predict` writes 1,988 customers a block:
    /// CDNOW's 2,357 then take two blocks, which must read as one file, the header once, every
    /// customer once and in order, each row as a one-block run gives it.
    /// A date beyond the range of a log's dates is refused as an option, as in a job file.
    @Test func summarizeRefusesAnObservationEndBeyondTheSupportedDates() throws {
        let output = try temporaryDirectory().appendingPathComponent("s.csv").path
        let outcome = try run(["summarize", "datasets/cdnow/CDNOW_sample.txt", "--delimiter", "whitespace", "--no-header",
                               "--customer-column", "1", "--date-column", "3", "--observation-end", "2500-01-01", "--output", output])
        #expect(outcome.status == 64)
        #expect(outcome.standardError.contains("--observation-end must be within 1900-01-01…2199-12-31, as a log's dates (got \"2500-01-01\")"))
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// Options that cannot work are usage errors (status 64) with what was wrong, before
    /// anything is created: an empty queue path, a result directory named `.`, a demo
    /// database that is not a SQLite file.
    @Test func unusableOptionsAreUsageErrors() throws {
        let directory = try temporaryDirectory()
        let status = try run(["status", "--queue", ""])
        #expect(status.status == 64 && status.standardError.hasPrefix("Error: --queue: expected the queue directory's path, got an empty one\n"))
        let output = directory.appendingPathComponent("new").path + "/."
        let dot = try run(["run", "datasets/cdnow/cdnow-demo-job.json", "--output", output])
        #expect(dot.status == 64 && dot.standardError.hasPrefix("Error: --output must name the result directory itself (as results/cdnow), got \"\(output)\"\n"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("new").path))
        let demo = try run(["demo", "--database", "postgres://crm@127.0.0.1/crm", "--output", directory.appendingPathComponent("d").path])
        #expect(demo.status == 64 && demo.standardError.hasPrefix("Error: --database: the demo loads into a SQLite file"))
    }

    /// Periods and a unit that do not fit together are a usage error, found before any log
    /// is read (the log here does not even exist).
    @Test func summarizeRefusesAPeriodItsUnitCannotMeasureBeforeReading() throws {
        let output = try temporaryDirectory().appendingPathComponent("s.csv").path
        for (period, unit, reason) in [("week", "months", "the unit months needs monthly periods: a week is not a fixed fraction of a month"),
                                       ("month", "days", "monthly periods are measured in months: a month has no fixed length in days; use the unit months")] {
            let outcome = try run(["summarize", "no-such-log.csv", "--period", period, "--unit", unit, "--output", output])
            #expect(outcome.status == 64)
            #expect(outcome.standardError.hasPrefix("Error: --period \(period) with --unit \(unit): \(reason)\n"))
            #expect(outcome.standardError.contains("Usage: clientele summarize"))
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func predictWrittenInBlocksReadsAsOneFile() throws {
        let directory = try temporaryDirectory()
        let cdnow = "datasets/cdnow/cdnow_customers_summary.csv"
        let many = directory.appendingPathComponent("many.csv").path, few = directory.appendingPathComponent("few.csv").path
        for (counts, output) in [("1000", many), ("3", few)] {
            let outcome = try run(["predict", "models/cdnow-sample-bgnbd.json", cdnow, "--unit", "weeks", "--horizon", "39",
                                   "--purchase-probabilities", counts, "--output", output])
            #expect(outcome.status == 0, "\(outcome.standardError)")
        }
        let manyRows = try String(contentsOfFile: many, encoding: .utf8).split(separator: "\n")
        let fewRows = try String(contentsOfFile: few, encoding: .utf8).split(separator: "\n")
        #expect(manyRows.count == 2358 && fewRows.count == 2358)
        #expect(manyRows.filter { $0.hasPrefix("customer_id,") }.count == 1)
        #expect(manyRows[0].split(separator: ",").count == 1005)
        for (a, b) in zip(manyRows.dropFirst(), fewRows.dropFirst()) {
            #expect(a.split(separator: ",").prefix(8) == b.split(separator: ",").prefix(8))
        }
    }

    /// Without purchase probabilities the scores are rendered a chunk of customers at a time
    /// on both cores; with them, a block at a time. The two give every shared column the same
    /// text, here over enough customers (150,000) for several rounds of chunks.
    @Test func predictRendersTheSameRowsInChunksAsInBlocks() throws {
        let directory = try temporaryDirectory()
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        #expect(try run(["simulate", "--customers", "150000", "--seed", "7", "--output", path("tx.csv")]).status == 0)
        #expect(try run(["summarize", path("tx.csv"), "--amount-column", "amount", "--date-format", "yyyy-MM-dd", "--unit", "weeks",
                         "--output", path("summary.csv")]).status == 0)
        #expect(try run(["fit", "bgnbd", path("summary.csv"), "--unit", "weeks", "--output", path("bgnbd.json")]).status == 0)
        #expect(try run(["fit", "gamma-gamma", path("summary.csv"), "--unit", "weeks", "--output", path("gg.json")]).status == 0)
        let common = ["predict", path("bgnbd.json"), path("summary.csv"), "--unit", "weeks", "--horizon", "52",
                      "--spend-model", path("gg.json"), "--discount-rate", "0.01"]
        #expect(try run(common + ["--output", path("chunks.csv")]).status == 0)
        #expect(try run(common + ["--purchase-probabilities", "0", "--output", path("blocks.csv")]).status == 0)
        let chunks = try String(contentsOfFile: path("chunks.csv"), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let blocks = try String(contentsOfFile: path("blocks.csv"), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(chunks.first == "customer_id,expected_purchases,p_alive,p_alive_at_horizon,expected_spend,clv,dert")
        #expect(chunks.count == 150_002 && blocks.count == chunks.count && chunks.last == "")
        // The blocks' rows carry P(0 purchases) after p_alive_at_horizon; without it, the same
        // text. (The first row that differs is named: a diff of 150,000 rows would take hours.)
        let differing = (1..<min(chunks.count, blocks.count)).first { row in
            var fields = blocks[row].split(separator: ",", omittingEmptySubsequences: false)
            if fields.count > 4 { fields.remove(at: 4) }
            return fields.joined(separator: ",") != chunks[row]
        }
        #expect(differing == nil, "row \(differing ?? 0): \(chunks[differing ?? 0]) against \(blocks[differing ?? 0])")
    }

    @Test func predictWritesDERTForEveryPurchaseModel() throws {
        let directory = try temporaryDirectory()
        let references = try String(contentsOfFile: "\(Self.repositoryRoot.path)/Tests/LifetimeValueTests/Fixtures/dert_cli_references.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        let cdnow = "datasets/cdnow/cdnow_customers_summary.csv", donations = "datasets/donations/donations.csv"
        let mbgnbd = directory.appendingPathComponent("mbgnbd.json").path
        #expect(try run(["fit", "mbgnbd", cdnow, "--unit", "weeks", "--output", mbgnbd]).status == 0)
        for (name, model, summary, rate, perStep, horizon) in [("bgnbd", "models/cdnow-sample-bgnbd.json", cdnow, "0.01", log(1.01) / 4.345, 39.0),
                                                                ("mbgnbd", mbgnbd, cdnow, "0.01", log(1.01) / 4.345, 39),
                                                                ("bgbb", "models/donations-bgbb.json", donations, "0.1", log(1.1), 5)] {
            let output = directory.appendingPathComponent("predictions.csv").path
            let outcome = try run(["predict", model, summary, "--unit", "weeks", "--horizon", "\(horizon)", "--discount-rate", rate,
                                   "--output", output].filter { summary == cdnow || ($0 != "--unit" && $0 != "weeks") })
            #expect(outcome.status == 0, "\(outcome.standardError)")
            let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
            #expect(rows[0] == ["customer_id", "expected_purchases", "p_alive", "p_alive_at_horizon", "dert"])
            var byCustomer: [String: Double] = [:]
            for row in rows.dropFirst() {
                let (expected, dert) = (Double(row[1])!, Double(row[4])!)
                #expect(dert.isFinite && dert >= exp(-perStep * horizon) * expected * (1 - 1e-9), "\(name) \(row)")
                byCustomer[row[0]] = dert
            }
            // The donations file has no customer_id: its rows are numbered, (0, 0, 6) first, (3, 5, 6) 15th, (6, 6, 6) last.
            let donationRows = ["0/0/6": "1", "3/5/6": "15", "6/6/6": "22"]
            for reference in references where reference[0] == name {
                let customer = name == "bgbb" ? donationRows[reference[1]]! : reference[1]
                let expected = Double(reference[5])!
                #expect(abs(byCustomer[customer]! - expected) < 1e-9 * expected, "\(reference): \(byCustomer[customer]!)")
            }
        }
        let zero = try run(["predict", "models/donations-bgbb.json", donations, "--horizon", "5", "--discount-rate", "0",
                            "--output", directory.appendingPathComponent("never.csv").path])
        #expect(zero.status != 0 && zero.standardError.contains("--discount-rate 0.0: dert"))
        // Rates near 0 are refused, not summed wrong (or trapped on, for BG/BB and sBG).
        let tiny = try run(["predict", "models/donations-bgbb.json", donations, "--horizon", "3", "--discount-rate", "1e-17",
                            "--output", directory.appendingPathComponent("never.csv").path])
        #expect(tiny.status == 64 && tiny.standardError.contains("--discount-rate 1e-17: dert discounts purchases over the whole remaining lifetime and needs a rate of at least 0.00001 per period"))
        // Daily opportunities at 3% a year: 0.000081 a period, above the least rate of a model in periods.
        let daily = directory.appendingPathComponent("daily.csv").path
        let yearly = try run(["predict", "models/donations-bgbb.json", donations, "--horizon", "3", "--discount-rate", "0.000081", "--output", daily])
        #expect(yearly.status == 0, "\(yearly.standardError)")
        let dert = try String(contentsOfFile: daily, encoding: .utf8).split(separator: "\n").dropFirst().map { Double($0.split(separator: ",").last!)! }
        #expect(dert.count == 22 && dert.allSatisfy { $0.isFinite && $0 > 0 })
        let monthly = try run(["predict", "models/cdnow-sample-bgnbd.json", cdnow, "--unit", "weeks", "--horizon", "3", "--discount-rate", "0.00005",
                               "--output", directory.appendingPathComponent("never.csv").path])
        #expect(monthly.status == 64 && monthly.standardError.contains("needs a rate of at least 0.0001 per month"))
        let tinyCohort = try run(["predict", "models/retention-regular-sbg.json", "--horizon", "3", "--discount-rate", "1e-16",
                                  "--output", directory.appendingPathComponent("never.csv").path])
        #expect(tinyCohort.status == 64 && tinyCohort.standardError.contains("derl discounts purchases"))
        // Horizons are bounded as a job's are: ten years in the model's unit, 10,000 periods.
        let never = directory.appendingPathComponent("never.csv").path
        let decades = try run(["predict", "models/cdnow-sample-bgnbd.json", cdnow, "--unit", "weeks", "--horizon", "600", "--output", never])
        #expect(decades.status != 0 && decades.standardError.contains("--horizon must be at most ten years (522 weeks), got 600.0"))
        // Refused once the model's unit is read, it is still predict's usage that follows.
        #expect(decades.status == 64 && decades.standardError.contains("\nUsage: clientele predict <model> [<summary>]")
                && decades.standardError.hasSuffix("  See 'clientele predict --help' for more information.\n"), "\(decades.standardError)")
        let opportunities = try run(["predict", "models/donations-bgbb.json", donations, "--horizon", "1e30", "--output", never])
        #expect(opportunities.status != 0 && opportunities.standardError.contains("--horizon must be at most 10000 periods, got 1e+30"))
        // Discrete models count whole periods, and score only histories they could have fitted.
        let between = try run(["predict", "models/donations-bgbb.json", donations, "--horizon", "2.5", "--output", never])
        #expect(between.status == 64 && between.standardError.contains("--horizon must be a whole number of periods for bgbb, got 2.5"))
        let impossible = directory.appendingPathComponent("impossible.csv").path
        try "frequency,recency,periods\n1,1,6\n3,2,6\n".write(toFile: impossible, atomically: true, encoding: .utf8)
        let histories = try run(["predict", "models/donations-bgbb.json", impossible, "--horizon", "3", "--output", never])
        #expect(histories.status == 1 && histories.standardError == "Error: \(impossible): customer 2: frequency 3, recency 2.0, periods 6.0 is not a discrete history (need whole numbers with frequency ≤ recency ≤ periods), which bgbb scores\n")
        // A sum per opportunity: 10⁹ of them ran for minutes in predict and fit alike.
        try "frequency,recency,periods\n1,1,6\n0,0,1e9\n".write(toFile: impossible, atomically: true, encoding: .utf8)
        let endless = try run(["predict", "models/donations-bgbb.json", impossible, "--horizon", "3", "--output", never])
        #expect(endless.status == 1 && endless.standardError == "Error: \(impossible): customer 2: periods 1000000000.0: bgbb takes at most 10000 opportunities per customer\n")
        let endlessFit = try run(["fit", "bgbb", impossible, "--output", never])
        #expect(endlessFit.status == 1 && endlessFit.standardError.contains("periods 1000000000.0: BG/BB takes at most 10000 opportunities per customer"),
                "\(endlessFit.standardError)")
        let cohortBetween = try run(["predict", "models/retention-regular-sbg.json", "--horizon", "2.5", "--output", never])
        #expect(cohortBetween.status == 64 && cohortBetween.standardError.contains("--horizon must be a whole number of periods for sbg, got 2.5"))
        let cohort = try run(["predict", "models/retention-regular-sbg.json", "--horizon", "1e30", "--output", never])
        #expect(cohort.status == 64 && cohort.standardError.contains("--horizon must be at most 10000 periods for an sbg projection, got 1e+30"))
        #expect(!FileManager.default.fileExists(atPath: never))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("never.csv").path))
    }

    /// The retention example of Fader & Hardie (2007): fit years 0–7, project to year 12.
    @Test func fitAndProjectRetentionWithSBG() throws {
        let directory = try temporaryDirectory()
        let sbg = directory.appendingPathComponent("sbg.json").path
        let fit = try run(["fit", "sbg", "datasets/retention/fader_hardie_2007.csv", "--cohort", "regular",
                           "--calibration-periods", "7", "--output", sbg])
        #expect(fit.status == 0 && fit.standardOutput.contains("log-likelihood -1680.265"), "\(fit.standardOutput)\(fit.standardError)")
        let projection = directory.appendingPathComponent("projection.csv").path
        #expect(try run(["predict", sbg, "--horizon", "12", "--discount-rate", "0.1", "--output", projection]).status == 0)
        let rows = try String(contentsOfFile: projection, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 14 && rows[0] == "period,survival,retention_rate,churn_probability,expected_active,derl")
        let year12 = Double(rows[13].split(separator: ",")[4])!
        #expect(abs(year12 - 173) / 173 < 0.05, "projected \(year12) active in year 12; 173 were")

        let bad = directory.appendingPathComponent("bad.csv").path
        try "year,active\n0,1000\n1,800\n2,900\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try run(["fit", "sbg", bad, "--output", directory.appendingPathComponent("never.json").path])
        #expect(refused.standardError == "Error: \(bad):4: column \"active\": 900 active after 800 the period before: survivors cannot increase\n")
        // Counts beyond 64-bit integers used to trap (SIGILL, no message).
        try "period,active\n0,1e19\n1,6e18\n2,4e18\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let huge = try run(["fit", "sbg", bad, "--output", directory.appendingPathComponent("never.json").path])
        #expect(huge.status == 1 && huge.standardError == "Error: \(bad):2: column \"active\": \"1e19\" is not a count (a whole number from 0 to 10¹⁵)\n",
                "\(huge.status) \(huge.standardError)")
        // The table's periods are 0…12: a calibration past them is refused, not fitted on all 12.
        let never = directory.appendingPathComponent("never.json").path
        let beyond = try run(["fit", "sbg", "datasets/retention/fader_hardie_2007.csv", "--calibration-periods", "50", "--output", never])
        #expect(beyond.status != 0)
        #expect(beyond.standardError == "Error: --calibration-periods 50 is beyond the table: datasets/retention/fader_hardie_2007.csv has periods 0…12, so give at most 12\n")
        #expect(!FileManager.default.fileExists(atPath: never))
        let whole = try run(["fit", "sbg", "datasets/retention/fader_hardie_2007.csv", "--calibration-periods", "12", "--output", sbg])
        #expect(whole.status == 0, "\(whole.standardError)")
        let noSummary = try run(["predict", sbg, "datasets/donations/donations.csv", "--horizon", "3", "--output", projection])
        #expect(noSummary.status != 0 && noSummary.standardError.contains("is an sbg retention model"))
    }

    @Test func simulateIsReproducible() throws {
        let directory = try temporaryDirectory()
        let a = directory.appendingPathComponent("a.csv"), b = directory.appendingPathComponent("b.csv")
        #expect(try run(["simulate", "--customers", "500", "--seed", "7", "--output", a.path]).status == 0)
        #expect(try run(["simulate", "--customers", "500", "--seed", "7", "--output", b.path]).status == 0)
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))
        let summaryPath = directory.appendingPathComponent("s.csv").path
        #expect(try run(["summarize", a.path, "--amount-column", "amount", "--output", summaryPath]).status == 0)
        #expect(try String(contentsOfFile: summaryPath, encoding: .utf8).split(separator: "\n").count == 501)
    }
}
