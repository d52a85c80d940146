/// A job's result directory as design.md ("Result directory") fixes it, read for loading
/// into a CRM database: the run (job.json, models/*.json), the segment profiles
/// (profiles.csv) and where the per-customer assignments are (assignments.csv, streamed by
/// `AssignmentRows` rather than held as values, since it has a row per customer).
///
/// Where a run's facts come from: the job id is the directory's name; the name is job.json's
/// "name"; `created` and the Clientele version are those of the newest model file (the
/// models are fitted while the job runs), or job.json's modification time and no version
/// when the run has no model files. The same directory therefore always gives the same run.
import Files
import Foundation
import Transactions

public struct RunResult: Sendable {
    public var directory: String
    public var jobID: String
    public var name: String
    /// ISO 8601 in UTC, `yyyy-MM-ddTHH:mm:ssZ`.
    public var created: String
    public var clienteleVersion: String?
    /// job.json as run, JSON text.
    public var job: String
    /// A JSON object: each model file's name without `.json` → the model file.
    public var models: String
    public var segments: [SegmentProfile]
    /// Whether the export may replace a run stored under the same job id for another job (a
    /// job of another name): off, such an export is refused, so that two jobs' result
    /// directories of one name (`a/cdnow`, `b/cdnow`) cannot overwrite each other unnoticed.
    /// A job of the same name exported again under its id replaces its earlier run, as a
    /// nightly job re-run into the same directory name does.
    public var mayReplaceAnotherJob: Bool

    public var k: Int { segments.count }
    public var assignmentsPath: String { directory + "/assignments.csv" }

    /// Reads everything but the assignments, which `AssignmentRows` streams. The job id is
    /// the directory's name unless `jobID` gives it (a worker loads a result while it still
    /// sits in the queue's staging directory, before it is published as `done/<id>/`).
    public init(directory: String, jobID: String? = nil, mayReplaceAnotherJob: Bool = false) throws {
        self.mayReplaceAnotherJob = mayReplaceAnotherJob
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CRMStoreError.file(directory, "not a result directory (expected a directory with job.json, profiles.csv and assignments.csv)")
        }
        self.directory = directory
        self.jobID = jobID ?? URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent

        let jobPath = directory + "/job.json"
        job = try Self.readJSONText(jobPath)
        guard let object = try? JSONSerialization.jsonObject(with: Data(job.utf8)) as? [String: Any] else {
            throw CRMStoreError.file(jobPath, "expected a JSON object (the job as run)")
        }
        guard let name = object["name"] as? String else {
            throw CRMStoreError.file(jobPath, "key name: expected a string")
        }
        self.name = name

        let (models, newest) = try Self.readModels(directory + "/models")
        self.models = models
        if let newest {
            created = newest.created
            clienteleVersion = newest.version
        } else {
            let attributes = try? FileManager.default.attributesOfItem(atPath: jobPath)
            let modified = (attributes?[.modificationDate] as? Date) ?? Date(timeIntervalSince1970: 0)
            created = ISO8601DateFormatter().string(from: modified)
            clienteleVersion = nil
        }
        segments = try SegmentProfile.read(path: directory + "/profiles.csv")
    }

    private static func readJSONText(_ path: String) throws -> String {
        // A job file or a model file is small: 64 MiB is far beyond either, and a FIFO or a
        // device is refused instead of read for ever.
        let data: Data
        do {
            data = Data(try RegularFile.existingContents(path, limit: 64 << 20, followingLinks: true))
        } catch {
            throw CRMStoreError.file(path, "cannot read: \(error.reason)")
        }
        guard (try? JSONSerialization.jsonObject(with: data)) != nil else {
            throw CRMStoreError.file(path, jsonSyntaxProblem(Array(data)) ?? "not a JSON object or array")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The model files as one JSON object, in file-name order, and the newest model's
    /// creation time and Clientele version.
    private static func readModels(_ folder: String) throws -> (String, (created: String, version: String?)?) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            .sorted()
        var members: [String] = []
        var newest: (date: Date, created: String, version: String?)?
        let parser = ISO8601DateFormatter()
        for name in names {
            let path = folder + "/" + name
            let text = try readJSONText(path)
            members.append(jsonStringLiteral(String(name.dropLast(5))) + ":" + text)
            let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
            if let created = object?["createdAt"] as? String {
                guard let date = parser.date(from: created) else {
                    throw CRMStoreError.file(path, "key createdAt: expected an ISO 8601 time such as 2026-11-24T20:53:19Z")
                }
                if newest == nil || date > newest!.date {
                    newest = (date, parser.string(from: date), object?["clienteleVersion"] as? String)
                }
            }
        }
        return ("{" + members.joined(separator: ",") + "}", newest.map { ($0.created, $0.version) })
    }
}

/// One row of profiles.csv: a segment's size, shares, P(alive), churn and CLV in columns, and
/// the per-feature statistics (`mean_<feature>`, `median_<feature>`, `centroid_<feature>`,
/// whatever the features are) as a JSON object `{"<feature>": {"mean": …, "median": …,
/// "centroid": …}}`, in the file's column order. `mean_p_alive` has its own column and joins
/// the statistics too when P(alive) is one of the features (has a median or centroid).
public struct SegmentProfile: Sendable, Equatable {
    public var id: Int
    public var label: String
    public var size: Int
    public var share: Double?
    public var shareOfCLV: Double?
    public var meanPAlive: Double?
    public var churnRate: Double?
    public var totalCLV: Double?
    public var meanCLV: Double?
    public var featureStatistics: String

    static let fixedColumns = ["id", "label", "size", "share", "share_of_clv", "mean_p_alive", "churn_rate", "total_clv", "mean_clv"]
    static let statistics = ["mean", "median", "centroid"]

    static func read(path: String) throws -> [SegmentProfile] {
        var records = try CSVRecords(path: path)
        guard try records.next() else { throw CRMStoreError.file(path, "empty; expected a header and one row per segment") }
        let header = records.fields.map(\.text)
        // A column may appear twice, with the same values: `mean_clv` is both a fixed column
        // and the mean of the feature clv, and a writer may give it in both places.
        var position: [String: Int] = [:]
        var repeats: [(column: String, index: Int)] = []
        for (index, column) in header.enumerated() {
            if position[column] == nil { position[column] = index } else { repeats.append((column, index)) }
        }
        for column in fixedColumns where position[column] == nil {
            throw CRMStoreError.record(path, line: 1, "missing column \(column); expected \(fixedColumns.joined(separator: ",")) and <mean|median|centroid>_<feature> columns")
        }
        var features: [(feature: String, statistic: String, index: Int)] = []
        for (column, index) in position.sorted(by: { $0.value < $1.value }) where !fixedColumns.contains(column) {
            guard let statistic = statistics.first(where: { column.hasPrefix($0 + "_") && column.count > $0.count + 1 }) else {
                throw CRMStoreError.field(path, line: 1, column: column, "unexpected; profile columns beyond \(fixedColumns.joined(separator: ",")) are <mean|median|centroid>_<feature>")
            }
            features.append((String(column.dropFirst(statistic.count + 1)), statistic, index))
        }
        // A fixed mean (`mean_clv`, `mean_p_alive`) joins its feature's statistics when the
        // quantity is one of the features.
        for column in fixedColumns where column.hasPrefix("mean_") {
            let feature = String(column.dropFirst("mean_".count))
            if let first = features.firstIndex(where: { $0.feature == feature }) {
                features.insert((feature, "mean", position[column]!), at: first)
            }
        }
        var featureOrder: [String] = []
        for entry in features where !featureOrder.contains(entry.feature) { featureOrder.append(entry.feature) }

        var profiles: [SegmentProfile] = []
        var ids: Set<Int> = []
        while try records.next() {
            let fields = records.fields
            guard fields.count == header.count else {
                throw CRMStoreError.record(path, line: records.line, "\(fields.count) fields; the header has \(header.count)")
            }
            func number(_ column: String) throws -> Double? {
                try parseMeasure(fields[position[column]!], path: path, line: records.line, column: column)
            }
            func whole(_ column: String) throws -> Int {
                guard let value = parseWholeNumber(fields[position[column]!]) else {
                    throw CRMStoreError.field(path, line: records.line, column: column, "expected a whole number, got \"\(fields[position[column]!].text)\"")
                }
                return value
            }
            for (column, index) in repeats where !fields[index].elementsEqual(fields[position[column]!]) {
                throw CRMStoreError.field(path, line: records.line, column: column, "appears twice with different values")
            }
            let id = try whole("id")
            guard ids.insert(id).inserted else {
                throw CRMStoreError.field(path, line: records.line, column: "id", "segment \(id) appears twice")
            }
            var statistics: [String] = []
            for feature in featureOrder {
                var members: [String] = []
                for entry in features where entry.feature == feature {
                    let value = try parseMeasure(fields[entry.index], path: path, line: records.line, column: header[entry.index])
                    members.append(jsonStringLiteral(entry.statistic) + ":" + (value.map { "\($0)" } ?? "null"))
                }
                statistics.append(jsonStringLiteral(feature) + ":{" + members.joined(separator: ",") + "}")
            }
            profiles.append(SegmentProfile(
                id: id, label: fields[position["label"]!].text, size: try whole("size"),
                share: try number("share"), shareOfCLV: try number("share_of_clv"), meanPAlive: try number("mean_p_alive"),
                churnRate: try number("churn_rate"), totalCLV: try number("total_clv"), meanCLV: try number("mean_clv"),
                featureStatistics: "{" + statistics.joined(separator: ",") + "}"))
        }
        guard !profiles.isEmpty else { throw CRMStoreError.file(path, "no segments; expected one row per segment") }
        return profiles
    }
}
