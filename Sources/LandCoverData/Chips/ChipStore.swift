import Foundation

/// A chip store on disk: `manifest.json`, `images.u16` `[N, bands, size, size]`, `labels.u8` `[N, size, size]`
/// and `chips.jsonl`. Arrays are memory-mapped; reading a chip copies nothing until it is used.
///
/// A store being written lives in `<name>.partial/` and can be opened too: it then exposes the chips
/// checkpointed so far (`isComplete` is false).
public final class ChipStore: @unchecked Sendable {
    /// File names inside a store.
    public enum FileName {
        /// The manifest (complete stores) or header (partial stores).
        public static let manifest = "manifest.json"
        /// Image array.
        public static let images = "images.u16"
        /// Label array.
        public static let labels = "labels.u8"
        /// One JSON record per chip.
        public static let index = "chips.jsonl"
        /// Checkpoint of a store being written.
        public static let state = "state.json"
    }

    /// Directory of the store.
    public let url: URL
    /// Manifest (for a partial store: its header, counts as of the last checkpoint).
    public let manifest: ChipStoreManifest
    /// One record per chip.
    public let records: [ChipRecord]
    /// Whether the store was finished (not a `.partial` directory).
    public let isComplete: Bool
    private let images: Data
    private let labels: Data

    /// Opens a store, complete or partial, checking the format version.
    public init(_ url: URL) throws {
        self.url = url
        let manifestURL = url.appendingPathComponent(FileName.manifest)
        guard FileManager.default.fileExists(atPath: manifestURL.path) else {
            throw ChipStoreError(path: url.path, problem: "not a chip store (no \(FileName.manifest))")
        }
        let data = try Data(contentsOf: manifestURL)
        let probe = try? JSONDecoder().decode(FormatProbe.self, from: data)
        guard let probe, probe.format == "landcover-chipstore" else {
            throw ChipStoreError(path: url.path, problem: "not a chip store (unrecognised \(FileName.manifest))")
        }
        guard probe.version <= ChipStoreManifest.currentVersion else {
            throw ChipStoreError(
                path: url.path,
                problem:
                    "chip store format version \(probe.version) is newer than this landcover reads (\(ChipStoreManifest.currentVersion)); upgrade landcover"
            )
        }
        var manifest = try JSONDecoder().decode(ChipStoreManifest.self, from: data)
        let stateURL = url.appendingPathComponent(FileName.state)
        isComplete = !FileManager.default.fileExists(atPath: stateURL.path)
        if !isComplete {
            let state = try JSONDecoder().decode(ChipStoreWriter.State.self, from: Data(contentsOf: stateURL))
            manifest.chipCount = state.chipCount
        }
        self.manifest = manifest
        images = try Data(contentsOf: url.appendingPathComponent(FileName.images), options: .alwaysMapped)
        labels = try Data(contentsOf: url.appendingPathComponent(FileName.labels), options: .alwaysMapped)
        let count = manifest.chipCount
        guard images.count >= count * manifest.imageChipBytes, labels.count >= count * manifest.labelChipBytes else {
            throw ChipStoreError(path: url.path, problem: "arrays are shorter than \(count) chips (truncated store)")
        }
        let lines = try String(contentsOf: url.appendingPathComponent(FileName.index), encoding: .utf8)
            .split(separator: "\n").prefix(count)
        let decoder = JSONDecoder()
        records = try lines.map { try decoder.decode(ChipRecord.self, from: Data($0.utf8)) }
        guard records.count == count else {
            throw ChipStoreError(path: url.path, problem: "index holds \(records.count) records for \(count) chips")
        }
    }

    private struct FormatProbe: Decodable {
        var format: String
        var version: Int
    }

    /// Number of chips.
    public var count: Int { records.count }

    /// Indices of the chips in a split.
    public func indices(in split: ChipSplit) -> [Int] { records.indices.filter { records[$0].split == split } }

    /// Calls `body` with chip `index`'s image, `[bands, size, size]` UInt16 (reflectance × 10000, 0 = no data).
    public func withImage<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt16>) throws -> R) rethrows -> R {
        precondition(index >= 0 && index < count, "Chip \(index) is outside 0..<\(count).")
        let bytes = manifest.imageChipBytes
        return try images.withUnsafeBytes { raw in
            let slice = UnsafeRawBufferPointer(rebasing: raw[(index * bytes)..<((index + 1) * bytes)])
            return try body(slice.bindMemory(to: UInt16.self))
        }
    }

    /// Calls `body` with chip `index`'s labels, `[size, size]` CORINE level-3 indices (0 = no data).
    public func withLabels<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        precondition(index >= 0 && index < count, "Chip \(index) is outside 0..<\(count).")
        let bytes = manifest.labelChipBytes
        return try labels.withUnsafeBytes { raw in
            let slice = UnsafeRawBufferPointer(rebasing: raw[(index * bytes)..<((index + 1) * bytes)])
            return try body(slice.bindMemory(to: UInt8.self))
        }
    }

    /// A copy of chip `index`'s image.
    public func image(_ index: Int) -> [UInt16] { withImage(index) { Array($0) } }

    /// A copy of chip `index`'s labels.
    public func labels(_ index: Int) -> [UInt8] { withLabels(index) { Array($0) } }
}

/// A chip store problem, in one line naming the store.
public struct ChipStoreError: Error, CustomStringConvertible, Sendable {
    /// The store directory.
    public let path: String
    /// What is wrong.
    public let problem: String

    public var description: String { "\(path): \(problem)" }
}
