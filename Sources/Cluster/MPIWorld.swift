import CMPI

#if canImport(Glibc)
    import Glibc
#endif

/// `MPI_COMM_WORLD` of a job started by `mpirun`. Created once by `Cluster.world`: it initialises MPI
/// (`MPI_Init_thread` with `MPI_THREAD_FUNNELED`), makes MPI errors return instead of killing the job (so each
/// becomes a one-line `ClusterError`), and finalises MPI when the process exits normally.
final class MPIWorld: ProcessGroup, @unchecked Sendable {
    let rank: Int
    let size: Int
    private let communicator: MPI_Comm

    init() throws {
        try mpiInitThread(required: landcover_mpi_thread_funneled())
        communicator = landcover_mpi_comm_world()
        try mpiCommSetErrhandler(communicator, landcover_mpi_errors_return())
        rank = try mpiCommRank(communicator)
        size = try mpiCommSize(communicator)
        // Only a normal exit finalises: `abort` and fatal signals leave MPI to mpirun, which ends the other ranks.
        atexit { mpiFinalize() }
    }

    func barrier() throws { try mpiBarrier(communicator) }

    func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ operation: ReductionOperation) throws {
        try mpiAllreduceInPlace(
            UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, type: landcover_mpi_float(),
            operation: operation.mpiOperation, communicator)
    }

    func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>, _ operation: ReductionOperation) throws {
        try mpiAllreduceInPlace(
            UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, type: landcover_mpi_double(),
            operation: operation.mpiOperation, communicator)
    }

    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, from root: Int) throws {
        precondition((0..<size).contains(root), "Rank \(root) is not in a world of \(size).")
        try mpiBcast(buffer, root: root, communicator)
    }

    func gather(_ payload: [UInt8], to root: Int) throws -> [[UInt8]] {
        precondition((0..<size).contains(root), "Rank \(root) is not in a world of \(size).")
        let counts = try mpiGatherCounts(Int32(payload.count), root: root, communicator)
        let bytes = try mpiGatherv(payload, counts: counts, root: root, communicator)
        guard rank == root else { return [] }
        var start = 0
        return counts.map { count in
            defer { start += Int(count) }
            return Array(bytes[start..<(start + Int(count))])
        }
    }

    func abort(_ message: String) -> Never {
        writeErrorLine(message)
        mpiAbort(communicator, code: 1)
    }
}

extension ReductionOperation {
    var mpiOperation: MPI_Op {
        switch self {
        case .sum: landcover_mpi_sum()
        case .max: landcover_mpi_max()
        }
    }
}
