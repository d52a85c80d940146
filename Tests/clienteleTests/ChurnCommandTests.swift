import Foundation
import Testing

/// `clientele churn` as a user meets it: fit with cross-validation on the CDNOW master
/// summary, score with the saved model, and one-line refusals that leave no output behind.
extension CommandLineTests {
    @Test func churnFitsCrossValidatesAndScoresWithTheSavedModel() throws {
        let directory = try temporaryDirectory()
        let summary = directory.appendingPathComponent("summary.csv").path
        #expect(try run(["summarize", "datasets/cdnow/CDNOW_master.txt", "--delimiter", "whitespace", "--amount-column", "dollar_value",
                         "--date-format", "yyyyMMdd", "--unit", "weeks", "--calibration-end", "1997-09-30",
                         "--observation-end", "1998-06-30", "--output", summary]).status == 0)
        let scores = directory.appendingPathComponent("scores.csv").path
        let model = directory.appendingPathComponent("churn.json").path
        let fit = try run(["churn", summary, "--unit", "weeks", "--penalty", "0.5", "--output", scores, "--model-output", model])
        #expect(fit.status == 0, "\(fit.standardError)")
        #expect(fit.standardOutput.hasPrefix("churned: no purchase in the holdout window: 16512 of 23570 customers (70.1%)\n"))
        #expect(fit.standardOutput.contains("5-fold stratified cross-validation (seed 42):"))
        let rows = try String(contentsOfFile: scores, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 23571)
        #expect(rows[0] == "customer_id,churned,churn_probability,out_of_fold_probability,p_alive,expected_purchases")

        // The saved model scores the same summary to the same probabilities, without refitting.
        let rescored = directory.appendingPathComponent("rescored.csv").path
        let score = try run(["churn", summary, "--unit", "weeks", "--model", model, "--output", rescored])
        #expect(score.status == 0, "\(score.standardError)")
        let again = try String(contentsOfFile: rescored, encoding: .utf8).split(separator: "\n")
        #expect(again[0] == "customer_id,churn_probability,p_alive,expected_purchases")
        for i in [1, 2, 500, 23570] {
            let fitted = rows[i].split(separator: ","), scored = again[i].split(separator: ",")
            #expect(fitted[0] == scored[0] && fitted[2] == scored[1] && fitted[4] == scored[2])
        }

        // A model file cut short or edited by hand is refused by key path, not scored to 0s
        // or NaNs.
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model))) as! [String: Any]
        let edits: [(String, ([String: Any]) -> [String: Any])] = [
            ("coefficients: expected 7, for intercept, ", { var m = $0; m["coefficients"] = Array(($0["coefficients"] as! [Any]).prefix(3)); return m }),
            ("transform.scales.0: 0.0 is not a scale", { var m = $0; var t = $0["transform"] as! [String: Any]; var scales = t["scales"] as! [Any]
                scales[0] = 0; t["scales"] = scales; m["transform"] = t; return m }),
            ("specification.purchaseModel.horizon: -5.0 is not a finite number above 0", { var m = $0; var spec = $0["specification"] as! [String: Any]
                var purchase = spec["purchaseModel"] as! [String: Any]; purchase["horizon"] = -5; spec["purchaseModel"] = purchase
                m["specification"] = spec; return m }),
        ]
        for (message, edit) in edits {
            let edited = directory.appendingPathComponent("edited.json").path
            try JSONSerialization.data(withJSONObject: edit(saved)).write(to: URL(fileURLWithPath: edited))
            let refused = try run(["churn", summary, "--unit", "weeks", "--model", edited, "--output", directory.appendingPathComponent("no.csv").path])
            #expect(refused.status == 1 && refused.standardError.contains("\(edited): \(message)"), "\(refused.standardError)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("no.csv").path))

        // Same seed, same bytes.
        let repeated = directory.appendingPathComponent("repeated.csv").path
        #expect(try run(["churn", summary, "--unit", "weeks", "--penalty", "0.5", "--output", repeated]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: repeated)) == Data(contentsOf: URL(fileURLWithPath: scores)))
    }

    @Test func churnRefusalsAreOneLineAndWriteNothing() throws {
        let directory = try temporaryDirectory()
        let summary = directory.appendingPathComponent("s.csv").path
        try "customer_id,frequency,recency,T\n1,2,5,9\n2,0,0,9\n".write(toFile: summary, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("out.csv").path
        let noHoldout = try run(["churn", summary, "--output", output])
        #expect(noHoldout.status != 0)
        #expect(noHoldout.standardError == "Error: \(summary) has no holdout columns (frequency_holdout): churn labels come from a holdout window; summarize with --calibration-end\n")
        let mixed = try run(["churn", summary, "--model", "m.json", "--penalty", "1", "--features", "frequency", "--output", output])
        #expect(mixed.status != 0 && mixed.standardError.contains("--features is for fitting; with --model the saved model's choices apply"))
        // The fit's own settings, which a saved model already holds, used to be ignored unsaid.
        for option in [["--penalty", "1"], ["--class-weights", "balanced"], ["--folds", "3"], ["--seed", "7"]] {
            let ignored = try run(["churn", summary, "--model", "m.json", "--output", output] + option)
            #expect(ignored.status == 64 && ignored.standardError.hasPrefix("Error: \(option[0]) is for fitting; with --model the saved model's choices apply\n"),
                    "\(ignored.standardError)")
        }
        #expect(!FileManager.default.fileExists(atPath: output))

        // Labels of one class are refused before the BG/NBD model is needed: the missing
        // --bgnbd file is never opened.
        let holdout = directory.appendingPathComponent("h.csv").path
        try "customer_id,frequency,recency,T,frequency_holdout,duration_holdout\n1,2,5,9,1,4\n2,0,0,9,0,4\n3,1,3,9,2,4\n"
            .write(toFile: holdout, atomically: true, encoding: .utf8)
        for (options, message) in [(["--holdout-purchases-below", "100"], "the churn labels have one class only (every customer is churned): there is nothing to model"),
                                   ([], "5-fold cross-validation needs at least 2 folds and 5 customers of each class (1 churned, 2 retained)")] {
            let refused = try run(["churn", holdout, "--bgnbd", directory.appendingPathComponent("missing.json").path, "--output", output] + options)
            #expect(refused.status != 0)
            #expect(refused.standardError == "Error: \(message)\n")
        }
        #expect(!FileManager.default.fileExists(atPath: output))

        // Options where the arithmetic, not the data, would decide.
        // An empty feature list used to fit an intercept alone and trap (status 132).
        for (options, message) in [(["--features", ""], "--features must name at least one feature, comma-separated, with no empty name (got \"\")"),
                                   (["--features", "frequency,,T"], "--features must name at least one feature, comma-separated, with no empty name (got \"frequency,,T\")"),
                                   (["--features", "T,T"], "--features lists \"T\" twice; list each feature once"),
                                   (["--penalty", "1e-300"], "--penalty must be 0 or from 1e-8 to 1e6 (got 1e-300)"),
                                   (["--class-weights", "1e15"], "--class-weights must be from 0.001 to 1000 when a number (got 1e15)")] {
            let refused = try run(["churn", holdout, "--output", output] + options)
            #expect(refused.status == 64 && refused.standardError.hasPrefix("Error: \(message)\n"), "\(refused.standardError)")
        }
        // A BG/NBD fit the command makes for its features says so when it fails: forty
        // customers of one history leave its parameters without an optimum.
        let alike = directory.appendingPathComponent("alike.csv").path
        try ("customer_id,frequency,recency,T,monetary_value,frequency_holdout,monetary_value_holdout,duration_holdout\n"
             + (1...40).map { "c\($0),2,10,20,5,\($0 % 2),\($0 % 2 * 5),10\n" }.joined())
            .write(toFile: alike, atomically: true, encoding: .utf8)
        let bgnbd = try run(["churn", alike, "--folds", "0", "--features", "frequency,recency,T,monetary_value", "--output", output])
        #expect(bgnbd.status == 1 && bgnbd.standardError.hasPrefix("Error: the BG/NBD model for P(alive) and expected purchases, fitted on \(alike) (give --bgnbd for a saved one): "), "\(bgnbd.standardError)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
