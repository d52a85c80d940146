import Foundation
@testable import Clustering

let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// A numeric fixture CSV: its header and its rows.
func readFixtureCSV(_ name: String) throws -> (header: [String], rows: [[Double]]) {
    let text = try String(contentsOf: fixturesDirectory.appendingPathComponent(name), encoding: .utf8)
    let lines = text.split(whereSeparator: \.isNewline)
    let header = lines[0].split(separator: ",").map(String.init)
    let rows = lines.dropFirst().map { $0.split(separator: ",").map { Double($0)! } }
    return (header, rows)
}

/// One scikit-learn reference case from sklearn_kmeans.json.
struct SklearnCase: Decodable {
    let data: String
    let k: Int
    let n_init: Int
    let inertia: Double
    let n_iter: Int
    let labels: [Int]
    let weighted: Bool
    let silhouette: Double?
    let calinski_harabasz: Double?
    let davies_bouldin: Double?
}

func sklearnCases() throws -> [String: SklearnCase] {
    let data = try Data(contentsOf: fixturesDirectory.appendingPathComponent("sklearn_kmeans.json"))
    return try JSONDecoder().decode([String: SklearnCase].self, from: data)
}

/// The fixture's features (every column but `weight`) and its weights, if it has them.
func fixtureData(_ name: String) throws -> (FeatureMatrix, [Double]?) {
    let (header, rows) = try readFixtureCSV(name)
    let weightColumn = header.firstIndex(of: "weight")
    let featureColumns = header.indices.filter { $0 != weightColumn }
    let matrix = try FeatureMatrix(featureNames: featureColumns.map { header[$0] },
                                   rowMajor: rows.flatMap { row in featureColumns.map { row[$0] } })
    return (matrix, weightColumn.map { w in rows.map { $0[w] } })
}

func relativeDifference(_ a: Double, _ b: Double) -> Double {
    abs(a - b) / max(abs(a), abs(b), .leastNormalMagnitude)
}
