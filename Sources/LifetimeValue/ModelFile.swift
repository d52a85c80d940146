import Foundation
import Transactions

/// A fitted model as a JSON file: what `clientele fit` writes and `clientele predict` reads.
///
/// It says what was fitted (model, parameters with standard errors and 95% intervals,
/// log-likelihood, fit diagnostics), on what (number of customers, time unit, a fingerprint
/// of the summary file) and by whom (Clientele version, creation time, format version), so a
/// saved model can score new summaries without refitting and refuses data it does not fit.
public struct ModelFile: Codable, Sendable, Equatable {
    /// The version of this layout; readers refuse any other.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// `bgnbd`, `mbgnbd`, `pareto-nbd`, `bgbb`, `gamma-gamma` or `sbg`.
    public var model: String
    public var parameters: [String: Double]
    public var standardErrors: [String: Double]
    /// 95% intervals, `[lower, upper]`, taken on the log scale.
    public var confidenceIntervals: [String: [Double]]
    public var logLikelihood: Double
    public var customers: Int
    /// The unit of recency and T the model was fitted in: days, weeks or months.
    public var timeUnit: String
    public var dataFingerprint: String
    public var createdAt: String
    public var clienteleVersion: String
    public var iterations: Int
    public var gradientNorm: Double
    public var converged: Bool
    /// The L2 penalty the fit was made with (`fit --penalty`, lifetimes' penalizer_coef);
    /// absent for an unpenalised fit, so that such files read as they always have.
    public var penalty: Double?

    public init(model: String, fit: FitResult, customers: Int, timeUnit: String, dataFingerprint: String,
                clienteleVersion: String, createdAt: Date = Date()) {
        formatVersion = ModelFile.currentFormatVersion
        self.model = model
        parameters = Dictionary(uniqueKeysWithValues: zip(fit.parameterNames, fit.parameters))
        standardErrors = Dictionary(uniqueKeysWithValues: zip(fit.parameterNames, fit.standardErrors))
        confidenceIntervals = Dictionary(uniqueKeysWithValues: fit.parameterNames.indices.map {
            (fit.parameterNames[$0], [fit.lowerBounds[$0], fit.upperBounds[$0]])
        })
        logLikelihood = fit.logLikelihood
        self.customers = customers
        self.timeUnit = timeUnit
        self.dataFingerprint = dataFingerprint
        self.createdAt = ISO8601DateFormatter().string(from: createdAt)
        self.clienteleVersion = clienteleVersion
        iterations = fit.iterations
        gradientNorm = fit.gradientNorm
        converged = fit.converged
    }

    /// The JSON text, keys sorted, so that the same fit gives the same file.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .modelFile
        return Array(try encoder.encode(self)) + [0x0A]
    }

    /// Reads a model file, refusing another format version with a clear message.
    public static func decode(_ bytes: [UInt8], source: String) throws -> ModelFile {
        let data = Data(bytes)
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .modelFile
        struct VersionOnly: Decodable { var formatVersion: Int? }
        let version = (try? decoder.decode(VersionOnly.self, from: data))?.formatVersion
        guard let version else {
            // Looked for only here: a good file is not parsed once more for it.
            if let problem = jsonSyntaxProblem(bytes) { throw LifetimeValueError.invalidModelFile("\(source): \(problem)") }
            throw LifetimeValueError.invalidModelFile("\(source) is not a Clientele model file (no formatVersion)")
        }
        guard version == currentFormatVersion else {
            throw LifetimeValueError.invalidModelFile(
                "\(source) has format version \(version); this Clientele reads version \(currentFormatVersion)")
        }
        do {
            return try decoder.decode(ModelFile.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw LifetimeValueError.invalidModelFile("\(source): missing key \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw LifetimeValueError.invalidModelFile("\(source): wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch {
            throw LifetimeValueError.invalidModelFile("\(source): \(error)")
        }
    }

    private func parameter(_ name: String) throws -> Double {
        guard let value = parameters[name] else {
            throw LifetimeValueError.invalidModelFile("the \(model) model file has no parameter \"\(name)\"")
        }
        return value
    }

    /// The purchase model this file holds.
    public func purchaseModel() throws -> any PurchasePredicting {
        switch model {
        case "bgnbd":
            return try BGNBD(r: parameter("r"), alpha: parameter("alpha"), a: parameter("a"), b: parameter("b"))
        case "mbgnbd":
            return try MBGNBD(r: parameter("r"), alpha: parameter("alpha"), a: parameter("a"), b: parameter("b"))
        case "pareto-nbd":
            return try ParetoNBD(r: parameter("r"), alpha: parameter("alpha"), s: parameter("s"), beta: parameter("beta"))
        case "bgbb":
            return try BGBB(alpha: parameter("alpha"), beta: parameter("beta"), gamma: parameter("gamma"), delta: parameter("delta"))
        default:
            throw LifetimeValueError.invalidModelFile("\"\(model)\" is not a purchase model (expected bgnbd, mbgnbd, pareto-nbd or bgbb)")
        }
    }

    /// The contractual retention model this file holds.
    public func retentionModel() throws -> ShiftedBetaGeometric {
        guard model == "sbg" else {
            throw LifetimeValueError.invalidModelFile("\"\(model)\" is not a retention model (expected sbg)")
        }
        return try ShiftedBetaGeometric(alpha: parameter("alpha"), beta: parameter("beta"))
    }

    /// The spend model this file holds.
    public func spendModel() throws -> GammaGamma {
        guard model == "gamma-gamma" else {
            throw LifetimeValueError.invalidModelFile("\"\(model)\" is not a spend model (expected gamma-gamma)")
        }
        return try GammaGamma(p: parameter("p"), q: parameter("q"), gamma: parameter("gamma"))
    }
}

/// How Clientele's model files (this one and the churn model's) write a number that is not
/// finite, for which JSON has no literal: as the strings `inf`, `-inf` and `nan`, so that
/// writing a model file never fails on one.
extension JSONEncoder.NonConformingFloatEncodingStrategy {
    public static var modelFile: Self { .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan") }
}

extension JSONDecoder.NonConformingFloatDecodingStrategy {
    public static var modelFile: Self { .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan") }
}
