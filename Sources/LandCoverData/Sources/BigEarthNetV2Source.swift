import Foundation

/// BigEarthNet v2 (reBEN, 2024) patch folders as a multi-label source, labels derived from the reference maps.
///
/// Layout: `patches/<tile_product>/<patch_id>/<patch_id>_B01.tif … _B12.tif`, `_B8A.tif` (10 m bands 120², 20 m
/// 60², 60 m 20²) and `referenceMaps/<tile_product>/<patch_id>/<patch_id>_reference_map.tif` (CLC 3-digit codes,
/// 120² at 10 m). At init the patch folders are listed and every reference map is read once to find the classes
/// present (one small GeoTIFF per patch: minutes for the whole archive); images are read on demand, every band
/// brought to 120² by pixel replication. Reference-map values that are not a CLC level-3 code (999 = no data, 0,
/// anything else) count as no data.
public final class BigEarthNetV2Source: MultiLabelSource, Sendable {
    /// The folder of tile-product folders holding the patch folders (`BigEarthNet-S2`).
    public let patchesRoot: URL
    /// The folder of tile-product folders holding the reference maps (`Reference_Maps`).
    public let referenceMapsRoot: URL
    /// The bands read, in image order.
    public let bands: [SpectralBand]
    /// Labels are indices of this nomenclature; classes it drops (e.g. 122 in BigEarthNet-19) vanish.
    public let nomenclature: Nomenclature
    /// DN offset added before dividing by 10000 (0, or −1000 for patches that carry sen2cor's `BOA_ADD_OFFSET`).
    public let offset: Double
    /// Patch side in 10 m pixels.
    public var size: Int { 120 }

    /// Where a patch lives.
    private struct Patch: Sendable {
        var tileProduct: String
        var id: String
    }

    /// Patches sorted by tile product, then patch id.
    private let patches: [Patch]
    /// Label set of each patch in `nomenclature`.
    private let labelMasks: [LabelMask]
    /// Official split of each patch, nil when no split file was given or it does not list the patch.
    private let patchSplits: [PatchSplit?]

    /// Lists the patches under `patches` (minus `excluding`) and derives their labels from the reference maps.
    ///
    /// - Parameters:
    ///   - splitFile: a `patch_id,split` CSV (see `BigEarthNet.readSplits`, which shows the one-line pandas
    ///     conversion of the official `metadata.parquet`). Test patches have `split(at:)` nil, so training never
    ///     sees them; `patchSplit(at:)` tells them apart. Without a split file every `split(at:)` is nil.
    ///   - excluding: patch ids to leave out (`BigEarthNet.readPatchList`), e.g. those that `metadata.parquet`
    ///     flags `contains_seasonal_snow` or `contains_cloud_or_shadow`.
    ///   - offset: DN offset applied to valid pixels before dividing by 10000. reBEN's archive records no
    ///     `BOA_ADD_OFFSET`; the default 0 reads DN / 10000, pass −1000 if the patches carry the offset.
    public init(
        patches: URL, referenceMaps: URL, bands: [SpectralBand] = SpectralBand.rgb,
        nomenclature: Nomenclature = .bigEarthNet19, splitFile: URL? = nil, excluding: Set<String> = [],
        offset: Double = 0
    ) throws {
        try PatchFiles.validate(bands, for: "BigEarthNet v2")
        nomenclature.requireMaskable()
        self.patchesRoot = patches
        self.referenceMapsRoot = referenceMaps
        self.bands = bands
        self.nomenclature = nomenclature
        self.offset = offset
        var found: [Patch] = []
        for tileProduct in try PatchFiles.subdirectories(of: patches) {
            for id in try PatchFiles.subdirectories(of: patches.appendingPathComponent(tileProduct))
            where !excluding.contains(id) {
                found.append(Patch(tileProduct: tileProduct, id: id))
            }
        }
        self.patches = found
        labelMasks = try found.map { patch in
            let map = try Self.readReferenceMap(Self.referenceMapURL(of: patch, in: referenceMaps), size: 120)
            var level3 = LabelMask()
            var seen = [Bool](repeating: false, count: 256)
            for gridCode in map where gridCode != 0 && !seen[Int(gridCode)] {
                seen[Int(gridCode)] = true
                level3.insert(Int(gridCode))
            }
            return LabelMask.mapping(level3: level3, to: nomenclature)
        }
        let splits = try splitFile.map(BigEarthNet.readSplits) ?? [:]
        patchSplits = found.map { splits[$0.id] }
    }

    /// Grid code (1...44) by CLC code (0...999); 0 for 999 (no data) and every value that is not a class.
    private static let gridCodeByCLCCode: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 1000)
        for corineClass in Corine.classes { table[corineClass.code] = UInt8(corineClass.gridCode) }
        return table
    }()

    private static func referenceMapURL(of patch: Patch, in root: URL) -> URL {
        root.appendingPathComponent(patch.tileProduct).appendingPathComponent(patch.id)
            .appendingPathComponent("\(patch.id)_reference_map.tif")
    }

    /// Reads a reference map of CLC codes as level-3 indices (grid codes), 0 = no data.
    private static func readReferenceMap(_ url: URL, size: Int) throws -> [UInt8] {
        let codes = try PatchFiles.read(url.path, size: size, as: UInt16.self)
        return codes.map { $0 < 1000 ? gridCodeByCLCCode[Int($0)] : 0 }
    }

    /// Number of patches.
    public var count: Int { patches.count }

    /// The patch id, e.g. "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_26_57".
    public func identifier(at index: Int) -> String { patches[index].id }

    /// The tile product folder of patch `index`, e.g. "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP".
    public func tileProduct(at index: Int) -> String { patches[index].tileProduct }

    /// The official split (test → nil: held out), or nil without a split file.
    public func split(at index: Int) -> ChipSplit? { patchSplits[index]?.chipSplit }

    /// The official split including test, or nil when no split file was given or it does not list the patch.
    public func patchSplit(at index: Int) -> PatchSplit? { patchSplits[index] }

    /// The classes present in the patch's reference map, in `nomenclature`, ascending.
    public func labels(at index: Int) -> [Int] { labelMasks[index].indices }

    /// The reference map of patch `index` as CORINE level-3 indices (grid codes 1...44, 0 = no data) `[size * size]`.
    public func referenceMap(at index: Int) throws -> [UInt8] {
        try Self.readReferenceMap(Self.referenceMapURL(of: patches[index], in: referenceMapsRoot), size: size)
    }

    /// Reads the bands as reflectance ((DN + offset) / 10000, 0 = no data) `[bands, 120, 120]`; coarser bands
    /// replicated.
    public func readImage(at index: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let patch = patches[index]
        let folder = patchesRoot.appendingPathComponent(patch.tileProduct).appendingPathComponent(patch.id)
        try PatchFiles.readImage(
            folder: folder, patch: patch.id, bands: bands, size: size, offset: Float(offset), into: buffer)
    }
}
