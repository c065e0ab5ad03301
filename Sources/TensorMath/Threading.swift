import CBLAS
import Foundation

/// Thread policy for numeric work.
///
/// Large products run on all BLAS threads (the packed GEMM follows the same
/// count), and the small elementwise kernels run on the calling thread. When
/// several in-process clients train at once, each lane gets `blas / lanes`
/// threads, so the two kinds of parallelism never oversubscribe the machine.
public enum ComputeThreads {
    /// Cores this process may use.
    public static var cores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Current number of OpenBLAS threads.
    public static var blas: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of OpenBLAS threads (at least 1).
    public static func setBLAS(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }
}
