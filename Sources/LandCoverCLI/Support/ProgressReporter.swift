import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Shows progress of long work: a bar with rate and ETA on a terminal, one JSON event per line otherwise.
final class ProgressReporter {
    private let task: String
    private let unit: String
    private let interactive: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var lastEventFraction = -1.0

    /// Creates a reporter writing to standard error; `forceJSON` selects JSON events even on a terminal.
    init(task: String, unit: String, forceJSON: Bool = false) {
        self.task = task
        self.unit = unit
        interactive = !forceJSON && isatty(STDERR_FILENO) != 0
    }

    /// Reports `done` of `total` units, with an optional note ("812 chips").
    func update(done: Int, total: Int, note: String = "") {
        let now = Date()
        let finished = done >= total
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Double(total - done) / rate : .nan
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        if interactive {
            guard finished || now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let eta = remaining.isFinite ? Self.duration(remaining) : "--:--"
            let line = String(
                format: "\r%@ %@ %3d%% %d/%d %@ · %.1f %@/s · ETA %@ %@", task, bar, Int(fraction * 100), done, total,
                unit, rate, unit, eta, note)
            FileHandle.standardError.write(Data(line.utf8))
            if finished { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            // One event per 5 % of progress keeps logs readable.
            guard finished || fraction - lastEventFraction >= 0.05 else { return }
            lastEventFraction = fraction
            let event: [String: Any] = [
                "event": finished ? "done" : "progress", "task": task, "done": done, "total": total, "unit": unit,
                "rate": (rate * 100).rounded() / 100, "elapsed_s": (elapsed * 10).rounded() / 10,
                "eta_s": remaining.isFinite ? (remaining * 10).rounded() / 10 : NSNull(), "note": note,
            ]
            if let data = try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys]) {
                FileHandle.standardError.write(data + Data("\n".utf8))
            }
        }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String(format: "%02d:%02d", s / 60, s % 60)
    }
}
