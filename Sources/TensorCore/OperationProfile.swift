import Foundation

/// Opt-in wall-clock timing per operation kind, for finding where a training step spends its time.
///
/// Set `LANDCOVER_PROFILE_OPS=1` in the environment: every measured operation then adds its time to a table that
/// is printed to standard error when the process exits (sorted by total time). Without the variable `measure`
/// only reads a flag, so it can stay in hot paths.
public enum OperationProfile {
    /// Whether timing is on (`LANDCOVER_PROFILE_OPS=1`), read once.
    public static let isEnabled: Bool = {
        guard ProcessInfo.processInfo.environment["LANDCOVER_PROFILE_OPS"] == "1" else { return false }
        atexit { OperationProfile.printTable() }
        return true
    }()

    /// Runs `body` and, when profiling is on, adds its wall time to the row `name`.
    @inline(__always)
    public static func measure<Result, Failure: Error>(
        _ name: @autoclosure () -> String, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        guard isEnabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { record(name(), nanoseconds: DispatchTime.now().uptimeNanoseconds - start) }
        return try body()
    }

    /// Adds one call of `nanoseconds` to the row `name`.
    public static func record(_ name: String, nanoseconds: UInt64) {
        lock.withLock {
            var row = rows[name, default: Row()]
            row.calls += 1
            row.nanoseconds += nanoseconds
            rows[name] = row
        }
    }

    /// The table so far, most expensive first: name, calls and seconds.
    public static var table: [(name: String, calls: Int, seconds: Double)] {
        lock.withLock {
            rows.map { ($0.key, $0.value.calls, Double($0.value.nanoseconds) / 1e9) }.sorted { $0.seconds > $1.seconds }
        }
    }

    private struct Row {
        var calls = 0
        var nanoseconds: UInt64 = 0
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var rows: [String: Row] = [:]

    private static func printTable() {
        let table = self.table
        let total = table.reduce(0) { $0 + $1.seconds }
        func padded(_ text: String) -> String { text.padding(toLength: 40, withPad: " ", startingAt: 0) }
        var text = padded("operation") + "   calls    seconds  share\n"
        for row in table {
            let share = total > 0 ? 100 * row.seconds / total : 0
            text += padded(row.name) + String(format: "%8d %10.3f %5.1f%%\n", row.calls, row.seconds, share)
        }
        text += padded("total measured") + String(format: "         %10.3f\n", total)
        FileHandle.standardError.write(text.data(using: .utf8)!)
    }
}
