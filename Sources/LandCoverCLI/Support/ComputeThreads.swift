import Cluster
import Foundation
import TensorCore

/// Sets oneDNN's and OpenBLAS's threads to `explicit`, or by default to 2 for a single process and, under `mpirun`
/// with several ranks, to the machine's cores shared among the ranks started on it (`OMPI_COMM_WORLD_LOCAL_SIZE`);
/// returns the count set.
@discardableResult
func setComputeThreads(_ explicit: Int?) -> Int {
    let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? 1
    let count =
        explicit ?? (Cluster.isDistributed ? max(1, ProcessInfo.processInfo.activeProcessorCount / max(local, 1)) : 2)
    setThreads(count)
    return count
}
