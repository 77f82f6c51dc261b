import CMPI

#if canImport(Glibc)
    import Glibc
#endif

// Thin wrappers, one per MPI function and named after it, that turn an error code into a `ClusterError`.

/// Throws a `ClusterError` naming `call` unless `code` is `MPI_SUCCESS`.
private func check(_ call: String, _ code: Int32) throws {
    guard code != landcover_mpi_success() else { return }
    var text = [CChar](repeating: 0, count: Int(landcover_mpi_max_error_string()) + 1)
    var length: Int32 = 0
    let described = MPI_Error_string(code, &text, &length) == landcover_mpi_success()
    throw ClusterError(
        call: call,
        message: described
            ? String(decoding: text.prefix(Int(length)).map(UInt8.init), as: UTF8.self)
            : "error code \(code)")
}

/// `MPI_Init_thread` without arguments; fails when the library cannot give the `required` thread level.
func mpiInitThread(required: Int32) throws {
    var provided: Int32 = 0
    try check("MPI_Init_thread", MPI_Init_thread(nil, nil, required, &provided))
    guard provided >= required else {
        throw ClusterError(call: "MPI_Init_thread", message: "thread level \(provided) < required \(required)")
    }
}

func mpiCommSetErrhandler(_ communicator: MPI_Comm, _ handler: MPI_Errhandler) throws {
    try check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(communicator, handler))
}

func mpiCommRank(_ communicator: MPI_Comm) throws -> Int {
    var rank: Int32 = 0
    try check("MPI_Comm_rank", MPI_Comm_rank(communicator, &rank))
    return Int(rank)
}

func mpiCommSize(_ communicator: MPI_Comm) throws -> Int {
    var size: Int32 = 0
    try check("MPI_Comm_size", MPI_Comm_size(communicator, &size))
    return Int(size)
}

func mpiBarrier(_ communicator: MPI_Comm) throws {
    try check("MPI_Barrier", MPI_Barrier(communicator))
}

/// `MPI_Allreduce` with `MPI_IN_PLACE`, in chunks that fit MPI's `int` counts.
func mpiAllreduceInPlace(
    _ buffer: UnsafeMutableRawPointer?, count: Int, type: MPI_Datatype, operation: MPI_Op, _ communicator: MPI_Comm
) throws {
    guard let buffer, count > 0 else { return }
    var typeSize: Int32 = 0
    try check("MPI_Type_size", MPI_Type_size(type, &typeSize))
    let chunk = Int(Int32.max)
    for start in stride(from: 0, to: count, by: chunk) {
        try check(
            "MPI_Allreduce",
            MPI_Allreduce(
                landcover_mpi_in_place(), buffer + start * Int(typeSize), Int32(min(chunk, count - start)), type,
                operation, communicator))
    }
}

func mpiBcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int, _ communicator: MPI_Comm) throws {
    guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
    precondition(buffer.count <= Int(Int32.max), "A broadcast holds at most 2 GiB.")
    try check(
        "MPI_Bcast", MPI_Bcast(base, Int32(buffer.count), landcover_mpi_byte(), Int32(root), communicator))
}

/// `MPI_Gather` of one `int` per rank: every rank's `count` on `root` (zeros elsewhere).
func mpiGatherCounts(_ count: Int32, root: Int, _ communicator: MPI_Comm) throws -> [Int32] {
    var counts = [Int32](repeating: 0, count: try mpiCommSize(communicator))
    var mine = count
    try check(
        "MPI_Gather",
        MPI_Gather(
            &mine, 1, landcover_mpi_int(), &counts, 1, landcover_mpi_int(), Int32(root), communicator))
    return counts
}

/// `MPI_Gatherv` of bytes: on `root` the ranks' payloads one after another (`counts` from `mpiGatherCounts`).
func mpiGatherv(_ payload: [UInt8], counts: [Int32], root: Int, _ communicator: MPI_Comm) throws -> [UInt8] {
    var displacements = [Int32](repeating: 0, count: counts.count)
    var total = 0
    for (index, count) in counts.enumerated() {
        precondition(total <= Int(Int32.max), "Gathered payloads hold at most 2 GiB.")
        displacements[index] = Int32(total)
        total += Int(count)
    }
    var received = [UInt8](repeating: 0, count: max(total, 1))
    var sent = payload.isEmpty ? [0] : payload
    try check(
        "MPI_Gatherv",
        MPI_Gatherv(
            &sent, Int32(payload.count), landcover_mpi_byte(), &received, counts, displacements,
            landcover_mpi_byte(), Int32(root), communicator))
    return Array(received.prefix(total))
}

func mpiFinalize() {
    var finalized: Int32 = 0
    MPI_Finalized(&finalized)
    if finalized == 0 { MPI_Finalize() }
}

func mpiAbort(_ communicator: MPI_Comm, code: Int32) -> Never {
    MPI_Abort(communicator, code)
    exit(code)
}
