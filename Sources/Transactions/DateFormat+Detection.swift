extension DateFormat {
    /// The choice of a transaction log's date layout from the dates of its first rows, fed
    /// one at a time in the file's order.
    ///
    /// The layout that reads the most dates wins; dates it cannot read are then bad rows,
    /// reported or skipped by the bad-row policy like any other. A tie for the most has two
    /// causes that need different answers:
    /// - every date reads in both layouts (slash dates with no day above 12): the file is
    ///   ambiguous, and only the user can say which layout it is;
    /// - the file mixes layouts (`2024-03-01` and `03/25/2024`): no layout reads every date,
    ///   and the error names the first date that breaks the layout the dates before it
    ///   settled on, at its line, since that is where the user has to look.
    struct Detection {
        /// How many dates are enough to decide, unless the slash layouts are still tied.
        static let sampleSize = 1000

        /// How many of the dates each layout of `detectionOrder` reads.
        private var fits = [Int](repeating: 0, count: DateFormat.detectionOrder.count)
        /// Dates offered, and those that some layout reads.
        private(set) var sampled = 0
        private var readable = 0
        /// The first date offered, and the first that some layout reads, each with its line:
        /// what the errors about no layout and about ambiguity show.
        private var firstExample: (line: Int, text: String)?
        private var firstReadable: (line: Int, text: String)?
        /// The layouts that read every readable date so far (dates no layout reads settle
        /// nothing: they are bad rows whatever the layout).
        private var settled = DateFormat.detectionOrder
        /// The first readable date that none of the layouts settled before it reads.
        private var firstBreak: (line: Int, text: String, settled: [DateFormat])?

        init() {}

        /// Counts the date `p[0..<count]` at 1-based `line`; `text` gives it for messages,
        /// quoted (and cut when long).
        mutating func add(_ p: UnsafePointer<UInt8>, _ count: Int, line: Int, text: () -> String) {
            if firstExample == nil { firstExample = (line, text()) }
            var readers: [DateFormat] = []
            for (i, candidate) in DateFormat.detectionOrder.enumerated() where candidate.parse(p, count) != nil {
                fits[i] += 1
                readers.append(candidate)
            }
            sampled += 1
            guard !readers.isEmpty else { return }
            readable += 1
            if firstReadable == nil { firstReadable = (line, text()) }
            let remaining = settled.filter(readers.contains)
            if !remaining.isEmpty {
                settled = remaining
            } else if firstBreak == nil {
                firstBreak = (line, text(), settled)
            }
        }

        /// Whether the dates so far decide the layout: enough of them, and the slash layouts
        /// not tied (a tie there may yet be broken by a day above 12 further on).
        var isSettled: Bool {
            guard sampled >= Self.sampleSize else { return false }
            let monthFirst = fits[DateFormat.detectionOrder.firstIndex(of: .monthFirst)!]
            let dayFirst = fits[DateFormat.detectionOrder.firstIndex(of: .dayFirst)!]
            return monthFirst != dayFirst || monthFirst == 0
        }

        /// The layout of the dates added, or an error naming `path`, the date column `column`
        /// and a line: the first date's when no layout reads any date, the first readable
        /// date's when the dates are ambiguous, the first breaking date's when they mix layouts.
        func decide(path: String, column: String, hasHeader: Bool) throws -> DateFormat {
            let best = fits.max() ?? 0
            guard best > 0 else {
                if sampled == 0 {
                    throw TransactionsError.invalidFile(path, "no transactions\(hasHeader ? " after the header" : "")")
                }
                let first = firstExample ?? (1, "\"\"")
                throw TransactionsError.invalidInput(
                    SourceLocation(file: path, line: first.line, column: column),
                    "cannot tell the date format: \(first.text) fits none of \(DateFormat.choices); give the format explicitly")
            }
            let winners = DateFormat.detectionOrder.indices.filter { fits[$0] == best }.map { DateFormat.detectionOrder[$0] }
            guard winners.count > 1 else { return winners[0] }
            // Tied layouts that each read every readable date make an ambiguous file; short
            // of that, no layout reads them all, and some date broke the settled layouts.
            if best < readable, let firstBreak {
                throw TransactionsError.invalidInput(
                    SourceLocation(file: path, line: firstBreak.line, column: column),
                    "\(firstBreak.text) is not \(firstBreak.settled.map(\.rawValue).joined(separator: " or ")) like the dates before it, and no one date format reads every date; write them in one format or give the date format explicitly")
            }
            let first = firstReadable ?? (1, "\"\"")
            throw TransactionsError.invalidInput(
                SourceLocation(file: path, line: first.line, column: column),
                "the dates are ambiguous: values such as \(first.text) read as \(winners.map(\.rawValue).joined(separator: " or ")) and no day above 12 settles it; give the date format explicitly")
        }
    }
}
