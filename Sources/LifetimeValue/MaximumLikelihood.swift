#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LinearAlgebra

/// A model whose parameters are fitted by maximum likelihood: it gives the log-likelihood
/// and its gradient with respect to the (positive) parameters.
protocol LikelihoodModel {
    static var parameterNames: [String] { get }
    /// The log-likelihood of the data and its gradient, at positive parameters.
    func logLikelihood(_ parameters: [Double]) -> (value: Double, gradient: [Double])
    /// The number of customers behind the likelihood, for the penalty's scale.
    var customerCount: Double { get }
    /// The gradient and the Hessian (row-major, n × n) of the log-likelihood, for a model
    /// that has its second derivatives in closed form; nil: the fit takes the Hessian by
    /// differences of the gradient.
    func secondDerivatives(_ parameters: [Double]) -> (gradient: [Double], hessian: [Double])?
}

extension LikelihoodModel {
    func secondDerivatives(_ parameters: [Double]) -> (gradient: [Double], hessian: [Double])? { nil }
}

/// What a fit found: the estimates, their uncertainty, and whether the optimiser converged.
public struct FitResult: Sendable, Equatable, Codable {
    public var parameterNames: [String]
    public var parameters: [Double]
    /// Standard errors from the inverse Hessian of the negative log-likelihood (delta method
    /// from the log scale, exact at the optimum where the gradient vanishes).
    public var standardErrors: [Double]
    /// 95% intervals exp(log θ ± 1.96 se(log θ)): on the log scale, so they stay positive.
    public var lowerBounds: [Double]
    public var upperBounds: [Double]
    public var logLikelihood: Double
    public var iterations: Int
    /// The largest absolute gradient component on the log scale at the end.
    public var gradientNorm: Double
    public var converged: Bool
    /// −∂²ℓ/∂φ² at the estimate (φ = log θ), for warm starts; not part of the model file.
    var information: Matrix? = nil

    private enum CodingKeys: String, CodingKey {
        case parameterNames, parameters, standardErrors, lowerBounds, upperBounds, logLikelihood, iterations, gradientNorm, converged
    }

    public func value(_ name: String) -> Double? {
        parameterNames.firstIndex(of: name).map { parameters[$0] }
    }
}

/// Maximises a log-likelihood over positive parameters, working on φ = log θ.
///
/// A quasi-Newton method: the Hessian is taken at the start (and again whenever the
/// approximation stops giving ascent) in closed form where the model has it, else by central
/// differences of the analytic gradient, and updated by BFGS from each step, so an iteration
/// costs one likelihood pass instead of 2n + 1; each step is solved by Cholesky through LAPACK.
/// Where the Hessian is not positive definite (far from the optimum), Levenberg damping
/// H + λI makes it so; a backtracking line search keeps every step an ascent. The fit has
/// converged when the largest gradient component on the log scale is below `tolerance`
/// (relative to the number of customers), or when an undamped Newton step promises less
/// than the log-likelihood's own rounding can show.
struct MaximumLikelihood {
    var tolerance = 1e-9
    var maximumIterations = 500
    /// The most evaluations of the log-likelihood one search from a start may take (a fit of
    /// CDNOW takes under 100). A likelihood that has no maximum to find, on a handful of
    /// extreme customers, can otherwise keep the line searches busy for minutes: Pareto/NBD on
    /// two customers, one with 100,000 repeat purchases in 20 weeks, ran for over ten minutes,
    /// each evaluation summing millions of terms of its hypergeometric series.
    var maximumEvaluations = 1_000
    /// lifetimes' `penalizer_coef`: the mean log-likelihood is penalised by c Σ (θ/u)², each
    /// parameter in its `penaltyUnits` u (1 unless given).
    var penalty = 0.0
    /// lifetimes fits the BG/NBD family and Pareto/NBD on time rescaled so that the longest T
    /// is 1, so its penalty sees α (and Pareto/NBD's β) divided by that T: their unit here.
    var penaltyUnits: [Double]?
    /// False for lifetimes' Pareto/NBD, which divides the summed log-likelihood by the mean
    /// weight (1 for a customer a row), not by the customers: its penalty is on the sum.
    var penaltyPerCustomer = true

    /// The penalty's c times its scale, and its weight 1/u² for each parameter.
    private func penaltyTerms<M: LikelihoodModel>(_ model: M, _ n: Int) -> (c: Double, weights: [Double]) {
        guard penalty > 0 else { return (0, [Double](repeating: 1, count: n)) }
        return (penalty * (penaltyPerCustomer ? model.customerCount : 1), (0..<n).map { i in penaltyUnits.map { 1 / ($0[i] * $0[i]) } ?? 1 })
    }

    /// The log-likelihood less the penalty at a fit's estimate: what the search maximised.
    private func penalisedValue<M: LikelihoodModel>(_ model: M, _ fit: FitResult) -> Double {
        let (c, weights) = penaltyTerms(model, fit.parameters.count)
        return fit.logLikelihood - c * zip(weights, fit.parameters).reduce(0) { $0 + $1.0 * $1.1 * $1.1 }
    }

    /// Fits `model` from `start`. With a `subsample` (the same likelihood on a weighted share
    /// of the rows), that cheap fit runs first and hands its estimate and curvature to the fit
    /// of the whole, which then needs a few passes over all the rows instead of dozens.
    func fit<M: LikelihoodModel>(_ model: M, start: [Double], subsample: M? = nil) throws -> FitResult {
        if let subsample, let warm = try? fit(subsample, start: start) {
            return try fit(model, start: warm.parameters, curvature: warm.information)
        }
        return try fit(model, start: start, curvature: nil)
    }

    /// Fits from `start`, and again from `alternative` when that fit fails or ends with a
    /// parameter among `ridge` above 10⁴: a likelihood can rise along a ridge towards an
    /// infinite parameter to a local maximum while a higher one sits inside (BG/NBD on
    /// CDNOW in months climbs a, b → ∞ to −68,695.07 from its usual start, and finds lifetimes'
    /// −68,675.69 at a = 0.0126, b = 0.213 from a = 0.1). Of the fits that succeed, the one
    /// with the higher penalised likelihood (what both maximised) is kept; when neither does,
    /// the first one's error is thrown.
    func fit<M: LikelihoodModel>(_ model: M, start: [Double], alternative: [Double], ridge: [Int], subsample: M? = nil) throws -> FitResult {
        let first = Result { try fit(model, start: start, subsample: subsample) }
        if case .success(let found) = first, ridge.allSatisfy({ found.parameters[$0] <= 1e4 }) { return found }
        guard let second = try? fit(model, start: alternative, subsample: subsample) else { return try first.get() }
        guard case .success(let found) = first else { return second }
        return penalisedValue(model, second) > penalisedValue(model, found) ? second : found
    }

    private func fit<M: LikelihoodModel>(_ model: M, start: [Double], curvature initialCurvature: Matrix?) throws -> FitResult {
        let n = start.count
        let scale = max(1, model.customerCount)
        var phi = start.map { log($0) }
        guard phi.allSatisfy(\.isFinite) else { throw LifetimeValueError.invalidParameters("starting values must be positive") }
        var evaluations = 1
        var (value, gradient) = objective(model, phi)
        guard value.isFinite, gradient.allSatisfy(\.isFinite) else {
            throw LifetimeValueError.didNotConverge("the log-likelihood is not finite at the starting values")
        }
        var iterations = 0
        var damping = 0.0
        var atOptimum = false
        // B ≈ −∂²ℓ/∂φ²: the Hessian to start with, then BFGS updates from each step's change in
        // gradient; refreshed whenever it stops giving ascent.
        var curvature = try initialCurvature ?? negativeHessian(model, phi)
        var fresh = initialCurvature == nil
        while iterations < maximumIterations {
            if gradient.map(abs).max()! / scale < tolerance { break }
            guard evaluations < maximumEvaluations else {
                throw LifetimeValueError.didNotConverge("no maximum found in \(maximumEvaluations) evaluations of the log-likelihood (\(iterations) iterations)")
            }
            iterations += 1
            // Ascent direction: (B + λI) p = g, damped until B + λI is positive definite.
            // A BFGS B that has lost definiteness is replaced by differences rather than damped;
            // a damped B from differences is kept damped, so that the updates start from a
            // positive definite matrix.
            var direction: [Double]?
            var lambda = fresh ? damping : 0
            let size = curvature.elements.map(abs).max() ?? 1
            for _ in 0..<(fresh ? 30 : 1) {
                var system = curvature
                for i in 0..<n { system[i, i] += lambda }
                if let factor = try? Cholesky(factoring: system), let step = try? factor.solve(gradient) {
                    direction = step
                    curvature = system
                    break
                }
                lambda = max(lambda * 10, 1e-6 * size + 1e-12)
            }
            guard var step = direction else {
                if !fresh {
                    curvature = try negativeHessian(model, phi)
                    fresh = true
                    continue
                }
                throw LifetimeValueError.didNotConverge("no ascent direction after \(iterations) iterations")
            }
            // Steps on the log scale beyond a factor e⁵ are clipped: they leave the region where
            // the quadratic model means anything.
            let longest = step.map(abs).max()!
            if longest > 5 { step = step.map { $0 * 5 / longest } }
            // Near the optimum the step's predicted gain ½ g·p falls below what the value itself
            // can resolve (its rounding grows with the number of customers), so no line search
            // can see it: take the step as it is, and stop there.
            let predictedGain = BLAS.dot(gradient, step) / 2
            if lambda <= 1e-6 * size, predictedGain <= 1e-11 * max(1, abs(value)) {
                let trial = zip(phi, step).map { $0 + $1 }
                let (trialValue, trialGradient) = objective(model, trial)
                evaluations += 1
                if trialValue.isFinite, trialGradient.allSatisfy(\.isFinite), trialValue >= value - 1e-9 * max(1, abs(value)) {
                    phi = trial
                    value = trialValue
                    gradient = trialGradient
                }
                atOptimum = true
                break
            }
            var t = 1.0
            var accepted = false
            var trial = phi, trialValue = value, trialGradient = gradient
            for _ in 0..<60 {
                trial = zip(phi, step).map { $0 + t * $1 }
                (trialValue, trialGradient) = objective(model, trial)
                evaluations += 1
                if trialValue.isFinite, trialGradient.allSatisfy(\.isFinite),
                   trialValue >= value + 1e-4 * t * BLAS.dot(gradient, step) {
                    accepted = true
                    break
                }
                t *= 0.5
            }
            if !accepted {
                // No increase at any step length: a stale B is refreshed; a fresh one means
                // the optimum to rounding, or stuck.
                if fresh { break }
                curvature = try negativeHessian(model, phi)
                fresh = true
                continue
            }
            // BFGS: B ← B − (Bs)(Bs)ᵀ/(sᵀBs) + yyᵀ/(yᵀs), with s the step and y the fall in
            // gradient, skipped when yᵀs ≤ 0 would make B indefinite.
            let s = step.map { $0 * t }
            let y = zip(gradient, trialGradient).map { $0 - $1 }
            let sy = BLAS.dot(s, y)
            if sy > 1e-12 * BLAS.nrm2(s) * BLAS.nrm2(y) {
                var bs = [Double](repeating: 0, count: n)
                for i in 0..<n { for j in 0..<n { bs[i] += curvature[i, j] * s[j] } }
                let sbs = BLAS.dot(s, bs)
                for i in 0..<n {
                    for j in 0..<n { curvature[i, j] += y[i] * y[j] / sy - bs[i] * bs[j] / sbs }
                }
                fresh = false
            }
            phi = trial
            value = trialValue
            gradient = trialGradient
            damping = lambda / 10
        }
        let gradientNorm = gradient.map(abs).max()!
        // The looser 1e-7 is for a search that stopped short of the cap, stuck at the optimum
        // to rounding; one that ran out of iterations is still climbing (as on a likelihood
        // that rises for ever, sBG's on a table no beta-geometric fits) unless the tolerance
        // itself is met.
        let converged = atOptimum || gradientNorm / scale < (iterations < maximumIterations ? max(tolerance, 1e-7) : tolerance)
        let parameters = phi.map { exp($0) }
        guard converged else {
            throw LifetimeValueError.didNotConverge(
                "after \(iterations) iterations the gradient is \(gradientNorm) at \(zip(M.parameterNames, parameters).map { "\($0) = \($1)" }.joined(separator: ", "))")
        }
        func notIdentified(_ why: String) -> LifetimeValueError {
            .didNotConverge("\(why): the parameters are not identified by the data")
        }
        let information = try negativeHessian(model, phi)
        let covariance: Matrix
        do {
            covariance = try Cholesky(factoring: information).inverse()
        } catch {
            throw notIdentified("the Hessian at the estimate is not positive definite (\(error))")
        }
        var standardErrors: [Double] = [], lower: [Double] = [], upper: [Double] = []
        for i in 0..<n {
            let logError = sqrt(max(0, covariance[i, i]))
            standardErrors.append(parameters[i] * logError)
            lower.append(exp(phi[i] - 1.959963984540054 * logError))
            upper.append(exp(phi[i] + 1.959963984540054 * logError))
        }
        // A Hessian that is positive definite only by rounding (a customer or two for four
        // parameters) gives variances so large that an interval reaches 0 or overflows: the
        // data say as little as when the factorisation fails.
        guard zip(lower, upper).allSatisfy({ $0 > 0 && $1.isFinite }), standardErrors.allSatisfy(\.isFinite) else {
            throw notIdentified("the 95% intervals at the estimate are unbounded")
        }
        // Nearly so: a standard error of the logarithm above 10 makes the interval span a
        // factor of e^39 (10^17) and more; no estimate the data support is that loose (the
        // published fits' are below 1), while data that break the model's assumptions
        // (spend that rises with frequency, for Gamma-Gamma) give 150 and an interval of
        // 10^-127…10^140 that looks like a number.
        if let loosest = (0..<n).max(by: { covariance[$0, $0] < covariance[$1, $1] }), covariance[loosest, loosest] > 100 {
            throw notIdentified("the 95% interval of \(M.parameterNames[loosest]) at the estimate, \(String(format: "%.3g", lower[loosest]))…\(String(format: "%.3g", upper[loosest])), spans a factor of more than 10^17")
        }
        return FitResult(
            parameterNames: M.parameterNames, parameters: parameters, standardErrors: standardErrors,
            lowerBounds: lower, upperBounds: upper, logLikelihood: model.logLikelihood(parameters).value,
            iterations: iterations, gradientNorm: gradientNorm, converged: true, information: information)
    }

    /// The penalised log-likelihood and its gradient with respect to φ = log θ.
    private func objective<M: LikelihoodModel>(_ model: M, _ phi: [Double]) -> (Double, [Double]) {
        let theta = phi.map { exp($0) }
        guard theta.allSatisfy({ $0.isFinite && $0 > 0 }) else { return (-.infinity, phi.map { _ in .nan }) }
        var (value, gradient) = model.logLikelihood(theta)
        let (c, weights) = penaltyTerms(model, theta.count)
        for i in theta.indices {
            value -= c * weights[i] * theta[i] * theta[i]
            gradient[i] = (gradient[i] - 2 * c * weights[i] * theta[i]) * theta[i]
        }
        return (value, gradient)
    }

    /// −∂²ℓ/∂φ² of the penalised log-likelihood: from the model's second derivatives where it
    /// has them (one pass over the rows), else by central differences of the analytic
    /// gradient (2n passes), symmetrised. With θ = e^φ, c the penalty times the customers and
    /// wᵢ = 1/uᵢ², ∂²/∂φᵢ∂φⱼ = θᵢθⱼ(Hᵢⱼ − 2c wᵢ δᵢⱼ) + δᵢⱼ θᵢ(gᵢ − 2c wᵢ θᵢ), H and g the
    /// derivatives in θ.
    func negativeHessian<M: LikelihoodModel>(_ model: M, _ phi: [Double]) throws -> Matrix {
        let n = phi.count
        var h = Matrix(rows: n, columns: n)
        let theta = phi.map { exp($0) }
        if theta.allSatisfy({ $0.isFinite && $0 > 0 }), let (gradient, hessian) = model.secondDerivatives(theta) {
            let (c, weights) = penaltyTerms(model, n)
            for i in 0..<n {
                for j in 0..<n {
                    h[i, j] = -theta[i] * theta[j] * (hessian[i * n + j] - (i == j ? 2 * c * weights[i] : 0))
                }
                h[i, i] -= theta[i] * (gradient[i] - 2 * c * weights[i] * theta[i])
            }
            guard h.elements.allSatisfy(\.isFinite) else {
                throw LifetimeValueError.didNotConverge("the Hessian is not finite at \(theta)")
            }
            return h
        }
        for j in 0..<n {
            let step = 1e-5 * max(1, abs(phi[j]))
            var plus = phi, minus = phi
            plus[j] += step
            minus[j] -= step
            let (_, gPlus) = objective(model, plus)
            let (_, gMinus) = objective(model, minus)
            for i in 0..<n { h[i, j] = -(gPlus[i] - gMinus[i]) / (2 * step) }
        }
        guard h.elements.allSatisfy(\.isFinite) else {
            throw LifetimeValueError.didNotConverge("the Hessian is not finite at \(phi.map { exp($0) })")
        }
        for i in 0..<n {
            for j in 0..<i {
                let mean = (h[i, j] + h[j, i]) / 2
                h[i, j] = mean
                h[j, i] = mean
            }
        }
        return h
    }
}
