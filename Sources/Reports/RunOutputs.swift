import Foundation
import GeoRaster
import LandCoverData
import Mapping
import Training

/// A report problem, in one line naming the path.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The outputs of a landcover run or single command found under a directory, by their file names: `run.json`,
/// `stats.json`, `training.json`, `evaluation.json`, `noise.json`, change summaries (`*.json` beside a `.tif`) and
/// land-cover maps (GeoTIFFs carrying landcover's `MODEL` and `LEVEL` metadata). Anything absent is nil or empty.
public struct RunOutputs {
    /// The directory searched.
    public var directory: URL
    public var manifest: RunManifest?
    /// The chip statistics per level (the paper's Table 2).
    public var statistics: [LabelStatistics]?
    /// Training runs: their directory and log.
    public var trainings: [(directory: URL, log: TrainingLog)] = []
    public var classifierEvaluations: [(directory: URL, report: ClassifierReport)] = []
    public var segmenterEvaluations: [(directory: URL, report: SegmentationReport)] = []
    public var noise: (directory: URL, review: NoiseReview)?
    /// A change or agreement summary and the raster beside it, when there is one.
    public var change: (summary: ChangeSummary, raster: URL?)?
    /// The finest land-cover map (highest `LEVEL`; not a generalised copy).
    public var map: URL?

    /// Folders never searched: bulk data and what reports themselves write.
    static let skippedFolders: Set<String> = ["chips", "checkpoints", "thumbnails", ".stamps"]

    /// Finds the outputs under `directory` (three levels deep); throws a one-line error when it is not a
    /// directory or holds none of them.
    public init(directory: URL) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw ReportError("\(directory.path): no such directory")
        }
        guard isDirectory.boolValue else { throw ReportError("\(directory.path): not a directory") }
        var maps: [(url: URL, level: Int)] = []
        for file in Self.files(under: directory, depth: 3) {
            let name = file.lastPathComponent
            let folder = file.deletingLastPathComponent()
            switch name {
            case RunManifest.fileName: manifest = try? Self.decode(RunManifest.self, file)
            case "stats.json": statistics = try? Self.decode([LabelStatistics].self, file)
            case "training.json":
                if let log = try? Self.decode(TrainingLog.self, file) { trainings.append((folder, log)) }
            case "evaluation.json":
                if let report = try? Self.decode(ClassifierReport.self, file) {
                    classifierEvaluations.append((folder, report))
                } else if let report = try? Self.decode(SegmentationReport.self, file) {
                    segmenterEvaluations.append((folder, report))
                }
            case NoiseReview.FileName.json:
                if let review = try? Self.decode(NoiseReview.self, file) { noise = (folder, review) }
            case _ where name.hasSuffix(".json") && !name.hasSuffix(".stac.json"):
                if change == nil, let summary = try? Self.decode(ChangeSummary.self, file) {
                    let raster = file.deletingPathExtension().appendingPathExtension("tif")
                    change = (summary, FileManager.default.fileExists(atPath: raster.path) ? raster : nil)
                }
            case _ where name.hasSuffix(".tif") && !name.hasSuffix(".confidence.tif"):
                if let level = Self.mapLevel(file) { maps.append((file, level)) }
            default: break
            }
        }
        map = maps.max { ($0.level, -$0.url.path.count) < ($1.level, -$1.url.path.count) }?.url
        let found =
            manifest != nil || statistics != nil || !trainings.isEmpty || !classifierEvaluations.isEmpty
            || !segmenterEvaluations.isEmpty || noise != nil || change != nil || map != nil
        guard found else {
            throw ReportError(
                "\(directory.path): not a landcover output directory (no run.json, stats.json, training.json, "
                    + "evaluation.json, noise.json, change summary or land-cover map in it)")
        }
        trainings.sort { $0.directory.path < $1.directory.path }
        classifierEvaluations.sort { $0.directory.path < $1.directory.path }
        segmenterEvaluations.sort { $0.directory.path < $1.directory.path }
    }

    /// The CORINE level of a landcover map (its `LEVEL` metadata item, written with `MODEL`); nil for any other
    /// file, and for generalised copies.
    static func mapLevel(_ file: URL) -> Int? {
        guard let dataset = try? Dataset.open(file.path) else { return nil }
        let metadata = dataset.metadata()
        guard metadata["MODEL"] != nil, metadata["GENERALIZED_FROM"] == nil else { return nil }
        return metadata["LEVEL"].flatMap { Int($0) }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ file: URL) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: file))
    }

    /// Regular files under `directory`, `depth` folders deep at most, sorted by path; hidden entries and
    /// `skippedFolders` are passed over.
    static func files(under directory: URL, depth: Int) -> [URL] {
        let entries =
            (try? FileManager.default.contentsOfDirectory(
                at: directory, includingPropertiesForKeys: [.isDirectoryKey], options: [.skipsHiddenFiles])) ?? []
        var files: [URL] = []
        for entry in entries.sorted(by: { $0.path < $1.path }) {
            let isDirectory = (try? entry.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
            if isDirectory {
                let name = entry.lastPathComponent
                if depth > 1 && !skippedFolders.contains(name) && !name.hasSuffix("-images")
                    && !name.hasSuffix(".partial")
                {
                    files += Self.files(under: entry, depth: depth - 1)
                }
            } else {
                files.append(entry)
            }
        }
        return files
    }
}
