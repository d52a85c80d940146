import Foundation
import LifetimeValue
import LinearAlgebra
import Testing
@testable import Churn

@Suite struct ChurnModelFileTests {
    func cdnowModel() throws -> (ChurnModel, FeatureMatrix) {
        let summary = cdnowHoldoutSummary
        let purchases = PurchaseScore(try BGNBD(r: 0.2426, alpha: 4.4135, a: 0.7929, b: 2.4258), horizon: 39)
        let specification = try FeatureSpecification.choose(requested: nil, summary: summary, purchaseModel: purchases,
                                                            attributes: cdnowAttributes)
        let features = try specification.features(summary, attributes: cdnowAttributes)
        let labels = try ChurnLabel.noHoldoutPurchase.labels(summary, source: "CDNOW")
        let model = try ChurnModel.fit(features: features, labels: labels, specification: specification, label: .noHoldoutPurchase,
                                       penalty: 0.1, classWeights: .churned(2), timeUnit: "weeks", dataFingerprint: "fnv1a64:0",
                                       clienteleVersion: "test", createdAt: Date(timeIntervalSince1970: 0))
        return (model, features)
    }

    /// A saved model rebuilds the features from a summary and attributes and scores them as
    /// the fitted one did, to the bit.
    @Test func savedModelScoresNewSummariesWithoutRefitting() throws {
        let (model, features) = try cdnowModel()
        let bytes = try model.encoded()
        let loaded = try ChurnModel.decode(bytes, source: "churn.json")
        #expect(loaded == model)
        #expect(try loaded.encoded() == bytes)
        let rebuilt = try loaded.specification.features(cdnowHoldoutSummary, attributes: cdnowAttributes)
        #expect(rebuilt == features)
        #expect(try loaded.probabilities(rebuilt) == model.probabilities(features))
        #expect(features.names == ["frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases",
                                   "region=north", "region=south", "region=west", "age"])
    }

    /// The original-unit coefficients give the same linear predictor as the standardised ones.
    @Test func originalUnitCoefficientsGiveTheSameProbabilities() throws {
        let (model, features) = try cdnowModel()
        let probabilities = try model.probabilities(features)
        for i in stride(from: 0, to: features.count, by: 997) {
            var eta = model.coefficients[0].original
            for j in 0..<features.names.count { eta += model.coefficients[j + 1].original * features.columns[j][i] }
            #expect(abs(1 / (1 + exp(-eta)) - probabilities[i]) < 1e-12)
        }
    }

    /// From 100,000 customers on, the probabilities are taken on two threads, a block of 4,096
    /// rows at a time: every customer still gets σ(xᵀβ) of its own standardised row.
    @Test func probabilitiesOfManyCustomersMatchTheWholeDesign() throws {
        let (model, features) = try cdnowModel()
        let copies = 5
        let many = FeatureMatrix(names: features.names,
                                 columns: features.columns.map { column in Array((0..<copies).map { _ in column }.joined()) })
        #expect(many.count >= 100_000 && many.count % 4096 != 0)
        let probabilities = try model.probabilities(many)
        let eta = BLAS.gemv(model.transform.design(many), model.coefficients.map(\.standardized))
        #expect(probabilities.count == many.count)
        #expect(zip(probabilities, eta).allSatisfy { abs($0 - 1 / (1 + exp(-$1))) < 1e-12 })
    }

    @Test func otherFilesAndVersionsAreRefusedByName() throws {
        let (model, _) = try cdnowModel()
        var newer = model
        newer.formatVersion = 2
        #expect(throws: ChurnError.invalidModelFile("churn.json has format version 2; this Clientele reads version 1")) {
            try ChurnModel.decode(try newer.encoded(), source: "churn.json")
        }
        #expect(throws: ChurnError.invalidModelFile("bgnbd.json is not a churn model file (it needs \"model\": \"logistic\" and a formatVersion)")) {
            try ChurnModel.decode(Array(#"{"formatVersion": 1, "model": "bgnbd"}"#.utf8), source: "bgnbd.json")
        }
        var text = String(decoding: try model.encoded(), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"penalty\" : 0.1", with: "\"penalty\" : \"high\"")
        #expect(throws: ChurnError.invalidModelFile("churn.json: penalty: expected Double")) {
            try ChurnModel.decode(Array(text.utf8), source: "churn.json")
        }
        // A file that is not JSON is refused where it breaks, or as cut short, not as another
        // kind of file.
        #expect(throws: ChurnError.invalidModelFile("churn.json: it ends before its JSON is complete (a file cut short?)")) {
            try ChurnModel.decode(Array(try model.encoded().prefix(40)), source: "churn.json")
        }
        #expect(throws: ChurnError.invalidModelFile("churn.json: line 2, column 12: not valid JSON (invalid value)")) {
            try ChurnModel.decode(Array("{\n  \"model\": logistic\n}".utf8), source: "churn.json")
        }
        #expect(throws: LifetimeValueError.invalidModelFile("bgnbd.json: line 1, column 18: not valid JSON (invalid value)")) {
            try ModelFile.decode(Array(#"{"formatVersion":}"#.utf8), source: "bgnbd.json")
        }
    }
}
