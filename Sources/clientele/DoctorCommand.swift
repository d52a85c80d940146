import ArgumentParser
import Dispatch
import Foundation
import LinearAlgebra
#if canImport(Glibc)
import Glibc
#endif

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Report the BLAS and LAPACK this process loaded, and the cores online and usable.",
        discussion: """
            OpenBLAS is used when Debian's alternatives point libblas.so.3 at it \
            (apt-get install libopenblas0-pthread); otherwise the reference BLAS runs.

            Example:
              clientele doctor
            """)

    /// The cores in this process's affinity mask: the bits of `Cpus_allowed` in
    /// /proc/self/status (hexadecimal words separated by commas), or nil where it is not there.
    static func allowedCores() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
        let words = line.dropFirst("Cpus_allowed:".count).trimmingCharacters(in: .whitespaces).split(separator: ",")
        let counts = words.map { UInt64($0, radix: 16)?.nonzeroBitCount }
        guard !counts.isEmpty, counts.allSatisfy({ $0 != nil }) else { return nil }
        return counts.reduce(0) { $0 + $1! }
    }

    func run() throws {
        print("clientele \(Clientele.version)")
        print("BLAS: \(BLASLibrary.description)")
        let lapack = BLASLibrary.loadedLAPACKFiles
        print("LAPACK: \(lapack.isEmpty ? "no LAPACK file found in the memory map" : lapack.joined(separator: ", "))")
        // The machine's online cores, and those this process may run on (fewer under
        // `taskset` or a cpuset): a job splits its work by the first and runs on the second.
        let online = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        print("cores: \(online) online, \(Self.allowedCores() ?? online) this process may run on")
        // `doctor` itself runs as started; the commands that compute start again with better
        // kernels where OpenBLAS fell back to its generic ones.
        if let core = BLASLibrary.suggestedCoreType {
            print("OpenBLAS kernels: \(BLASLibrary.coreName ?? "") (generic) on a CPU with \(core == "SkylakeX" ? "AVX-512" : "AVX2"); the commands that compute start again with OPENBLAS_CORETYPE=\(core)")
        }
    }
}
