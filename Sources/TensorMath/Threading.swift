import CBLAS

/// Thread policy for numeric work.
///
/// FedPilot lets OpenBLAS own the cores: large products run on all BLAS
/// threads, and the small elementwise kernels run on the calling thread.
/// Parallelism across clients (Swift concurrency) is used only when BLAS is
/// set to one thread, so the two never oversubscribe the machine.
public enum ComputeThreads {
    /// Current number of OpenBLAS threads.
    public static var blas: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of OpenBLAS threads (at least 1).
    public static func setBLAS(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }
}
