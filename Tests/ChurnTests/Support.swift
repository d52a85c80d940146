import Foundation
import Transactions
@testable import Churn

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The CDNOW master log summarised as the fixtures were: weeks, calibration to 1997-09-30,
/// holdout to 1998-06-30.
let cdnowHoldoutSummary: CustomerSummary = {
    let format = TransactionLogFormat(delimiter: .whitespace, amountColumn: ColumnReference("dollar_value"), dateFormat: .compact)
    let log = try! TransactionLogReader.read(path: repositoryRoot.appendingPathComponent("datasets/cdnow/CDNOW_master.txt").path, format: format)
    return try! CustomerSummary(log: log, options: SummaryOptions(
        period: .day, unit: .weeks, calibrationEnd: DateFormat.parseArgument("1997-09-30"),
        observationEnd: DateFormat.parseArgument("1998-06-30")))
}()

let cdnowAttributes = try! CSVTable.read(path: fixtures.appendingPathComponent("cdnow_attributes.csv").path)

/// The fixture's features (summary columns, region one-hot, age) and labels on CDNOW.
func cdnowFixtureFeatures() throws -> (specification: FeatureSpecification, features: FeatureMatrix, labels: [Double]) {
    let specification = try FeatureSpecification.choose(
        requested: ["frequency", "recency", "T", "monetary_value", "region", "age"], summary: cdnowHoldoutSummary,
        purchaseModel: nil, attributes: cdnowAttributes)
    let features = try specification.features(cdnowHoldoutSummary, attributes: cdnowAttributes)
    return (specification, features, try ChurnLabel.noHoldoutPurchase.labels(cdnowHoldoutSummary, source: "CDNOW"))
}

/// statsmodels' and scikit-learn's answers, from make_fixtures.py.
struct References: Decodable {
    struct Statsmodels: Decodable {
        var coefficients: [Double]
        var standard_errors: [Double]
        var log_likelihood: Double
    }
    struct ScikitLearn: Decodable {
        var C: Double
        var class_weight: String
        var coefficients: [Double]
        var roc_auc: Double
        var log_loss: Double
        var brier: Double
    }
    var features: [String]
    var customers: Int
    var churned: Int
    var statsmodels: Statsmodels
    var sklearn: [ScikitLearn]
    var metrics: [String: Double]

    static let loaded = try! JSONDecoder().decode(
        References.self, from: Data(contentsOf: fixtures.appendingPathComponent("logistic_references.json")))
}

/// |a − b| scaled by the reference where it is above 1: an absolute error for small values,
/// a relative one for large.
func scaledDifference(_ a: Double, _ b: Double) -> Double {
    abs(a - b) / max(1, abs(b))
}

func temporaryFile(_ name: String, contents: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-churn-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let path = directory.appendingPathComponent(name).path
    try contents.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
