import Foundation

/// What a pipeline run recorded (`run.json`): written by `PipelineRunner`, read by reports.
///
/// Fields added after the first release are optional, so older `run.json` files still read.
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
    /// Stage → seconds it took (time spent finding it current when skipped).
    public var stageSeconds: [String: Double]
    /// Stages skipped because their output was complete and current.
    public var skipped: [String]
    /// Peak resident memory of the run in MB.
    public var peakMemoryMB: Double
    /// The Sentinel-2 product and the CORINE layer among `inputs`.
    public var product: String?
    public var corine: String?
    /// When the run started (ISO 8601, UTC) and how long it took in all.
    public var started: String?
    public var totalSeconds: Double?
    /// The operating system and the processor count the run saw.
    public var system: String?

    /// Input file record.
    public struct InputRecord: Sendable, Codable {
        /// Content checksum.
        public var checksum: String
        /// Bytes.
        public var bytes: Int

        /// A record.
        public init(checksum: String, bytes: Int) {
            self.checksum = checksum
            self.bytes = bytes
        }
    }

    /// A manifest.
    public init(
        name: String, spec: String, landcoverVersion: String, gdalVersion: String, inputs: [String: InputRecord],
        stageSeconds: [String: Double], skipped: [String], peakMemoryMB: Double
    ) {
        self.name = name
        self.spec = spec
        self.landcoverVersion = landcoverVersion
        self.gdalVersion = gdalVersion
        self.inputs = inputs
        self.stageSeconds = stageSeconds
        self.skipped = skipped
        self.peakMemoryMB = peakMemoryMB
    }

    /// The file name inside a run's output directory.
    public static let fileName = "run.json"

    /// "Linux 6.1 (Debian 12), 2 processors": what `system` records.
    public static var currentSystem: String {
        let info = ProcessInfo.processInfo
        return "\(info.operatingSystemVersionString), \(info.activeProcessorCount) processors"
    }
}
