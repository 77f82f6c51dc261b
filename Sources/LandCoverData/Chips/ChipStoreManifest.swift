import Foundation

/// How chips are divided into training and validation sets.
public enum SplitRule: Sendable, Codable, Equatable, CustomStringConvertible {
    /// Square blocks of `blockSize`×`blockSize` chips go to validation together (default: limits spatial leakage).
    case blocked(blockSize: Int, validationFraction: Double, seed: UInt64)
    /// Each chip independently (the paper's random 80/20).
    case random(validationFraction: Double, seed: UInt64)

    /// The default: blocks of 5×5 chips (6 km at 120 px), 20 % validation.
    public static let `default` = SplitRule.blocked(blockSize: 5, validationFraction: 0.2, seed: 0)

    /// The split of the chip at chip-grid position (`chipRow`, `chipColumn`) of product `product`.
    public func split(product: Int, chipRow: Int, chipColumn: Int) -> ChipSplit {
        let fraction: Double
        let key: [UInt64]
        switch self {
        case .blocked(let blockSize, let validationFraction, let seed):
            fraction = validationFraction
            key = [seed, UInt64(product), UInt64(chipRow / blockSize), UInt64(chipColumn / blockSize)]
        case .random(let validationFraction, let seed):
            fraction = validationFraction
            key = [seed &+ 0x9E37, UInt64(product), UInt64(chipRow), UInt64(chipColumn)]
        }
        let draw = Double(stableHash(key) >> 11) / Double(1 << 53)
        return draw < fraction ? .validation : .train
    }

    public var description: String {
        switch self {
        case .blocked(let size, let fraction, let seed):
            "blocked \(size)×\(size) chips, \(Int(fraction * 100)) % validation, seed \(seed)"
        case .random(let fraction, let seed): "random, \(Int(fraction * 100)) % validation, seed \(seed)"
        }
    }
}

/// A chip's role in training.
public enum ChipSplit: String, Sendable, Codable { case train, validation }

/// SplitMix64 over a list of words: a hash that is the same on every platform and run.
func stableHash(_ words: [UInt64]) -> UInt64 {
    var state: UInt64 = 0x243F_6A88_85A3_08D3
    for word in words {
        state = (state ^ word) &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        state = z ^ (z >> 31)
    }
    return state
}

/// The source product of chips, as recorded in a chip store.
public struct ChipProductRecord: Sendable, Codable, Equatable {
    /// Product name (PRODUCT_URI without `.SAFE`).
    public var name: String
    /// Path it was read from.
    public var path: String
    /// L1C or L2A.
    public var level: String
    /// MGRS tile, e.g. "35VMF".
    public var tileID: String?
    /// Sensing start, ISO 8601.
    public var sensingTime: String
    /// Processing baseline, e.g. "05.00".
    public var processingBaseline: String
    /// The product's quantification value (10000).
    public var quantificationValue: Double
    /// Radiometric offset per band name, already applied to the stored images.
    public var offsets: [String: Double]
}

/// Per-band pixel statistics over valid pixels of training chips, in stored units (reflectance × 10000).
public struct BandStatistics: Sendable, Codable, Equatable {
    /// Band name.
    public var band: String
    /// Number of pixels.
    public var count: Int
    /// Mean.
    public var mean: Double
    /// Standard deviation (population).
    public var std: Double
    /// Minimum.
    public var min: Double
    /// Maximum.
    public var max: Double
}

/// Class pixel and image counts at one CORINE level.
public struct ClassHistogram: Sendable, Codable, Equatable {
    /// Nomenclature id ("corine-l1", "corine-l2", "corine-l3").
    public var nomenclature: String
    /// Pixels per class index (index 0 = no data).
    public var pixels: [Int]
    /// Chips containing at least one pixel of the class, per class index (index 0 unused).
    public var images: [Int]
}

/// The JSON manifest of a chip store (`manifest.json`). See `Docs/formats.md`.
public struct ChipStoreManifest: Sendable, Codable, Equatable {
    /// The format version this code writes and the newest it reads.
    public static let currentVersion = 1
    /// Always "landcover-chipstore".
    public var format = "landcover-chipstore"
    /// Format version.
    public var version = ChipStoreManifest.currentVersion
    /// Version of landcover that wrote it.
    public var createdBy: String
    /// A hash of inputs and parameters: a re-run with the same key resumes or is a no-op.
    public var runKey: String
    /// Source products (chips refer to them by index).
    public var products: [ChipProductRecord]
    /// CORINE layer path and kind.
    public var corine: String
    /// CRS of the chips (WKT) and its EPSG code.
    public var crsWKT: String
    /// EPSG code of the CRS, where known.
    public var epsg: Int?
    /// Chip side in pixels (120).
    public var chipSize: Int
    /// Step between chips in pixels (120 = no overlap).
    public var stride: Int
    /// Pixel size in map units (10).
    public var pixelSize: Double
    /// Band names in storage order.
    public var bands: [String]
    /// Images are UInt16 reflectance × `1 / imageScale` with each product's offset applied; 0 = no data.
    public var imageScale: Double = 1e-4
    /// Labels are CORINE level-3 indices (grid codes 1…44); 0 = no data.
    public var labelNomenclature = "corine-l3"
    /// Chips with a larger share of invalid pixels (no image data, no label, cloud) were rejected.
    public var maxInvalidFraction: Double
    /// Chips with a larger share of cloud, shadow or snow (L2A SCL) were rejected.
    public var maxCloudFraction: Double
    /// Train/validation split rule.
    public var split: SplitRule
    /// Number of chips stored.
    public var chipCount: Int = 0
    /// Chips in each split.
    public var trainCount: Int = 0
    /// Chips in the validation split.
    public var validationCount: Int = 0
    /// Chips cut but rejected by the filters.
    public var rejectedCount: Int = 0
    /// Band statistics over valid pixels of training chips.
    public var bandStatistics: [BandStatistics] = []
    /// Class histograms at levels 1, 2 and 3 over all stored chips.
    public var classHistograms: [ClassHistogram] = []

    /// Bytes of one image chip.
    public var imageChipBytes: Int { bands.count * chipSize * chipSize * 2 }
    /// Bytes of one label chip.
    public var labelChipBytes: Int { chipSize * chipSize }
}

/// One chip in `chips.jsonl`.
public struct ChipRecord: Sendable, Codable, Equatable {
    /// Position in the arrays.
    public var index: Int
    /// Index into `manifest.products`.
    public var product: Int
    /// Top row of the chip in the product's 10 m grid.
    public var row: Int
    /// Left column of the chip in the product's 10 m grid.
    public var column: Int
    /// Map x of the chip's top-left corner.
    public var originX: Double
    /// Map y of the chip's top-left corner.
    public var originY: Double
    /// Training or validation.
    public var split: ChipSplit
    /// Share of pixels with image data, a label and no cloud.
    public var validFraction: Double
    /// Share of pixels flagged by SCL as cloud, shadow or snow (0 for L1C).
    public var cloudFraction: Double
    /// Level-3 class index (grid code) → pixel count in the chip.
    public var classes: [String: Int]

    /// Level-3 classes covering more than `minimumShare` of the chip's labelled pixels, ascending.
    public func labelSet(minimumShare: Double = 0) -> [Int] {
        let labelled = classes.values.reduce(0, +)
        guard labelled > 0 else { return [] }
        return classes.compactMap { key, count in
            Double(count) / Double(labelled) > minimumShare ? Int(key) : nil
        }.sorted()
    }
}
