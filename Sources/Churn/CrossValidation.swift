#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LinearAlgebra
import Simulation
import Transactions

/// Out-of-sample evaluation by stratified k-fold cross-validation.
///
/// Customers are placed into k folds class by class, at random (xoshiro256**, seeded), so
/// that every fold has the overall churn rate to within one customer. For each fold the
/// standardisation and the logistic model are fitted on the other k − 1 folds and score the
/// fold; the metrics are taken on the pooled out-of-fold probabilities (and the AUC within
/// each fold).
///
/// The purchase model's own churn scores — 1 − P(alive), expected holdout purchases (fewer
/// expected purchases: more likely to churn) and, for purchase-count labels, the model's
/// probability of the label itself (fewer than n purchases in the holdout) — are measured on
/// the same customers and folds. They are out of sample in time (the BG/NBD model sees only
/// the calibration window) and never see the labels, so they need no refitting per fold;
/// expected purchases are not a probability, so they get the ranking metrics only.
public struct ChurnEvaluation: Codable, Sendable, Equatable {
    public var folds: Int
    public var seed: UInt64
    public var logistic: ScoreMetrics
    /// 1 − P(alive) as a churn probability.
    public var oneMinusPAlive: ScoreMetrics?
    /// −(expected holdout purchases) as a churn score.
    public var expectedPurchases: ScoreMetrics?
    /// The purchase model's P(fewer than n purchases in the holdout), for purchase-count labels.
    public var purchaseModelProbability: ScoreMetrics?
    /// The out-of-fold churn probability of each customer (not saved in the model file).
    public var outOfFoldProbabilities: [Double] = []

    private enum CodingKeys: String, CodingKey { case folds, seed, logistic, oneMinusPAlive, expectedPurchases, purchaseModelProbability }

    /// Cross-validates the logistic model on `features` and measures `purchaseScores` and
    /// `purchaseModelProbability` on the same folds. `fitted`, the model fitted on all of
    /// them, lends the folds its standardisation and its coefficients as Newton's start.
    /// (`ChurnModel.fit` with a `CrossValidation` does both at once, on one design.)
    public init(features: FeatureMatrix, labels: [Double], purchaseScores: PurchaseScores?,
                purchaseModelProbability: [Double]? = nil, penalty: Double, classWeights: ClassWeights, folds: Int, seed: UInt64,
                fitted: ChurnModel? = nil) throws {
        let layout = try FoldLayout(labels: labels, folds: folds, seed: seed)
        let start = fitted.flatMap { $0.transform.names == features.names ? ($0.transform, $0.coefficients.map(\.standardized)) : nil }
        let transform = try start?.0 ?? FeatureTransform(fitting: features)
        let outOfFold = try Self.outOfFoldProbabilities(
            FoldDesign(features: features, labels: labels, layout: layout, transform: transform, classWeights: classWeights),
            penalty: penalty, classWeights: classWeights, start: start?.1, initial: nil)
        self.init(outOfFold: outOfFold, labels: labels, layout: layout, purchaseScores: purchaseScores,
                  purchaseModelProbability: purchaseModelProbability)
    }

    /// The metrics of the out-of-fold probabilities and of the purchase model's scores on
    /// `layout`'s folds; with `historyOf`, the purchase model's scores are measured per
    /// distinct history.
    init(outOfFold: [Double], labels: [Double], layout: FoldLayout, purchaseScores: PurchaseScores?,
         purchaseModelProbability: [Double]?, historyOf: [Int32]? = nil, scoresPerHistory: Bool = false) {
        precondition(!scoresPerHistory || historyOf != nil, "scores per history need the customers' histories")
        self.folds = layout.folds
        self.seed = layout.seed
        // The scores are measured side by side, one per thread; a score that is a function of
        // another is made by the thread that measures it, and dropped after.
        let measure = { (scores: [Double], isProbability: Bool) in
            ScoreMetrics(scores: scores, labels: labels, isProbability: isProbability, folds: layout.fold, foldCount: layout.folds)
        }
        /// A purchase-model score, `transform` of `scores`, measured per history when known,
        /// from the histories' counts (`counts`, taken once for all of them).
        var counts: ScoreMetrics.GroupCounts?
        let histories = historyOf.map { Int($0.max() ?? -1) + 1 } ?? 0
        let measurePurchaseScore = { (scores: [Double], isProbability: Bool, transform: (Double) -> Double) -> ScoreMetrics in
            guard let historyOf, let counts else { return measure(scores.map(transform), isProbability) }
            let perHistory = scoresPerHistory ? scores.map(transform)
                : ChurnModel.perHistory(scores, historyOf: historyOf).map(transform)
            return ScoreMetrics(groupOf: historyOf, groupScores: perHistory, counts: counts, labels: labels,
                                isProbability: isProbability, folds: layout.fold)
        }
        var purchaseMeasures: [() -> ScoreMetrics] = []
        if let purchaseScores {
            purchaseMeasures.append { measurePurchaseScore(purchaseScores.pAlive, true) { 1 - $0 } }
            purchaseMeasures.append { measurePurchaseScore(purchaseScores.expectedPurchases, false) { -$0 } }
        }
        if let purchaseModelProbability { purchaseMeasures.append { measurePurchaseScore(purchaseModelProbability, true) { $0 } } }
        var metrics = [ScoreMetrics?](repeating: nil, count: 1 + purchaseMeasures.count)
        metrics.withUnsafeMutableBufferPointer { slots in
            // The out-of-fold probabilities are ranked while the histories are counted; then
            // the purchase model's scores, side by side.
            parallelFor(historyOf != nil && !purchaseMeasures.isEmpty ? 2 : 1) { t in
                if t == 0 {
                    slots[0] = measure(outOfFold, true)
                } else if let historyOf {
                    counts = ScoreMetrics.GroupCounts(groupOf: historyOf, groups: histories, labels: labels, folds: layout.fold,
                                                      foldCount: layout.folds)
                }
            }
            parallelFor(purchaseMeasures.count) { m in slots[1 + m] = purchaseMeasures[m]() }
        }
        logistic = metrics[0]!
        oneMinusPAlive = purchaseScores == nil ? nil : metrics[1]
        expectedPurchases = purchaseScores == nil ? nil : metrics[2]
        self.purchaseModelProbability = purchaseModelProbability == nil ? nil : metrics.last!
        outOfFoldProbabilities = outOfFold
    }

    /// The folds of a cross-validation and the customers in fold order: `order[r]` is the
    /// customer on design row r, fold k's customers being rows `ranges[k]`.
    struct FoldLayout {
        let folds: Int
        let seed: UInt64
        /// Each customer's fold.
        let fold: [Int]
        /// The customer on each design row.
        let order: [Int32]
        /// The design row of each customer (`order`'s inverse).
        let position: [Int32]
        let ranges: [Range<Int>]

        init(labels: [Double], folds: Int, seed: UInt64) throws {
            try Self.check(labels: labels, folds: folds)
            self.init(fold: ChurnEvaluation.stratifiedFolds(labels: labels, folds: folds, seed: seed), folds: folds, seed: seed)
        }

        /// Refuses labels that cannot be spread over `folds` folds of both classes.
        static func check(labels: [Double], folds: Int) throws {
            let n = labels.count
            let churners = Int(labels.reduce(0, +))
            guard folds >= 2, min(churners, n - churners) >= folds else {
                throw ChurnError.invalidInput("\(folds)-fold cross-validation needs at least 2 folds and \(folds) customers of each class (\(churners) churned, \(n - churners) retained)")
            }
        }

        /// The layout of units (customers, or distinct rows of customers) whose folds are given.
        init(fold: [Int], folds: Int, seed: UInt64) {
            let n = fold.count
            // A counting sort by fold.
            var bounds = [Int](repeating: 0, count: folds + 1)
            for f in fold { bounds[f + 1] += 1 }
            for k in 0..<folds { bounds[k + 1] += bounds[k] }
            precondition(n <= Int(Int32.max), "customers are numbered in 32 bits")
            var next = bounds
            var order = [Int32](repeating: 0, count: n)
            var position = [Int32](repeating: 0, count: n)
            for (i, f) in fold.enumerated() {
                order[next[f]] = Int32(truncatingIfNeeded: i)
                position[i] = Int32(truncatingIfNeeded: next[f])
                next[f] += 1
            }
            (self.folds, self.seed, self.fold, self.order, self.position) = (folds, seed, fold, order, position)
            ranges = (0..<folds).map { bounds[$0]..<bounds[$0 + 1] }
        }

        /// The customers' values in design-row order.
        func ordered(_ values: [Double]) -> [Double] {
            [Double](unsafeUninitializedCapacity: values.count) { target, initialised in
                for (i, row) in position.enumerated() { target[Int(row)] = values[i] }
                initialised = values.count
            }
        }
    }

    /// The design of a cross-validation: its rows in fold order, so that a fold's training
    /// rows are the other folds' stretches. Customers who share features, label and fold (the
    /// one-time buyers of a first-purchase day) are one row, weighted by their count, when that
    /// saves at least a quarter of the rows and no class weights are asked for (so that the
    /// case weights are the counts alone): each row then weighs its customers in the fits, the
    /// class weights and the folds' standardisations, which equal those on the customers one
    /// by one.
    struct FoldDesign {
        /// The rows' units (customers, or distinct rows of customers) in folds.
        let layout: FoldLayout
        let design: Matrix
        /// The label of each design row.
        let labels: [Double]
        /// The customers each design row stands for (nil: one each).
        let counts: [Double]?
        /// The case weights of the fit on every row: the counts, or the class weights.
        let caseWeights: [Double]?
        /// The features of the units, in unit order (for messages that name a value).
        let features: FeatureMatrix
        /// Each customer's unit (nil: the customers are the units).
        let unitOf: [Int32]?

        /// `historyOf`: each customer's distinct purchase history (`CrossValidation.historyOf`),
        /// which then stands for the features that are functions of it
        /// (`FeatureSpecification.historyFeatures`): they are neither hashed nor compared, and
        /// the rows are the same.
        init(features: FeatureMatrix, labels: [Double], layout customers: FoldLayout, transform: FeatureTransform,
             classWeights: ClassWeights, compressing: Bool = true, historyOf: [Int32]? = nil) {
            // The labels are compared as values too, so that one that is neither 0 nor 1 stays
            // in a row of its own, to be refused by the fit.
            let compared = historyOf == nil ? features.columns
                : zip(features.names, features.columns).filter { !FeatureSpecification.historyFeatures.contains($0.0) }.map(\.1)
            let key = historyOf.map { zip($0, customers.fold).map { UInt64(UInt32(bitPattern: $0)) | UInt64($1) << 32 } }
                ?? customers.fold.map { UInt64($0) }
            let repeats = !compressing || classWeights != .none ? nil : DistinctRows.repeated(columns: compared + [labels], key: key)
            if let repeats {
                layout = FoldLayout(fold: repeats.first.map { customers.fold[Int($0)] }, folds: customers.folds, seed: customers.seed)
                self.features = FeatureMatrix(names: features.names, columns: features.columns.map { column in
                    repeats.first.map { column[Int($0)] }
                })
                self.labels = layout.ordered(repeats.first.map { labels[Int($0)] })
                counts = layout.ordered(repeats.counts)
                caseWeights = counts
                unitOf = repeats.group
            } else {
                layout = customers
                self.features = features
                self.labels = layout.ordered(labels)
                counts = nil
                caseWeights = classWeights.caseWeights(self.labels)
                unitOf = nil
            }
            design = transform.design(self.features, positions: layout.position)
        }

        /// The unit values (in unit order) handed to every customer.
        func perCustomer(_ values: [Double]) -> [Double] {
            unitOf.map { $0.map { values[Int($0)] } } ?? values
        }
    }

    /// Each customer's churn probability from the model fitted without its fold.
    ///
    /// The folds share `fold.design`, the features standardised by the full model's
    /// transform (or over everyone), in fold order; `start`: the full model's coefficients;
    /// `initial`: the block sums of its last evaluation on this design, its blocks split at
    /// the fold boundaries.
    ///
    /// A fold's model is the one fitted on its training rows standardised by their own means
    /// and deviations: with z a column of the shared design and m, v the training rows' mean
    /// and population variance of z, the fold's standardised feature is (z − m)/√v (z being
    /// affine in the feature). A slope β on it is the slope γ = β/√v on z, its shift −γm going
    /// into the intercept, which is not penalised; its penalty λβ²/2 is λ v γ²/2: the fold is
    /// fitted on z with slope j's penalty scaled by vⱼ, the same optimum without a design of
    /// its own. Newton starts from `start`, the model on every customer, within sampling error
    /// of each fold's optimum; it converges to the fold's own optimum whatever the start, so no
    /// fold learns from its held-out rows. The first evaluation there, a fold's share of
    /// `initial` when its case weights are the full fit's, costs no pass over the design.
    static func outOfFoldProbabilities(_ fold: FoldDesign, penalty: Double, classWeights: ClassWeights, start: [Double]?,
                                       initial: BlockPartials?) throws -> [Double] {
        let (layout, design, orderedLabels, counts) = (fold.layout, fold.design, fold.labels, fold.counts)
        let n = orderedLabels.count, order = layout.order, folds = layout.folds
        let names = ["intercept"] + fold.features.names
        func customers(_ ranges: [Range<Int>], _ value: (Int) -> Double) -> Double {
            ranges.reduce(0.0) { sum, range in range.reduce(sum) { $0 + (counts?[$1] ?? 1) * value($1) } }
        }
        let everyone = classWeights.classWeights(churned: customers([0..<n]) { orderedLabels[$0] }, customers: customers([0..<n]) { _ in 1 })
        // A column of case weights only when the classes or the units weigh other than 1.
        var weights = counts
        var outOfFold = [Double](repeating: 0, count: n)
        for k in 0..<folds {
            let testing = layout.ranges[k]
            let training = [0..<testing.lowerBound, testing.upperBound..<n].filter { !$0.isEmpty }
            do {
                let variances = try trainingVariances(design, training, counts: counts) { j, row in
                    (fold.features.names[j], fold.features.columns[j][Int(order[row])])
                }
                let own = classWeights.classWeights(churned: customers(training) { orderedLabels[$0] },
                                                    customers: customers(training) { _ in 1 })
                if let (churnedWeight, retainedWeight) = own {
                    weights = orderedLabels.indices.map { (orderedLabels[$0] == 1 ? churnedWeight : retainedWeight) * (counts?[$0] ?? 1) }
                }
                var regression = LogisticRegression(penalty: penalty)
                regression.evaluatesLastStep = false
                regression.weightsCountCustomers = counts != nil && own == nil
                let fit = try regression.fit(
                    design: design, rows: layout.ranges.indices.filter { $0 != k }.map { layout.ranges[$0] },
                    labels: orderedLabels, weights: weights, penaltyScales: [1] + variances, start: start,
                    initial: own?.churned == everyone?.churned && own?.retained == everyone?.retained ? initial : nil,
                    names: names)
                for (row, eta) in zip(testing, design.linearPredictor(rows: testing, fit.coefficients)) {
                    outOfFold[Int(order[row])] = 1 / (1 + exp(-eta))
                }
            } catch let error as ChurnError {
                throw ChurnError.invalidInput("cross-validation fold \(k + 1) of \(folds) (fitted without \(Int(customers([testing]) { _ in 1 })) customers): \(error)")
            }
        }
        return fold.perCustomer(outOfFold)
    }

    /// The population variance of each feature column of `design` over the `training` rows
    /// (`FeatureTransform`'s moments, read in place, each row counted `counts` times); a
    /// feature constant on them is refused, with its name and value (`feature(j, row)`:
    /// feature j's name and its value on a row).
    private static func trainingVariances(_ design: Matrix, _ training: [Range<Int>], counts: [Double]?,
                                          feature: (Int, Int) -> (name: String, value: Double)) throws -> [Double] {
        // The training rows are one or two stretches; i counts through them. The columns go
        // side by side on the cores for a large design.
        let first = training[0], count = training.reduce(0) { $0 + $1.count }
        let second = training.count > 1 ? training[1].lowerBound - first.count : 0
        let features = design.columns - 1
        let threads = count >= 100_000 && features > 1 ? 2 : 1
        var moments = [FeatureTransform.Moments?](repeating: nil, count: features)
        design.withUnsafeBufferPointer { x, lda in
            moments.withUnsafeMutableBufferPointer { slots in
                parallelFor(threads) { t in
                    for j in stride(from: t, to: features, by: threads) {
                        let column = x.baseAddress! + (j + 1) * lda
                        let row = { (i: Int) in i < first.count ? first.lowerBound + i : second + i }
                        if let counts {
                            slots[j] = FeatureTransform.moments(count: count, weight: { counts[row($0)] }) { column[row($0)] }
                        } else {
                            slots[j] = FeatureTransform.moments(count: count) { column[row($0)] }
                        }
                    }
                }
            }
        }
        return try moments.enumerated().map { j, moment in
            guard !moment!.constant else {
                let (name, value) = feature(j, first.lowerBound)
                throw ChurnError.constantFeature(name, value: value)
            }
            return moment!.variance
        }
    }

    /// The fold (0..<folds) of each customer. The churned customers' folds get as many of
    /// them as dealing them round-robin would, and the retained ones continue the deal where
    /// the churned ones stopped, so each fold has the overall churn rate to within one
    /// customer. Who goes where is a uniformly random arrangement of those counts, drawn
    /// customer by customer in file order (the next customer of a class joins fold f with
    /// probability its remaining places over the class's remaining customers): one pass in
    /// order, where a shuffle would jump about the whole customer list.
    public static func stratifiedFolds(labels: [Double], folds: Int, seed: UInt64) -> [Int] {
        var random = SeededRandom(seed: seed)
        let churned = labels.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
        func places(dealt: Range<Int>) -> [Int] {
            var counts = [Int](repeating: dealt.count / folds, count: folds)
            for t in 0..<(dealt.count % folds) { counts[(dealt.lowerBound + t) % folds] += 1 }
            return counts
        }
        // Class c's remaining places in fold f are remaining[c * folds + f]; one flat array and
        // a plain loop, so that ten million draws touch no nested array or captured variable.
        var remaining = places(dealt: 0..<churned) + places(dealt: churned..<labels.count)
        var left = (churned, labels.count - churned)
        return [Int](unsafeUninitializedCapacity: labels.count) { fold, initialised in
            remaining.withUnsafeMutableBufferPointer { remaining in
                for (i, label) in labels.enumerated() {
                    let churner = label == 1
                    let base = churner ? 0 : folds
                    var draw = Int(random.next(upperBound: UInt64(churner ? left.0 : left.1)))
                    var f = 0
                    while draw >= remaining[base + f] {
                        draw -= remaining[base + f]
                        f += 1
                    }
                    remaining[base + f] -= 1
                    if churner { left.0 -= 1 } else { left.1 -= 1 }
                    fold[i] = f
                }
            }
            initialised = labels.count
        }
    }
}
