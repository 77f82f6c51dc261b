import Cluster
import Foundation
import TensorCore

/// Under `mpirun` with several ranks, the machine's cores shared among the ranks started on it
/// (`OMPI_COMM_WORLD_LOCAL_SIZE`); nil for a single process.
func coresPerRank() -> Int? {
    guard Cluster.isDistributed else { return nil }
    let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? 1
    return max(1, ProcessInfo.processInfo.activeProcessorCount / max(local, 1))
}

/// Sets oneDNN's and OpenBLAS's threads to `explicit`, or by default to 2 for a single process and, under `mpirun`
/// with several ranks, to `coresPerRank()`; returns the count set.
@discardableResult
func setComputeThreads(_ explicit: Int?) -> Int {
    let count = explicit ?? coresPerRank() ?? 2
    setThreads(count)
    return count
}
