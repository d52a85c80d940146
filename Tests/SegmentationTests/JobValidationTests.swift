import Foundation
import JobQueue
@testable import Segmentation
import Testing

/// The job file as analysts write it: each kind of mistake refused with its key path (or
/// line and column), and a valid job read back with every default filled in.
@Suite struct JobValidationTests {
    /// A directory with a small transaction log, where job files are written.
    let directory: String
    let log: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-job-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        log = directory + "/data/tx.csv"
        try "customer_id,date,amount\n1,2024-01-01,5\n".write(toFile: log, atomically: true, encoding: .utf8)
    }

    func validate(_ text: String) throws(JobFileError) -> Job {
        try JobValidation.validate(bytes: Array(text.utf8), source: directory + "/job.json")
    }

    /// The message of the error a job file gets, without the file name.
    func refusal(_ text: String) -> String {
        do {
            _ = try validate(text)
            return "accepted"
        } catch {
            let message = error.description.dropFirst(directory.count + "/job.json:".count)
            return String(message.hasPrefix(" ") ? message.dropFirst() : message)
        }
    }

    let minimal = #"{"name": "q1", "transactions": {"path": "data/tx.csv"}"#

    /// `run` and `submit` read a job file up to the size the queue takes: one limit.
    @Test func aJobFileMayBeAsLargeAsTheQueueTakes() {
        #expect(JobValidation.maximumFileBytes == JobQueue.maximumJobFileSize)
    }

    /// A job read from the queue has left the directory its relative paths meant: they are
    /// refused, and absolute ones taken.
    @Test func aQueuedJobTakesAbsolutePathsOnly() throws {
        #expect {
            try JobValidation.validate(bytes: Array((minimal + "}").utf8), source: directory + "/job.json", absolutePathsOnly: true)
        } throws: { error in
            "\(error)" == directory + #"/job.json: transactions.path: expected an absolute path in a queued job (clientele submit makes paths absolute; a job put into incoming/ by hand must give them so), got "data/tx.csv""#
        }
        let absolute = #"{"name": "q1", "transactions": {"path": "\#(directory)/data/tx.csv"}}"#
        #expect(try JobValidation.validate(bytes: Array(absolute.utf8), source: directory + "/job.json", absolutePathsOnly: true)
            .transactions.path == directory + "/data/tx.csv")
    }

    @Test func wrongTypesAndValuesNameTheKeyPathAndWhatWasExpected() {
        // A NUL would cut a path or a name short where C reads it; a name goes into titles,
        // log lines and the CRM, where control characters have no place.
        #expect(refusal(#"{"name": "a\u0000b", "transactions": {"path": "data/tx.csv"}}"#)
                == "name: expected a non-empty string without a NUL character (\\u0000)")
        #expect(refusal(#"{"name": "a\nb", "transactions": {"path": "data/tx.csv"}}"#)
                == #"name: expected a name without control characters (tab, line breaks, escapes, bidirectional overrides), got "a\nb""#)
        // The refused name is shown escaped: raw, an override reorders the terminal's line
        // and a line separator breaks it.
        #expect(refusal(#"{"name": "VIP\u202Etxt.exe", "transactions": {"path": "data/tx.csv"}}"#)
                == #"name: expected a name without control characters (tab, line breaks, escapes, bidirectional overrides), got "VIP\u202etxt.exe""#)
        #expect(refusal(#"{"name": "a\u2028b", "transactions": {"path": "data/tx.csv"}}"#).hasSuffix(#"got "a\u2028b""#))
        #expect(refusal(minimal + #", "segmentation": {"features": []}}"#) == "segmentation.features: expected a non-empty list of feature names, got an empty array")
        #expect(refusal(minimal + #", "x\u0000y": 1}"#).hasPrefix(#""x\u0000y": unknown key; expected one of name"#))
        #expect(refusal(#"{"name": "q1", "transactions": {"path": "data/tx.csv\u0000.gz"}}"#)
                == "transactions.path: expected the transaction log's path without a NUL character (\\u0000)")
        #expect(refusal(#"{"name": "Q1 · 2024 «VIP»", "transactions": {"path": "data/tx.csv"}}"#) == "accepted")
        #expect(refusal(minimal + #", "segmentation": {"seed": 9223372036854775808}}"#)
                == "segmentation.seed: expected an integer 0…2^63 − 1, got 9.223372036854776e+18")
        #expect(refusal(minimal + #", "crm": {"database": "sqlite:~/crm.db"}}"#)
                == "crm.database: sqlite:~/crm.db: ~ is not expanded here; give the path from / or from the current directory")
        // A range beside a fixed k would do nothing; the default one, which earlier versions
        // wrote into every result's job.json, is still taken.
        #expect(refusal(minimal + #", "segmentation": {"k": 5, "kRange": [3, 6]}}"#)
                == #"segmentation.kRange: applies to "k": "auto" only; k is 5"#)
        #expect(refusal(minimal + #", "segmentation": {"k": 5, "kRange": [2, 10]}}"#) == "accepted")
        // A byte-order mark, as some editors write one, is taken.
        #expect(refusal("\u{FEFF}" + minimal + "}") == "accepted")
        // Without a header, columns are positions: a name (or the default names) cannot be found.
        #expect(refusal(#"{"name": "q1", "transactions": {"path": "data/tx.csv", "header": false}}"#)
                == #"transactions.customer: without a header ("header": false) a column is a 1-based position, got "customer_id" (the default)"#)
        #expect(refusal(#"{"name": "q1", "transactions": {"path": "data/tx.csv", "header": false, "customer": 1, "date": 2, "amount": "amount"}}"#)
                == #"transactions.amount: without a header ("header": false) a column is a 1-based position, got "amount""#)
        #expect(refusal(#"{"name": "q1", "transactions": {"path": "data/tx.csv", "header": false, "customer": 1, "date": "2", "amount": 3}}"#)
                == "accepted")
        #expect(refusal(minimal + #", "segmentation": {"k": "eight"}}"#) == #"segmentation.k: expected an integer 1…100 or "auto", got "eight""#)
        #expect(refusal(minimal + #", "segmentation": {"k": 8.5}}"#) == #"segmentation.k: expected an integer 1…100 or "auto", got 8.5"#)
        #expect(refusal(minimal + #", "models": {"horizon": "52"}}"#) == #"models.horizon: expected a number > 0 and at most ten years (3653 days), got "52""#)
        // Ten years in the job's unit, the most a CLV horizon may span.
        #expect(refusal(minimal + #", "period": {"unit": "weeks"}, "models": {"horizon": 523}}"#) == "models.horizon: expected a number > 0 and at most ten years (522 weeks), got 523")
        #expect(refusal(minimal + #", "period": {"unit": "weeks"}, "models": {"horizon": 522}}"#) == "accepted")
        #expect(refusal(minimal + #", "transactions2": 1}"#).hasPrefix("transactions2: unknown key; expected one of name, transactions, period"))
        #expect(refusal(minimal + #", "models": {"horizn": 52}}"#).hasPrefix("models.horizn: unknown key; expected one of purchase, spend, churn"))
        #expect(refusal(minimal + #", "segmentation": {"nInit": 0}}"#) == "segmentation.nInit: expected an integer 1…1000, got 0")
        #expect(refusal(minimal + #", "models": {"discountRate": 2}}"#) == "models.discountRate: expected a number 0…1 (per month), got 2")
        #expect(refusal(minimal + #", "models": {"purchase": "bgbb"}}"#) == #"models.purchase: expected "bgnbd" or "pareto-nbd" or "mbgnbd", got "bgbb""#)
        #expect(refusal(minimal + #", "period": {"calibrationEnd": "1997-13-01"}}"#) == #"period.calibrationEnd: expected a date such as "1997-09-30", got "1997-13-01""#)
        #expect(refusal(minimal + #", "period": {"periodLength": "week", "calibrationEnd": "1998-06-29", "observationEnd": "1998-06-30"}}"#)
            == #"period.calibrationEnd: must fall in an earlier week than period.observationEnd (1998-06-30), got "1998-06-29""#)
        #expect(refusal(minimal + #", "period": {"periodLength": "week", "calibrationEnd": "1998-06-28", "observationEnd": "1998-06-30"}}"#) == "accepted")
        #expect(refusal(minimal + #", "segmentation": {"features": ["recency", "clv", 3]}}"#)
            .hasPrefix("segmentation.features.1: expected one of \"frequency\", \"recency\", \"T\", \"expected_purchases\", \"p_alive\", got \"clv\" (the job's models do not produce \"clv\")"))
        #expect(refusal(minimal + #", "segmentation": {"transforms": {"recency": ["log2"]}}}"#)
            == #"segmentation.transforms.recency.0: "log2" is not a transform: use log1p, zscore, robust or winsorize:LOWER:UPPER"#)
        #expect(refusal(minimal + #", "segmentation": {"method": "rfm", "k": 4}}"#) == #"segmentation.k: applies to "kmeans" only; "rfm" scores quintiles"#)
        #expect(refusal(minimal + #", "models": {"spend": "gamma-gamma"}}"#) == #"models.spend: "gamma-gamma" needs amounts: set transactions.amount, or use "none""#)
        #expect(refusal(minimal + #", "models": {"churn": "logistic"}}"#)
            == #"models.churn: "logistic" needs period.calibrationEnd: its labels are purchases in the holdout window after it; set one, or use "none""#)
        #expect(refusal(minimal + #", "period": {"observationEnd": "2200-01-01"}}"#)
            == #"period.observationEnd: expected a date within 1900-01-01…2199-12-31, got "2200-01-01""#)
        #expect(refusal(minimal + #", "crm": {"database": "mysql://x"}}"#) == #"crm.database: expected "sqlite:PATH" or "postgres://USER@HOST[:PORT]/DATABASE", got "mysql://x""#)
        // A URL the export could not use is refused before anything runs, and a password in it
        // is never repeated.
        #expect(refusal(minimal + #", "crm": {"database": "postgres://u:secret@127.0.0.1:5432/crm"}}"#)
            == "crm.database: the URL holds a password; put it in PGPASSWORD or ~/.pgpass instead")
        #expect(refusal(minimal + #", "crm": {"database": "postgres://127.0.0.1/crm"}}"#)
            == "crm.database: the URL names no user; expected postgres://USER@HOST:PORT/DATABASE")
        #expect(refusal(minimal + #", "crm": {"database": "postgres://u@db.example:6432/crm?sslmode=require"}}"#) == "accepted")
        // Nor in a URL too broken to read, or of another scheme.
        #expect(refusal(minimal + #", "crm": {"database": "postgres://u:pa#ss@h/db"}}"#)
            == #"crm.database: cannot read "postgres://u:…@h/db"; expected postgres://USER@HOST:PORT/DATABASE"#)
        #expect(refusal(minimal + #", "crm": {"database": "Postgres://u:secret@h/db"}}"#)
            == #"crm.database: expected "sqlite:PATH" or "postgres://USER@HOST[:PORT]/DATABASE", got "Postgres://u:…@h/db""#)
        #expect(refusal(#"{"transactions": {"path": "data/tx.csv"}}"#) == "name: missing; expected the job's name, a non-empty string")
        #expect(refusal("[1]") == "a job file must be a JSON object ({…}), got an array")
    }

    @Test func malformedJSONIsReportedAtItsLineAndColumn() {
        #expect(refusal("{\n  \"name\": ,\n}\n") == "2:11: not valid JSON: unexpected character ','; expected a value")
        #expect(refusal("{\"name\": \"a\",\n \"name\": \"b\"}") == "2:2: not valid JSON: the key \"name\" appears twice")
        #expect(refusal("{\"name\": \"a\"") == "1:13: not valid JSON: unexpected end of the text; expected ',' or '}'")
        // Columns count characters, as an editor shows them, not UTF-8 bytes.
        #expect(refusal("{\"name\": \"ééé\" x}") == "1:16: not valid JSON: unexpected character 'x'; expected ',' or '}'")
    }

    /// A job file that is not UTF-8 (Latin-1, say) is refused at its first such byte, where
    /// its text used to become U+FFFD in the job's name and paths unsaid.
    @Test func aJobFileThatIsNotUTF8IsRefusedWhereItStopsBeingUTF8() throws {
        var bytes = Array("{\"name\": \"caf".utf8) + [0xE9] + Array("\",\n \"transactions\": {\"path\": \"data/tx.csv\"}}".utf8)
        #expect(throws: JobFileError.self) { try JobValidation.validate(bytes: bytes, source: "j.json") }
        do {
            _ = try JobValidation.validate(bytes: bytes, source: "j.json")
        } catch {
            #expect(error.description == "j.json:1:14: not valid JSON: byte 0xE9 is not UTF-8; save the job file as UTF-8 (for a Latin-1 file: iconv -f latin1 -t utf-8)")
        }
        bytes = Array("{\"name\": \"café\"}".utf8)
        #expect(JSONValue.firstNonUTF8(bytes) == nil)
        #expect(JSONValue.firstNonUTF8(Array("é".utf8) + [0xC3]) == 2, "a sequence cut short")
        #expect(JSONValue.firstNonUTF8([0x61, 0xED, 0xA0, 0x80]) == 1, "a surrogate")
    }

    @Test func theTransactionLogMustBeReadableAndIsFoundBesideTheJobFile() throws {
        #expect(refusal(#"{"name": "q1", "transactions": {"path": "data/missing.csv"}}"#)
            == "transactions.path: cannot read \(directory)/data/missing.csv: No such file or directory")
        #expect(refusal(#"{"name": "q1", "transactions": {"path": "data"}}"#) == "transactions.path: \(directory)/data is a directory, not a transaction log")
        let job = try validate(#"{"name": "q1", "transactions": {"path": "../\#((directory as NSString).lastPathComponent)/data/./tx.csv"}}"#)
        #expect(job.transactions.path == log)
    }

    @Test func defaultsAreFilledInAndTheJobReadsBackTheSame() throws {
        let job = try validate(#"{"name": "q1", "transactions": {"path": "data/tx.csv", "amount": "amount"}, "period": {"calibrationEnd": "2024-03-31"}, "crm": {"database": "sqlite:crm.db"}}"#)
        let text = job.jsonValue.formatted()
        #expect(text == """
            {
              "name": "q1",
              "transactions": {
                "path": "\(log)",
                "delimiter": ",",
                "header": true,
                "customer": "customer_id",
                "date": "date",
                "amount": "amount",
                "dateFormat": null,
                "onBadRow": "fail"
              },
              "period": {
                "periodLength": "day",
                "unit": "days",
                "calibrationEnd": "2024-03-31",
                "observationEnd": null
              },
              "models": {
                "purchase": "bgnbd",
                "spend": "gamma-gamma",
                "churn": "logistic",
                "churnDefinition": {
                  "holdoutPurchasesBelow": 1
                },
                "churnPenalty": 0.0,
                "churnFolds": 5,
                "churnSeed": 42,
                "horizon": 365.0,
                "discountRate": 0.01
              },
              "segmentation": {
                "method": "kmeans",
                "k": "auto",
                "kRange": [2, 10],
                "seed": 42,
                "nInit": 10,
                "features": ["recency", "frequency", "monetary_value", "clv", "p_alive"],
                "transforms": {
                  "recency": ["zscore"],
                  "frequency": ["log1p", "zscore"],
                  "monetary_value": ["log1p", "zscore"],
                  "clv": ["log1p", "zscore"],
                  "p_alive": ["zscore"]
                }
              },
              "crm": {
                "database": "sqlite:\(directory)/crm.db"
              }
            }

            """)
        #expect(try validate(text) == job)

        // Without amounts or a holdout, the defaults leave out what cannot be computed.
        let bare = try validate(minimal + "}")
        #expect(bare.models.spend == .none && bare.models.churn == .none)
        #expect(bare.segmentation.features == ["recency", "frequency", "p_alive"])
    }
}
