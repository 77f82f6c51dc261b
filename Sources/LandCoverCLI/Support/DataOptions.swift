import ArgumentParser
import Foundation
import LandCoverData
import Training

/// Where multi-label training images come from: a chip store, BigEarthNet v1 folders, or BigEarthNet v2 patches
/// with their reference maps; shared by `train classifier`, `evaluate` and `noise`.
struct DataOptions: ParsableArguments {
    @Option(help: "Chip store directory written by `landcover chip`.")
    var chips: String?

    @Option(help: "BigEarthNet v1 root: one folder per patch with *_labels_metadata.json.")
    var bigearthnet: String?

    @Option(help: "BigEarthNet v2 patches root (tile/patch folders of GeoTIFF bands).")
    var bigearthnetV2: String?

    @Option(help: "BigEarthNet v2 reference maps root (labels are derived from each *_reference_map.tif).")
    var referenceMaps: String?

    @Option(help: "BigEarthNet split: a patch,split CSV or the folder of the official train/val/test CSVs.")
    var splitFile: String?

    @Option(help: "A file of patch names to leave out (e.g. the published cloud and snow lists); repeatable.")
    var exclude: [String] = []

    @Option(help: "Chip stores: a chip carries a class covering more than this share of its labelled pixels.")
    var minShare: Double = 0

    /// Checks that exactly one source is named.
    func validateSource() throws {
        let named = [chips, bigearthnet, bigearthnetV2].compactMap { $0 }
        guard named.count == 1 else {
            throw ValidationError("name one data source: --chips, --bigearthnet or --bigearthnet-v2.")
        }
        if bigearthnetV2 != nil && referenceMaps == nil {
            throw ValidationError("--bigearthnet-v2 needs --reference-maps.")
        }
        guard (0..<1).contains(minShare) else { throw ValidationError("--min-share lies in [0, 1).") }
    }

    /// Opens the source with `bands` and `nomenclature`.
    func source(bands: [SpectralBand], nomenclature: Nomenclature) throws -> any MultiLabelSource {
        let excluded = try exclude.reduce(into: Set<String>()) { set, path in
            set.formUnion(try BigEarthNet.readPatchList(URL(fileURLWithPath: path)))
        }
        let split = splitFile.map { URL(fileURLWithPath: $0) }
        if let chips {
            return try ChipStoreSource(
                store: ChipStore(URL(fileURLWithPath: chips)), nomenclature: nomenclature, minimumShare: minShare,
                selecting: bands)
        }
        if let bigearthnet {
            return try BigEarthNetV1Source(
                root: URL(fileURLWithPath: bigearthnet), bands: bands, nomenclature: nomenclature, splitFile: split,
                excluding: excluded)
        }
        return try BigEarthNetV2Source(
            patches: URL(fileURLWithPath: bigearthnetV2!), referenceMaps: URL(fileURLWithPath: referenceMaps!),
            bands: bands, nomenclature: nomenclature, splitFile: split, excluding: excluded)
    }

    /// Parses a comma-separated band list.
    static func bands(_ text: String) throws -> [SpectralBand] {
        let bands = try text.split(separator: ",").map {
            guard let band = SpectralBand(String($0)) else {
                throw ValidationError("unknown band '\($0)' (expected names like B04, B8A).")
            }
            return band
        }
        guard !bands.isEmpty, Set(bands.map(\.name)).count == bands.count else {
            throw ValidationError("list each band once.")
        }
        return bands
    }

    /// The nomenclature for `--level` (1, 2, 3) or a nomenclature id.
    static func nomenclature(_ text: String) throws -> Nomenclature {
        if let level = Int(text), let corine = CorineLevel(rawValue: level) { return .corine(corine) }
        guard let nomenclature = Nomenclature.named(text) else {
            throw ValidationError(
                "unknown level '\(text)' (1, 2, 3, or one of \(Nomenclature.all.map(\.id).joined(separator: ", "))).")
        }
        return nomenclature
    }
}
