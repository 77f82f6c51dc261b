import Foundation
import Testing

/// Paths and helpers shared by the test targets.
public enum TestPaths {
    /// The repository root (three levels above this file).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The team's read-only `../shared` folder beside the checkout (absent on a user's fresh clone).
    public static let shared: URL = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")

    /// A path inside `../shared/testdata`.
    public static func sharedTestData(_ relative: String) -> URL {
        shared.appendingPathComponent("testdata").appendingPathComponent(relative)
    }

    /// Whether a path inside `../shared/testdata` exists.
    public static func hasSharedTestData(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: sharedTestData(relative).path)
    }

    /// The bundled `SampleData` folder.
    public static let sampleData: URL = repositoryRoot.appendingPathComponent("SampleData")
}

/// A fresh temporary directory, removed when the value is deinitialised.
public final class TemporaryDirectory: @unchecked Sendable {
    /// The directory.
    public let url: URL

    /// Creates a unique directory under the system temporary directory.
    public init(_ prefix: String = "landcover-test") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// A path inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Expects `actual` within `atol + rtol * |expected|` of `expected`.
public func expectClose(
    _ actual: Double, _ expected: Double, rtol: Double = 1e-6, atol: Double = 0,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let tolerance = atol + rtol * abs(expected)
    #expect(
        abs(actual - expected) <= tolerance, "\(actual) vs \(expected) (tolerance \(tolerance))",
        sourceLocation: sourceLocation)
}

/// Running the built `landcover` binary and GDAL's command-line tools from tests.
public enum Executables {
    /// The `landcover` binary built beside the test bundle, if present.
    public static var landcover: URL? {
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        let candidate = bundle.appendingPathComponent("landcover")
        return FileManager.default.isExecutableFile(atPath: candidate.path) ? candidate : nil
    }

    /// The options every test passes to Open MPI's `mpirun`, in one place (see Docs/scaling.md): CI and the
    /// developers' machines run as root in a container with 2 cores, so root must be allowed and more ranks than
    /// cores permitted; shared memory (`vader`) and loopback (`self`) are the only transports a one-machine job needs.
    public static let mpirunOptions = ["--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,vader"]

    /// Runs `processes` copies of `executable` under `mpirun` (which must be installed: `make deps` brings
    /// `openmpi-bin`) and waits for the job.
    public static func mpirun(
        processes: Int, _ executable: URL, _ arguments: [String], environment: [String: String] = [:]
    ) throws -> Result {
        let launcher = try #require(onPath("mpirun"), "mpirun is not installed (apt package openmpi-bin)")
        return try run(
            launcher, mpirunOptions + ["-np", "\(processes)", executable.path] + arguments, environment: environment)
    }

    /// A program on PATH, if present.
    public static func onPath(_ name: String) -> URL? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Exit status, standard output and standard error of a finished process.
    public struct Result: Sendable {
        /// Exit status.
        public var status: Int32
        /// Standard output.
        public var output: String
        /// Standard error.
        public var error: String
    }

    /// Runs `executable` with `arguments` (and `environment` added to this process's) and waits for it.
    @discardableResult
    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws
        -> Result
    {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            error: String(decoding: errorData, as: UTF8.self))
    }
}
