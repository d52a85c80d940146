import Foundation
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
