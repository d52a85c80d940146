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

    /// The online cores in this process's affinity mask: `Cpus_allowed_list` in
    /// /proc/self/status (which may name cores that are offline, or only possible) intersected
    /// with /sys/devices/system/cpu/online, both lists such as `0-3,6`; nil where either is
    /// missing or unreadable.
    static func allowedCores() -> Int? {
        func cores(_ list: Substring) -> Set<Int>? {
            var set = Set<Int>()
            for part in list.split(separator: ",") {
                let ends = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                guard let low = ends.first ?? nil, let high = ends.last ?? nil, ends.count <= 2, low <= high else { return nil }
                set.formUnion(low...high)
            }
            return set
        }
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
              let allowed = cores(line.dropFirst("Cpus_allowed_list:".count)),
              let onlineText = try? String(contentsOfFile: "/sys/devices/system/cpu/online", encoding: .utf8),
              let online = cores(Substring(onlineText)) else { return nil }
        return allowed.intersection(online).count
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
