/// Why a churn model could not be fitted, evaluated or used, in the analyst's words.
public enum ChurnError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The labels have one class only: nothing to tell apart.
    case oneClass(String)

    /// One class only: every customer churned (`churned`), or none.
    static func oneClass(everyCustomerChurned churned: Bool) -> ChurnError {
        .oneClass(churned ? "every customer is churned" : "no customer is churned")
    }
    /// A feature separates churned from retained customers, so the unpenalised maximum
    /// likelihood estimate does not exist.
    case separation(feature: String, detail: String)
    /// A feature is a linear combination of the intercept and earlier features.
    case collinear(feature: String, among: [String])
    /// A feature has one value for every customer (after standardisation it would be 0/0).
    case constantFeature(String, value: Double)
    /// Inputs that do not fit together (a summary without holdout, an unknown feature).
    case invalidInput(String)
    /// A model file that cannot be read or does not fit the data given to it.
    case invalidModelFile(String)

    public var description: String {
        switch self {
        case .oneClass(let message):
            return "the churn labels have one class only (\(message)): there is nothing to model"
        case .separation(let feature, let detail):
            return "separation by \(feature): \(detail); use --penalty (L2) or leave the feature out"
        case .collinear(let feature, let among):
            let earlier = among.isEmpty ? "the intercept" : "the intercept and " + among.joined(separator: ", ")
            return "\(feature) is collinear with \(earlier): its coefficient is not identified; leave it out"
        case .constantFeature(let name, let value):
            return "\(name) is \(value) for every customer: it cannot be estimated beside the intercept; leave it out"
        case .invalidInput(let message):
            return message
        case .invalidModelFile(let message):
            return "invalid churn model file: \(message)"
        }
    }
}
