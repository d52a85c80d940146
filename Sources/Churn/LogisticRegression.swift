#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LinearAlgebra
import Transactions

/// L2-penalised, weighted logistic regression fitted by Newton's method (IRLS).
///
/// With design X (n × c, first column all ones), labels yᵢ ∈ {0, 1}, case weights wᵢ (class
/// weights) and penalty λ, it minimises
///
///     f(β) = Σᵢ wᵢ [log(1 + e^ηᵢ) − yᵢ ηᵢ] + (λ/2) Σⱼ≥₁ βⱼ²,   η = Xβ,
///
/// which is scikit-learn's `LogisticRegression(C = 1/λ, class_weight = …)` objective (its
/// penalty too leaves the intercept out) and, with λ = 0 and unit weights, the likelihood
/// statsmodels' `Logit` maximises. The gradient is Xᵀ(w∘(p − y)) + λβ̃ and the Hessian
/// Xᵀ diag(w p(1 − p)) X + λĨ (Ĩ: identity without the intercept); each Newton step solves
/// H s = g by Cholesky (LAPACK `dpotrf`/`dpotrs`), halved while it fails to lower f. The
/// fit has converged when no coefficient moves by more than 1e-7 (per standard deviation of
/// its feature): Newton's convergence is quadratic there, so what remains is of the order of
/// the square of that step.
///
/// Goals, in order: the optimum to 1e-6 of those references, a clear refusal where no
/// optimum exists (separation, collinear features), determinism, then speed.
///
/// Hazards and guards:
/// - log(1 + e^η) overflows for large η: it is evaluated as max(η, 0) + log(1 + e^−|η|), and
///   p from the same e^−|η|, so no exponential of a positive number is taken.
/// - Xᵀ W X is formed one block of rows at a time, while the block is in cache, as X_bᵀ Z_b
///   with the weighted copy Z_b = (w p(1 − p)) ∘ X_b, by BLAS `gemm` (for 11 columns
///   OpenBLAS's `syrk` on √W X runs at half `gemm`'s speed here, so gemm's twice-the-flops
///   wins); the gradient by `gemm` on the same block.
/// - Blocks have a fixed size and their partial sums are added in block order, so the result
///   is the same bits on one thread or two.
/// - Under complete or quasi-complete separation the likelihood has no maximum: coefficients
///   grow without bound and p(1 − p) → 0 makes the Hessian singular. An unpenalised fit that
///   stops converging, or whose Hessian stops being positive definite after the first step,
///   is refused, naming the feature whose coefficient runs away.
public struct LogisticRegression: Sendable {
    /// λ, the L2 penalty on the slopes (the intercept is never penalised).
    public var penalty: Double

    /// The penalties a fit takes from a user: 0, or 1e-8 to 1e6. Beyond, the arithmetic, not
    /// the data, decides: 1e-300 is 0 to every sum it enters, and a separable design then
    /// fails with a message about a collinear intercept.
    public static func acceptsPenalty(_ penalty: Double) -> Bool {
        penalty == 0 || (1e-8...1e6).contains(penalty)
    }
    public var maximumIterations: Int
    /// Convergence: the largest Newton step on any coefficient is below this.
    public var tolerance: Double
    /// Designs with at least this many rows start Newton from a fit on a sample of them.
    var warmStartMinimumRows = 200_000
    /// When false, a step below the tolerance is taken without evaluating f where it lands:
    /// the coefficients are the new point's, but the loss, gradient norm and covariance are
    /// the previous point's. Near the optimum such a step always lowers f, so the evaluation
    /// only confirms it; a cross-validation fold, which keeps the coefficients alone, skips it.
    var evaluatesLastStep = true
    /// The case weights count the customers each design row stands for (rows shared by
    /// customers with the same features and label), with no class weighting: the fit is that
    /// of the customers one by one, so the unweighted fit's covariance and counts hold.
    var weightsCountCustomers = false

    public init(penalty: Double = 0, maximumIterations: Int = 100, tolerance: Double = 1e-7) {
        self.penalty = penalty
        self.maximumIterations = maximumIterations
        self.tolerance = tolerance
    }

    /// Fits the model. `design` has the intercept column first; `names` names its columns
    /// (for messages); `weights` are per-customer case weights (nil: all 1).
    public func fit(design: Matrix, labels: [Double], weights: [Double]? = nil, names: [String]) throws -> LogisticFit {
        try fit(design: design, rows: [0..<design.rows], labels: labels, weights: weights, penaltyScales: nil, start: nil, names: names)
    }

    /// Fits the model on the design's rows in `rows` only; `labels` and `weights` are indexed
    /// like the design's rows, and the other rows are never read. Slope j is penalised by
    /// `penalty · penaltyScales[j]` (nil: all 1), which fits a model standardised otherwise
    /// than the design: a cross-validation fold on the whole data's design. Newton starts at
    /// `start` when given; otherwise at the churn rate's log-odds, or for a large design at
    /// the optimum of a sample of it.
    ///
    /// `initial`, the block sums of another fit's evaluation at `start` on the same design,
    /// labels and weights (`LogisticFit.partials`), serves as the first evaluation when it
    /// covers every block of `rows`: a cross-validation fold, whose blocks are the full fit's
    /// less its own, skips a pass over the design. The sums are added as a fresh evaluation adds
    /// them, so the fit is the same to the bit either way.
    func fit(design: Matrix, rows: [Range<Int>], labels: [Double], weights: [Double]?, penaltyScales: [Double]?,
             start: [Double]?, initial: BlockPartials? = nil, names: [String]) throws -> LogisticFit {
        let n = design.rows, c = design.columns
        precondition(labels.count == n && names.count == c && (weights?.count ?? n) == n, "one label and weight per row")
        precondition((penaltyScales?.count ?? c) == c && (start?.count ?? c) == c, "one penalty scale and start per coefficient")
        precondition(rows.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= n }, "rows within the design")
        let penalties = (0..<c).map { j in j == 0 ? 0 : penalty * (penaltyScales?[j] ?? 1) }
        let problem = try Problem(design: design, rows: rows, labels: labels, weights: weights, penalties: penalties)

        var beta = [Double](repeating: 0, count: c)
        beta[0] = log(problem.weightedChurn / (problem.totalWeight - problem.weightedChurn))
        if let start {
            beta = start
        } else if let sampled = warmStart(problem, penaltyScales: penaltyScales) {
            beta = sampled
        }
        var passes = 0
        /// Design column `j` (0-based) named as collinear with the features before it.
        func collinear(_ j: Int) -> ChurnError {
            .collinear(feature: names[j], among: Array(names[1..<max(1, j)]))
        }
        func evaluate(_ beta: [Double]) -> Problem.Evaluation {
            passes += 1
            return problem.evaluate(beta)
        }
        var current = initial.flatMap { problem.evaluation(from: $0, at: beta) } ?? evaluate(beta)
        var iterations = 0
        var converged = false
        var largestStep = Double.infinity
        while iterations < maximumIterations {
            let cholesky: Cholesky
            do {
                cholesky = try Cholesky(factoring: current.hessian)
            } catch LinearAlgebraError.notPositiveDefinite(let column) {
                // LAPACK counts columns from 1.
                if iterations == 0 || penalty > 0 { throw collinear(column - 1) }
                throw separation(beta, problem, names)
            }
            if iterations == 0, penalty == 0, let column = Self.dependentColumn(cholesky, of: current.hessian) {
                throw collinear(column)
            }
            var step = try cholesky.solve(current.gradient)
            var candidate = zip(beta, step).map { $0 - $1 }
            if !evaluatesLastStep, let largest = step.map(abs).max(), largest < tolerance {
                (beta, largestStep, converged) = (candidate, largest, true)
                iterations += 1
                break
            }
            var next = evaluate(candidate)
            var halvings = 0
            while !(next.objective <= current.objective + 1e-12 * abs(current.objective)), halvings < 40 {
                for j in 0..<c { step[j] *= 0.5 }
                candidate = zip(beta, step).map { $0 - $1 }
                next = evaluate(candidate)
                halvings += 1
            }
            iterations += 1
            beta = candidate
            current = next
            largestStep = step.map(abs).max() ?? 0
            if largestStep < tolerance {
                converged = true
                break
            }
        }
        if !converged, penalty == 0 { throw separation(beta, problem, names) }

        let unweighted = weightsCountCustomers || (weights?.allSatisfy { $0 == 1 } ?? true)
        var covariance: Matrix?
        if penalty == 0, unweighted {
            covariance = try Cholesky(factoring: current.hessian).inverse()
        }
        return LogisticFit(coefficients: beta, covariance: covariance, objective: current.objective,
                           logLikelihood: -current.loss, gradientNorm: BLAS.nrm2(current.gradient),
                           iterations: iterations, converged: converged, lastStep: largestStep,
                           partials: current.partials?.beta == beta ? current.partials : nil, passes: passes)
    }

    /// The first feature column (0-based) that the columns before it reproduce up to rounding,
    /// or nil. Factoring the Hessian H = XᵀWX gives, in the pivot L_jj², the weighted squared
    /// residual of column j after its regression on the earlier columns (the intercept among
    /// them). H_jj is the column's uncentred weighted sum of squares, at least its centred
    /// one, so L_jj² / H_jj is at most 1 − R²_j (equal when the column's weighted mean is 0, as
    /// a standardised column's is at the default start). An exact linear dependence leaves the
    /// ratio at the rounding error of the sums, which `dpotrf` may or may not see as ≤ 0
    /// depending on the BLAS kernels; below `collinearShare` the column is called collinear
    /// either way (its coefficient's variance would be inflated more than 10¹⁰ times).
    static func dependentColumn(_ cholesky: Cholesky, of hessian: Matrix) -> Int? {
        let factor = cholesky.factor
        for j in 1..<max(1, hessian.columns) {
            let pivot = factor[j, j]
            if pivot * pivot < collinearShare * hessian[j, j] { return j }
        }
        return nil
    }

    /// The share 1 − R² below which a column counts as collinear with the columns before it.
    static let collinearShare = 1e-10

    /// For a large design, the optimum on every 16th customer (with the penalty scaled by
    /// 1/16, so that it weighs as much against the smaller sum), from which Newton on all
    /// customers needs about three steps instead of six: it starts within sampling error,
    /// O(1/√(n/16)), of the optimum. nil (start from the churn rate) for small designs, or
    /// when the sample cannot be fitted (one class, separation, collinearity in the sample).
    private func warmStart(_ problem: Problem, penaltyScales: [Double]?) -> [Double]? {
        let stride = 16, design = problem.design, c = design.columns
        guard problem.rowCount >= warmStartMinimumRows else { return nil }
        let sampled = problem.rows.flatMap { Swift.stride(from: $0.lowerBound, to: $0.upperBound, by: stride) }
        var sample = Matrix(rows: sampled.count, columns: c)
        for j in 0..<c {
            for (k, i) in sampled.enumerated() { sample[k, j] = design[i, j] }
        }
        let sampleFit = try? LogisticRegression(penalty: penalty / Double(stride), maximumIterations: 30, tolerance: 1e-4).fit(
            design: sample, rows: [0..<sampled.count], labels: sampled.map { problem.labels[$0] },
            weights: problem.weights.map { w in sampled.map { w[$0] } }, penaltyScales: penaltyScales, start: nil,
            names: (0..<c).map { "column \($0)" })
        return sampleFit.flatMap { $0.converged ? $0.coefficients : nil }
    }

    /// The refusal for a likelihood without a maximum, naming the runaway coefficient and
    /// whether every customer (complete separation) or only some (quasi-complete) are fitted
    /// with certainty.
    private func separation(_ beta: [Double], _ problem: Problem, _ names: [String]) -> ChurnError {
        let worst = (1..<beta.count).max { abs(beta[$0]) < abs(beta[$1]) } ?? 0
        let eta = problem.rows.flatMap { problem.design.linearPredictor(rows: $0, beta) }
        let labels = problem.rows.flatMap { problem.labels[$0] }
        // Each row counts its customers when it stands for several.
        let customers = weightsCountCustomers ? problem.rows.flatMap { problem.weights![$0] } : eta.map { _ in 1.0 }
        let certain = Int(eta.indices.reduce(0.0) { abs(1 / (1 + exp(-eta[$1])) - labels[$1]) < 1e-8 ? $0 + customers[$1] : $0 })
        let total = Int(customers.reduce(0, +))
        let kind = certain == total ? "complete separation" : "quasi-complete separation"
        return ChurnError.separation(feature: names[worst], detail:
            "\(kind): \(certain) of \(total) customers are fitted with probability within 1e-8 of their label and the coefficient of \(names[worst]) grows without bound (\(beta[worst]) per standard deviation), so the unpenalised likelihood has no maximum")
    }
}

/// A fitted logistic regression, on the scale of the design it was given.
public struct LogisticFit: Sendable {
    /// β, intercept first.
    public var coefficients: [Double]
    /// The inverse Hessian at β: the coefficients' covariance, when unpenalised and unweighted.
    public var covariance: Matrix?
    /// f(β) as minimised (weighted loss plus penalty).
    public var objective: Double
    /// The weighted log-likelihood Σ wᵢ log p(yᵢ).
    public var logLikelihood: Double
    public var gradientNorm: Double
    public var iterations: Int
    public var converged: Bool
    /// The largest coefficient change of the last Newton step.
    public var lastStep: Double
    /// The block sums of the evaluation at `coefficients` (nil when the last step was taken
    /// without one).
    var partials: BlockPartials?
    /// Passes over the design (evaluations of f).
    var passes = 0
}

/// One evaluation's sums per block of rows, at `beta`, without the penalty: what a fit on
/// some of the blocks adds up at the same point.
struct BlockPartials: Sendable {
    var beta: [Double]
    /// The first row of each block and its row count, in order.
    var blocks: [(start: Int, rows: Int)]
    var losses: [Double]
    /// c per block.
    var gradients: [Double]
    /// c × c per block, column-major.
    var hessians: [Double]
}

/// The data of one fit and the evaluation of f, its gradient and Hessian at a β.
private struct Problem {
    let design: Matrix
    /// The design rows fitted on.
    let rows: [Range<Int>]
    let labels: [Double]
    /// nil: every row weighs 1 (`classWeights` is then (1, 1)), without a column of ones.
    let weights: [Double]?
    /// Per coefficient; the intercept's is 0.
    let penalties: [Double]
    /// The weight of each class when every customer of a class has the same (nil otherwise).
    let classWeights: (retained: Double, churned: Double)?
    /// Σ wᵢyᵢ and Σ wᵢ over the rows.
    let weightedChurn: Double, totalWeight: Double
    /// The first row and the row count of each block, in order.
    let blocks: [(start: Int, rows: Int)]
    let rowCount: Int

    /// Checks the labels (0 or 1) and weights (finite, not negative) of the rows, and that
    /// both classes weigh something, in the same pass that finds the class weights.
    init(design: Matrix, rows: [Range<Int>], labels: [Double], weights: [Double]?, penalties: [Double]) throws {
        self.design = design
        self.rows = rows
        self.labels = labels
        self.weights = weights
        self.penalties = penalties
        var churned: Double?, retained: Double?, uniform = true
        var weightedChurn = 0.0, totalWeight = 0.0
        for range in rows {
            for i in range {
                guard labels[i] == 0 || labels[i] == 1 else { throw ChurnError.invalidInput("labels must be 0 (retained) or 1 (churned)") }
                let weight = weights?[i] ?? 1
                guard weight >= 0, weight.isFinite else { throw ChurnError.invalidInput("case weights must be finite and not negative") }
                weightedChurn += weight * labels[i]
                totalWeight += weight
                if labels[i] == 1 {
                    if churned == nil { churned = weight }
                    uniform = uniform && weight == churned
                } else {
                    if retained == nil { retained = weight }
                    uniform = uniform && weight == retained
                }
            }
        }
        guard weightedChurn > 0, weightedChurn < totalWeight else {
            throw ChurnError.oneClass(everyCustomerChurned: weightedChurn > 0)
        }
        (self.weightedChurn, self.totalWeight) = (weightedChurn, totalWeight)
        classWeights = uniform ? (retained ?? 1, churned ?? 1) : nil
        blocks = rows.flatMap { range in
            stride(from: range.lowerBound, to: range.upperBound, by: Self.blockRows).map { ($0, min(Self.blockRows, range.upperBound - $0)) }
        }
        rowCount = rows.reduce(0) { $0 + $1.count }
    }

    /// Rows per block: a block of a 10-feature design (about 360 kB) stays in cache between
    /// the linear predictor, the weighted copy and the products that read it.
    static let blockRows = 4096

    struct Evaluation {
        var objective: Double
        /// Σ wᵢ ℓᵢ without the penalty.
        var loss: Double
        var gradient: [Double]
        var hessian: Matrix
        /// The block sums added up (nil when they were some of another problem's).
        var partials: BlockPartials?
    }

    /// f, its gradient and Hessian at β, from one pass over the blocks.
    func evaluate(_ beta: [Double]) -> Evaluation {
        let partials = blockPartials(beta)
        return assemble(partials, Array(partials.blocks.indices))
    }

    /// The evaluation at β from another problem's block sums there, when they hold every block
    /// of this one (nil otherwise).
    func evaluation(from partials: BlockPartials, at beta: [Double]) -> Evaluation? {
        guard partials.beta == beta, partials.gradients.count == partials.blocks.count * design.columns else { return nil }
        var index: [Int: Int] = [:]
        for (k, block) in partials.blocks.enumerated() { index[block.start] = k }
        var chosen: [Int] = []
        chosen.reserveCapacity(blocks.count)
        for block in blocks {
            guard let k = index[block.start], partials.blocks[k].rows == block.rows else { return nil }
            chosen.append(k)
        }
        return assemble(partials, chosen)
    }

    /// The sums of the chosen blocks, in order, with the penalty.
    private func assemble(_ all: BlockPartials, _ chosen: [Int]) -> Evaluation {
        let c = design.columns, beta = all.beta
        var loss = 0.0
        var gradient = [Double](repeating: 0, count: c)
        var hessian = Matrix(rows: c, columns: c)
        for block in chosen {
            loss += all.losses[block]
            for j in 0..<c { gradient[j] += all.gradients[block * c + j] }
            for k in 0..<(c * c) { hessian.elements[k] += all.hessians[block * c * c + k] }
        }
        // X_bᵀ Z_b and Z_bᵀ X_b round differently; the lower triangle, which Cholesky reads,
        // is kept for both.
        for j in 0..<c {
            for i in (j + 1)..<max(j + 1, c) { hessian[j, i] = hessian[i, j] }
        }
        var objective = loss
        for j in 1..<c {
            objective += 0.5 * penalties[j] * beta[j] * beta[j]
            gradient[j] += penalties[j] * beta[j]
            hessian[j, j] += penalties[j]
        }
        return Evaluation(objective: objective, loss: loss, gradient: gradient, hessian: hessian,
                          partials: chosen.count == all.blocks.count ? all : nil)
    }

    /// Each block's loss, gradient and Hessian at β, the blocks shared between two threads.
    private func blockPartials(_ beta: [Double]) -> BlockPartials {
        let c = design.columns, blocks = self.blocks
        var losses = [Double](repeating: 0, count: blocks.count)
        var gradients = [Double](repeating: 0, count: blocks.count * c)
        var hessians = [Double](repeating: 0, count: blocks.count * c * c)
        let threads = rowCount >= 50_000 ? 2 : 1
        // An empty array's buffer still has an address: the weights' presence is told apart.
        let weighted = weights != nil
        design.withUnsafeBufferPointer { x, lda in
            labels.withUnsafeBufferPointer { y in
                (weights ?? []).withUnsafeBufferPointer { w in
                    beta.withUnsafeBufferPointer { b in
                        losses.withUnsafeMutableBufferPointer { lossSlots in
                            gradients.withUnsafeMutableBufferPointer { gradientSlots in
                                hessians.withUnsafeMutableBufferPointer { hessianSlots in
                                    parallelFor(threads) { t in
                                        let scratch = BlockScratch(rows: Self.blockRows, columns: c)
                                        for block in (blocks.count * t / threads)..<(blocks.count * (t + 1) / threads) {
                                            let (start, rows) = blocks[block]
                                            lossSlots[block] = Self.accumulate(
                                                x.baseAddress! + start, lda: lda, rows: rows, columns: c, beta: b,
                                                labels: y.baseAddress! + start, weights: weighted ? w.baseAddress! + start : nil,
                                                scratch: scratch, classWeights: classWeights,
                                                gradient: gradientSlots.baseAddress! + block * c,
                                                hessian: hessianSlots.baseAddress! + block * c * c)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return BlockPartials(beta: beta, blocks: blocks, losses: losses, gradients: gradients, hessians: hessians)
    }

    /// One block: η = X_b β, the block's loss, its gradient X_bᵀ(w∘(p − y)) into `gradient`,
    /// and X_bᵀ diag(w p(1 − p)) X_b into `hessian`.
    ///
    /// With e = exp(−|η|) ≤ 1 and d = 1 + e: p = 1/d or e/d by the sign of η, p(1 − p) = e/d²,
    /// and log(1 + e^η) = max(η, 0) + log d. When each class has one weight, the log d terms
    /// of a class are summed as the log of their product, taken every 512 rows (4 lanes of 128
    /// factors in (1, 2], so no product exceeds 2¹²⁸): a few logs per 512 customers instead of
    /// one each, which was the costliest call of the pass. Rows go four at a time in SIMD
    /// lanes; lanes are added in a fixed order, so the sum is the same on every run.
    private static func accumulate(_ x: UnsafePointer<Double>, lda: Int, rows: Int, columns c: Int,
                                   beta: UnsafeBufferPointer<Double>, labels y: UnsafePointer<Double>,
                                   weights w: UnsafePointer<Double>?, scratch: BlockScratch,
                                   classWeights: (retained: Double, churned: Double)?,
                                   gradient: UnsafeMutablePointer<Double>, hessian: UnsafeMutablePointer<Double>) -> Double {
        typealias Lanes = SIMD4<Double>
        let (eta, d, r) = (scratch.eta, scratch.denominator, scratch.residual)
        BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: 1, k: c, alpha: 1,
                  a: x, lda: lda, b: beta.baseAddress!, ldb: c, beta: 0, c: eta, ldc: rows)
        for i in 0..<rows { d[i] = 1 + exp(-abs(eta[i])) }
        func load(_ p: UnsafePointer<Double>, _ i: Int) -> Lanes { UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self) }
        func store(_ v: Lanes, _ p: UnsafeMutablePointer<Double>, _ i: Int) { UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Lanes.self) }
        var linearLoss = Lanes(), churnedProduct = Lanes(repeating: 1), retainedProduct = Lanes(repeating: 1)
        var logLoss = 0.0
        let whole = rows & ~3
        for i in stride(from: 0, to: whole, by: 4) {
            let (linear, denominator, label) = (load(eta, i), load(d, i), load(y, i))
            // Without a weight column every row weighs 1, and so does each class.
            let weight = w.map { load($0, i) } ?? Lanes(repeating: 1)
            let e = denominator - 1
            let p = Lanes(repeating: 1).replacing(with: e, where: linear .< 0) / denominator
            linearLoss += weight * (pointwiseMax(linear, Lanes()) - label * linear)
            store(weight * (p - label), r, i)
            store(weight * e / (denominator * denominator), eta, i)
            if classWeights != nil {
                let churned = label .== 1
                churnedProduct *= Lanes(repeating: 1).replacing(with: denominator, where: churned)
                retainedProduct *= denominator.replacing(with: 1, where: churned)
                if i & 511 == 508 {
                    logLoss += Self.logSum(churnedProduct, retainedProduct, classWeights!)
                    (churnedProduct, retainedProduct) = (Lanes(repeating: 1), Lanes(repeating: 1))
                }
            }
        }
        if let classWeights { logLoss += Self.logSum(churnedProduct, retainedProduct, classWeights) }
        var loss = linearLoss.sum()
        for i in whole..<rows {
            let e = d[i] - 1
            let p = (eta[i] >= 0 ? 1 : e) / d[i]
            let weight = w?[i] ?? 1
            loss += weight * (max(eta[i], 0) - y[i] * eta[i])
            r[i] = weight * (p - y[i])
            if classWeights == nil { logLoss += weight * log(d[i]) }
            eta[i] = weight * e / (d[i] * d[i])
        }
        if let classWeights {
            for i in whole..<rows { logLoss += (y[i] == 1 ? classWeights.churned : classWeights.retained) * log(d[i]) }
        } else if let w {
            for i in 0..<whole { logLoss += w[i] * log(d[i]) }
        }
        BLAS.gemm(transposeA: true, transposeB: false, m: c, n: 1, k: rows, alpha: 1,
                  a: x, lda: lda, b: r, ldb: rows, beta: 0, c: gradient, ldc: c)
        let z = scratch.weighted
        for j in 0..<c {
            let column = x + j * lda, target = z + j * rows
            for i in 0..<rows { target[i] = eta[i] * column[i] }
        }
        BLAS.gemm(transposeA: true, transposeB: false, m: c, n: c, k: rows, alpha: 1,
                  a: x, lda: lda, b: z, ldb: rows, beta: 0, c: hessian, ldc: c)
        return loss + logLoss
    }

    /// Σ over lanes of the class weight times the log of the lane's product.
    private static func logSum(_ churned: SIMD4<Double>, _ retained: SIMD4<Double>,
                               _ weights: (retained: Double, churned: Double)) -> Double {
        var total = 0.0
        for lane in 0..<4 { total += weights.churned * log(churned[lane]) + weights.retained * log(retained[lane]) }
        return total
    }
}

extension Matrix {
    /// η = X β on the rows `rows` of this design.
    func linearPredictor(rows: Range<Int>, _ beta: [Double]) -> [Double] {
        [Double](unsafeUninitializedCapacity: rows.count) { eta, initialised in
            withUnsafeBufferPointer { x, lda in
                beta.withUnsafeBufferPointer { b in
                    BLAS.gemm(transposeA: false, transposeB: false, m: rows.count, n: 1, k: columns, alpha: 1,
                              a: x.baseAddress! + rows.lowerBound, lda: lda, b: b.baseAddress!, ldb: columns, beta: 0,
                              c: eta.baseAddress!, ldc: max(1, rows.count))
                }
            }
            initialised = rows.count
        }
    }
}

/// A thread's per-row work space for one block.
private final class BlockScratch {
    let eta, denominator, residual, weighted: UnsafeMutablePointer<Double>

    init(rows: Int, columns: Int) {
        eta = .allocate(capacity: rows)
        denominator = .allocate(capacity: rows)
        residual = .allocate(capacity: rows)
        weighted = .allocate(capacity: rows * columns)
    }

    deinit {
        for buffer in [eta, denominator, residual, weighted] { buffer.deallocate() }
    }
}
