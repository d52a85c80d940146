import LifetimeValue
import Testing
import Transactions
@testable import Churn

@Suite struct ChurnFeaturesTests {
    /// A three-customer summary with a holdout, in weeks.
    func smallSummary() throws -> CustomerSummary {
        let path = try temporaryFile("summary.csv", contents: """
            customer_id,frequency,recency,T,monetary_value,frequency_holdout,monetary_value_holdout,duration_holdout
            a,2,10.0,20.0,15.0,0,0.0,10.0
            b,0,0.0,12.0,0.0,1,40.0,10.0
            c,5,18.0,19.0,30.0,3,9.0,10.0

            """)
        return try CustomerSummary.read(path: path, unit: .weeks)
    }

    @Test func labelsFollowTheChosenHoldoutRule() throws {
        let summary = try smallSummary()
        #expect(try ChurnLabel.noHoldoutPurchase.labels(summary, source: "s") == [1, 0, 0])
        #expect(try ChurnLabel.purchasesBelow(2).labels(summary, source: "s") == [1, 1, 0])
        // Holdout spend is frequency_holdout × monetary_value_holdout: 0, 40, 27.
        #expect(try ChurnLabel.spendBelow(30).labels(summary, source: "s") == [1, 0, 1])
        var withoutHoldout = summary
        withoutHoldout.holdout = nil
        #expect(throws: ChurnError.self) { try ChurnLabel.noHoldoutPurchase.labels(withoutHoldout, source: "s") }
    }

    @Test func categoricalAttributesAreOneHotAgainstTheFirstSortedLevel() throws {
        let summary = try smallSummary()
        let attributes = try CSVTable.read(path: try temporaryFile("attributes.csv", contents: """
            customer_id,region,store,age
            c,west,12,40
            zz,north,3,22
            a,east,3,31
            b,"north",7,58

            """))
        let specification = try FeatureSpecification.choose(requested: ["frequency", "region", "store", "age"], summary: summary,
                                                            purchaseModel: nil, attributes: attributes, categorical: ["store"])
        // The levels come from the summary's customers only (zz is not one of them).
        #expect(specification.attributes == [AttributeEncoding(column: "region", levels: ["east", "north", "west"]),
                                             AttributeEncoding(column: "store", levels: ["12", "3", "7"]),
                                             AttributeEncoding(column: "age", levels: nil)])
        let features = try specification.features(summary, attributes: attributes)
        #expect(features.names == ["frequency", "region=north", "region=west", "store=3", "store=7", "age"])
        #expect(features.columns == [[2, 0, 5], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [31, 58, 40]])
    }

    @Test func attributeProblemsNameFileLineAndColumn() throws {
        let summary = try smallSummary()
        let duplicated = try temporaryFile("dup.csv", contents: "customer_id,age\na,3\nb,4\na,5\nc,6\n")
        #expect(throws: TransactionsError.invalidInput(SourceLocation(file: duplicated, line: 4, column: "customer_id"),
                                                       "customer \"a\" already has a row on line 2")) {
            try FeatureSpecification.choose(requested: nil, summary: summary, purchaseModel: nil, attributes: try CSVTable.read(path: duplicated))
        }
        let missing = try temporaryFile("missing.csv", contents: "customer_id,age\na,3\nc,6\n")
        #expect(throws: TransactionsError.invalidFile(missing, "no row for customer \"b\" of the summary: every customer needs its attributes")) {
            try FeatureSpecification.choose(requested: nil, summary: summary, purchaseModel: nil, attributes: try CSVTable.read(path: missing))
        }
        let empty = try temporaryFile("empty.csv", contents: "customer_id,age\na,3\nb,\nc,6\n")
        #expect(throws: TransactionsError.invalidInput(SourceLocation(file: empty, line: 3, column: "age"), "empty value: every attribute needs a value")) {
            try FeatureSpecification.choose(requested: nil, summary: summary, purchaseModel: nil, attributes: try CSVTable.read(path: empty))
        }
        // A level the model never saw, when scoring.
        let fitted = FeatureSpecification(summaryFeatures: ["frequency"], purchaseFeatures: [], purchaseModel: nil,
                                          attributes: [AttributeEncoding(column: "region", levels: ["east", "west"])])
        let unseen = try temporaryFile("unseen.csv", contents: "customer_id,region\na,east\nb,south\nc,west\n")
        #expect(throws: TransactionsError.invalidInput(SourceLocation(file: unseen, line: 3, column: "region"),
                                                       "level \"south\" was not seen when the model was fitted (levels: east, west)")) {
            try fitted.features(summary, attributes: try CSVTable.read(path: unseen))
        }
        // Numbers and a NaN: a numeric column with a bad value, not three categories.
        let notANumber = try temporaryFile("nan.csv", contents: "customer_id,score\na,3\nb,NaN\nc,6\n")
        #expect(throws: TransactionsError.invalidInput(SourceLocation(file: notANumber, line: 3, column: "score"),
                                                       "\"NaN\" is not a finite number (the column's other values are numbers; name it in --categorical to take it as levels)")) {
            try FeatureSpecification.choose(requested: nil, summary: summary, purchaseModel: nil, attributes: try CSVTable.read(path: notANumber))
        }
        #expect(throws: Never.self) {
            try FeatureSpecification.choose(requested: nil, summary: summary, purchaseModel: nil,
                                            attributes: try CSVTable.read(path: notANumber), categorical: ["score"])
        }
        let oneLevel = try temporaryFile("one.csv", contents: "customer_id,country\na,FR\nb,FR\nc,FR\n")
        #expect(throws: ChurnError.invalidInput("the attribute country has one level (\"FR\") among the summary's customers: it tells them nothing apart; leave it out")) {
            try FeatureSpecification.choose(requested: nil, summary: summary, purchaseModel: nil, attributes: try CSVTable.read(path: oneLevel))
        }
        #expect(throws: ChurnError.invalidInput("unknown feature \"holdout\"; available: frequency, recency, T, monetary_value")) {
            try FeatureSpecification.choose(requested: ["holdout"], summary: summary, purchaseModel: nil, attributes: nil)
        }
    }

    /// P(alive) and expected purchases are the LifetimeValue model's, over the horizon given.
    @Test func purchaseFeaturesAreTheBGNBDScores() throws {
        let summary = try smallSummary()
        let bgnbd = try BGNBD(r: 0.2426, alpha: 4.4135, a: 0.7929, b: 2.4258)
        let score = PurchaseScore(bgnbd, horizon: 10)
        let specification = try FeatureSpecification.choose(requested: ["p_alive", "expected_purchases"], summary: summary,
                                                            purchaseModel: score, attributes: nil)
        let features = try specification.features(summary, attributes: nil)
        let fewerThanTwo = try score.probabilityOfFewerPurchases(than: 2, summary)
        for i in 0..<3 {
            let (x, tx, T) = (Double(summary.frequency[i]), summary.recency[i], summary.T[i])
            #expect(features.columns[0][i] == bgnbd.pAlive(frequency: x, recency: tx, T: T))
            let expected = bgnbd.expectedPurchases(in: 10, frequency: x, recency: tx, T: T)
            #expect(abs(features.columns[1][i] - expected) <= 1e-14 * expected)
            #expect(fewerThanTwo[i] == bgnbd.probabilityOfPurchases(0, in: 10, frequency: x, recency: tx, T: T)
                + bgnbd.probabilityOfPurchases(1, in: 10, frequency: x, recency: tx, T: T))
        }
        // A customer who bought often and lately is unlikely to stop buying altogether.
        #expect(fewerThanTwo[2] < fewerThanTwo[0])
    }

    /// Scored from the grouped histories of a fit, every customer gets the scores and label
    /// probabilities that scoring the summary gives, customers who share a history included.
    @Test func groupedHistoriesGiveEveryCustomerTheSummarysScores() throws {
        let path = try temporaryFile("shared.csv", contents: """
            customer_id,frequency,recency,T,monetary_value
            a,2,10.0,20.0,15.0
            b,0,0.0,12.0,0.0
            c,5,18.0,19.0,30.0
            d,2,10.0,20.0,40.0
            e,0,0.0,12.0,0.0
            f,2,10.0,19.0,15.0

            """)
        let summary = try CustomerSummary.read(path: path, unit: .weeks)
        let histories = try PurchaseHistories(frequency: summary.frequency.map(Double.init), recency: summary.recency, T: summary.T)
        #expect(histories.distinctCount == 4)
        let score = PurchaseScore(try BGNBD(r: 0.2426, alpha: 4.4135, a: 0.7929, b: 2.4258), horizon: 10)
        let grouped = try score.scores(histories), direct = try score.scores(summary)
        #expect(grouped.pAlive == direct.pAlive)
        #expect(grouped.expectedPurchases == direct.expectedPurchases)
        #expect(Set(grouped.expectedPurchases).count == 4)
        let fewerThanTwo = try score.probabilityOfFewerPurchases(than: 2, histories)
        #expect(fewerThanTwo == (try score.probabilityOfFewerPurchases(than: 2, summary)))
        #expect(Set(fewerThanTwo).count == 4)
    }
}
