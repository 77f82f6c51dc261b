import Foundation
import GeoRaster
import LandCoverData

#if canImport(Glibc)
    import Glibc
#endif

/// One JSON line of a run's event log (`events.jsonl`).
public struct PipelineEvent: Sendable, Codable, Equatable {
    /// "run_start", "stage_start", "stage_done", "stage_skipped", "run_done".
    public var event: String
    /// The stage, where the event concerns one.
    public var stage: String?
    /// Seconds since the run started.
    public var elapsed: Double
    /// A short note (counts, output path).
    public var note: String?
}

/// What a finished run recorded (`run.json`).
public struct RunManifest: Sendable, Codable {
    /// Spec name.
    public var name: String
    /// Spec file.
    public var spec: String
    /// landcover version.
    public var landcoverVersion: String
    /// GDAL version.
    public var gdalVersion: String
    /// Input path → content checksum (FNV-1a over 8-byte words, hex) and size in bytes.
    public var inputs: [String: InputRecord]
    /// Stage → seconds it took (0 when skipped).
    public var stageSeconds: [String: Double]
    /// Stages skipped because their output was complete and current.
    public var skipped: [String]
    /// Peak resident memory of the run in MB.
    public var peakMemoryMB: Double
    /// Input file record.
    public struct InputRecord: Sendable, Codable {
        /// Content checksum.
        public var checksum: String
        /// Bytes.
        public var bytes: Int
    }
}

/// Runs a validated `PipelineSpec` stage by stage; finished stages whose inputs and settings are unchanged are
/// skipped (a chip store is keyed by its run key).
public final class PipelineRunner {
    /// The spec.
    public let spec: PipelineSpec
    /// The spec file, recorded in the run manifest.
    public let specFile: URL
    private let start = Date()
    private var events: FileHandle?
    /// Called with chip progress (rows done, rows total, chips stored).
    public var onChipProgress: (ChipProgress) -> Void = { _ in }
    /// Called with each event as it is logged.
    public var onEvent: (PipelineEvent) -> Void = { _ in }

    /// Creates a runner.
    public init(spec: PipelineSpec, specFile: URL) {
        self.spec = spec
        self.specFile = specFile
    }

    /// Where each stage writes.
    public var chipStoreURL: URL { spec.output.appendingPathComponent("chips") }

    /// Runs every stage of the spec and writes `run.json`; returns the run manifest.
    @discardableResult
    public func run() throws -> RunManifest {
        try FileManager.default.createDirectory(at: spec.output, withIntermediateDirectories: true)
        let eventsURL = spec.output.appendingPathComponent("events.jsonl")
        if !FileManager.default.fileExists(atPath: eventsURL.path) {
            FileManager.default.createFile(atPath: eventsURL.path, contents: nil)
        }
        events = try FileHandle(forWritingTo: eventsURL)
        try events?.seekToEnd()
        defer { try? events?.close() }
        log("run_start", note: spec.name)

        var seconds: [String: Double] = [:]
        var skipped: [String] = []
        if let chip = spec.chip {
            let stageStart = Date()
            log("stage_start", stage: "chip")
            let (store, wasComplete) = try runChip(chip)
            seconds["chip"] = Date().timeIntervalSince(stageStart)
            if wasComplete { skipped.append("chip") }
            let took = String(format: "%.1f s", seconds["chip"]!)
            log(wasComplete ? "stage_skipped" : "stage_done", stage: "chip", note: "\(store.count) chips, \(took)")
        }
        if let stats = spec.stats {
            let stageStart = Date()
            log("stage_start", stage: "stats")
            try runStats(stats)
            seconds["stats"] = Date().timeIntervalSince(stageStart)
            log("stage_done", stage: "stats", note: String(format: "stats.md, %.1f s", seconds["stats"]!))
        }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let manifest = RunManifest(
            name: spec.name, spec: specFile.path, landcoverVersion: LandCover.version, gdalVersion: GDAL.version,
            inputs: [spec.safe.path: try checksum(spec.safe), spec.corine.path: try checksum(spec.corine)],
            stageSeconds: seconds, skipped: skipped, peakMemoryMB: Double(usage.ru_maxrss) / 1024)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(encoder.encode(manifest), to: spec.output.appendingPathComponent("run.json"))
        log("run_done", note: spec.output.path)
        return manifest
    }

    private func runChip(_ stage: PipelineSpec.ChipStage) throws -> (ChipStore, wasComplete: Bool) {
        let product = try Sentinel2Product.open(spec.safe.path)
        let source = try Sentinel2ChipSource(product: product, bands: stage.bands)
        let chipper = Chipper(
            image: source, labels: try CorineSource.open(spec.corine.path), configuration: stage.configuration)
        let header = chipper.manifestHeader(version: LandCover.version)
        if let existing = try? ChipStore(chipStoreURL), existing.manifest.runKey == header.runKey {
            return (existing, true)
        }
        let store = try chipper.run(
            into: chipStoreURL, overwrite: true, version: LandCover.version, progress: onChipProgress)
        return (store, false)
    }

    private func runStats(_ stage: PipelineSpec.StatsStage) throws {
        let store = try ChipStore(chipStoreURL)
        let statistics = CorineLevel.allCases.map { store.labelStatistics(level: $0, minimumShare: stage.minimumShare) }
        let markdown = LabelStatistics.markdown(statistics, chipCount: store.count)
        try writeAtomically(Data((markdown + "\n").utf8), to: spec.output.appendingPathComponent("stats.md"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(encoder.encode(statistics), to: spec.output.appendingPathComponent("stats.json"))
    }

    private func log(_ event: String, stage: String? = nil, note: String? = nil) {
        let record = PipelineEvent(
            event: event, stage: stage, elapsed: (Date().timeIntervalSince(start) * 1000).rounded() / 1000, note: note)
        onEvent(record)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if var line = try? encoder.encode(record) {
            line.append(UInt8(ascii: "\n"))
            try? events?.write(contentsOf: line)
        }
    }

    /// A content checksum of a file or of every file under a directory (sorted by path).
    private func checksum(_ url: URL) throws -> RunManifest.InputRecord {
        var files: [URL] = []
        var isDirectory: ObjCBool = false
        FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        if isDirectory.boolValue {
            let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey])
            while let file = enumerator?.nextObject() as? URL {
                if (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { files.append(file) }
            }
            files.sort { $0.path < $1.path }
        } else {
            files = [url]
        }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var bytes = 0
        for file in files {
            let data = try Data(contentsOf: file, options: .alwaysMapped)
            bytes += data.count
            // FNV-1a over 8-byte words: fast enough for a few GB and stable across platforms.
            data.withUnsafeBytes { raw in
                var index = 0
                while index + 8 <= raw.count {
                    hash = (hash ^ raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0x100_0000_01B3
                    index += 8
                }
                while index < raw.count {
                    hash = (hash ^ UInt64(raw[index])) &* 0x100_0000_01B3
                    index += 1
                }
            }
        }
        return RunManifest.InputRecord(checksum: String(hash, radix: 16), bytes: bytes)
    }

    private func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try data.write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw PipelineError(url.path, "cannot rename into place: \(String(cString: strerror(errno)))")
        }
    }
}
