import Churn
import Clustering
import Dispatch
import Foundation
import LifetimeValue
import LinearAlgebra
import Transactions

/// One job, from the transaction log to the result directory (design.md, "Data flow"):
///
/// 1. read the log and summarise it per customer: with a calibration end, once split at it
///    (the models learn from the calibration window, the churn labels and the calibration
///    chart come from the holdout) and once over the whole observation (what each customer
///    is scored on); without one, once;
/// 2. fit the purchase model (BG/NBD, Pareto/NBD or MBG/NBD) and the Gamma-Gamma spend model;
/// 3. score every customer: expected purchases over the horizon, P(alive), CLV (lifetimes'
///    `customer_lifetime_value` over the horizon in monthly steps);
/// 4. fit the churn model on holdout labels (when there is a holdout) and score everyone;
/// 5. segment by k-means on the job's features (k fixed or chosen by silhouette) or by RFM;
/// 6. profile the segments and write the result directory and its report.
///
/// Every stage is a library call of Transactions, LifetimeValue, Churn or Clustering; this
/// file only composes them, times them and says what happened in `log.txt`.
///
/// Stages that do not need each other overlap, so that one's single-threaded stretches fill
/// the other's idle core: the summary's fingerprint (for the model files) is computed while
/// the models are fitted and the customers scored and segmented; the churn model (with its
/// cross-validation), which needs only the purchase model, while the spend model is fitted
/// and customers are scored and segmented, unless the segments use the churn probability or
/// the job is too large for both working sets at once; the customers who share a history and
/// spend (whose rows of `assignments.csv` share their numbers, and whose k-means features are
/// equal) by k-means before it looks for its own repeated rows, or from the scoring on when
/// segmentation waits for the churn model's design, or, for segments that do not use the
/// grouping, while the churn model finishes; and the report while the other files are
/// written. `log.txt` gives each stage's own time (segmentation's includes that grouping, or
/// any wait for it) and the
/// run's total wall time, which is then less than their sum.
///
/// Determinism: the same job gives byte-identical files, except the timings in `log.txt`.
/// Model files carry a creation time; it is the observation end (midnight UTC), the moment
/// the data describe, not the wall clock, so that reruns give the same model files.
public enum Pipeline {
    /// What a finished run reports to its caller.
    public struct Outcome: Sendable {
        /// The job as run: the date format and observation end filled in.
        public var job: Job
        public var customers: Int
        public var transactions: Int
        public var profiles: [SegmentProfile]
        /// The label of each segment, in id order (RFM segments by their RFM name).
        public var labels: [String]
        /// Each stage's own time; overlapping stages both count their common time.
        public var stageSeconds: [(stage: String, seconds: Double)]
        /// The run's wall time.
        public var totalSeconds: Double

        /// `23570 customers, k = 4; read 0.05 s, summarize 0.01 s, …; total 0.52 s`
        public var summaryLine: String {
            let stages = stageSeconds.map { "\($0.stage) \(String(format: "%.2f", $0.seconds)) s" }.joined(separator: ", ")
            return "\(customers) customers, k = \(profiles.count); \(stages); total \(String(format: "%.2f", totalSeconds)) s"
        }
    }

    /// Reports each stage as it starts, and the reading's progress in bytes.
    public struct Progress: Sendable {
        public var stage: @Sendable (String) -> Void
        public var bytes: @Sendable (Int, Int) -> Void

        public init(stage: @escaping @Sendable (String) -> Void, bytes: @escaping @Sendable (Int, Int) -> Void) {
            self.stage = stage
            self.bytes = bytes
        }
    }

    /// Customers above which segmentation waits for the churn model to drop its design (the
    /// largest part of its working set) instead of starting beside it: the design and
    /// k-means' points and bounds together would take the 10M-customer job over 4 GB. The
    /// churn model's metrics and scoring then run beside segmentation.
    public static let largestOverlappedJob = 2_000_000

    /// Runs the job and publishes its result as `output` (see `ResultDirectory`).
    /// `overlapLimit`: `largestOverlappedJob` but for tests, which lower it to take the large
    /// jobs' path on a small one.
    public static func run(job: Job, output: String, replacing: Bool = false, clienteleVersion: String,
                           progress: Progress? = nil, overlapLimit: Int = largestOverlappedJob) throws -> Outcome {
        try ResultDirectory.publish(output, replacing: replacing) { staging in
            try run(job: job, into: staging, clienteleVersion: clienteleVersion, progress: progress, overlapLimit: overlapLimit)
        }
    }

    /// Runs the job and writes its result files into `directory`, an existing empty
    /// directory that the caller publishes (the queue's worker does).
    /// `clienteleVersion` is written into the model files; `logHeader` (the queue's job id and
    /// attempt) opens log.txt.
    /// A run that fails leaves `log.txt` in `directory` with what it did until then and the
    /// failure, for the queue's `failed/<id>/`.
    public static func run(job: Job, into directory: String, clienteleVersion: String, logHeader: String = "",
                           progress: Progress? = nil, overlapLimit: Int = largestOverlappedJob) throws -> Outcome {
        var clock = StageClock(progress: progress)
        do {
            return try runStages(job: job, into: directory, clienteleVersion: clienteleVersion, logHeader: logHeader,
                                 progress: progress, overlapLimit: overlapLimit, clock: &clock)
        } catch {
            clock.note("failed: \(error)")
            try? ResultDirectory.write(Array((logHeader + clock.logText).utf8), to: directory + "/log.txt")
            throw error
        }
    }

    private static func runStages(job: Job, into directory: String, clienteleVersion: String, logHeader: String,
                                  progress: Progress?, overlapLimit: Int, clock: inout StageClock) throws -> Outcome {
        var job = job
        // Validation refuses it in a job file; a job built in code meets the same rule here,
        // before any work.
        if job.models.churn == .logistic, job.period.calibrationEnd == nil {
            throw PipelineError(stage: "churn model", underlying: ChurnWithoutHoldout())
        }
        // The log's records are needed only for the summaries: kept in this scope, they are
        // freed before the models are fitted (25M transactions hold about 400 MB).
        let (fitting, scoring, transactionCount) = try { () throws -> (CustomerSummary, CustomerSummary, Int) in
            let log = try clock.time("read") {
                try TransactionLogReader.read(path: job.transactions.path, format: job.transactions.format,
                                              onBadRow: job.transactions.onBadRow, progress: progress?.bytes)
            }
            job.transactions.dateFormat = log.dateFormat
            job.period.observationEnd = job.period.observationEnd ?? log.lastDay
            clock.note("\(log.transactionCount) transactions of \(log.customerIDs.count) customers, \(log.firstDay)…\(log.lastDay), dates \(log.dateFormat.rawValue)")
            if log.skippedCount > 0 {
                clock.note("skipped \(log.skippedCount) bad rows; the first: " + log.firstSkippedRows.map(\.description).joined(separator: "; "))
            }
            let (fitting, scoring, unmatchedRefunds) = try clock.time("summarize") { try summaries(log, job.period) }
            if unmatchedRefunds > 0 {
                clock.note(CustomerSummary.unmatchedRefundsNote(unmatchedRefunds))
            }
            return (fitting, scoring, log.transactionCount)
        }()
        // What `clientele fit` records for the same summary written as CSV.
        let pendingFingerprint = Background { [fitting] in fitting.fingerprint }
        // The scoring summary's distinct histories, grouped while the purchase model groups
        // and fits the calibration window's: the scoring and the churn model's scoring read them.
        let pendingHistories = job.period.calibrationEnd == nil ? nil : Background {
            Result { try PurchaseHistories(scoring) }
        }
        defer { _ = pendingHistories?.value }
        // Whatever happens, the run returns only once its threads are done: a worker's next
        // job must not share the cores and memory with a failed job's leftovers.
        defer { _ = pendingFingerprint.value }
        if let calibrationEnd = job.period.calibrationEnd {
            clock.note("models fitted on the calibration window to \(calibrationEnd) (\(fitting.count) customers); customers scored on their history to \(job.period.observationEnd!)")
        }
        let createdAt = Date(timeIntervalSince1970: Double(job.period.observationEnd!.daysSinceEpoch) * 86_400)
        // Model files are encoded when they are written, with the fingerprint, which is then
        // awaited: it is hashed beside the stages, off their path.
        var modelFiles: [(name: String, encode: (_ fingerprint: String) throws -> [UInt8])] = []
        func modelFile(_ name: String, _ file: ModelFile) {
            modelFiles.append((name, { fingerprint in
                var file = file
                file.dataFingerprint = fingerprint
                return try file.encoded()
            }))
        }

        let purchase = try clock.time("purchase model") { try PurchaseModelFit(job.models.purchase, fitting) }
        let scoringHistories = { () throws -> PurchaseHistories in try pendingHistories?.value.get() ?? purchase.histories }
        modelFile(job.models.purchase.rawValue, ModelFile(
            model: job.models.purchase.rawValue, fit: purchase.fit, customers: fitting.count, timeUnit: job.period.unit.rawValue,
            dataFingerprint: "", clienteleVersion: clienteleVersion, createdAt: createdAt))
        clock.note("\(job.models.purchase.rawValue): \(parameters(purchase.fit)), log-likelihood \(purchase.fit.logLikelihood)\(purchase.fit.converged ? "" : " (not converged)")")
        // The report's calibration chart is the last reader of the calibration summary but
        // the churn model and the spend model: it is made now, so that the summary's columns
        // go with the churn model's design (below) instead of lasting to the end.
        let pendingCalibration = Background { [fitting] in
            CalibrationCheck(fitting, histories: purchase.histories, model: purchase.model)
        }
        defer { _ = pendingCalibration.value }

        var pendingChurn: Background<Result<(ChurnOutcome, Double), PipelineError>>?
        // Signalled when the churn model has dropped its design, or has ended (either way).
        let churnDesignReleased = DispatchSemaphore(value: 0)
        // The churn probabilities of the scored customers, handed over before the churn
        // model's metrics are taken (after them in a large job), or nil once it failed.
        let churnProbabilities = Delivery<[Double]>()
        let largeJob = scoring.count > overlapLimit
        if job.models.churn == .logistic {
            let models = job.models
            // The churn model takes its own copy out, so that it alone holds the summary once
            // this scope has dropped its own, and drops it with its design.
            let churnFitting = Handoff(fitting)
            pendingChurn = Background {
                defer {
                    churnDesignReleased.signal()
                    churnProbabilities.deliver(nil)
                }
                return StageClock.timed("churn model") {
                    try ChurnOutcome(models, fitting: churnFitting.take(), scoring: scoring, scoringHistories: scoringHistories,
                                     purchase: purchase, createdAt: createdAt, clienteleVersion: clienteleVersion,
                                     designReleased: { churnDesignReleased.signal() },
                                     scoredBeforeMetrics: !largeJob, scored: { churnProbabilities.deliver($0) })
                }
            }
        }
        defer { _ = pendingChurn?.value }

        var spend: GammaGamma?
        if job.models.spend == .gammaGamma, let monetary = fitting.monetaryValue {
            let fitted = try clock.time("spend model") {
                try GammaGamma.fit(frequency: fitting.frequency.map(Double.init), monetaryValue: monetary)
            }
            spend = fitted.model
            modelFile("gamma-gamma", ModelFile(
                model: "gamma-gamma", fit: fitted.fit, customers: fitted.customers, timeUnit: job.period.unit.rawValue,
                dataFingerprint: "", clienteleVersion: clienteleVersion, createdAt: createdAt))
            clock.note("gamma-gamma: \(parameters(fitted.fit))\(fitted.leftOut > 0 ? "; \(fitted.leftOut) repeat buyers without positive spend left out" : "")")
        }
        _ = consume fitting

        let scores = try clock.time("scoring") {
            let monthLength = CustomerLifetimeValue.monthLength(unit: job.period.unit.rawValue) ?? 1
            let histories = try scoringHistories()
            // A customer whose expected spend is infinite (a fit with q ≤ 1 on heavy-tailed
            // amounts) has no CLV that is a number.
            if let spend, scoring.monetaryValue != nil, let (_, reason) = spend.infiniteSpend(among: histories.frequency) {
                throw JobParameterError(keyPath: "models.spend", message: reason)
            }
            var scores = CustomerScores(purchases: purchase.model, spend: spend, monthLength: monthLength, horizon: job.models.horizon,
                                  months: max(1, Int((job.models.horizon / monthLength).rounded())),
                                  discountRate: job.models.discountRate, survivalToHorizon: false, histories: histories,
                                  monetaryValue: scoring.monetaryValue)
            // No result file holds the expected spend (CLV has it inside); its column goes
            // before the churn model's largest working set.
            scores.expectedSpend = []
            return scores
        }

        // The customers whose assignment rows share their numbers (the writer's, and k-means'
        // rows known to be equal). When the pipeline waits below for the churn model's design,
        // they are grouped from here on, in the core that wait leaves idle, and k-means takes
        // the grouping; otherwise they are grouped on segmentation's thread (below), or, when
        // segmentation does not ask, once it has its answer, while the churn model finishes:
        // never on a thread of their own beside the churn model, which every later stage waits
        // for.
        let histories = try scoringHistories()
        let groupRepeats = { Background { ResultFiles.repeatedHistories(scoring, histories) } }
        let segmentsOnChurn = job.segmentation.features.contains("churn_probability")
        let waitsForChurnDesign = pendingChurn != nil && largeJob && !segmentsOnChurn
        let earlyRepeats = waitsForChurnDesign ? groupRepeats() : nil
        defer { _ = earlyRepeats?.value }

        // The churn model's time and log lines go where the pipeline first needs its
        // probabilities; the model itself (its metrics) is awaited by the report and, once
        // assignments.csv is written, for its model file.
        var churn: ChurnOutcome?
        var churnPlace: StageClock.Place?
        func awaitChurn() throws {
            guard let pending = pendingChurn, churn == nil else { return }
            let (outcome, seconds) = try pending.value.get()
            clock.record("churn model", seconds: seconds, notes: [outcome.logLine], at: churnPlace ?? clock.keepPlace())
            modelFiles.append(("churn-logistic", { fingerprint in
                var model = outcome.model
                model.dataFingerprint = fingerprint
                return try model.encoded()
            }))
            churn = outcome
        }
        func awaitChurnProbabilities() throws -> [Double]? {
            guard pendingChurn != nil else { return nil }
            churnPlace = churnPlace ?? clock.keepPlace()
            if let probabilities = churnProbabilities.value { return probabilities }
            try awaitChurn()
            return churn?.probabilities
        }
        if waitsForChurnDesign { churnDesignReleased.wait() }
        var columns = FeatureColumns(scoring, scores: scores, churn: segmentsOnChurn ? try awaitChurnProbabilities() : nil)
        // Otherwise k-means with a fixed k, when it asks, has them grouped on its own thread
        // first: it then looks for its repeated rows among the groups' first rows alone, and the
        // writer takes the same grouping. Not when its features include the churn probability,
        // which customers of one history and spend need not share.
        var groupedForSegmentation: DistinctRows??
        let segmentation = try clock.time("segmentation") {
            try Segmentation(job.segmentation, columns: columns, equalRows: {
                if let earlyRepeats { return earlyRepeats.value }
                guard !segmentsOnChurn else { return nil }
                let grouped = ResultFiles.repeatedHistories(scoring, histories)
                groupedForSegmentation = grouped
                return grouped
            })
        }
        clock.note(segmentation.logLine)
        let grouped = groupedForSegmentation
        let pendingRepeats = earlyRepeats ?? (grouped == nil ? groupRepeats() : nil)
        defer { _ = pendingRepeats?.value }
        let repeats = { grouped ?? pendingRepeats!.value }
        columns.churn = try awaitChurnProbabilities()

        let profiles = try clock.time("profiles") {
            let features = job.segmentation.features.map { ($0, columns[$0]!) }
            let outcomes = SegmentProfile.Outcomes(clv: columns["clv"], pAlive: scores.pAlive, churn: columns.churn)
            if let names = segmentation.names {
                return try SegmentProfile.profiles(labels: segmentation.labels, names: names, features: features, outcomes: outcomes)
            }
            return try SegmentProfile.profiles(labels: segmentation.labels, centroids: segmentation.centroids,
                                               features: features, outcomes: outcomes)
        }
        let labels = profiles.map(\.label)

        // The report is made and written while the other files are: it reads only values (the
        // variables among them captured as they are now) and writes only report.html, and it
        // is awaited before anything is thrown, so that nothing writes into the directory
        // after a failure here has been reported.
        let pendingReport = Background { [job, columns, churn, pendingChurn] () -> Result<((), Double), PipelineError> in
            // The churn model's metrics are awaited before the report's time starts.
            var churn = churn
            if churn == nil, let pendingChurn {
                switch pendingChurn.value {
                case .failure(let failure): return .failure(failure)
                case .success(let (outcome, _)): churn = outcome
                }
            }
            return StageClock.timed("report") {
                let report = ReportData(job: job, customers: scoring.count, transactions: transactionCount, profiles: profiles,
                                        labels: labels, segmentation: segmentation, columns: columns,
                                        calibration: pendingCalibration.value,
                                        aliveMap: AliveMap(scoring, model: purchase.model), churn: churn)
                try ResultDirectory.write(Array(Report.html(report).utf8), to: directory + "/report.html")
            }
        }
        // The model files wait for the churn model's metrics, which go on beside the other files.
        let written = Result {
            progress?.stage("write")
            let writingFiles = StageClock.timed("write") {
                try ResultDirectory.write(Array(job.jsonValue.formatted().utf8), to: directory + "/job.json")
                try ResultDirectory.write(ResultFiles.profilesJSON(profiles, labels: labels, method: job.segmentation.method,
                                                                   features: job.segmentation.features, segmentation: segmentation),
                                          to: directory + "/profiles.json")
                try ResultDirectory.write(ResultFiles.profilesCSV(profiles, labels: labels), to: directory + "/profiles.csv")
                try ResultFiles.writeAssignments(scoring, columns: columns, segments: segmentation.labels, labels: labels,
                                                 repeats: repeats(), to: directory + "/assignments.csv")
                try ResultDirectory.makeDirectory(directory + "/models")
            }
            // A churn model that failed while the files were written is the run's failure,
            // whatever the writing met (a job at fault is not retried; a full disk is).
            if case .failure = writingFiles, let pendingChurn, case .failure(let failure) = pendingChurn.value { throw failure }
            let (_, files) = try writingFiles.get()
            try awaitChurn()
            let (_, models) = try StageClock.timed("write") {
                let fingerprint = pendingFingerprint.value
                for file in modelFiles {
                    try ResultDirectory.write(try file.encode(fingerprint), to: "\(directory)/models/\(file.name).json")
                }
            }.get()
            clock.record("write", seconds: files + models)
        }
        progress?.stage("report")
        let reported = pendingReport.value
        try written.get()
        clock.record("report", seconds: try reported.get().1)
        let outcome = Outcome(job: job, customers: scoring.count, transactions: transactionCount, profiles: profiles,
                              labels: labels, stageSeconds: clock.stages, totalSeconds: clock.elapsed)
        clock.note(outcome.summaryLine)
        try ResultDirectory.write(Array((logHeader + clock.logText).utf8), to: directory + "/log.txt")
        return outcome
    }

    /// The summaries the models are fitted on and the customers scored on, and how many
    /// refunds in the whole history had no purchase to reduce.
    static func summaries(_ log: TransactionLog, _ period: PeriodSettings) throws
        -> (fitting: CustomerSummary, scoring: CustomerSummary, unmatchedRefunds: Int) {
        let whole = SummaryOptions(period: period.periodLength, unit: period.unit, calibrationEnd: nil, observationEnd: period.observationEnd)
        guard let calibrationEnd = period.calibrationEnd else {
            let (scoring, unmatched) = try CustomerSummary.summarize(log, options: whole)
            return (scoring, scoring, unmatched)
        }
        if let observationEnd = period.observationEnd, period.periodLength.periods(after: calibrationEnd, through: observationEnd) < 1 {
            throw EmptyHoldout(calibrationEnd: calibrationEnd, observationEnd: observationEnd, period: period.periodLength)
        }
        var split = whole
        split.calibrationEnd = calibrationEnd
        let (both, unmatched) = try CustomerSummary.summaries(log, options: [whole, split])
        return (both[1], both[0], unmatched)
    }

    static func parameters(_ fit: FitResult) -> String {
        zip(fit.parameterNames, fit.parameters).map { "\($0) \($1)" }.joined(separator: ", ")
    }
}

/// The logistic churn model asked for without a calibration end to define its labels.
struct ChurnWithoutHoldout: Error, CustomStringConvertible {
    /// The rule, as validation and the pipeline both state it.
    static let rule = "\"logistic\" needs period.calibrationEnd: its labels are purchases in the holdout window after it"
    var description: String { "models.churn " + Self.rule }
}

/// A calibration end in the observation end's period or later, which a job can only show
/// once its log is read: the observation end is the log's last day when the job gives none.
struct EmptyHoldout: Error, CustomStringConvertible {
    var calibrationEnd: CalendarDay
    var observationEnd: CalendarDay
    var period: PeriodLength

    var description: String {
        "period.calibrationEnd (\(calibrationEnd)) must fall in an earlier \(period.rawValue) than the observation end (\(observationEnd): period.observationEnd, or the log's last day when the job gives none), or the holdout window is empty"
    }
}

/// A failure that the job's choice at `keyPath` leads to with this data (the spend model on
/// amounts it cannot describe), for the failure's location.
struct JobParameterError: Error, CustomStringConvertible {
    var keyPath: String
    var message: String

    var description: String { message }
}

/// A stage that failed, with the stage's name and the library's error (which says where).
public struct PipelineError: Error, CustomStringConvertible {
    public var stage: String
    public var underlying: any Error

    /// True when the job itself is at fault (its data or parameters), false for a fault of
    /// the machine (writing the result).
    public var isJobFault: Bool { !(underlying is ResultDirectory.WriteError) }

    public var description: String { "\(stage): \(underlying)" }

    /// Where the job went wrong: the data's file, line and column for bad data in the log;
    /// otherwise the key path of the job's setting whose stage failed on this data (the
    /// calibration end for an empty holdout, k for too few distinct customers).
    public var location: Location {
        switch underlying {
        case let error as TransactionsError:
            switch error {
            case .invalidInput(let place, _): return Location(file: place.file, line: place.line, column: place.column)
            case .invalidFile(let file, _): return Location(file: file)
            case .invalidOptions: return Location(keyPath: "period")
            }
        case is EmptyHoldout, is ChurnWithoutHoldout:
            return Location(keyPath: "period.calibrationEnd")
        case let error as JobParameterError:
            return Location(keyPath: error.keyPath)
        case let error as ClusteringError:
            switch error {
            case .tooFewPoints, .tooFewDistinctPoints: return Location(keyPath: "segmentation.k")
            default: return Location(keyPath: "segmentation")
            }
        default:
            let settings = ["read": "transactions", "summarize": "period", "purchase model": "models.purchase",
                            "spend model": "models.spend", "scoring": "models", "churn model": "models.churn",
                            "segmentation": "segmentation", "profiles": "segmentation"]
            return Location(keyPath: settings[stage])
        }
    }

    /// A place in the data (`file`, `line`, `column`: the column's header name or 1-based
    /// position) or a setting of the job (`keyPath`).
    public struct Location: Sendable, Equatable {
        public var file: String?
        public var line: Int?
        public var column: String?
        public var keyPath: String?

        init(file: String? = nil, line: Int? = nil, column: String? = nil, keyPath: String? = nil) {
            (self.file, self.line, self.column, self.keyPath) = (file, line, column, keyPath)
        }
    }
}

/// Times each stage, tells the progress display, and keeps the lines of log.txt.
struct StageClock {
    let progress: Pipeline.Progress?
    /// Each stage's time in the pipeline's order; nil for a place kept and not filled.
    private var entries: [(stage: String, seconds: Double)?] = []
    private var lines: [String?] = []
    private let start = DispatchTime.now().uptimeNanoseconds

    var stages: [(stage: String, seconds: Double)] { entries.compactMap { $0 } }

    /// A stage's place in the log, kept for a stage that ends after stages recorded later
    /// (`record(_:seconds:notes:at:)`), so that log.txt keeps the pipeline's order.
    struct Place {
        fileprivate let entry: Int, line: Int
    }

    init(progress: Pipeline.Progress?) {
        self.progress = progress
    }

    /// Seconds since the clock started.
    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    mutating func time<T>(_ stage: String, _ body: () throws -> T) throws -> T {
        progress?.stage(stage)
        let (value, seconds) = try Self.timed(stage, body).get()
        record(stage, seconds: seconds)
        return value
    }

    /// A stage's value and its seconds, or its failure as a `PipelineError` naming it; for a
    /// stage run off the pipeline's thread, which `record`s it when it joins.
    static func timed<T>(_ stage: String, _ body: () throws -> T) -> Result<(T, Double), PipelineError> {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let value = try body()
            return .success((value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
        } catch let error as PipelineError {
            return .failure(error)
        } catch {
            return .failure(PipelineError(stage: stage, underlying: error))
        }
    }

    mutating func record(_ stage: String, seconds: Double) {
        record(stage, seconds: seconds, notes: [], at: keepPlace())
    }

    /// Keeps a place for a stage that is recorded later.
    mutating func keepPlace() -> Place {
        entries.append(nil)
        lines.append(nil)
        return Place(entry: entries.count - 1, line: lines.count - 1)
    }

    /// Records a stage, and the lines that say what it did, at the place kept for it.
    mutating func record(_ stage: String, seconds: Double, notes: [String], at place: Place) {
        entries[place.entry] = (stage, seconds)
        lines[place.line] = (["[\(stage)] \(String(format: "%.3f", seconds)) s"] + notes).joined(separator: "\n")
    }

    mutating func time<T>(_ stage: String, _ body: () -> T) -> T {
        // A stage that cannot fail: the throwing overload never throws for it.
        (try? time(stage) { () throws -> T in body() })!
    }

    mutating func note(_ line: String) { lines.append(line) }

    var logText: String { lines.compactMap { $0 }.joined(separator: "\n") + "\n" }
}

/// The fitted purchase model, whichever it is.
struct PurchaseModelFit {
    let model: any PurchasePredicting
    let fit: FitResult
    /// The BG/NBD model, when that is the one fitted (the churn features reuse it).
    let bgnbd: BGNBD?
    /// The summary's distinct histories, which the model was fitted on and which the churn
    /// features and the report's calibration chart score.
    let histories: PurchaseHistories

    init(_ kind: PurchaseModelKind, _ summary: CustomerSummary) throws {
        histories = try PurchaseHistories(summary)
        switch kind {
        case .bgnbd:
            let fitted = try BGNBD.fit(histories)
            (model, fit, bgnbd) = (fitted.model, fitted.fit, fitted.model)
        case .paretoNBD:
            let fitted = try ParetoNBD.fit(histories)
            (model, fit, bgnbd) = (fitted.model, fitted.fit, nil)
        case .mbgnbd:
            let fitted = try MBGNBD.fit(histories)
            (model, fit, bgnbd) = (fitted.model, fitted.fit, nil)
        }
    }
}

/// Every per-customer column by its name in assignments.csv and the job's features.
struct FeatureColumns {
    private var columns: [String: [Double]] = [:]

    var churn: [Double]? {
        get { columns["churn_probability"] }
        set { columns["churn_probability"] = newValue }
    }

    init(_ summary: CustomerSummary, scores: CustomerScores, churn: [Double]?) {
        columns["frequency"] = summary.frequency.map(Double.init)
        columns["recency"] = summary.recency
        columns["T"] = summary.T
        columns["monetary_value"] = summary.monetaryValue
        columns["expected_purchases"] = scores.expectedPurchases
        columns["p_alive"] = scores.pAlive
        columns["clv"] = scores.clv.isEmpty ? nil : scores.clv
        columns["churn_probability"] = churn
    }

    subscript(name: String) -> [Double]? { columns[name] }
}

/// A value handed to the one thread that takes it out, so that from then on that thread holds
/// the only copy of it that the handing scope made (and can drop it when done).
final class Handoff<Value>: @unchecked Sendable {
    private var value: Value?

    init(_ value: Value) { self.value = value }

    /// The value; a second call is a programming error.
    func take() -> Value { value.take()! }
}

/// A value that a stage on a thread of its own hands over before it ends, for the stages that
/// need only that; nil when the stage ended without it (its `Background` says why).
final class Delivery<Value>: @unchecked Sendable {
    private var handed: Value?
    private var isHanded = false
    private let lock = NSLock()
    private let handedOver = DispatchSemaphore(value: 0)

    /// The first call hands the value over; later calls do nothing.
    func deliver(_ value: Value?) {
        lock.lock()
        defer { lock.unlock() }
        guard !isHanded else { return }
        (handed, isHanded) = (value, true)
        handedOver.signal()
    }

    /// Waits for the value.
    var value: Value? {
        handedOver.wait()
        handedOver.signal()
        return handed
    }
}

/// A value computed on a thread of its own while the pipeline goes on; `value` waits for it.
/// The body reads only what no stage writes meanwhile (the summaries and fitted models are
/// values, never mutated after they are made).
final class Background<Value>: @unchecked Sendable {
    private var result: Value?
    private let finished = DispatchSemaphore(value: 0)

    init(_ body: @escaping () -> Value) {
        let work = UncheckedBody(body: body)
        Thread.detachNewThread { [self] in
            result = work.body()
            finished.signal()
        }
    }

    var value: Value {
        finished.wait()
        finished.signal()
        return result!
    }

    private struct UncheckedBody: @unchecked Sendable {
        let body: () -> Value
    }
}
