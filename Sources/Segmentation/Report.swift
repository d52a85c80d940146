import Foundation

/// `report.html`: one self-contained page, readable offline and safe to mail — no script,
/// no external style sheet, font or image; every chart is inline SVG drawn here:
///
/// - segment sizes beside each segment's share of the total CLV;
/// - the profile table;
/// - each feature's distribution per segment (box from the 25th to the 75th percentile,
///   whiskers to the 5th and 95th, a mark at the median);
/// - the purchase model's calibration check (mean actual vs predicted holdout purchases by
///   calibration frequency 0 … 7+), when the job has a holdout;
/// - the P(alive) map over frequency × recency;
/// - the churn model's lift by decile, when a churn model ran.
///
/// All numbers are formatted with fixed precision, so the same run gives the same bytes.
enum Report {
    static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

    static func color(_ segment: Int) -> String { palette[segment % palette.count] }

    static func html(_ data: ReportData) -> String {
        var body = header(data)
        body += section("Segments", "Share of customers and share of the total CLV, per segment.", segmentShares(data))
        body += section("Segment profiles", "Means (medians in brackets) of each feature; the centroid is the segment's centre in original units.",
                        profileTable(data))
        body += section("Feature distributions", "Per segment: box from the 25th to the 75th percentile, whiskers to the 5th and 95th, white mark and dot at the median.",
                        featureDistributions(data))
        if let calibration = data.calibration {
            body += section("Purchase model: calibration vs holdout",
                            "Mean purchases in the \(number(calibration.duration, 1))-\(data.job.period.unit.rawValue) holdout, actual and predicted by the \(data.job.models.purchase.rawValue) model, by the number of repeat purchases in the calibration window.",
                            calibrationChart(calibration))
        }
        body += section("P(alive) by frequency and recency",
                        "The \(data.job.models.purchase.rawValue) model's probability that a customer is still active, for a customer first seen \(number(data.aliveMap.T, 1)) \(data.job.period.unit.rawValue) ago (the oldest), by repeat purchases and recency (age at the last purchase).",
                        aliveHeatmap(data.aliveMap, unit: data.job.period.unit.rawValue))
        if let churn = data.churn {
            body += section("Churn model: lift by decile",
                            "Customers sorted by churn probability (\(churn.deciledOutOfFold ? "out of fold, \(data.job.models.churnFolds)-fold cross-validation" : "in sample")), in tenths; the bar is each tenth's churn rate over the overall rate, the line the share of all churners found so far.",
                            liftChart(churn))
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(data.job.name)) — Clientele report</title>
            <style>
            body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 24px auto; max-width: 1180px; padding: 0 16px; }
            h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 4px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
            p.note { color: #555; margin: 4px 0 12px; } dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 12px 0; }
            dt { color: #555; } dd { margin: 0; }
            table { border-collapse: collapse; font-size: 13px; } th, td { padding: 4px 8px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
            th { background: #f6f6f6; } td.label, th.label { text-align: left; }
            .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
            svg text { font: 11px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; fill: #333; }
            .charts { display: flex; flex-wrap: wrap; gap: 16px; }
            </style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }

    static func header(_ data: ReportData) -> String {
        let job = data.job
        var facts: [(String, String)] = [
            ("Transactions", "\(data.transactions) in \(escape(job.transactions.path))"),
            ("Customers", "\(data.customers)"),
            ("Observation", "to \(job.period.observationEnd.map(\.description) ?? "the last day")\(job.period.calibrationEnd.map { ", calibration to \($0)" } ?? ""), in \(job.period.unit.rawValue)"),
            ("Models", "purchase \(job.models.purchase.rawValue), spend \(job.models.spend.rawValue), churn \(data.churn == nil ? "none" : job.models.churn.rawValue); horizon \(number(job.models.horizon, 1)) \(job.period.unit.rawValue), discount \(number(job.models.discountRate, 3)) a month"),
            ("Segmentation", "\(job.segmentation.method.rawValue), k = \(data.profiles.count), features \(job.segmentation.features.joined(separator: ", "))"),
        ]
        if !data.segmentation.candidates.isEmpty {
            facts.append(("Choice of k", data.segmentation.candidates.map { "k \($0.k): silhouette \(number($0.silhouette, 3))" }.joined(separator: "; ")))
        }
        return "<h1>\(escape(job.name))</h1>\n<dl>\n" + facts.map { "<dt>\($0.0)</dt><dd>\($0.1)</dd>\n" }.joined() + "</dl>\n"
    }

    static func section(_ title: String, _ note: String, _ content: String) -> String {
        "<h2>\(escape(title))</h2>\n<p class=\"note\">\(escape(note))</p>\n\(content)\n"
    }

    // MARK: Charts

    static func segmentShares(_ data: ReportData) -> String {
        let rowHeight = 30.0, left = 230.0, width = 760.0, barWidth = width - left - 120
        let height = Double(data.profiles.count) * rowHeight + 40
        var svg = svgOpen(width, height, "Share of customers and of CLV by segment")
        for (row, profile) in data.profiles.enumerated() {
            let y = 20 + Double(row) * rowHeight
            svg += text(left - 8, y + 14, "\(data.labels[profile.id])", anchor: "end")
            svg += rect(left, y + 2, barWidth * profile.share, 11, color(profile.id))
            svg += text(left + barWidth * profile.share + 4, y + 11, "\(number(100 * profile.share, 1))% of customers")
            if let clv = profile.shareOfCLV {
                svg += rect(left, y + 14, barWidth * max(0, clv), 11, color(profile.id), opacity: 0.45)
                svg += text(left + barWidth * max(0, clv) + 4, y + 24, "\(number(100 * clv, 1))% of CLV")
            }
        }
        return svg + "</svg>"
    }

    static func profileTable(_ data: ReportData) -> String {
        let features = data.job.segmentation.features
        var html = "<table>\n<tr><th class=\"label\">Segment</th><th>Customers</th><th>Share</th><th>Share of CLV</th><th>Mean CLV</th><th>Mean P(alive)</th><th>Churn rate</th>"
        html += features.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        for profile in data.profiles {
            html += "<tr><td class=\"label\"><span class=\"swatch\" style=\"background:\(color(profile.id))\"></span>\(profile.id) · \(escape(data.labels[profile.id]))</td>"
            html += "<td>\(profile.size)</td><td>\(percent(profile.share))</td><td>\(percent(profile.shareOfCLV))</td>"
            html += "<td>\(profile.meanCLV.map { number($0, 2) } ?? "–")</td><td>\(profile.meanPAlive.map { number($0, 3) } ?? "–")</td><td>\(percent(profile.churnRate))</td>"
            html += profile.features.map { "<td>\(number($0.mean, 2)) (\(number($0.median, 2)))</td>" }.joined() + "</tr>\n"
        }
        html += "<tr><td class=\"label\">Centroids</td><td colspan=\"6\"></td>" + features.map { _ in "<td></td>" }.joined() + "</tr>\n"
        for profile in data.profiles {
            html += "<tr><td class=\"label\">\(profile.id) · \(escape(data.labels[profile.id]))</td><td colspan=\"6\"></td>"
            html += profile.features.map { "<td>\(number($0.centroid, 2))</td>" }.joined() + "</tr>\n"
        }
        return html + "</table>"
    }

    static func featureDistributions(_ data: ReportData) -> String {
        var html = "<div class=\"charts\">\n"
        let k = data.profiles.count
        for (feature, segments) in data.featureQuantiles {
            let width = 360.0, left = 40.0, top = 24.0, plotHeight = 150.0
            let height = top + plotHeight + 40
            let finite = segments.flatMap { $0 }.filter(\.isFinite)
            var low = finite.min() ?? 0, high = finite.max() ?? 1
            if high <= low { (low, high) = (low - 1, high + 1) }
            func y(_ v: Double) -> Double { top + plotHeight - (v - low) / (high - low) * plotHeight }
            var svg = svgOpen(width, height, "Distribution of \(feature) by segment")
            svg += text(width / 2, 14, feature, anchor: "middle", weight: "bold")
            svg += axisLines(left, top, width - 10, plotHeight, low: low, high: high)
            let slot = (width - left - 10) / Double(k)
            for (segment, q) in segments.enumerated() where q.allSatisfy(\.isFinite) {
                let cx = left + slot * (Double(segment) + 0.5), boxWidth = min(36, slot * 0.6)
                svg += line(cx, y(q[0]), cx, y(q[4]), "#555")
                svg += rect(cx - boxWidth / 2, y(q[3]), boxWidth, max(1, y(q[1]) - y(q[3])), color(segment))
                svg += line(cx - boxWidth / 2, y(q[2]), cx + boxWidth / 2, y(q[2]), "#fff", width: 2)
                svg += "<circle cx=\"\(number(cx, 1))\" cy=\"\(number(y(q[2]), 1))\" r=\"2.5\" fill=\"#fff\" stroke=\"#333\"/>\n"
                svg += text(cx, top + plotHeight + 14, "\(segment)", anchor: "middle")
            }
            svg += text(width / 2, height - 6, "segment", anchor: "middle")
            html += svg + "</svg>\n"
        }
        return html + "</div>"
    }

    static func calibrationChart(_ check: CalibrationCheck) -> String {
        let width = 560.0, left = 50.0, top = 20.0, plotWidth = 470.0, plotHeight = 220.0
        let high = max(0.1, (check.actual + check.predicted).max() ?? 1) * 1.1
        func x(_ g: Int) -> Double { left + plotWidth * Double(g) / Double(CalibrationCheck.groups - 1) }
        func y(_ v: Double) -> Double { top + plotHeight - v / high * plotHeight }
        var svg = svgOpen(width, top + plotHeight + 70, "Mean holdout purchases, actual and predicted, by calibration frequency")
        svg += axisLines(left, top, left + plotWidth, plotHeight, low: 0, high: high)
        let groups = (0..<CalibrationCheck.groups).filter { check.customers[$0] > 0 }
        for (series, values, stroke, dash) in [("actual", check.actual, "#222", ""), ("predicted", check.predicted, "#e15759", "6 4")] {
            let points = groups.map { "\(number(x($0), 1)),\(number(y(values[$0]), 1))" }.joined(separator: " ")
            svg += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"2\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")><title>\(series)</title></polyline>\n"
            for g in groups { svg += "<circle cx=\"\(number(x(g), 1))\" cy=\"\(number(y(values[g]), 1))\" r=\"3\" fill=\"\(stroke)\"/>\n" }
        }
        for g in 0..<CalibrationCheck.groups {
            svg += text(x(g), top + plotHeight + 14, g == CalibrationCheck.groups - 1 ? "\(g)+" : "\(g)", anchor: "middle")
            svg += text(x(g), top + plotHeight + 27, "n=\(check.customers[g])", anchor: "middle", size: 9)
        }
        svg += text(left + plotWidth / 2, top + plotHeight + 44, "repeat purchases in the calibration window", anchor: "middle")
        svg += legend(left + 10, top + plotHeight + 58, [("actual", "#222"), ("predicted", "#e15759")])
        return svg + "</svg>"
    }

    static func aliveHeatmap(_ map: AliveMap, unit: String) -> String {
        let cell = 22.0, left = 60.0, top = 10.0
        let rows = map.maximumFrequency + 1, columns = AliveMap.recencySteps + 1
        let plotWidth = cell * Double(columns), plotHeight = min(12, cell) * Double(rows)
        let rowHeight = plotHeight / Double(rows)
        let width = left + plotWidth + 90
        var svg = svgOpen(width, top + plotHeight + 50, "P(alive) by frequency and recency")
        for x in 0..<rows {
            let y = top + plotHeight - rowHeight * Double(x + 1)
            for step in 0..<columns {
                let p = map.values[x][step]
                guard p.isFinite else { continue }
                svg += "<rect x=\"\(number(left + cell * Double(step), 1))\" y=\"\(number(y, 1))\" width=\"\(number(cell, 1))\" height=\"\(number(rowHeight, 1))\" fill=\"\(heat(p))\"><title>frequency \(x), recency \(number(map.T * Double(step) / Double(AliveMap.recencySteps), 1)): \(number(p, 3))</title></rect>\n"
            }
            if x % max(1, rows / 10) == 0 { svg += text(left - 6, y + rowHeight - 1, "\(x)", anchor: "end", size: 10) }
        }
        for step in stride(from: 0, to: columns, by: 4) {
            svg += text(left + cell * (Double(step) + 0.5), top + plotHeight + 14, number(map.T * Double(step) / Double(AliveMap.recencySteps), 0), anchor: "middle", size: 10)
        }
        svg += text(left + plotWidth / 2, top + plotHeight + 32, "recency (\(unit))", anchor: "middle")
        svg += "<text x=\"14\" y=\"\(number(top + plotHeight / 2, 1))\" transform=\"rotate(-90 14 \(number(top + plotHeight / 2, 1)))\" text-anchor=\"middle\">frequency</text>\n"
        for i in 0...10 {
            let p = Double(i) / 10
            svg += rect(left + plotWidth + 20, top + plotHeight - plotHeight * Double(i + 1) / 11, 16, plotHeight / 11 + 0.5, heat(p))
            if i % 5 == 0 { svg += text(left + plotWidth + 42, top + plotHeight - plotHeight * Double(i) / 11 - 2, number(p, 1)) }
        }
        return svg + "</svg>"
    }

    static func liftChart(_ churn: ChurnOutcome) -> String {
        let width = 560.0, left = 50.0, top = 20.0, plotWidth = 470.0, plotHeight = 220.0
        let high = max(1.2, churn.deciles.map(\.lift).max() ?? 1) * 1.1
        let slot = plotWidth / Double(churn.deciles.count)
        func y(_ v: Double) -> Double { top + plotHeight - v / high * plotHeight }
        var svg = svgOpen(width, top + plotHeight + 60, "Churn model lift by decile")
        svg += axisLines(left, top, left + plotWidth, plotHeight, low: 0, high: high)
        for (i, decile) in churn.deciles.enumerated() {
            let x = left + slot * Double(i)
            svg += rect(x + slot * 0.15, y(decile.lift), slot * 0.7, max(0, top + plotHeight - y(decile.lift)), "#4e79a7")
            svg += text(x + slot / 2, y(decile.lift) - 3, number(decile.lift, 2), anchor: "middle", size: 10)
            svg += text(x + slot / 2, top + plotHeight + 14, "\(decile.decile)", anchor: "middle")
        }
        svg += line(left, y(1), left + plotWidth, y(1), "#999", dash: "4 3")
        let gain = churn.deciles.enumerated().map { i, d in
            "\(number(left + slot * (Double(i) + 0.5), 1)),\(number(top + plotHeight - d.cumulativeGain * plotHeight, 1))"
        }.joined(separator: " ")
        svg += "<polyline points=\"\(gain)\" fill=\"none\" stroke=\"#e15759\" stroke-width=\"2\"><title>cumulative gain</title></polyline>\n"
        for share in [0.0, 0.5, 1.0] {
            svg += text(left + plotWidth + 4, top + plotHeight - share * plotHeight + 4, "\(number(100 * share, 0))%", size: 10)
        }
        svg += text(left + plotWidth / 2, top + plotHeight + 30, "decile of churn probability (1: highest)", anchor: "middle")
        svg += legend(left + 10, top + plotHeight + 48, [("lift", "#4e79a7"), ("cumulative gain (right axis)", "#e15759")])
        return svg + "</svg>"
    }

    // MARK: SVG pieces

    static func svgOpen(_ width: Double, _ height: Double, _ title: String) -> String {
        "<svg width=\"\(number(width, 0))\" height=\"\(number(height, 0))\" viewBox=\"0 0 \(number(width, 0)) \(number(height, 0))\" role=\"img\"><title>\(escape(title))</title>\n"
    }

    static func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, _ fill: String, opacity: Double = 1) -> String {
        "<rect x=\"\(number(x, 1))\" y=\"\(number(y, 1))\" width=\"\(number(max(0, width), 1))\" height=\"\(number(max(0, height), 1))\" fill=\"\(fill)\"\(opacity < 1 ? " fill-opacity=\"\(number(opacity, 2))\"" : "")/>\n"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ stroke: String, width: Double = 1, dash: String = "") -> String {
        "<line x1=\"\(number(x1, 1))\" y1=\"\(number(y1, 1))\" x2=\"\(number(x2, 1))\" y2=\"\(number(y2, 1))\" stroke=\"\(stroke)\" stroke-width=\"\(number(width, 1))\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/>\n"
    }

    static func text(_ x: Double, _ y: Double, _ content: String, anchor: String = "start", size: Double = 11, weight: String = "normal") -> String {
        "<text x=\"\(number(x, 1))\" y=\"\(number(y, 1))\" text-anchor=\"\(anchor)\"\(size != 11 ? " font-size=\"\(number(size, 0))\"" : "")\(weight != "normal" ? " font-weight=\"\(weight)\"" : "")>\(escape(content))</text>\n"
    }

    /// The frame of a plot and five labelled ticks on its value axis.
    static func axisLines(_ left: Double, _ top: Double, _ right: Double, _ plotHeight: Double, low: Double, high: Double) -> String {
        var svg = line(left, top + plotHeight, right, top + plotHeight, "#888") + line(left, top, left, top + plotHeight, "#888")
        for i in 0...4 {
            let v = low + (high - low) * Double(i) / 4, y = top + plotHeight - plotHeight * Double(i) / 4
            svg += line(left - 3, y, right, y, i == 0 ? "#888" : "#eee")
            svg += text(left - 5, y + 4, tick(v), anchor: "end", size: 10)
        }
        return svg
    }

    static func legend(_ x: Double, _ y: Double, _ entries: [(String, String)]) -> String {
        var svg = "", offset = x
        for (name, fill) in entries {
            svg += rect(offset, y - 9, 12, 10, fill) + text(offset + 16, y, name)
            offset += 30 + Double(name.count) * 6
        }
        return svg
    }

    /// A sequential ramp from pale yellow (P(alive) 0) through green to dark blue (1).
    static func heat(_ p: Double) -> String {
        let stops: [(Double, Double, Double)] = [(255, 247, 188), (161, 218, 180), (65, 182, 196), (34, 94, 168), (8, 29, 88)]
        let position = min(max(p, 0), 1) * Double(stops.count - 1)
        let i = min(Int(position), stops.count - 2), t = position - Double(i)
        let (a, b) = (stops[i], stops[i + 1])
        func channel(_ u: Double, _ v: Double) -> String {
            let hex = String(Int((u + (v - u) * t).rounded()), radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }
        return "#" + channel(a.0, b.0) + channel(a.1, b.1) + channel(a.2, b.2)
    }

    // MARK: Text

    static func number(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return "–" }
        let text = String(format: "%.\(digits)f", x)
        return text == "-0" || text.hasPrefix("-0.") && Double(text) == 0 ? String(text.dropFirst()) : text
    }

    static func tick(_ v: Double) -> String {
        let magnitude = abs(v)
        if magnitude >= 1000 { return number(v, 0) }
        if magnitude >= 10 { return number(v, 1) }
        return number(v, 2)
    }

    static func percent(_ share: Double?) -> String {
        guard let share, share.isFinite else { return "–" }
        return number(100 * share, 1) + "%"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
