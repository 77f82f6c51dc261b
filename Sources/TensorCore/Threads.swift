import Foundation

/// Sets how many threads both compute libraries use: oneDNN's OpenMP (libgomp) threads and OpenBLAS's pthreads.
///
/// The default is 2. The OpenMP count is per calling thread, so `CPUDevice` applies it again before every oneDNN
/// call; OpenBLAS's pool is resized at once. Calls to the two libraries never overlap (see `CPUDevice`).
public func setThreads(_ count: Int) {
    precondition(count >= 1, "At least one thread is needed.")
    ThreadSettings.lock.withLock { ThreadSettings.storedCount = count }
    openblasSetNumThreads(count)
    ompSetNumThreads(count)
}

/// The thread count `setThreads(_:)` last set (2 by default).
public var threadCount: Int {
    ThreadSettings.lock.withLock { ThreadSettings.storedCount }
}

/// The process-wide thread count, guarded by a lock.
enum ThreadSettings {
    static let lock = NSLock()
    nonisolated(unsafe) static var storedCount = 2
}
