#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How well a churn score ranks and, when it is a probability, predicts churn:
///
/// - AUC: the probability that a churned customer scores above a retained one, ties
///   counting one half (the Mann–Whitney statistic from mid-ranks; scikit-learn's
///   `roc_auc_score`);
/// - log-loss: −mean[y log p + (1 − y) log(1 − p)], with p clipped to [ε, 1 − ε] for the
///   double ε, as scikit-learn's `log_loss` clips (a score of exactly 0 or 1 that is wrong
///   costs −log ε ≈ 36, not infinity);
/// - Brier score: mean (p − y)²;
/// - deciles of the score, highest first: churn rate, lift (the rate over the overall rate),
///   cumulative gain (the share of all churners found in the deciles so far) and, for a
///   probability, the mean prediction beside the observed rate (calibration).
///
/// Deciles are equal slices of the customers sorted by descending score, ties kept in
/// customer order, so a score with many ties (P(alive) = 1 for every one-time buyer) is
/// sliced through its ties by position.
public struct ScoreMetrics: Codable, Sendable, Equatable {
    public var customers: Int
    public var churned: Int
    public var auc: Double
    /// nil when the score is not a probability.
    public var logLoss: Double?
    public var brierScore: Double?
    public var deciles: [Decile]
    /// The AUC within each cross-validation fold, in fold order.
    public var foldAUC: [Double]

    public struct Decile: Codable, Sendable, Equatable {
        /// 1 for the tenth of customers with the highest scores.
        public var decile: Int
        public var customers: Int
        public var churned: Int
        public var churnRate: Double
        public var lift: Double
        public var cumulativeGain: Double
        /// The mean predicted probability (nil when the score is not a probability).
        public var meanPrediction: Double?
    }

    /// The metrics of `scores` (higher: more likely to churn) against labels (1: churned).
    /// `folds` (one fold number per customer) adds the AUC within each fold.
    public init(scores: [Double], labels: [Double], isProbability: Bool, folds: [Int]? = nil, foldCount: Int = 0) {
        precondition(scores.count == labels.count, "one score per label")
        let customers = scores.count, churned = Int(labels.reduce(0, +))
        self.customers = customers
        self.churned = churned
        if isProbability {
            let epsilon = Double.ulpOfOne
            var loss = 0.0, brier = 0.0
            for (p, y) in zip(scores, labels) {
                // y is 0 or 1, so one logarithm is the whole term; the other would be
                // multiplied by 0 (it is finite after clipping), adding exactly nothing.
                let clipped = min(max(p, epsilon), 1 - epsilon)
                loss -= y == 1 ? log(clipped) : log(1 - clipped)
                brier += (p - y) * (p - y)
            }
            logLoss = loss / Double(customers)
            brierScore = brier / Double(customers)
        }
        // One ordering serves every measure: ascending by score, ties by customer order; the
        // scores, labels and folds are then read in that order, front to back.
        let ranking = Ranking(scores: scores, labels: labels, folds: folds)
        let overallRate = Double(churned) / Double(customers)
        // Deciles take customers by descending score, ties still in customer order: the tie
        // groups from the top, each walked forwards (positions in the ranking).
        var order: [Int32] = []
        order.reserveCapacity(customers)
        var groupEnd = customers
        while groupEnd > 0 {
            var groupStart = groupEnd - 1
            while groupStart > 0, ranking.scores[groupStart - 1] == ranking.scores[groupEnd - 1] { groupStart -= 1 }
            order.append(contentsOf: (Int32(groupStart)..<Int32(groupEnd)))
            groupEnd = groupStart
        }
        var found = 0
        deciles = (0..<10).map { d in
            let slice = order[(customers * d / 10)..<(customers * (d + 1) / 10)]
            let count = slice.count
            let churners = slice.reduce(0) { $0 + Int(ranking.labels[Int($1)]) }
            found += churners
            let rate = count == 0 ? 0 : Double(churners) / Double(count)
            return Decile(decile: d + 1, customers: count, churned: churners, churnRate: rate,
                          lift: overallRate > 0 ? rate / overallRate : 0,
                          cumulativeGain: churned > 0 ? Double(found) / Double(churned) : 0,
                          meanPrediction: isProbability && count > 0 ? slice.reduce(0) { $0 + ranking.scores[Int($1)] } / Double(count) : nil)
        }
        auc = ranking.auc(groups: nil, groupCount: 1)[0]
        foldAUC = []
        if foldCount > 0, let groups = ranking.folds {
            foldAUC = ranking.auc(groups: groups, groupCount: foldCount)
        }
    }

    /// The metrics of a score that depends on the customer only through a group (a distinct
    /// purchase history, for the purchase model's scores): customer i scores
    /// `groupScores[groupOf[i]]`. The numbers are the same, to the bit, as those of
    /// `init(scores:…)` on every customer's score, but the sort is of the groups, not the
    /// customers: the ties of equal scores add up their groups' counts, and a decile that ends
    /// inside a tie takes the tie's customers in customer order, as the customers' ranking has
    /// them. Scores that are NaN (each its own tie there) go the customers' way.
    init(groupOf: [Int32], groupScores: [Double], labels: [Double], isProbability: Bool, folds: [Int]? = nil, foldCount: Int = 0) {
        self.init(groupOf: groupOf, groupScores: groupScores,
                  counts: GroupCounts(groupOf: groupOf, groups: groupScores.count, labels: labels, folds: folds, foldCount: foldCount),
                  labels: labels, isProbability: isProbability, folds: folds)
    }

    /// The same, with the groups' counts already taken (`counts`, shared by every score of
    /// the same groups).
    init(groupOf: [Int32], groupScores: [Double], counts: GroupCounts, labels: [Double], isProbability: Bool, folds: [Int]?) {
        precondition(groupOf.count == labels.count && counts.groups == groupScores.count, "one group per label, counts per group")
        guard !groupScores.contains(where: \.isNaN) else {
            self = ScoreMetrics(scores: groupOf.map { groupScores[Int($0)] }, labels: labels, isProbability: isProbability,
                                folds: folds, foldCount: counts.folds)
            return
        }
        let customers = groupOf.count, churned = Int(labels.reduce(0, +))
        self.customers = customers
        self.churned = churned
        // The ties: groups in ascending score order, runs of equal scores merged, each with
        // its groups' customers and churners, overall and per fold.
        // The groups are taken in that order, so that the ties' counts are written front to back;
        // the scores come with the order, and each batch of groups' counts is read ahead, so
        // that the groups' cache misses (they lie at random in memory) overlap.
        let (ascending, ascendingScores) = Ranking.ascending(groupScores)
        let stride = counts.stride
        var tieOf = [Int32](repeating: 0, count: groupScores.count)
        var tieScores: [Double] = []
        var tieCounts: [Int] = []
        tieCounts.reserveCapacity(groupScores.count * stride)
        counts.counts.withUnsafeBufferPointer { groupCounts in
            let batch = 16
            // Each group's first and last counts, read for the whole batch first (a group's
            // counts can straddle two cache lines).
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * batch) { firstAndLast in
                for start in Swift.stride(from: 0, to: ascending.count, by: batch) {
                    let end = min(start + batch, ascending.count)
                    for p in start..<end {
                        let from = Int(ascending[p]) * stride
                        firstAndLast[2 * (p - start)] = Int(groupCounts[from])
                        firstAndLast[2 * (p - start) + 1] = Int(groupCounts[from + stride - 1])
                    }
                    for p in start..<end {
                        let g = Int(ascending[p]), score = ascendingScores[p]
                        if tieScores.last != score {
                            tieScores.append(score)
                            tieCounts.append(contentsOf: repeatElement(0, count: stride))
                        }
                        let (from, to) = (g * stride, (tieScores.count - 1) * stride)
                        tieOf[g] = Int32(tieScores.count - 1)
                        tieCounts[to] += firstAndLast[2 * (p - start)]
                        for k in 1..<(stride - 1) { tieCounts[to + k] += Int(groupCounts[from + k]) }
                        tieCounts[to + stride - 1] += firstAndLast[2 * (p - start) + 1]
                    }
                }
            }
        }
        let ties = tieScores.count
        let inTie = { (t: Int) in tieCounts[t * stride] }, churnersInTie = { (t: Int) in tieCounts[t * stride + 1] }
        // Deciles from the top tie down. A decile boundary inside a tie needs the churners
        // among the tie's first k customers in customer order.
        var tieStart = [Int](repeating: 0, count: ties)
        var position = 0
        for t in Swift.stride(from: ties - 1, through: 0, by: -1) {
            tieStart[t] = position
            position += inTie(t)
        }
        let bounds = (0...10).map { customers * $0 / 10 }
        // The ties a boundary falls inside, and for each the offsets into it (ascending) at
        // which the churners so far are wanted.
        var cutOf = [Int32](repeating: -1, count: ties)
        var offsets: [[Int]] = []
        var tieAt = ties - 1
        for bound in bounds.dropFirst().dropLast() {
            while tieAt > 0, tieStart[tieAt] + inTie(tieAt) <= bound { tieAt -= 1 }
            guard bound > tieStart[tieAt], bound < tieStart[tieAt] + inTie(tieAt) else { continue }
            if cutOf[tieAt] < 0 {
                cutOf[tieAt] = Int32(offsets.count)
                offsets.append([])
            }
            // Fewer customers than deciles repeat a boundary; it is wanted once.
            if offsets[Int(cutOf[tieAt])].last != bound - tieStart[tieAt] { offsets[Int(cutOf[tieAt])].append(bound - tieStart[tieAt]) }
        }
        // One pass over the customers, in their order, for what needs it: the log-loss and
        // Brier sums of `init(scores:…)` (each logarithm taken once per group) and the churners
        // before each boundary inside a tie.
        struct GroupTerms {
            var ifChurned: Double, ifRetained: Double, score: Double
            var cut: Int32
        }
        let epsilon = Double.ulpOfOne
        let terms = groupScores.indices.map { g -> GroupTerms in
            let p = groupScores[g], clipped = min(max(p, epsilon), 1 - epsilon)
            return GroupTerms(ifChurned: isProbability ? log(clipped) : 0, ifRetained: isProbability ? log(1 - clipped) : 0,
                              score: p, cut: cutOf[Int(tieOf[g])])
        }
        var churnersAtOffset = offsets.map { [Int](repeating: 0, count: $0.count) }
        var loss = 0.0, brier = 0.0
        if isProbability || !offsets.isEmpty {
            var seen = [Int](repeating: 0, count: offsets.count), churnersSeen = seen, next = seen
            for i in 0..<customers {
                let group = terms[Int(groupOf[i])], y = labels[i]
                if isProbability {
                    loss -= y == 1 ? group.ifChurned : group.ifRetained
                    brier += (group.score - y) * (group.score - y)
                }
                let c = Int(group.cut)
                guard c >= 0, next[c] < offsets[c].count else { continue }
                seen[c] += 1
                churnersSeen[c] += y == 1 ? 1 : 0
                if seen[c] == offsets[c][next[c]] {
                    churnersAtOffset[c][next[c]] = churnersSeen[c]
                    next[c] += 1
                }
            }
        }
        if isProbability {
            logLoss = loss / Double(customers)
            brierScore = brier / Double(customers)
        }
        /// The churners among the first k customers of tie t, in customer order.
        func churnersAmongFirst(_ k: Int, of t: Int) -> Int {
            if k == 0 { return 0 }
            if k == inTie(t) { return churnersInTie(t) }
            let c = Int(cutOf[t])
            return churnersAtOffset[c][offsets[c].firstIndex(of: k)!]
        }
        let overallRate = Double(churned) / Double(customers)
        var found = 0
        var top = ties - 1
        deciles = (0..<10).map { d in
            let (low, high) = (bounds[d], bounds[d + 1])
            var churners = 0, sum = 0.0
            var t = top
            while t >= 0, tieStart[t] < high {
                let from = max(low, tieStart[t]) - tieStart[t], to = min(high, tieStart[t] + inTie(t)) - tieStart[t]
                if to > from {
                    churners += churnersAmongFirst(to, of: t) - churnersAmongFirst(from, of: t)
                    if isProbability { for _ in from..<to { sum += tieScores[t] } }
                }
                if tieStart[t] + inTie(t) > high { break }
                t -= 1
            }
            top = max(t, 0)
            found += churners
            let count = high - low
            let rate = count == 0 ? 0 : Double(churners) / Double(count)
            return Decile(decile: d + 1, customers: count, churned: churners, churnRate: rate,
                          lift: overallRate > 0 ? rate / overallRate : 0,
                          cumulativeGain: churned > 0 ? Double(found) / Double(churned) : 0,
                          meanPrediction: isProbability && count > 0 ? sum / Double(count) : nil)
        }
        auc = Ranking.auc(ties: ties, groupCount: 1, inTie: { t, _ in Double(inTie(t)) },
                          churnersInTie: { t, _ in Double(churnersInTie(t)) })[0]
        foldAUC = []
        if counts.folds > 0 {
            foldAUC = Ranking.auc(ties: ties, groupCount: counts.folds,
                                  inTie: { t, f in Double(tieCounts[t * stride + 2 + 2 * f]) },
                                  churnersInTie: { t, f in Double(tieCounts[t * stride + 3 + 2 * f]) })
        }
    }

    /// Each group's customers and churners, overall and in each fold, counted in one pass over
    /// the customers: all that the ranking of a score of the groups needs from them, besides
    /// the few ties that a decile boundary cuts.
    struct GroupCounts: Sendable {
        let groups: Int
        /// The folds counted (0 without folds).
        let folds: Int
        /// Per group, `stride` counts side by side (one cache line or so, for a pass that
        /// lands on the groups at random): customers, churners, then customers and churners
        /// of each fold.
        let counts: [Int32]
        var stride: Int { 2 + 2 * folds }

        init(groupOf: [Int32], groups: Int, labels: [Double], folds: [Int]?, foldCount: Int) {
            self.groups = groups
            self.folds = folds == nil ? 0 : foldCount
            let stride = 2 + 2 * self.folds
            var counts = [Int32](repeating: 0, count: groups * stride)
            for i in groupOf.indices {
                let base = Int(groupOf[i]) * stride, churner: Int32 = labels[i] == 1 ? 1 : 0
                counts[base] += 1
                counts[base + 1] += churner
                if let folds {
                    counts[base + 2 + 2 * folds[i]] += 1
                    counts[base + 3 + 2 * folds[i]] += churner
                }
            }
            self.counts = counts
        }
    }

    /// The Mann–Whitney AUC from mid-ranks (NaN when one class is empty).
    static func auc(_ scores: [Double], _ labels: [Double]) -> Double {
        Ranking(scores: scores, labels: labels, folds: nil).auc(groups: nil, groupCount: 1)[0]
    }
}

/// Customers in ascending score order, ties in customer order, with their scores, labels and
/// folds in that order, so that the walks over it read memory front to back.
///
/// The order comes from a least-significant-digit radix sort, stable, of the scores' bit
/// patterns mapped to integers that order as the doubles do (sign bit set on positives, every
/// bit flipped on negatives; −0 is read as +0, as `==` has it). Beside each key travels the
/// customer's number with its label and fold packed into the same word, and each score is read
/// back from its key, so nothing is fetched from the customers' arrays in score order: at ten
/// million customers such gathers, one cache miss each, cost more than the sort. The passes
/// sort only the keys' top 33 bits, three 11-bit digits (a pass skipped when every key shares
/// its digit), which already order scores a millionth apart; the runs that share those bits
/// are then put in order of the whole key, most of them one or two keys long. A million scores
/// take a few milliseconds, where a comparison sort took about a tenth of a second and all six
/// digits of the keys twice the passes.
struct Ranking {
    let scores: [Double]
    /// 1 for churned; bytes, as the folds are 32-bit, to keep ten million customers' copies small.
    let labels: [UInt8]
    let folds: [Int32]?

    init(scores unordered: [Double], labels unorderedLabels: [Double], folds unorderedFolds: [Int]?) {
        // The customer in the low 32 bits, its label in bit 32, its fold above.
        var payload = unorderedLabels.indices.map { i in
            UInt64(i) | (unorderedLabels[i] == 1 ? 1 << 32 : 0) | UInt64(unorderedFolds?[i] ?? 0) << 33
        }
        let keys = Self.sort(unordered, carrying: &payload)
        scores = keys.map(Self.score(key:))
        labels = payload.map { UInt8(truncatingIfNeeded: $0 >> 32) & 1 }
        folds = unorderedFolds == nil ? nil : payload.map { Int32(truncatingIfNeeded: $0 >> 33) }
    }

    /// The customers in ascending score order, ties in customer order, with their scores in
    /// that order (read back from the sorted keys, not gathered).
    static func ascending(_ values: [Double]) -> (order: [Int32], scores: [Double]) {
        var customers = values.indices.map { UInt64($0) }
        let keys = sort(values, carrying: &customers)
        return (customers.map { Int32(truncatingIfNeeded: $0) }, keys.map(score(key:)))
    }

    /// The score whose order-preserving key this is (−0 comes back as +0, which `==` equates).
    @inline(__always)
    private static func score(key: UInt64) -> Double {
        Double(bitPattern: key >> 63 == 1 ? key & ~(1 << 63) : ~key)
    }

    /// Sorts the values' order-preserving keys, stably, moving `payload` with them; returns the
    /// sorted keys.
    private static func sort(_ values: [Double], carrying payload: inout [UInt64]) -> [UInt64] {
        let n = values.count, digitBits = 11, buckets = 1 << 11, digits = 3, lowBits = 64 - digits * digitBits
        var keys = values.map { value -> UInt64 in
            let bits = (value == 0 ? 0 : value).bitPattern
            return bits >> 63 == 1 ? ~bits : bits | (1 << 63)
        }
        var counts = [Int](repeating: 0, count: digits * buckets)
        counts.withUnsafeMutableBufferPointer { counts in
            for key in keys {
                for d in 0..<digits { counts[d * buckets + Int((key >> UInt64(lowBits + d * digitBits)) & UInt64(buckets - 1))] += 1 }
            }
        }
        guard n > 1 else { return keys }
        var spareKeys = [UInt64](repeating: 0, count: n), sparePayload = [UInt64](repeating: 0, count: n)
        for d in 0..<digits {
            let shift = UInt64(lowBits + d * digitBits), base = d * buckets
            guard counts[base + Int((keys[0] >> shift) & UInt64(buckets - 1))] < n else { continue }
            var start = 0
            for b in base..<(base + buckets) { (counts[b], start) = (start, start + counts[b]) }
            keys.withUnsafeBufferPointer { source in
                payload.withUnsafeBufferPointer { sourcePayload in
                    spareKeys.withUnsafeMutableBufferPointer { target in
                        sparePayload.withUnsafeMutableBufferPointer { targetPayload in
                            counts.withUnsafeMutableBufferPointer { next in
                                for i in 0..<n {
                                    let slot = base + Int((source[i] >> shift) & UInt64(buckets - 1))
                                    let position = next[slot]
                                    next[slot] = position + 1
                                    target[position] = source[i]
                                    targetPayload[position] = sourcePayload[i]
                                }
                            }
                        }
                    }
                }
            }
            swap(&keys, &spareKeys)
            swap(&payload, &sparePayload)
        }
        orderRunsByWholeKey(&keys, &payload, sharing: UInt64(lowBits), spare: &spareKeys, &sparePayload)
        return keys
    }

    /// Keys in order of their bits above `lowBits`, ties in payload order: each run of keys
    /// that share those bits is put in order of the whole key, stably, with its payload. Short
    /// runs (nearly all of them) by insertion, longer ones by a sort of key and place, and the
    /// longest (many scores within a millionth of each other, such as probabilities a hair
    /// below 1) by radix passes over their low bits in `spare`, which costs no memory.
    private static func orderRunsByWholeKey(_ keys: inout [UInt64], _ payload: inout [UInt64], sharing lowBits: UInt64,
                                            spare spareKeys: inout [UInt64], _ sparePayload: inout [UInt64]) {
        keys.withUnsafeMutableBufferPointer { keys in payload.withUnsafeMutableBufferPointer { payload in
            spareKeys.withUnsafeMutableBufferPointer { spareKeys in sparePayload.withUnsafeMutableBufferPointer { sparePayload in
                let n = keys.count
                var start = 0
                while start < n {
                    let prefix = keys[start] >> lowBits
                    var end = start + 1, ordered = true
                    while end < n, keys[end] >> lowBits == prefix {
                        if keys[end] < keys[end - 1] { ordered = false }
                        end += 1
                    }
                    let length = end - start
                    if ordered {
                        // Nothing to do: a run of one key, or of keys already in order.
                    } else if length <= 32 {
                        // Insertion: a key moves only past greater ones, so equal keys keep
                        // their order.
                        for i in (start + 1)..<end {
                            let (key, carried) = (keys[i], payload[i])
                            var j = i
                            while j > start, keys[j - 1] > key {
                                (keys[j], payload[j]) = (keys[j - 1], payload[j - 1])
                                j -= 1
                            }
                            (keys[j], payload[j]) = (key, carried)
                        }
                    } else if length <= 4096 {
                        // Ties by their place in the run, which is payload order.
                        let run = (start..<end).map { (key: keys[$0], place: $0, carried: payload[$0]) }
                            .sorted { ($0.key, $0.place) < ($1.key, $1.place) }
                        for (k, entry) in run.enumerated() { (keys[start + k], payload[start + k]) = (entry.key, entry.carried) }
                    } else {
                        radixSortLowBits(keys, payload, start..<end, bits: Int(lowBits), spareKeys, sparePayload)
                    }
                    start = end
                }
            } }
        } }
    }

    /// A stable least-significant-digit sort of `keys[range]` (with their payload) by their
    /// low `bits` bits, in 11-bit passes through the spare buffers.
    private static func radixSortLowBits(_ keys: UnsafeMutableBufferPointer<UInt64>, _ payload: UnsafeMutableBufferPointer<UInt64>,
                                         _ range: Range<Int>, bits: Int, _ spareKeys: UnsafeMutableBufferPointer<UInt64>,
                                         _ sparePayload: UnsafeMutableBufferPointer<UInt64>) {
        let digitBits = 11, buckets = 1 << 11
        var (source, sourcePayload, target, targetPayload) = (keys, payload, spareKeys, sparePayload)
        var next = [Int](repeating: 0, count: buckets)
        for shift in stride(from: 0, to: bits, by: digitBits) {
            let mask = UInt64(min(buckets, 1 << (bits - shift)) - 1)
            for b in next.indices { next[b] = 0 }
            for i in range { next[Int((source[i] >> UInt64(shift)) & mask)] += 1 }
            var position = range.lowerBound
            for b in next.indices { (next[b], position) = (position, position + next[b]) }
            for i in range {
                let slot = Int((source[i] >> UInt64(shift)) & mask)
                target[next[slot]] = source[i]
                targetPayload[next[slot]] = sourcePayload[i]
                next[slot] += 1
            }
            swap(&source, &target)
            swap(&sourcePayload, &targetPayload)
        }
        // An odd number of passes leaves the run in the spare buffers.
        if source.baseAddress != keys.baseAddress {
            for i in range { (keys[i], payload[i]) = (source[i], sourcePayload[i]) }
        }
    }

    /// The Mann–Whitney AUC of each group of customers (NaN for a group with one class
    /// only; `groups` nil: every customer in group 0), from mid-ranks within the group, in
    /// one walk over the customers in score order.
    func auc(groups: [Int32]?, groupCount: Int) -> [Double] {
        var sums = RankSums(groups: groupCount)
        var inTie = [Double](repeating: 0, count: groupCount), positivesInTie = [Double](repeating: 0, count: groupCount)
        var start = 0
        while start < scores.count {
            var end = start + 1
            while end < scores.count, scores[end] == scores[start] { end += 1 }
            for k in start..<end {
                let g = Int(groups?[k] ?? 0)
                inTie[g] += 1
                positivesInTie[g] += Double(labels[k])
            }
            for g in 0..<groupCount where inTie[g] > 0 {
                sums.add(tie: inTie[g], churners: positivesInTie[g], group: g)
                inTie[g] = 0
                positivesInTie[g] = 0
            }
            start = end
        }
        return sums.auc
    }

    /// The same AUCs from ties already counted, in ascending score order: `inTie(t, g)`
    /// customers of group g in tie t, `churnersInTie(t, g)` of them churned.
    static func auc(ties: Int, groupCount: Int, inTie: (Int, Int) -> Double, churnersInTie: (Int, Int) -> Double) -> [Double] {
        var sums = RankSums(groups: groupCount)
        for t in 0..<ties {
            for g in 0..<groupCount where inTie(t, g) > 0 {
                sums.add(tie: inTie(t, g), churners: churnersInTie(t, g), group: g)
            }
        }
        return sums.auc
    }

    /// Each group's rank sum of its churned customers, from its ties in ascending score order.
    private struct RankSums {
        var rankSum: [Double], seen: [Double], positives: [Double]

        init(groups: Int) {
            (rankSum, seen, positives) = ([Double](repeating: 0, count: groups), [Double](repeating: 0, count: groups),
                                          [Double](repeating: 0, count: groups))
        }

        /// A tie of `count` customers of `group`, `churners` of them churned: they hold the
        /// group's ranks seen+1 … seen+count, each the mid-rank.
        mutating func add(tie count: Double, churners: Double, group g: Int) {
            rankSum[g] += churners * (seen[g] + (count + 1) / 2)
            seen[g] += count
            positives[g] += churners
        }

        var auc: [Double] {
            rankSum.indices.map { g in
                let negatives = seen[g] - positives[g]
                return (rankSum[g] - positives[g] * (positives[g] + 1) / 2) / (positives[g] * negatives)
            }
        }
    }
}
