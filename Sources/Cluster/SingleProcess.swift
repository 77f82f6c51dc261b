#if canImport(Glibc)
    import Glibc
#endif

/// The world of a process not started by `mpirun`: rank 0 of 1. Collectives return at once (a reduction over one
/// rank is its own values); MPI is never initialised.
public final class SingleProcess: ProcessGroup {
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func barrier() throws {}
    public func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ operation: ReductionOperation) throws {}
    public func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>, _ operation: ReductionOperation) throws {}

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, from root: Int) throws {
        precondition(root == 0, "A single process has only rank 0, not \(root).")
    }

    public func gather(_ payload: [UInt8], to root: Int) throws -> [[UInt8]] {
        precondition(root == 0, "A single process has only rank 0, not \(root).")
        return [payload]
    }

    public func abort(_ message: String) -> Never {
        writeErrorLine(message)
        exit(1)
    }
}

/// Writes `message` and a newline to standard error in one `write`, so lines of several ranks do not interleave.
func writeErrorLine(_ message: String) {
    let line = Array((message.split(separator: "\n").joined(separator: " ") + "\n").utf8)
    line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
}
