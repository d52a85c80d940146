#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CRMStore
import Files
import Churn
import Clustering
import Transactions

/// A job file that cannot run, with where: the file and a key path (`segmentation.k`), or a
/// line and column for text that is not JSON.
public struct JobFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var source: String
    /// Dotted, with array positions as numbers (`segmentation.features.2`); "" for the whole file.
    public var keyPath: String?
    public var line: Int?
    public var column: Int?
    public var message: String

    public var description: String {
        if let line, let column { return "\(source):\(line):\(column): \(message)" }
        if let keyPath, !keyPath.isEmpty { return "\(source): \(keyPath): \(message)" }
        return "\(source): \(message)"
    }
}

/// Reads a job file by walking its JSON by hand: every key is known (an unknown one is an
/// error naming the keys that are), every value has its type and range checked where it is
/// read, and every error names its key path and what was expected, e.g.
/// `segmentation.k: expected an integer 1…100 or "auto", got "eight"`.
///
/// Relative paths (the transaction log, a SQLite CRM file) are taken relative to the job
/// file's directory and made absolute. The transaction log must exist and be readable, so
/// that a queued job fails at submission rather than on a worker.
public enum JobValidation {
    /// Validates a job file's bytes; `source` is the job file's path (for messages and for
    /// resolving relative paths).
    /// `absolutePathsOnly`: for a job in the queue, whose file has left the directory its
    /// relative paths meant (`submit` makes every path absolute; a job put into `incoming/`
    /// by hand must give them so), a relative path is refused instead of being read against
    /// the queue's own directories.
    public static func validate(bytes: [UInt8], source: String, absolutePathsOnly: Bool = false) throws(JobFileError) -> Job {
        let root: JSONValue
        do {
            // A byte-order mark, which some editors put at the start of UTF-8 files, is not JSON
            // but says nothing wrong about the job.
            root = try JSONValue.parse(bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes)
        } catch {
            throw JobFileError(source: source, keyPath: nil, line: error.line, column: error.column,
                               message: "not valid JSON: \(error.message)")
        }
        var walker = JobWalker(source: source, directory: directoryOf(source), absolutePathsOnly: absolutePathsOnly)
        return try walker.job(root)
    }

    /// The largest job file read, 1 MiB: a job is a page of settings, and the queue takes no
    /// larger one (`JobQueue.maximumJobFileSize`).
    public static let maximumFileBytes = 1 << 20

    /// Reads and validates the job file at `path`.
    public static func validate(path: String) throws(JobFileError) -> Job {
        try validate(bytes: try read(path: path), source: path)
    }

    /// The bytes of the job file at `path`, at most `maximumFileBytes`: a regular file, or a
    /// pipe or a character device (`clientele run /dev/stdin`), read no further than that, so
    /// that `/dev/zero` or a growing file given as the job is refused rather than read until
    /// memory runs out; a directory or a socket is refused, and a FIFO without a writer reads
    /// as empty rather than waiting for one.
    public static func read(path: String) throws(JobFileError) -> [UInt8] {
        let failure = { (message: String) in JobFileError(source: path, keyPath: nil, line: nil, column: nil, message: message) }
        // A file that is too large already is refused with its size, before it is read.
        var status = stat()
        if stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, Int(status.st_size) > maximumFileBytes {
            throw failure("is \(status.st_size) bytes; a job file may be at most \(maximumFileBytes) bytes")
        }
        do throws(RegularFile.Failure) {
            return try RegularFile.existingContents(path, limit: maximumFileBytes, followingLinks: true, allowingStreams: true)
        } catch .tooLarge {
            throw failure("is larger than \(maximumFileBytes) bytes; a job file may be at most \(maximumFileBytes) bytes")
        } catch {
            throw failure("cannot read the job file: \(error.reason)")
        }
    }

    /// The directory a job file's relative paths are taken against: the file's own, or for
    /// a job given through a descriptor (`/dev/stdin`, `<(…)` as `/dev/fd/63`,
    /// `/proc/self/fd/N`), whose directory says nothing, the current directory.
    static func directoryOf(_ path: String) -> String {
        let absolute = absolutePath(path, relativeTo: currentDirectory())
        if absolute.hasPrefix("/dev/") || absolute.hasPrefix("/proc/") { return currentDirectory() }
        guard let slash = absolute.lastIndex(of: "/") else { return "/" }
        return slash == absolute.startIndex ? "/" : String(absolute[..<slash])
    }

    static func absolutePath(_ path: String, relativeTo directory: String) -> String {
        let joined = path.hasPrefix("/") ? path : (directory.hasSuffix("/") ? directory + path : directory + "/" + path)
        var parts: [Substring] = []
        for part in joined.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func currentDirectory() -> String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let found = buffer.withUnsafeMutableBufferPointer { getcwd(UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), $0.count) != nil }
        guard found else { return "/" }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// One pass over the job's JSON tree.
private struct JobWalker {
    let source: String
    let directory: String
    let absolutePathsOnly: Bool

    /// `path` made absolute against the job file's directory, or refused where only
    /// absolute paths may be given.
    func absolute(_ path: String, _ keyPath: String) throws(JobFileError) -> String {
        if absolutePathsOnly, !path.hasPrefix("/") {
            throw failure(keyPath, "expected an absolute path in a queued job (clientele submit makes paths absolute; a job put into incoming/ by hand must give them so), got \"\(path)\"")
        }
        return JobValidation.absolutePath(path, relativeTo: directory)
    }

    func failure(_ keyPath: String, _ message: String) -> JobFileError {
        JobFileError(source: source, keyPath: keyPath, line: nil, column: nil, message: message)
    }

    /// The members of the object at `keyPath`, after refusing unknown keys.
    func members(_ value: JSONValue?, _ keyPath: String, allowed: [String]) throws(JobFileError) -> [String: JSONValue] {
        guard let value else { return [:] }
        guard case .object(let members) = value else {
            throw failure(keyPath, "expected an object with keys \(allowed.joined(separator: ", ")), got \(value.shortDescription)")
        }
        var result: [String: JSONValue] = [:]
        for (key, member) in members {
            guard allowed.contains(key) else {
                // A key with control characters is shown escaped and quoted, not raw.
                let shown = key.containsLayoutControls ? String(JSONValue.string(key).formatted().dropLast()) : key
                throw failure(join(keyPath, shown), "unknown key; expected one of \(allowed.joined(separator: ", "))")
            }
            if case .null = member { continue }
            result[key] = member
        }
        return result
    }

    func join(_ keyPath: String, _ key: String) -> String { keyPath.isEmpty ? key : keyPath + "." + key }

    func string(_ value: JSONValue?, _ keyPath: String, _ expected: String = "a string") throws(JobFileError) -> String? {
        guard let value else { return nil }
        guard case .string(let text) = value, !text.isEmpty else { throw failure(keyPath, "expected \(expected), got \(value.shortDescription)") }
        // A NUL ends the text where C reads it: a path would name another file, a name in
        // SQLite would be cut short.
        guard !text.unicodeScalars.contains("\u{0}") else { throw failure(keyPath, "expected \(expected) without a NUL character (\\u0000)") }
        return text
    }

    func choice<T: RawRepresentable & CaseIterable>(_ value: JSONValue?, _ keyPath: String, _ type: T.Type) throws(JobFileError) -> T?
        where T.RawValue == String {
        let expected = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
        guard let text = try string(value, keyPath, expected) else { return nil }
        guard let choice = T(rawValue: text) else { throw failure(keyPath, "expected \(expected), got \"\(text)\"") }
        return choice
    }

    func integer(_ value: JSONValue?, _ keyPath: String, _ range: ClosedRange<Int>) throws(JobFileError) -> Int? {
        guard let value else { return nil }
        guard case .integer(let n) = value, range.contains(n) else {
            throw failure(keyPath, "expected an integer \(describe(range)), got \(value.shortDescription)")
        }
        return n
    }

    func number(_ value: JSONValue?, _ keyPath: String, _ expected: String, _ accept: (Double) -> Bool) throws(JobFileError) -> Double? {
        guard let value else { return nil }
        let number: Double
        switch value {
        case .integer(let n): number = Double(n)
        case .number(let x): number = x
        default: throw failure(keyPath, "expected \(expected), got \(value.shortDescription)")
        }
        guard accept(number) else { throw failure(keyPath, "expected \(expected), got \(value.shortDescription)") }
        return number
    }

    func bool(_ value: JSONValue?, _ keyPath: String) throws(JobFileError) -> Bool? {
        guard let value else { return nil }
        guard case .bool(let flag) = value else { throw failure(keyPath, "expected true or false, got \(value.shortDescription)") }
        return flag
    }

    func date(_ value: JSONValue?, _ keyPath: String) throws(JobFileError) -> CalendarDay? {
        guard let text = try string(value, keyPath, "a date such as \"1997-09-30\"") else { return nil }
        guard let day = DateFormat.parseArgument(text) else { throw failure(keyPath, "expected a date such as \"1997-09-30\", got \"\(text)\"") }
        // As a log's dates: a far-future typo would also date the run (the CRM's `created`).
        guard CalendarDay.supportedRange.contains(day) else {
            throw failure(keyPath, "expected a date within \(CalendarDay.supportedRange.lowerBound)…\(CalendarDay.supportedRange.upperBound), got \"\(text)\"")
        }
        return day
    }

    func describe(_ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max ? "\(range.lowerBound)…2^63 − 1" : "\(range.lowerBound)…\(range.upperBound)"
    }

    mutating func job(_ root: JSONValue) throws(JobFileError) -> Job {
        guard case .object = root else { throw failure("", "a job file must be a JSON object ({…}), got \(root.shortDescription)") }
        let top = try members(root, "", allowed: ["name", "transactions", "period", "models", "segmentation", "crm"])
        guard let name = try string(top["name"], "name", "a non-empty string") else {
            throw failure("name", "missing; expected the job's name, a non-empty string")
        }
        // The name goes into the report's title, log lines and the CRM's runs table.
        if name.containsLayoutControls {
            throw failure("name", "expected a name without control characters (tab, line breaks, escapes, bidirectional overrides), got \(JSONValue.string(name).formatted().dropLast())")
        }
        guard let transactionsValue = top["transactions"] else {
            throw failure("transactions", "missing; expected an object with at least the log's path")
        }
        let transactions = try transactionSource(transactionsValue)
        let period = try periodSettings(top["period"])
        let models = try modelSettings(top["models"], transactions: transactions, period: period)
        let segmentation = try segmentationSettings(top["segmentation"], models: models, hasAmounts: transactions.amount != nil)
        let crm = try crmSettings(top["crm"])
        return Job(name: name, transactions: transactions, period: period, models: models, segmentation: segmentation, crm: crm)
    }

    func transactionSource(_ value: JSONValue) throws(JobFileError) -> TransactionSource {
        let keys = try members(value, "transactions", allowed: ["path", "delimiter", "header", "customer", "date", "amount", "dateFormat", "onBadRow"])
        guard let relative = try string(keys["path"], "transactions.path", "the transaction log's path") else {
            throw failure("transactions.path", "missing; expected the transaction log's path (relative to the job file)")
        }
        let path = try absolute(relative, "transactions.path")
        try checkReadable(path, "transactions.path")
        var delimiter = Delimiter.comma
        if let text = try string(keys["delimiter"], "transactions.delimiter", "\",\", \"tab\", \";\" or \"whitespace\"") {
            guard let parsed = Delimiter(argument: text) else {
                throw failure("transactions.delimiter", "expected \",\", \"tab\", \";\" or \"whitespace\", got \"\(text)\"")
            }
            delimiter = parsed
        }
        var dateFormat: DateFormat?
        if let text = try string(keys["dateFormat"], "transactions.dateFormat", "one of \(DateFormat.choices)") {
            guard let parsed = DateFormat(rawValue: text) else {
                throw failure("transactions.dateFormat", "expected one of \(DateFormat.choices), got \"\(text)\"")
            }
            dateFormat = parsed
        }
        let header = try bool(keys["header"], "transactions.header") ?? true
        let customer = try column(keys["customer"], "transactions.customer") ?? "customer_id"
        let date = try column(keys["date"], "transactions.date") ?? "date"
        let amount = try column(keys["amount"], "transactions.amount")
        if !header {
            // Without a header there are no names to find: found out here, not once a worker
            // has read the log.
            for (key, value) in [("customer", customer), ("date", date), ("amount", amount)] {
                guard let value, (Int(value) ?? 0) < 1 else { continue }
                let given = keys[key] == nil ? " (the default)" : ""
                throw failure("transactions.\(key)", "without a header (\"header\": false) a column is a 1-based position, got \"\(value)\"\(given)")
            }
        }
        return TransactionSource(
            path: path, delimiter: delimiter, header: header, customer: customer, date: date, amount: amount,
            dateFormat: dateFormat,
            onBadRow: try choice(keys["onBadRow"], "transactions.onBadRow", BadRowPolicy.self) ?? .fail)
    }

    /// A column is named by its header or, without one, by its 1-based position (a string or an integer).
    func column(_ value: JSONValue?, _ keyPath: String) throws(JobFileError) -> String? {
        if case .integer(let n)? = value {
            guard n >= 1 else { throw failure(keyPath, "expected a column name or a 1-based position, got \(n)") }
            return String(n)
        }
        return try string(value, keyPath, "a column name or a 1-based position")
    }

    /// The log must be a regular file that can be opened: it is opened without blocking, so
    /// that a FIFO given as the log is refused here instead of holding `submit`, `run` or a
    /// worker until something writes into it.
    func checkReadable(_ path: String, _ keyPath: String) throws(JobFileError) {
        do throws(RegularFile.Failure) {
            close(try RegularFile.openExisting(path, followingLinks: true))
        } catch .notRegular(let kind) {
            throw failure(keyPath, kind == "a directory" ? "\(path) is a directory, not a transaction log"
                : "\(path) is \(kind), not a regular file; a job reads its transaction log from a file (summarize reads pipes)")
        } catch {
            throw failure(keyPath, "cannot read \(path): \(error.reason)")
        }
    }

    func periodSettings(_ value: JSONValue?) throws(JobFileError) -> PeriodSettings {
        let keys = try members(value, "period", allowed: ["periodLength", "unit", "calibrationEnd", "observationEnd"])
        let length = try choice(keys["periodLength"], "period.periodLength", PeriodLength.self) ?? .day
        let unit = try choice(keys["unit"], "period.unit", TimeUnit.self) ?? length.naturalUnit
        if (length == .month) != (unit == .months) {
            throw failure("period.unit", length == .month
                ? "monthly periods are measured in months, got \"\(unit.rawValue)\""
                : "the unit months needs \"periodLength\": \"month\", got \"\(length.rawValue)\"")
        }
        let calibrationEnd = try date(keys["calibrationEnd"], "period.calibrationEnd")
        let observationEnd = try date(keys["observationEnd"], "period.observationEnd")
        if let calibrationEnd, let observationEnd, length.periods(after: calibrationEnd, through: observationEnd) < 1 {
            throw failure("period.calibrationEnd", "must fall in an earlier \(length.rawValue) than period.observationEnd (\(observationEnd)), got \"\(calibrationEnd)\"")
        }
        return PeriodSettings(periodLength: length, unit: unit, calibrationEnd: calibrationEnd, observationEnd: observationEnd)
    }

    func modelSettings(_ value: JSONValue?, transactions: TransactionSource, period: PeriodSettings) throws(JobFileError) -> ModelSettings {
        let keys = try members(value, "models", allowed: ["purchase", "spend", "churn", "churnDefinition", "churnPenalty", "churnFolds",
                                                          "churnSeed", "horizon", "discountRate"])
        let spend = try choice(keys["spend"], "models.spend", SpendModelKind.self) ?? (transactions.amount == nil ? .none : .gammaGamma)
        if spend == .gammaGamma, transactions.amount == nil {
            throw failure("models.spend", "\"gamma-gamma\" needs amounts: set transactions.amount, or use \"none\"")
        }
        let churn = try choice(keys["churn"], "models.churn", ChurnModelKind.self) ?? (period.calibrationEnd == nil ? .none : .logistic)
        if churn == .logistic, period.calibrationEnd == nil {
            throw failure("models.churn", ChurnWithoutHoldout.rule + "; set one, or use \"none\"")
        }
        var definition = ChurnLabel.noHoldoutPurchase
        if let value = keys["churnDefinition"] {
            let rule = try members(value, "models.churnDefinition", allowed: ["holdoutPurchasesBelow", "holdoutSpendBelow"])
            switch (rule["holdoutPurchasesBelow"], rule["holdoutSpendBelow"]) {
            case (let n?, nil):
                definition = .purchasesBelow(try integer(n, "models.churnDefinition.holdoutPurchasesBelow", 1...1000) ?? 1)
            case (nil, let s?):
                guard transactions.amount != nil else {
                    throw failure("models.churnDefinition.holdoutSpendBelow", "needs amounts: set transactions.amount")
                }
                definition = .spendBelow(try number(s, "models.churnDefinition.holdoutSpendBelow", "a number > 0", ChurnLabel.acceptsSpendThreshold) ?? 0)
            default:
                throw failure("models.churnDefinition", "expected exactly one of holdoutPurchasesBelow, holdoutSpendBelow")
            }
        }
        let defaultHorizon: Double = switch period.unit { case .days: 365; case .weeks: 52; case .months: 12 }
        let longestHorizon = period.unit.tenYears
        return ModelSettings(
            purchase: try choice(keys["purchase"], "models.purchase", PurchaseModelKind.self) ?? .bgnbd,
            spend: spend, churn: churn, churnDefinition: definition,
            churnPenalty: try number(keys["churnPenalty"], "models.churnPenalty", "0 or a number from 1e-8 to 1e6",
                                     LogisticRegression.acceptsPenalty) ?? 0,
            churnFolds: try churnFolds(keys["churnFolds"]) ?? 5,
            churnSeed: UInt64(try integer(keys["churnSeed"], "models.churnSeed", 0...Int.max) ?? 42),
            horizon: try number(keys["horizon"], "models.horizon",
                                "a number > 0 and at most ten years (\(Int(longestHorizon)) \(period.unit.rawValue))") {
                $0 > 0 && $0 <= longestHorizon
            } ?? defaultHorizon,
            discountRate: try number(keys["discountRate"], "models.discountRate", "a number 0…1 (per month)") { $0 >= 0 && $0 <= 1 } ?? 0.01)
    }

    func churnFolds(_ value: JSONValue?) throws(JobFileError) -> Int? {
        guard let folds = try integer(value, "models.churnFolds", 0...100) else { return nil }
        guard folds != 1 else { throw failure("models.churnFolds", "expected 0 (no cross-validation) or 2…100, got 1") }
        return folds
    }

    func segmentationSettings(_ value: JSONValue?, models: ModelSettings, hasAmounts: Bool) throws(JobFileError) -> SegmentationSettings {
        let keys = try members(value, "segmentation", allowed: ["method", "k", "kRange", "seed", "nInit", "features", "transforms"])
        let method = try choice(keys["method"], "segmentation.method", SegmentationMethod.self) ?? .kmeans
        if method == .rfm, let key = ["k", "kRange", "nInit", "transforms", "seed"].first(where: { keys[$0] != nil }) {
            throw failure("segmentation.\(key)", "applies to \"kmeans\" only; \"rfm\" scores quintiles")
        }
        var k = SegmentCount.automatic
        if let value = keys["k"] {
            switch value {
            case .integer(let n) where (1...100).contains(n): k = .fixed(n)
            case .string("auto"): k = .automatic
            default: throw failure("segmentation.k", "expected an integer 1…100 or \"auto\", got \(value.shortDescription)")
            }
        }
        var kRange = KSelection.defaultRange
        if let value = keys["kRange"] {
            guard case .array(let bounds) = value, bounds.count == 2,
                  let low = try integer(bounds[0], "segmentation.kRange.0", 2...100),
                  let high = try integer(bounds[1], "segmentation.kRange.1", low...100) else {
                throw failure("segmentation.kRange", "expected [LOW, HIGH] with 2 ≤ LOW ≤ HIGH ≤ 100, got \(value.shortDescription)")
            }
            kRange = low...high
            // A range other than the default beside a fixed k would be ignored without a word.
            // The default one is taken: earlier versions wrote it into every result's job.json.
            if case .fixed(let n) = k, kRange != KSelection.defaultRange {
                throw failure("segmentation.kRange", "applies to \"k\": \"auto\" only; k is \(n)")
            }
        }
        var available = SegmentationSettings.availableFeatures
        if !hasAmounts { available.removeAll { $0 == "monetary_value" } }
        if models.spend == .none { available.removeAll { $0 == "clv" } }
        if models.churn == .none { available.removeAll { $0 == "churn_probability" } }
        let defaults = ["recency", "frequency", "monetary_value", "clv", "p_alive"].filter(available.contains)
        let features = try featureList(keys["features"], available: available) ?? defaults
        var transforms = features.map(defaultTransforms)
        if let value = keys["transforms"] {
            guard case .object(let members) = value else {
                throw failure("segmentation.transforms", "expected an object from feature to a list of transforms, got \(value.shortDescription)")
            }
            for (feature, chain) in members {
                let keyPath = "segmentation.transforms.\(feature)"
                guard let j = features.firstIndex(of: feature) else {
                    throw failure(keyPath, "not one of segmentation.features (\(features.joined(separator: ", ")))")
                }
                guard case .array(let steps) = chain else {
                    throw failure(keyPath, "expected a list such as [\"log1p\", \"zscore\"], got \(chain.shortDescription)")
                }
                transforms[j] = []
                for (i, step) in steps.enumerated() {
                    let text = try string(step, "\(keyPath).\(i)", "\"log1p\", \"zscore\", \"robust\" or \"winsorize:LOWER:UPPER\"")
                    do {
                        transforms[j].append(try Clustering.FeatureTransform(parsing: text ?? ""))
                    } catch {
                        throw failure("\(keyPath).\(i)", "\(error)")
                    }
                }
            }
        }
        return SegmentationSettings(
            method: method, k: k, kRange: kRange,
            seed: UInt64(try integer(keys["seed"], "segmentation.seed", 0...Int.max) ?? 42),
            nInit: try integer(keys["nInit"], "segmentation.nInit", 1...1000) ?? 10,
            features: features, transforms: method == .kmeans ? transforms : features.map { _ in [] })
    }

    func featureList(_ value: JSONValue?, available: [String]) throws(JobFileError) -> [String]? {
        guard let value else { return nil }
        guard case .array(let items) = value, !items.isEmpty else {
            throw failure("segmentation.features", "expected a non-empty list of feature names, got \(value.shortDescription)")
        }
        var features: [String] = []
        for (i, item) in items.enumerated() {
            let keyPath = "segmentation.features.\(i)"
            let expected = "one of \(available.map { "\"\($0)\"" }.joined(separator: ", "))"
            guard let name = try string(item, keyPath, expected) else { continue }
            guard available.contains(name) else {
                let why = SegmentationSettings.availableFeatures.contains(name) ? " (the job's models do not produce \"\(name)\")" : ""
                throw failure(keyPath, "expected \(expected), got \"\(name)\"\(why)")
            }
            guard !features.contains(name) else { throw failure(keyPath, "\"\(name)\" is listed twice") }
            features.append(name)
        }
        return features
    }

    /// Skewed counts and amounts are taken on the log scale; every feature is then
    /// standardised so that none dominates the distance by its units.
    func defaultTransforms(_ feature: String) -> [Clustering.FeatureTransform] {
        ["frequency", "monetary_value", "clv", "expected_purchases"].contains(feature) ? [.log1p, .zScore] : [.zScore]
    }

    /// Refuses a database location the export would refuse, with its reason.
    func checkDatabase(_ database: String) throws(JobFileError) {
        do {
            _ = try DatabaseLocation(parsing: database)
        } catch let error as CRMStoreError {
            guard case .location(let message) = error else { throw failure("crm.database", error.description) }
            throw failure("crm.database", message)
        } catch {
            throw failure("crm.database", "\(error)")
        }
    }

    func crmSettings(_ value: JSONValue?) throws(JobFileError) -> CRMSettings? {
        let keys = try members(value, "crm", allowed: ["database"])
        guard value != nil else { return nil }
        let expected = "\"sqlite:PATH\" or \"postgres://USER@HOST[:PORT]/DATABASE\""
        guard let database = try string(keys["database"], "crm.database", expected) else {
            throw failure("crm.database", "missing; expected \(expected)")
        }
        if database.hasPrefix("sqlite:") {
            let path = String(database.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw failure("crm.database", "expected \(expected), got \"\(database)\"") }
            // Read as the export reads it (`~` is refused there: no shell expands it) before it
            // is made absolute, which would turn `~` into a directory of that name.
            try checkDatabase(database)
            return CRMSettings(database: "sqlite:" + (try absolute(path, "crm.database")))
        }
        guard database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") else {
            throw failure("crm.database", "expected \(expected), got \"\(DatabaseLocation.redacted(database))\"")
        }
        // The URL is read as the export will read it, so that a job that cannot be exported
        // (a password in the URL above all, which would end up in logs and error reports)
        // fails here, before anything runs.
        try checkDatabase(database)
        return CRMSettings(database: database)
    }
}
