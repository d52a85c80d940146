import ArgumentParser
import Dispatch
import LinearAlgebra
#if canImport(Glibc)
import Glibc
#endif

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Report the BLAS and LAPACK this process loaded and the cores it can use.",
        discussion: """
            OpenBLAS is used when Debian's alternatives point libblas.so.3 at it \
            (apt-get install libopenblas0-pthread); otherwise the reference BLAS runs.

            Example:
              clientele doctor
            """)

    func run() throws {
        print("clientele \(Clientele.version)")
        print("BLAS: \(BLASLibrary.description)")
        let lapack = BLASLibrary.loadedLAPACKFiles
        print("LAPACK: \(lapack.isEmpty ? "no LAPACK file found in the memory map" : lapack.joined(separator: ", "))")
        print("cores: \(sysconf(Int32(_SC_NPROCESSORS_ONLN)))")
        // `doctor` itself runs as started; the commands that compute start again with better
        // kernels where OpenBLAS fell back to its generic ones.
        if let core = BLASLibrary.suggestedCoreType {
            print("OpenBLAS kernels: \(BLASLibrary.coreName ?? "") (generic) on a CPU with \(core == "SkylakeX" ? "AVX-512" : "AVX2"); the commands that compute start again with OPENBLAS_CORETYPE=\(core)")
        }
    }
}
