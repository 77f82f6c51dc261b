import COpenBLAS

/// `c = alpha · op(a) · op(b) + beta · c` on row-major Float32 matrices, where op transposes when asked:
/// op(a) is `[m, k]`, op(b) is `[k, n]`, c is `[m, n]`. The corresponding C function is `cblas_sgemm`.
func cblasSgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let limit = Int(Int32.max)
    precondition(
        [m, n, k, lda, ldb, ldc].allSatisfy { $0 <= limit }, "OpenBLAS (32-bit) cannot multiply matrices this large.")
    cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
        blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}

/// Sets the size of OpenBLAS's own (pthreads) thread pool. The corresponding C function is
/// `openblas_set_num_threads`.
func openblasSetNumThreads(_ count: Int) {
    openblas_set_num_threads(Int32(count))
}

/// The size of OpenBLAS's thread pool. The corresponding C function is `openblas_get_num_threads`.
func openblasGetNumThreads() -> Int {
    Int(openblas_get_num_threads())
}
