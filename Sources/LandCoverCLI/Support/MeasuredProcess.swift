import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Wall time and peak resident memory of one finished child process.
struct ProcessMeasurement: Codable {
    /// Seconds from spawn to exit.
    var wallSeconds: Double
    /// Peak resident set size of the child (`ru_maxrss` from `wait4`), in bytes.
    var peakRSSBytes: Int
    /// CPU seconds the child spent in user mode.
    var userSeconds: Double
    /// CPU seconds the child spent in the kernel.
    var systemSeconds: Double
}

/// A child process that failed to start or exited with a non-zero status.
struct ProcessFailure: Error, CustomStringConvertible {
    /// The command line.
    var command: [String]
    /// What went wrong.
    var problem: String

    var description: String { "\(command.joined(separator: " ")): \(problem)" }
}

/// Runs a program to completion and measures it: `posix_spawn`, then `wait4` for the child's own resource usage
/// (Foundation's `Process` reaps children itself and does not report it).
enum MeasuredProcess {
    /// Runs `command` (`command[0]` is an absolute path) with standard error appended to `log` and standard output
    /// written to `output` (appended to `log` when nil); returns the measurement. Throws when the program cannot
    /// start or exits with a non-zero status.
    static func run(_ command: [String], log: URL, output: URL? = nil) throws -> ProcessMeasurement {
        let files = FileManager.default
        if !files.fileExists(atPath: log.path) { files.createFile(atPath: log.path, contents: nil) }
        if let output { files.createFile(atPath: output.path, contents: nil) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, (output ?? log).path, O_WRONLY | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.path, O_WRONLY | O_APPEND, 0o644)

        let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        var argv = command.map { strdup($0) } + [nil]
        var envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }

        let start = ContinuousClock.now
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, &argv, &envp)
        guard spawned == 0 else {
            throw ProcessFailure(command: command, problem: "cannot start: \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else {
                throw ProcessFailure(command: command, problem: "wait4: \(String(cString: strerror(errno)))")
            }
        }
        let elapsed = ContinuousClock.now - start
        // WIFSIGNALED / WEXITSTATUS are macros Swift does not import.
        let signal = status & 0x7f
        let exitCode = (status >> 8) & 0xff
        guard signal == 0, exitCode == 0 else {
            let how = signal != 0 ? "killed by signal \(signal)" : "exited with status \(exitCode)"
            throw ProcessFailure(command: command, problem: "\(how); see \(log.path)")
        }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return ProcessMeasurement(
            wallSeconds: elapsed.seconds, peakRSSBytes: usage.ru_maxrss * 1024, userSeconds: seconds(usage.ru_utime),
            systemSeconds: seconds(usage.ru_stime))
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
