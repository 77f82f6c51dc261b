import ArgumentParser
import Cluster
import Foundation
import LandCoverData
import Mapping

#if canImport(Glibc)
    import Glibc
#endif

extension MapCommand {
    /// The products of `--safe` and the lines of `--safe-list` (blank lines and `#` comments skipped; relative paths
    /// are relative to the working directory, as on the command line).
    func listedProducts() throws -> [String] {
        var products = safe
        if let safeList {
            let text = try String(contentsOfFile: safeList, encoding: .utf8)
            products += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        guard !products.isEmpty else {
            throw MappingError(path: safeList ?? "--safe", problem: "lists no granule")
        }
        return products
    }

    /// Maps every listed granule into `outDir`, shared out among the ranks of the job; exits non-zero (on every
    /// rank, after rank 0 has written the mosaics, collection and summary) when a granule still fails.
    func runBatch(_ mapping: GranuleMapping, outDir: String) throws {
        let world = Cluster.world
        var batch = GranuleBatch(
            mapping: mapping, products: try listedProducts(), outputDirectory: URL(fileURLWithPath: outDir))
        batch.retries = retries
        batch.describe = { error in
            ReadableError.isFoundationError(error) ? ReadableError(error).description : String(describing: error)
        }
        if world.isRoot {
            printFlushed(
                "mapping \(batch.products.count) granules into \(outDir) with \(world.size) process"
                    + (world.size > 1 ? "es" : "") + " × \(mapping.writer.threads) threads")
        }
        let killHook = MapKillHook(rank: world.rank)
        var reporter: (granule: String, progress: ProgressReporter)?
        let (summary, failed) = try batch.run(
            group: world, codeVersion: "landcover \(LandCover.version)",
            progress: { granule, done, total in
                if reporter?.granule != granule {
                    reporter = (
                        granule, ProgressReporter(task: "map \(granule)", unit: "bands", forceJSON: jsonProgress)
                    )
                }
                reporter?.progress.update(done: done, total: total)
                killHook.afterBands(done)
            },
            report: printFlushed, failure: { printErrorLine("Error: \($0)") })
        if let summary {
            for mosaic in summary.mosaics { printFlushed("\(outDir)/\(mosaic): mosaic") }
            let counts = Dictionary(grouping: summary.granules, by: \.status).mapValues(\.count)
            printFlushed(
                String(
                    format: "%d mapped, %d skipped (already done), %d failed in %.1f s; %@/%@, %@/%@",
                    counts[.mapped] ?? 0, counts[.skipped] ?? 0, counts[.failed] ?? 0, summary.seconds, outDir,
                    GranuleBatch.collectionName, outDir, GranuleBatch.summaryName))
            if failed > 0 {
                let names = summary.granules.filter { $0.status == .failed }.map(\.granule)
                printErrorLine(
                    "Error: \(failed) of \(summary.granules.count) granules failed: "
                        + "\(names.joined(separator: ", ")) (see \(outDir)/\(GranuleBatch.summaryName))")
            }
        }
        // Every rank knows the count, so all of them end with the same status and none is left waiting.
        if failed > 0 { throw ExitCode.failure }
    }
}

/// Prints a line to standard output at once (under mpirun the ranks' lines are forwarded as they come).
private func printFlushed(_ line: String) {
    print(line)
    fflush(nil)  // every output stream: `stdout` itself is not concurrency-safe to name in Swift 6
}

/// Writes one line to standard error.
private func printErrorLine(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// A test hook: `LANDCOVER_TEST_KILL_RANK=r LANDCOVER_TEST_KILL_AFTER_BANDS=k` makes rank `r` kill itself (SIGKILL,
/// as the out-of-memory killer or a lost node would) once a granule has `k` bands predicted, so tests can check
/// that a job losing a rank ends with an error and leaves no corrupt output under a final name.
private struct MapKillHook {
    let bands: Int?

    init(rank: Int, environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let target = environment["LANDCOVER_TEST_KILL_RANK"].flatMap({ Int($0) }), target == rank else {
            bands = nil
            return
        }
        bands = environment["LANDCOVER_TEST_KILL_AFTER_BANDS"].flatMap { Int($0) }
    }

    func afterBands(_ done: Int) {
        if let bands, done >= bands { kill(getpid(), SIGKILL) }
    }
}
