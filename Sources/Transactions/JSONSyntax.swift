import Foundation

/// Where a JSON file (a model file, a result's job.json) stops being JSON, as `line L,
/// column C: …` (or that it ends too soon, as a file cut short does); nil for valid JSON.
/// For the refusal of a file that is not JSON at all, which would otherwise read as "not a
/// model file".
public func jsonSyntaxProblem(_ bytes: [UInt8]) -> String? {
    do {
        _ = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        return nil
    } catch {
        let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        // Foundation says "… around character N.", N counting bytes from 0.
        guard let range = detail.range(of: "around character "),
              let offset = Int(detail[range.upperBound...].prefix { $0.isNumber }), offset <= bytes.count
        else {
            return detail.contains("end of file") ? "it ends before its JSON is complete (a file cut short?)" : detail
        }
        let before = bytes[..<offset]
        let line = before.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
        let column = offset - (before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
        let what = detail[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
        return "line \(line), column \(column): not valid JSON (\(what.prefix(1).lowercased() + what.dropFirst()))"
    }
}
