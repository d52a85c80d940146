import Clustering
import LifetimeValue
import LinearAlgebra
import Transactions

/// The tabular files of a result directory (design.md, "Result directory"):
///
/// - `assignments.csv`: one row per customer,
///   `customer_id,segment,segment_label,frequency,recency,T,monetary_value,expected_purchases,p_alive,churn_probability,clv`;
///   a value the job does not produce (no amounts, no churn model) is `nan`;
/// - `profiles.csv`: one row per segment, `id,label,size,share,share_of_clv,mean_p_alive,churn_rate,total_clv,mean_clv`
///   then `mean_F,median_F,centroid_F` for each feature F; a value the job does not produce is empty;
/// - `profiles.json`: the same profiles with the method, the features and, for an automatic
///   k, every k's scores.
///
/// Numbers are written in Swift's shortest round-tripping form, so the files are the same
/// bytes for the same doubles.
enum ResultFiles {
    static let assignmentColumns = ["customer_id", "segment", "segment_label", "frequency", "recency", "T", "monetary_value",
                                    "expected_purchases", "p_alive", "churn_probability", "clv"]

    /// Writes `assignments.csv`, its rows rendered and written a chunk at a time.
    /// `repeats`: customers with the same frequency, recency, T and monetary value, whose
    /// numbers (those and the scores made from them) are then rendered once and copied where
    /// they are the same bits.
    static func writeAssignments(_ summary: CustomerSummary, columns: FeatureColumns, segments: [Int], labels: [String],
                                 repeats: DistinctRows? = nil, to path: String) throws {
        let measures = assignmentColumns.dropFirst(3).map { columns[$0] }
        let segmentFields = labels.indices.map { CSVWriter.TextFields([String($0), labels[$0]]) }
        let header = CSVWriter(columns: assignmentColumns).bytes
        let repeated = repeats.map { CSVWriter.RepeatedNumbers(group: $0.group, first: $0.first, counts: $0.counts, columns: measures) }
        try ResultDirectory.write(header: header, rows: summary.count, render: { rows, bytes in
            bytes = CSVWriter.rows(rows, ids: summary.customerIDs, fields: segmentFields, group: segments, columns: measures,
                                   repeated: repeated)
        }, to: path)
    }

    /// The customers of `summary` grouped by purchase history (`histories`, its distinct
    /// frequency, recency and T) and monetary value: every number of their assignment rows is
    /// computed from those alone (the segment is not among the numbers), so a group's rows
    /// share their numbers, which the writer still checks. nil when too few repeat to be worth
    /// it (`DistinctRows.repeated`).
    static func repeatedHistories(_ summary: CustomerSummary, _ histories: PurchaseHistories) -> DistinctRows? {
        DistinctRows.repeated(columns: summary.monetaryValue.map { [$0] } ?? [],
                              key: histories.customerRows.map { UInt64(truncatingIfNeeded: $0) })
    }

    static func profilesCSV(_ profiles: [SegmentProfile], labels: [String]) -> [UInt8] {
        let features = profiles.first?.features.map(\.name) ?? []
        var header = ["id", "label", "size", "share", "share_of_clv", "mean_p_alive", "churn_rate", "total_clv", "mean_clv"]
        // A feature's mean that is already a column of its own (P(alive), CLV) is not given
        // twice: a header with one name twice is read as two columns by most tools (pandas
        // renames the second mean_clv.1).
        let hasOwnMean = features.map { header.contains("mean_\($0)") }
        for (feature, ownMean) in zip(features, hasOwnMean) {
            header += (ownMean ? [] : ["mean_\(feature)"]) + ["median_\(feature)", "centroid_\(feature)"]
        }
        var text = header.joined(separator: ",") + "\n"
        for profile in profiles {
            var fields = [String(profile.id), csvField(labels[profile.id]), String(profile.size), number(profile.share),
                          number(profile.shareOfCLV), number(profile.meanPAlive), number(profile.churnRate),
                          number(profile.totalCLV), number(profile.meanCLV)]
            for (feature, ownMean) in zip(profile.features, hasOwnMean) {
                fields += (ownMean ? [] : [number(feature.mean)]) + [number(feature.median), number(feature.centroid)]
            }
            text += fields.joined(separator: ",") + "\n"
        }
        return Array(text.utf8)
    }

    static func profilesJSON(_ profiles: [SegmentProfile], labels: [String], method: SegmentationMethod,
                             features: [String], segmentation: Segmentation) -> [UInt8] {
        func value(_ x: Double?) -> JSONValue { x.map(JSONValue.number) ?? .null }
        var members: [(key: String, value: JSONValue)] = [
            ("method", .string(method.rawValue)), ("k", .integer(profiles.count)),
            ("features", .array(features.map(JSONValue.string))),
        ]
        if !segmentation.candidates.isEmpty {
            members.append(("kSelection", .array(segmentation.candidates.map { candidate in
                .object([("k", .integer(candidate.k)), ("inertia", .number(candidate.inertia)),
                         ("silhouette", .number(candidate.silhouette)), ("calinskiHarabasz", .number(candidate.calinskiHarabasz)),
                         ("daviesBouldin", .number(candidate.daviesBouldin))])
            })))
        }
        members.append(("segments", .array(profiles.map { profile in
            .object([
                ("id", .integer(profile.id)), ("label", .string(labels[profile.id])), ("size", .integer(profile.size)),
                ("share", .number(profile.share)), ("shareOfCLV", value(profile.shareOfCLV)),
                ("totalCLV", value(profile.totalCLV)), ("meanCLV", value(profile.meanCLV)),
                ("meanPAlive", value(profile.meanPAlive)), ("churnRate", value(profile.churnRate)),
                ("features", .object(profile.features.map { feature in
                    (feature.name, .object([("mean", .number(feature.mean)), ("median", .number(feature.median)),
                                            ("centroid", .number(feature.centroid))]))
                })),
            ])
        })))
        return Array(JSONValue.object(members).formatted().utf8)
    }

    /// A number as its shortest round-tripping text; empty when absent or not finite.
    static func number(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "" }
        return String(x)
    }
}
