import Foundation

/// Keeps freed large tensor buffers for reuse by the next tensor of the same byte count.
///
/// A training step allocates the same activation and gradient sizes every step. Returning those buffers to the C
/// allocator hands them back to the kernel (large blocks are `mmap`ed), so the next step pays a page fault and a
/// zeroing per 4 KiB page on first touch, single-threaded in the kernel. Buffers of at least `minimumByteCount`
/// are therefore kept, up to `limitByteCount` in total, and reused by exact size; smaller ones go to `malloc`.
enum StoragePool {
    /// Smaller buffers are left to the C allocator, which recycles them well.
    static let minimumByteCount = 256 << 10
    /// The most free bytes kept (a ResNet-50 training step at batch 32 cycles about 2 GB).
    static let limitByteCount = 3 << 30

    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) private static var freeByteCount = 0

    /// 64-byte aligned memory of `byteCount` bytes, reused when a buffer of that size is free.
    static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount >= minimumByteCount,
            let reused = lock.withLock({ () -> UnsafeMutableRawPointer? in
                guard let buffer = free[byteCount]?.popLast() else { return nil }
                freeByteCount -= byteCount
                return buffer
            })
        {
            return reused
        }
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    /// Returns memory from `allocate(byteCount:)`, keeping it for reuse while the pool has room.
    static func release(_ buffer: UnsafeMutableRawPointer, byteCount: Int) {
        if byteCount >= minimumByteCount {
            let kept = lock.withLock { () -> Bool in
                guard freeByteCount + byteCount <= limitByteCount else { return false }
                free[byteCount, default: []].append(buffer)
                freeByteCount += byteCount
                return true
            }
            if kept { return }
        }
        buffer.deallocate()
    }
}
