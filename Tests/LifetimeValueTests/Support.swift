import Foundation
import Testing
@testable import LifetimeValue

let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A numeric CSV read into columns by header name.
struct NumericTable {
    var columns: [String: [Double]] = [:]

    init(path: String) throws {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(whereSeparator: \.isNewline)
        let header = lines[0].split(separator: ",").map(String.init)
        for name in header { columns[name] = [] }
        for line in lines.dropFirst() {
            for (name, field) in zip(header, line.split(separator: ",", omittingEmptySubsequences: false)) {
                columns[name]!.append(Double(field) ?? .nan)
            }
        }
    }

    subscript(_ name: String) -> [Double] { columns[name] ?? [] }
}

func dataset(_ relative: String) throws -> NumericTable {
    try NumericTable(path: repositoryRoot.appendingPathComponent("datasets/\(relative)").path)
}

func fixture(_ name: String) throws -> NumericTable {
    try NumericTable(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path)
}

/// lifetimes' fitted parameters, by model and name.
func lifetimesParameters(_ model: String) throws -> [String: Double] {
    (try lifetimesFits()[model] as! [String: Any])["params"] as! [String: Double]
}

/// lifetimes' `expected_number_of_purchases_up_to_time(t)` of a model, by t.
func lifetimesNewCustomerExpectations(_ model: String) throws -> [(Double, Double)] {
    let json = try lifetimesFits()[model] as! [String: Any]
    let values = json["expected_purchases_new_customer"] as! [String: Double]
    return values.map { (Double($0.key)!, $0.value) }.sorted { $0.0 < $1.0 }
}

/// Everything make_fixtures.py wrote to lifetimes_fits.json.
func lifetimesFits() throws -> [String: Any] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/lifetimes_fits.json")
    return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
}

func relativeDifference(_ a: Double, _ b: Double) -> Double {
    abs(a - b) / max(abs(b), 1e-300)
}

/// The CDNOW calibration summary of the BG/NBD paper (2,357 customers, weeks).
func cdnowHistories() throws -> PurchaseHistories {
    let table = try dataset("cdnow/cdnow_customers_summary.csv")
    return try PurchaseHistories(frequency: table["frequency"], recency: table["recency"], T: table["T"])
}

/// The largest relative difference between a likelihood's analytic gradient and central
/// differences of its value, over the given parameter points, with the worst place named.
func worstGradientError<M: LikelihoodModel>(_ likelihood: M, at points: [[Double]]) -> (error: Double, place: String) {
    var worst = (0.0, "")
    for point in points {
        let analytic = likelihood.logLikelihood(point).gradient
        for k in point.indices {
            let h = 1e-6 * point[k]
            var up = point, down = point
            up[k] += h
            down[k] -= h
            let numeric = (likelihood.logLikelihood(up).value - likelihood.logLikelihood(down).value) / (2 * h)
            let error = relativeDifference(analytic[k], numeric)
            if error > worst.0 { worst = (error, "∂/∂\(M.parameterNames[k]) at \(point): \(analytic[k]) vs \(numeric)") }
        }
    }
    return worst
}

/// The worst disagreement between a likelihood's closed-form Hessian and five-point
/// differences of its analytic gradient (exact to fourth order in the step), relative to the
/// larger of the entry and a millionth of its row's and column's diagonal. The gradient that
/// comes with the Hessian is expected to be the likelihood's own to rounding (near an
/// estimate the gradient is a small difference of large terms, so the bound is on the
/// customers' scale).
func worstHessianError<M: LikelihoodModel>(_ likelihood: M, at points: [[Double]]) throws -> (error: Double, place: String) {
    var worst = (0.0, "")
    for point in points {
        let n = point.count
        let (gradient, hessian) = try #require(likelihood.secondDerivatives(point))
        let own = likelihood.logLikelihood(point).gradient
        for k in 0..<n {
            #expect(abs(gradient[k] - own[k]) <= 1e-10 * (abs(own[k]) + likelihood.customerCount),
                    "∂/∂\(M.parameterNames[k]) at \(point): \(gradient[k]) vs \(own[k])")
        }
        for j in 0..<n {
            let h = 1e-4 * point[j]
            func gradient(at offset: Double) -> [Double] {
                var moved = point
                moved[j] += offset * h
                return likelihood.logLikelihood(moved).gradient
            }
            let (g2, g1, gm1, gm2) = (gradient(at: 2), gradient(at: 1), gradient(at: -1), gradient(at: -2))
            for i in 0..<n {
                let numeric = (-g2[i] + 8 * g1[i] - 8 * gm1[i] + gm2[i]) / (12 * h)
                let scale = max(abs(numeric), 1e-6 * max(abs(hessian[i * n + i]), abs(hessian[j * n + j])))
                let error = abs(hessian[i * n + j] - numeric) / scale
                if error > worst.0 {
                    worst = (error, "∂²/∂\(M.parameterNames[i])∂\(M.parameterNames[j]) at \(point): \(hessian[i * n + j]) vs \(numeric)")
                }
            }
        }
    }
    return worst
}

/// ∫₀^∞ e^(−δt) dE[X(t)] for a customer's conditional expected purchases E[X(t)] — what DERT
/// stands for — from the model's own expectation function, not its DERT: by parts,
/// e^(−δH) E[X(H)] + δ ∫₀^H e^(−δt) E[X(t)] dt, the integral by Gauss–Legendre over ten slices
/// of 5/δ each (H = 50/δ, where e^(−δH) ≈ 2·10⁻²²).
func discountedSumOfExpectedPurchases(_ model: any PurchasePredicting, continuousRate delta: Double,
                                      frequency x: Double, recency tx: Double, T: Double) -> Double {
    let slice = 5 / delta
    let expected = { (t: Double) in model.expectedPurchases(in: t, frequency: x, recency: tx, T: T) }
    var integral = 0.0
    for k in 0..<10 {
        integral += GaussLegendre.integrate(from: Double(k) * slice, to: Double(k + 1) * slice) { t in exp(-delta * t) * expected(t) }
    }
    return exp(-delta * 10 * slice) * expected(10 * slice) + delta * integral
}

/// `Fixtures/dert_references.csv`: D = E[μ/(c + pμ)], μ ~ Gamma(R, 1), p ~ Beta(a, B), by mpmath.
func dertReferences() throws -> [(R: Double, c: Double, a: Double, B: Double, value: Double)] {
    let table = try fixture("dert_references.csv")
    return table["R"].indices.map { (table["R"][$0], table["c"][$0], table["a"][$0], table["B"][$0], table["value"][$0]) }
}

/// A likelihood with its closed-form Hessian hidden, so that the fit takes differences of the
/// gradient: the reference for the closed form's path through the fit.
struct DifferencesOnly<M: LikelihoodModel>: LikelihoodModel {
    let model: M
    static var parameterNames: [String] { M.parameterNames }
    func logLikelihood(_ parameters: [Double]) -> (value: Double, gradient: [Double]) { model.logLikelihood(parameters) }
    var customerCount: Double { model.customerCount }
}

/// The worst relative disagreement, over `points` and with and without a penalty (in units
/// of 1 and of others), between the
/// fit's −∂²/∂φ² on the log scale from the model's closed form and from differences of its
/// gradient (relative to the larger of the entry and a millionth of the diagonal).
func worstLogScaleHessianError<M: LikelihoodModel>(_ likelihood: M, at points: [[Double]]) throws -> Double {
    var worst = 0.0
    for (penalty, units) in [(0.0, nil), (0.05, nil), (0.05, [40.0, 3, 0.5, 7])] {
        var optimiser = MaximumLikelihood()
        optimiser.penalty = penalty
        optimiser.penaltyUnits = units.map { Array($0.prefix(points[0].count)) }
        for point in points {
            let phi = point.map { log($0) }
            let closed = try optimiser.negativeHessian(likelihood, phi)
            let differences = try optimiser.negativeHessian(DifferencesOnly(model: likelihood), phi)
            let n = point.count
            for i in 0..<n {
                for j in 0..<n {
                    let scale = max(abs(differences[i, j]), 1e-6 * max(abs(differences[i, i]), abs(differences[j, j])))
                    worst = max(worst, abs(closed[i, j] - differences[i, j]) / scale)
                }
            }
        }
    }
    return worst
}
