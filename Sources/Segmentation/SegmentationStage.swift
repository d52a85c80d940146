import Clustering
import LinearAlgebra

/// The segmentation stage: customers into segments by the job's method.
///
/// - k-means: the job's features, each through its transforms (log1p, z-score, …), k fixed
///   or chosen over `kRange` by silhouette (`KSelection`); centroids reported in original
///   units, so that profiles read in dollars and weeks.
/// - RFM: quintile scores of time since the last purchase (T − recency), frequency and
///   monetary value, and the named cell of the R × F grid; segment ids follow the order of
///   `RFMSegment.allCases` among the cells that have customers, and the "centroid" of a
///   segment is the mean of each feature (`SegmentProfile.profiles(labels:names:…)`).
struct Segmentation {
    /// Each customer's segment, 0..<k.
    let labels: [Int]
    /// k-means: per segment, per feature, in original units (RFM profiles take each
    /// segment's feature means).
    let centroids: [[Double]]
    /// RFM's names of the segments (k-means segments take the profile's labels).
    let names: [String]?
    /// k-means with automatic k: the scores of every k tried.
    let candidates: [KSelection.Candidate]
    let logLine: String

    /// `equalRows`: customers known to have equal features (the same history and spend),
    /// which k-means with a fixed k uses to find its repeated rows sooner.
    init(_ settings: SegmentationSettings, columns: FeatureColumns, equalRows: () -> DistinctRows? = { nil }) throws {
        switch settings.method {
        case .kmeans:
            let values = settings.features.map { columns[$0]! }
            let specifications = zip(settings.features, settings.transforms).map { FeatureSpecification(name: $0, transforms: $1) }
            var options = KMeans.Options(k: 2, seed: settings.seed, initializations: settings.nInit)
            let fit: KMeansResult
            let preparation: FeaturePreparation
            switch settings.k {
            case .automatic:
                let (prepared, data) = try FeaturePreparation.fitted(specifications, to: values)
                preparation = prepared
                let selection = try KSelection(data: data, range: settings.kRange, options: options)
                fit = selection.fit
                candidates = selection.candidates
                logLine = "k-means: k = \(selection.chosenK) chosen by silhouette among " + selection.candidates
                    .map { "k \($0.k): \(Self.rounded($0.silhouette))" }.joined(separator: ", ")
            case .fixed(let k):
                options.k = k
                let known = equalRows()
                // With rows known equal, only the known groups' first rows are prepared and
                // fitted: the same preparation and fit, without a prepared table of every
                // customer (400 MB at 10M).
                if let known, let (prepared, firstRows) = try FeaturePreparation.fitted(specifications, to: values, firstRowsOf: known) {
                    preparation = prepared
                    // Handed over, so that k-means frees the first rows once it has merged them.
                    fit = try KMeans.fit(firstRows: consume firstRows, of: known, options: options)
                } else {
                    let (prepared, data) = try FeaturePreparation.fitted(specifications, to: values)
                    preparation = prepared
                    // Handed over, so that k-means frees the prepared matrix once it has centred it.
                    fit = try KMeans.fit(consume data, options: options, equalRows: known)
                }
                candidates = []
                logLine = "k-means: k = \(k), inertia \(fit.inertia), \(fit.iterations) iterations"
            }
            labels = fit.labels
            centroids = fit.centers.map(preparation.originalUnits)
            names = nil
        case .rfm:
            let n = columns["frequency"]!.count
            let T = columns["T"]!, recency = columns["recency"]!
            let scores = try RFMScores(timeSinceLastPurchase: zip(T, recency).map { $0 - $1 }, frequency: columns["frequency"]!,
                                       monetary: columns["monetary_value"] ?? [Double](repeating: 0, count: n))
            let present = RFMSegment.allCases.filter(Set(scores.segments).contains)
            let id = Dictionary(uniqueKeysWithValues: present.enumerated().map { ($1, $0) })
            labels = scores.segments.map { id[$0]! }
            centroids = []
            names = present.map(\.rawValue)
            candidates = []
            logLine = "RFM: \(present.count) segments with customers"
        }
    }

    static func rounded(_ x: Double) -> String { String(format: "%.4f", x) }
}
