import Dispatch

/// Memory-bound Swift loops split over `threadCount` threads, for the elementwise work between oneDNN calls.
///
/// They run while no oneDNN or OpenBLAS call is running (callers are sequential), so they take the cores those
/// libraries leave idle. Small inputs run on the calling thread, where a dispatch would cost more than it saves.
public enum Parallel {
    /// Below this many scalars a loop runs on one thread.
    static let minimumParallelCount = 1 << 16

    /// Calls `body` with disjoint ranges covering `0..<count`, one per thread, concurrently.
    public static func forEachChunk(count: Int, _ body: (Range<Int>) -> Void) {
        let threads = count < minimumParallelCount ? 1 : Swift.max(1, threadCount)
        guard threads > 1 else {
            body(0..<count)
            return
        }
        // Chunks aligned to 16 scalars (64 bytes), so threads never share a cache line they write.
        let chunk = ((count + threads - 1) / threads + 15) / 16 * 16
        withoutActuallyEscaping(body) { body in
            // Each iteration gets its own range, so the shared closure only reads what the caller gave it.
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: threads) { index in
                let start = Swift.min(index * chunk, count)
                body(start..<Swift.min(start + chunk, count))
            }
        }
    }

    /// Calls `body(index)` for every index in `0..<count`, the indices dealt out over the threads (index i to
    /// thread i mod threads), for coarse independent items such as the images of a batch.
    public static func forEachIndex(count: Int, _ body: (Int) -> Void) {
        let threads = Swift.min(Swift.max(1, threadCount), count)
        guard threads > 1 else {
            for index in 0..<count { body(index) }
            return
        }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for index in stride(from: thread, to: count, by: threads) { body(index) }
            }
        }
    }

    /// `target[i] = a[i] + b[i]` for `i < count` (`target` may be `a`).
    static func add(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int
    ) {
        nonisolated(unsafe) let (a, b, target) = (a, b, target)
        forEachChunk(count: count) { range in
            for index in range { target[index] = a[index] + b[index] }
        }
    }
}
