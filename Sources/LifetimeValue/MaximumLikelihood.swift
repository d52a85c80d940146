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

    public func value(_ name: String) -> Double? {
        parameterNames.firstIndex(of: name).map { parameters[$0] }
    }
}

/// Maximises a log-likelihood over positive parameters, working on φ = log θ.
///
/// Newton's method with the Hessian taken by central differences of the analytic gradient
/// (a handful of parameters make that cheap and robust), solved by Cholesky through LAPACK.
/// Where the Hessian is not positive definite (far from the optimum), Levenberg damping
/// H + λI makes it so; a backtracking line search keeps every step an ascent. The fit has
/// converged when the largest gradient component on the log scale is below `tolerance`
/// (relative to the number of customers), or when an undamped Newton step promises less
/// than the log-likelihood's own rounding can show.
struct MaximumLikelihood {
    var tolerance = 1e-9
    var maximumIterations = 500
    /// lifetimes' `penalizer_coef`: the mean log-likelihood is penalised by c Σ θ².
    var penalty = 0.0

    func fit<M: LikelihoodModel>(_ model: M, start: [Double]) throws -> FitResult {
        let n = start.count
        let scale = max(1, model.customerCount)
        var phi = start.map { log($0) }
        guard phi.allSatisfy(\.isFinite) else { throw LifetimeValueError.invalidParameters("starting values must be positive") }
        var (value, gradient) = objective(model, phi)
        guard value.isFinite, gradient.allSatisfy(\.isFinite) else {
            throw LifetimeValueError.didNotConverge("the log-likelihood is not finite at the starting values")
        }
        var iterations = 0
        var damping = 0.0
        var atOptimum = false
        while iterations < maximumIterations {
            if gradient.map(abs).max()! / scale < tolerance { break }
            iterations += 1
            let hessian = try negativeHessian(model, phi)
            // Newton direction for the ascent: (−H + λI) p = g, damped until −H + λI is positive definite.
            var direction: [Double]?
            var lambda = damping
            for _ in 0..<30 {
                var system = hessian
                for i in 0..<n { system[i, i] += lambda }
                if let factor = try? Cholesky(factoring: system), let step = try? factor.solve(gradient) {
                    direction = step
                    break
                }
                lambda = max(lambda * 10, 1e-6 * (hessian.elements.map(abs).max() ?? 1) + 1e-12)
            }
            guard var step = direction else {
                throw LifetimeValueError.didNotConverge("no ascent direction after \(iterations) iterations")
            }
            // Steps on the log scale beyond a factor e⁵ are clipped: they leave the region where
            // the quadratic model means anything.
            let longest = step.map(abs).max()!
            if longest > 5 { step = step.map { $0 * 5 / longest } }
            // Near the optimum the step's predicted gain ½ g·p falls below what the value itself
            // can resolve (its rounding grows with the number of customers), so no line search
            // can see it: take the Newton step as it is, and stop there.
            let predictedGain = BLAS.dot(gradient, step) / 2
            let curvature = (0..<n).map { abs(hessian[$0, $0]) }.max() ?? 1
            if lambda <= 1e-6 * curvature, predictedGain <= 1e-11 * max(1, abs(value)) {
                let trial = zip(phi, step).map { $0 + $1 }
                let (trialValue, trialGradient) = objective(model, trial)
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
            for _ in 0..<60 {
                let trial = zip(phi, step).map { $0 + t * $1 }
                let (trialValue, trialGradient) = objective(model, trial)
                if trialValue.isFinite, trialGradient.allSatisfy(\.isFinite),
                   trialValue >= value + 1e-4 * t * BLAS.dot(gradient, step) {
                    phi = trial
                    value = trialValue
                    gradient = trialGradient
                    accepted = true
                    break
                }
                t *= 0.5
            }
            if !accepted {
                // No increase at any step length: at the optimum to rounding, or stuck.
                break
            }
            damping = lambda / 10
        }
        let gradientNorm = gradient.map(abs).max()!
        let converged = atOptimum || gradientNorm / scale < max(tolerance, 1e-7)
        let parameters = phi.map { exp($0) }
        guard converged else {
            throw LifetimeValueError.didNotConverge(
                "after \(iterations) iterations the gradient is \(gradientNorm) at \(zip(M.parameterNames, parameters).map { "\($0) = \($1)" }.joined(separator: ", "))")
        }
        let information = try negativeHessian(model, phi)
        let covariance: Matrix
        do {
            covariance = try Cholesky(factoring: information).inverse()
        } catch {
            throw LifetimeValueError.didNotConverge(
                "the Hessian at the estimate is not positive definite (\(error)): the parameters are not identified by the data")
        }
        var standardErrors: [Double] = [], lower: [Double] = [], upper: [Double] = []
        for i in 0..<n {
            let logError = sqrt(max(0, covariance[i, i]))
            standardErrors.append(parameters[i] * logError)
            lower.append(exp(phi[i] - 1.959963984540054 * logError))
            upper.append(exp(phi[i] + 1.959963984540054 * logError))
        }
        return FitResult(
            parameterNames: M.parameterNames, parameters: parameters, standardErrors: standardErrors,
            lowerBounds: lower, upperBounds: upper, logLikelihood: model.logLikelihood(parameters).value,
            iterations: iterations, gradientNorm: gradientNorm, converged: true)
    }

    /// The penalised log-likelihood and its gradient with respect to φ = log θ.
    private func objective<M: LikelihoodModel>(_ model: M, _ phi: [Double]) -> (Double, [Double]) {
        let theta = phi.map { exp($0) }
        guard theta.allSatisfy({ $0.isFinite && $0 > 0 }) else { return (-.infinity, phi.map { _ in .nan }) }
        var (value, gradient) = model.logLikelihood(theta)
        let scale = model.customerCount
        for i in theta.indices {
            value -= penalty * scale * theta[i] * theta[i]
            gradient[i] = (gradient[i] - 2 * penalty * scale * theta[i]) * theta[i]
        }
        return (value, gradient)
    }

    /// −∂²ℓ/∂φ² by central differences of the analytic gradient, symmetrised.
    private func negativeHessian<M: LikelihoodModel>(_ model: M, _ phi: [Double]) throws -> Matrix {
        let n = phi.count
        var h = Matrix(rows: n, columns: n)
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
