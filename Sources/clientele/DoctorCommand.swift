import ArgumentParser

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Report the BLAS and LAPACK this process loaded and the cores it can use.")

    func run() throws {
        print("clientele \(Clientele.version)")
    }
}
