import LifetimeValue
import Transactions

/// Which features a churn model reads and how each is made, kept in the model file so that a
/// saved model builds the same features from a new summary:
///
/// - summary columns: `frequency`, `recency`, `T`, `monetary_value` (calibration window);
/// - purchase-model outputs of a BG/NBD model: `p_alive` (at the end of calibration) and
///   `expected_purchases` (conditional expected purchases over `horizon`, the holdout's
///   length when fitted);
/// - columns of a customer attributes CSV joined on `customer_id`: numeric columns as they
///   are; categorical ones one-hot encoded against a reference level, the first level in
///   sorted (byte) order, which gets no column of its own, so its customers are the baseline
///   the other levels' coefficients are read against (`region=north` is the log-odds
///   difference between north and the reference region).
public struct FeatureSpecification: Codable, Sendable, Equatable {
    public static let summaryColumns = ["frequency", "recency", "T", "monetary_value"]
    public static let purchaseColumns = ["p_alive", "expected_purchases"]
    /// The features that are functions of a customer's purchase history (frequency, recency
    /// and T) alone. (An attribute column cannot take one of these names.)
    public static let historyFeatures = Set(summaryColumns.filter { $0 != "monetary_value" } + purchaseColumns)

    public var summaryFeatures: [String]
    public var purchaseFeatures: [String]
    /// The BG/NBD model behind `p_alive` and `expected_purchases`.
    public var purchaseModel: PurchaseScore?
    public var attributes: [AttributeEncoding]

    public init(summaryFeatures: [String], purchaseFeatures: [String], purchaseModel: PurchaseScore?, attributes: [AttributeEncoding]) {
        self.summaryFeatures = summaryFeatures
        self.purchaseFeatures = purchaseFeatures
        self.purchaseModel = purchaseModel
        self.attributes = attributes
    }

    /// The names of the model's features, in design order.
    public var names: [String] {
        summaryFeatures + purchaseFeatures + attributes.flatMap(\.featureNames)
    }

    /// Chooses the features of a new model. `requested` lists summary and purchase features
    /// and attribute columns by name (nil: all that the inputs offer); attribute columns are
    /// numeric when every value is a finite number, unless named in `categorical`.
    public static func choose(requested: [String]?, summary: CustomerSummary, purchaseModel: PurchaseScore?,
                              attributes: CSVTable?, categorical: Set<String> = []) throws -> FeatureSpecification {
        let attributeColumns = attributes.map { Array($0.header.dropFirst()) } ?? []
        var offered = summary.monetaryValue == nil ? Array(summaryColumns.prefix(3)) : summaryColumns
        if purchaseModel != nil { offered += purchaseColumns }
        offered += attributeColumns
        let wanted = requested ?? offered
        guard !wanted.isEmpty else { throw ChurnError.invalidInput("no features: a churn model needs at least one") }
        for name in wanted where !offered.contains(name) {
            throw ChurnError.invalidInput("unknown feature \"\(name)\"; available: \(offered.joined(separator: ", "))")
        }
        for name in Set(attributeColumns) where attributeColumns.filter({ $0 == name }).count > 1
            || summaryColumns.contains(name) || purchaseColumns.contains(name) {
            throw ChurnError.invalidInput("the attributes file has a column \"\(name)\" twice or under a summary or purchase-model feature's name: rename it")
        }
        for name in categorical where !attributeColumns.contains(name) {
            throw ChurnError.invalidInput("\"\(name)\" is not a column of the attributes file, so it cannot be categorical")
        }
        var encodings: [AttributeEncoding] = []
        if let attributes {
            let join = try AttributeJoin(attributes, summary: summary)
            for (index, name) in attributes.header.enumerated().dropFirst() where wanted.contains(name) {
                let values = join.rows.map { attributes.rows[$0][index] }
                let numbers: [Double?]? = categorical.contains(name) ? nil : values.map { Double($0) }
                let numeric = numbers?.allSatisfy { $0?.isFinite ?? false } ?? false
                // Numbers but for a NaN or an infinity: a numeric column with a bad value, not
                // a categorical one with one level per number.
                if let numbers, !numeric, !numbers.contains(nil), let bad = numbers.firstIndex(where: { !$0!.isFinite }) {
                    throw TransactionsError.invalidInput(SourceLocation(file: attributes.path, line: attributes.lines[join.rows[bad]], column: name),
                                                         "\"\(values[bad])\" is not a finite number (the column's other values are numbers; name it in --categorical to take it as levels)")
                }
                let levels = Array(Set(values)).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                if !numeric, levels.count < 2 {
                    throw ChurnError.invalidInput("the attribute \(name) has one level (\"\(levels.first ?? "")\") among the summary's customers: it tells them nothing apart; leave it out")
                }
                encodings.append(AttributeEncoding(column: name, levels: numeric ? nil : levels))
            }
        }
        return FeatureSpecification(summaryFeatures: summaryColumns.filter(wanted.contains),
                                    purchaseFeatures: purchaseColumns.filter(wanted.contains),
                                    purchaseModel: purchaseModel, attributes: encodings)
    }

    /// The features of every customer of `summary`, in the summary's order; `purchaseScores`
    /// are the purchase model's scores of these customers when the caller has them already.
    public func features(_ summary: CustomerSummary, attributes table: CSVTable?,
                         purchaseScores: PurchaseScores? = nil) throws -> FeatureMatrix {
        var columns: [[Double]] = []
        for name in summaryFeatures {
            switch name {
            case "frequency": columns.append(summary.frequency.map(Double.init))
            case "recency": columns.append(summary.recency)
            case "T": columns.append(summary.T)
            default:
                guard let monetary = summary.monetaryValue else {
                    throw ChurnError.invalidInput("the summary has no monetary_value column, which the model reads")
                }
                columns.append(monetary)
            }
        }
        if !purchaseFeatures.isEmpty, let purchaseModel {
            let scores = try purchaseScores ?? purchaseModel.scores(summary)
            for name in purchaseFeatures { columns.append(name == "p_alive" ? scores.pAlive : scores.expectedPurchases) }
        }
        if !attributes.isEmpty {
            guard let table else {
                throw ChurnError.invalidInput("the model reads customer attributes (\(self.attributes.map(\.column).joined(separator: ", "))): give the attributes file")
            }
            let join = try AttributeJoin(table, summary: summary)
            for encoding in self.attributes { columns += try encoding.encode(join) }
        }
        return FeatureMatrix(names: names, columns: columns)
    }
}

/// The BG/NBD model whose outputs are churn features and the benchmark churn scores.
public struct PurchaseScore: Codable, Sendable, Equatable {
    public var r: Double
    public var alpha: Double
    public var a: Double
    public var b: Double
    /// The window of `expected_purchases`, in the summary's unit.
    public var horizon: Double

    public init(_ model: BGNBD, horizon: Double) {
        (r, alpha, a, b) = (model.r, model.alpha, model.a, model.b)
        self.horizon = horizon
    }

    /// P(alive) at the end of calibration and expected purchases over the horizon, per customer.
    /// (LifetimeValue's `CustomerScores`, which evaluates the costly series once per distinct
    /// frequency and age.)
    public func scores(_ summary: CustomerSummary) throws -> PurchaseScores {
        let scores = CustomerScores(
            purchases: try BGNBD(r: r, alpha: alpha, a: a, b: b), spend: nil, monthLength: 1, horizon: horizon, months: 0,
            discountRate: 0, survivalToHorizon: false, frequency: summary.frequency.map(Double.init), recency: summary.recency,
            T: summary.T, monetaryValue: nil)
        return (scores.pAlive, scores.expectedPurchases)
    }

    /// The same scores of the customers of `histories`, grouped already (as for a fit).
    public func scores(_ histories: PurchaseHistories) throws -> PurchaseScores {
        let scores = CustomerScores(purchases: try BGNBD(r: r, alpha: alpha, a: a, b: b), spend: nil, monthLength: 1,
                                    horizon: horizon, months: 0, discountRate: 0, survivalToHorizon: false,
                                    histories: histories, monetaryValue: nil)
        return (scores.pAlive, scores.expectedPurchases)
    }

    /// The model's own probability of the purchase label: fewer than n purchases over the
    /// horizon, Σₖ₌₀..ₙ₋₁ P(X(horizon) = k | history), per customer.
    public func probabilityOfFewerPurchases(than n: Int, _ summary: CustomerSummary) throws -> [Double] {
        let model = try BGNBD(r: r, alpha: alpha, a: a, b: b)
        return Self.perCustomer(summary) { x, tx, T in
            model.probabilityOfFewerPurchases(than: n, in: horizon, frequency: x, recency: tx, T: T)
        }
    }

    /// The same probabilities for the customers of `histories`, taken once per distinct history.
    public func probabilityOfFewerPurchases(than n: Int, _ histories: PurchaseHistories) throws -> [Double] {
        let perRow = try probabilityOfFewerPurchasesPerHistory(than: n, histories)
        return histories.customerRows.map { perRow[Int($0)] }
    }

    /// The same probabilities, one per distinct history of `histories` (in its row order, as
    /// `customerRows` numbers them).
    public func probabilityOfFewerPurchasesPerHistory(than n: Int, _ histories: PurchaseHistories) throws -> [Double] {
        let model = try BGNBD(r: r, alpha: alpha, a: a, b: b)
        return Self.perCustomer(count: histories.distinctCount) { r in
            model.probabilityOfFewerPurchases(than: n, in: horizon, frequency: histories.frequency[r],
                                              recency: histories.recency[r], T: histories.T[r])
        }
    }

    /// `score(frequency, recency, T)` of every customer, on two threads for large summaries.
    private static func perCustomer(_ summary: CustomerSummary, _ score: (Double, Double, Double) -> Double) -> [Double] {
        perCustomer(count: summary.count) { i in score(Double(summary.frequency[i]), summary.recency[i], summary.T[i]) }
    }

    /// `score(i)` for i in 0..<count, on two threads for large counts.
    private static func perCustomer(count: Int, _ score: (Int) -> Double) -> [Double] {
        var values = [Double](repeating: 0, count: count)
        let threads = count >= 20_000 ? 2 : 1
        values.withUnsafeMutableBufferPointer { slots in
            parallelFor(threads) { t in
                for i in (count * t / threads)..<(count * (t + 1) / threads) { slots[i] = score(i) }
            }
        }
        return values
    }
}

/// P(alive) and expected purchases of each customer.
public typealias PurchaseScores = (pAlive: [Double], expectedPurchases: [Double])

/// How one attribute column becomes features.
public struct AttributeEncoding: Codable, Sendable, Equatable {
    public var column: String
    /// nil for a numeric column; the sorted levels of a categorical one, the first being the
    /// reference level.
    public var levels: [String]?

    public var featureNames: [String] {
        guard let levels else { return [column] }
        return levels.dropFirst().map { "\(column)=\($0)" }
    }

    /// The column's features for the joined customers.
    func encode(_ join: AttributeJoin) throws -> [[Double]] {
        guard let index = join.table.header.firstIndex(of: column) else {
            throw ChurnError.invalidInput("\(join.table.path) has no column \"\(column)\", which the model reads")
        }
        guard let levels else {
            return [try join.rows.map { row in
                let text = join.table.rows[row][index]
                guard let value = Double(text), value.isFinite else {
                    throw TransactionsError.invalidInput(SourceLocation(file: join.table.path, line: join.table.lines[row], column: column),
                                                         "\"\(text)\" is not a finite number (the column is numeric)")
                }
                return value
            }]
        }
        let position = Dictionary(uniqueKeysWithValues: levels.enumerated().map { ($1, $0) })
        var dummies = [[Double]](repeating: [Double](repeating: 0, count: join.rows.count), count: levels.count - 1)
        for (customer, row) in join.rows.enumerated() {
            let text = join.table.rows[row][index]
            guard let level = position[text] else {
                throw TransactionsError.invalidInput(SourceLocation(file: join.table.path, line: join.table.lines[row], column: column),
                                                     "level \"\(text)\" was not seen when the model was fitted (levels: \(levels.joined(separator: ", ")))")
            }
            if level > 0 { dummies[level - 1][customer] = 1 }
        }
        return dummies
    }
}

/// The attribute row of each summary customer, joined on `customer_id`. Every summary
/// customer needs exactly one row; rows of other customers are ignored.
struct AttributeJoin {
    let table: CSVTable
    /// The table row of each summary customer, in the summary's order.
    let rows: [Int]

    init(_ table: CSVTable, summary: CustomerSummary) throws {
        guard table.header.first == "customer_id" else {
            throw TransactionsError.invalidInput(SourceLocation(file: table.path, line: 1),
                                                 "the first column must be customer_id (got \"\(table.header.first ?? "")\")")
        }
        var rowOf: [String: Int] = [:]
        for (row, fields) in table.rows.enumerated() {
            if let earlier = rowOf.updateValue(row, forKey: fields[0]) {
                throw TransactionsError.invalidInput(SourceLocation(file: table.path, line: table.lines[row], column: "customer_id"),
                                                     "customer \"\(fields[0])\" already has a row on line \(table.lines[earlier])")
            }
            for (index, field) in fields.enumerated() where field.isEmpty {
                throw TransactionsError.invalidInput(SourceLocation(file: table.path, line: table.lines[row], column: table.header[index]),
                                                     "empty value: every attribute needs a value")
            }
        }
        var rows: [Int] = []
        rows.reserveCapacity(summary.count)
        for id in summary.customerIDs {
            guard let row = rowOf[id] else {
                throw TransactionsError.invalidFile(table.path, "no row for customer \"\(id)\" of the summary: every customer needs its attributes")
            }
            rows.append(row)
        }
        self.table = table
        self.rows = rows
    }
}
