import Foundation
import GeoRaster

/// BigEarthNet v1 (BigEarthNet-S2 v1.0) patch folders as a multi-label source.
///
/// Layout: `root/<patch>/<patch>_B01.tif … _B12.tif` and `_B8A.tif` (10 m bands 120², 20 m bands 60², 60 m bands
/// 20²) beside `<patch>_labels_metadata.json`, whose `labels` are BigEarthNet-43 names. At init the patch folders
/// are listed and every labels JSON is read once (the whole archive is 590 k small files); images are read on
/// demand, every band brought to 120² by pixel replication. v1 patches come from sen2cor 2.x L2A products, which
/// add no radiometric offset: reflectance = DN / 10000.
public final class BigEarthNetV1Source: MultiLabelSource, Sendable {
    /// The folder holding the patch folders.
    public let root: URL
    /// The bands read, in image order.
    public let bands: [SpectralBand]
    /// Labels are indices of this nomenclature; BigEarthNet labels it drops (e.g. 122 in BigEarthNet-19) vanish.
    public let nomenclature: Nomenclature
    /// Patch side in 10 m pixels.
    public var size: Int { 120 }
    /// Patch names, sorted.
    private let patches: [String]
    /// Label set of each patch in `nomenclature`.
    private let labelMasks: [LabelMask]
    /// Official split of each patch, nil when no split file was given or it does not list the patch.
    private let patchSplits: [PatchSplit?]

    /// Lists the patches under `root` (minus `excluding`) and reads their labels.
    ///
    /// - Parameters:
    ///   - splitFile: a `patch,split` CSV or a directory of the official `train.csv`/`val.csv`/`test.csv`
    ///     (see `BigEarthNet.readSplits`). Test patches have `split(at:)` nil, so training never sees them;
    ///     `patchSplit(at:)` tells them apart. Without a split file every `split(at:)` is nil.
    ///   - excluding: patch names to leave out, e.g. `BigEarthNet.readPatchList` of the cloud and snow lists.
    public init(
        root: URL, bands: [SpectralBand] = SpectralBand.rgb, nomenclature: Nomenclature = .bigEarthNet19,
        splitFile: URL? = nil, excluding: Set<String> = []
    ) throws {
        try PatchFiles.validate(bands, for: "BigEarthNet v1")
        nomenclature.requireMaskable()
        self.root = root
        self.bands = bands
        self.nomenclature = nomenclature
        patches = try PatchFiles.subdirectories(of: root).filter { !excluding.contains($0) }
        let decoder = JSONDecoder()
        labelMasks = try patches.map { patch in
            let url = root.appendingPathComponent(patch).appendingPathComponent("\(patch)_labels_metadata.json")
            return try Self.readLabels(url, decoder: decoder, nomenclature: nomenclature)
        }
        let splits = try splitFile.map(BigEarthNet.readSplits) ?? [:]
        patchSplits = patches.map { splits[$0] }
    }

    /// The `labels` of a `*_labels_metadata.json`.
    private struct LabelsMetadata: Decodable {
        var labels: [String]
    }

    /// Reads a labels JSON and maps its BigEarthNet-43 names to `nomenclature`.
    private static func readLabels(_ url: URL, decoder: JSONDecoder, nomenclature: Nomenclature) throws -> LabelMask {
        let metadata: LabelsMetadata
        do {
            metadata = try decoder.decode(LabelsMetadata.self, from: Data(contentsOf: url))
        } catch {
            throw MultiLabelSourceError("\(url.path): not a BigEarthNet labels file (\(error.localizedDescription))")
        }
        var level3 = LabelMask()
        for label in metadata.labels {
            guard let gridCode = BigEarthNet.gridCode(ofLabel43: label) else {
                throw MultiLabelSourceError("\(url.path): \"\(label)\" is not a BigEarthNet-43 label")
            }
            level3.insert(gridCode)
        }
        return LabelMask.mapping(level3: level3, to: nomenclature)
    }

    /// Number of patches.
    public var count: Int { patches.count }

    /// The patch name, e.g. "S2A_MSIL2A_20170613T101031_87_48".
    public func identifier(at index: Int) -> String { patches[index] }

    /// The official split (test → nil: held out), or nil without a split file.
    public func split(at index: Int) -> ChipSplit? { patchSplits[index]?.chipSplit }

    /// The official split including test, or nil when no split file was given or it does not list the patch.
    public func patchSplit(at index: Int) -> PatchSplit? { patchSplits[index] }

    /// The patch's classes in `nomenclature`, ascending.
    public func labels(at index: Int) -> [Int] { labelMasks[index].indices }

    /// Reads the bands as reflectance (DN / 10000, 0 = no data) `[bands, 120, 120]`; 20 m and 60 m bands replicated.
    public func readImage(at index: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let patch = patches[index]
        try PatchFiles.readImage(
            folder: root.appendingPathComponent(patch), patch: patch, bands: bands, size: size, offset: 0,
            into: buffer)
    }

    /// The patch's footprint, from the georeference of its first band's GeoTIFF.
    public func footprint(at index: Int) throws -> Footprint? {
        let patch = patches[index]
        let path = root.appendingPathComponent(patch).appendingPathComponent("\(patch)_\(bands[0].name).tif").path
        return try Dataset.open(path).grid.map(Footprint.init(grid:))
    }
}
