import Foundation

/// A chip store as a multi-label source: labels from each chip's class pixel counts, images from the store.
///
/// A class is a label of a chip when its pixels, aggregated to the nomenclature (level 1 sums its level-3
/// members), cover more than `minimumShare` of the chip's labelled pixels. The split is the stored one.
public final class ChipStoreSource: MultiLabelSource, Sendable {
    /// The store read.
    public let store: ChipStore
    /// The bands read, in image order: all stored bands or a selection of them.
    public let bands: [SpectralBand]
    /// The stored plane of each band read.
    private let planes: [Int]
    /// Labels are indices of this nomenclature.
    public let nomenclature: Nomenclature
    /// A class must cover more than this share (0...1) of a chip's labelled pixels to be a label.
    public let minimumShare: Double
    /// Label set of each chip.
    private let labelMasks: [LabelMask]

    /// Labels at CORINE `level` from classes covering more than `minimumShare` of each chip's labelled pixels.
    public convenience init(store: ChipStore, level: CorineLevel, minimumShare: Double = 0) throws {
        try self.init(store: store, nomenclature: .corine(level), minimumShare: minimumShare)
    }

    /// Labels in any nomenclature (CORINE level 1/2/3, BigEarthNet-43 or -19) from classes covering more than
    /// `minimumShare` of each chip's labelled pixels; level-3 classes the nomenclature drops count as unlabelled.
    /// `selecting` picks stored bands (in any order); nil reads them all.
    public init(
        store: ChipStore, nomenclature: Nomenclature, minimumShare: Double = 0, selecting: [SpectralBand]? = nil
    ) throws {
        precondition((0..<1).contains(minimumShare), "minimumShare \(minimumShare) is outside 0..<1.")
        nomenclature.requireMaskable()
        var bands: [SpectralBand] = []
        for name in store.manifest.bands {
            guard let band = SpectralBand(name) else {
                throw ChipStoreError(path: store.url.path, problem: "band \"\(name)\" is not a Sentinel-2 band")
            }
            bands.append(band)
        }
        let selected = selecting ?? bands
        planes = try selected.map { band in
            guard let plane = bands.firstIndex(of: band) else {
                throw ChipStoreError(
                    path: store.url.path,
                    problem: "holds bands \(bands.map(\.name).joined(separator: ",")), not \(band.name)")
            }
            return plane
        }
        self.store = store
        self.bands = selected
        self.nomenclature = nomenclature
        self.minimumShare = minimumShare
        labelMasks = try store.records.map { record in
            var pixels = [Int](repeating: 0, count: nomenclature.count + 1)
            for (key, count) in record.classes {
                guard let gridCode = Int(key), Corine.byGridCode(gridCode) != nil else {
                    throw ChipStoreError(
                        path: store.url.path, problem: "chip \(record.index) has class \"\(key)\", not a grid code")
                }
                pixels[nomenclature.index(ofLevel3: gridCode) ?? 0] += count
            }
            let labelled = pixels.dropFirst().reduce(0, +)
            var mask = LabelMask()
            guard labelled > 0 else { return mask }
            for index in 1..<pixels.count where Double(pixels[index]) / Double(labelled) > minimumShare {
                mask.insert(index)
            }
            return mask
        }
    }

    /// Number of chips.
    public var count: Int { store.count }

    /// Chip side in pixels.
    public var size: Int { store.manifest.chipSize }

    /// "<product>_<row>_<column>": the source product and the chip's top-left pixel in its 10 m grid.
    public func identifier(at index: Int) -> String {
        let record = store.records[index]
        let product =
            store.manifest.products.indices.contains(record.product)
            ? store.manifest.products[record.product].name : "product\(record.product)"
        return "\(product)_\(record.row)_\(record.column)"
    }

    /// The stored split.
    public func split(at index: Int) -> ChipSplit? { store.records[index].split }

    /// The chip's classes in `nomenclature`, ascending.
    public func labels(at index: Int) -> [Int] { labelMasks[index].indices }

    /// Reads the stored image as reflectance (stored value / 10000, 0 = no data) `[bands, size, size]`.
    public func readImage(at index: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        precondition(
            buffer.count == imageElementCount,
            "Image buffer of \(buffer.count) values is not [\(bands.count), \(size), \(size)].")
        let divisor = Float(1 / store.manifest.imageScale)
        let area = size * size
        store.withImage(index) { stored in
            for (position, plane) in planes.enumerated() {
                for i in 0..<area { buffer[position * area + i] = Float(stored[plane * area + i]) / divisor }
            }
        }
    }

    /// The chip's square on the ground in the store's CRS.
    public func footprint(at index: Int) throws -> Footprint? {
        let record = store.records[index]
        let manifest = store.manifest
        let side = Double(manifest.chipSize) * manifest.pixelSize
        return Footprint(
            crsWKT: manifest.crsWKT, minX: record.originX, minY: record.originY - side, maxX: record.originX + side,
            maxY: record.originY)
    }
}
