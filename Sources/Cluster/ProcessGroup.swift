/// How `allReduce` combines the ranks' values, element by element.
public enum ReductionOperation: Sendable {
    case sum
    case max
}

/// The processes of one job and the collective operations between them: MPI's `MPI_COMM_WORLD` under `mpirun`,
/// or a world of one process otherwise (`SingleProcess`), so that code written against this protocol runs, and is
/// tested, unchanged without MPI.
///
/// Every collective must be called by every rank, in the same order, from the thread that started the job
/// (MPI is initialised with `MPI_THREAD_FUNNELED`).
public protocol ProcessGroup: AnyObject, Sendable {
    /// This process's index, 0..<size.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// Returns once every rank has called it.
    func barrier() throws
    /// Replaces `buffer` on every rank by the element-wise combination of all ranks' buffers (same count on each).
    func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ operation: ReductionOperation) throws
    /// Replaces `buffer` on every rank by the element-wise combination of all ranks' buffers (same count on each).
    func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>, _ operation: ReductionOperation) throws
    /// Copies `root`'s bytes into `buffer` on every other rank (same count on each).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, from root: Int) throws
    /// Every rank's `payload` (any length, meant to be small), in rank order, on `root`; an empty array elsewhere.
    func gather(_ payload: [UInt8], to root: Int) throws -> [[UInt8]]
    /// Prints `message` as one line on standard error and ends the whole job with a non-zero exit.
    func abort(_ message: String) -> Never
}

extension ProcessGroup {
    /// Whether this process is rank 0, the one that writes a job's shared outputs.
    public var isRoot: Bool { rank == 0 }

    /// `values` combined across ranks, in place.
    public func allReduce(_ values: inout [Float], _ operation: ReductionOperation) throws {
        try values.withUnsafeMutableBufferPointer { try allReduce($0, operation) }
    }

    /// `values` combined across ranks, in place.
    public func allReduce(_ values: inout [Double], _ operation: ReductionOperation) throws {
        try values.withUnsafeMutableBufferPointer { try allReduce($0, operation) }
    }

    /// `root`'s bytes on every rank, whatever their length on the others.
    public func broadcast(_ bytes: [UInt8], from root: Int) throws -> [UInt8] {
        var count = Int64(bytes.count)
        try withUnsafeMutableBytes(of: &count) { try broadcast($0, from: root) }
        var result = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        try result.withUnsafeMutableBytes { try broadcast($0, from: root) }
        return result
    }
}

/// A failed MPI call: the call and MPI's own message.
public struct ClusterError: Error, CustomStringConvertible, Sendable {
    /// The MPI function that failed, e.g. `MPI_Allreduce`.
    public var call: String
    /// MPI's error string for the returned code.
    public var message: String

    public init(call: String, message: String) {
        self.call = call
        self.message = message
    }

    public var description: String { "\(call) failed: \(message)" }
}
