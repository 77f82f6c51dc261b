import Foundation
import GeoRaster

/// Image bands of one product on its 10 m grid, as the chipper reads them.
public protocol ChipImageSource: AnyObject {
    /// The 10 m grid chips are cut from.
    var grid: RasterGrid { get }
    /// Band names in the order `read` returns them.
    var bandNames: [String] { get }
    /// The product, as recorded in the store.
    var productRecord: ChipProductRecord { get }
    /// Whether `readInvalidMask` returns a mask (L2A SCL).
    var hasCloudMask: Bool { get }
    /// Raw DNs of `window`, band-sequential `[bands, height, width]`; DN 0 = no data.
    func read(_ window: PixelWindow, into buffer: UnsafeMutableBufferPointer<UInt16>) throws
    /// Per pixel of `window` (`[height * width]`): true where cloud, shadow, snow or defective.
    func readInvalidMask(_ window: PixelWindow) throws -> [Bool]
}

/// Class labels on a grid (CORINE level-3 index, 0 = no data).
public protocol ChipLabelSource: AnyObject {
    /// Path recorded in the manifest.
    var path: String { get }
    /// Labels on `grid`, `[height * width]`.
    func labels(on grid: RasterGrid) throws -> [UInt8]
    /// Whether the layer overlaps `grid` at all.
    func overlaps(_ grid: RasterGrid) throws -> Bool
}

extension CorineSource: ChipLabelSource {}

/// Settings of a chipping run.
public struct ChipperConfiguration: Sendable, Equatable {
    /// Chip side in pixels.
    public var chipSize = 120
    /// Step between chips (equal to `chipSize`: no overlap).
    public var stride = 120
    /// Reject chips whose invalid share (no data, no label, cloud) exceeds this.
    public var maxInvalidFraction = 0.2
    /// Reject chips whose cloud/shadow/snow share exceeds this (L2A only).
    public var maxCloudFraction = 0.1
    /// Train/validation split.
    public var split = SplitRule.default

    /// Creates a configuration.
    public init(
        chipSize: Int = 120, stride: Int? = nil, maxInvalidFraction: Double = 0.2, maxCloudFraction: Double = 0.1,
        split: SplitRule = .default
    ) {
        self.chipSize = chipSize
        self.stride = stride ?? chipSize
        self.maxInvalidFraction = maxInvalidFraction
        self.maxCloudFraction = maxCloudFraction
        self.split = split
    }
}

/// Progress of a chipping run.
public struct ChipProgress: Sendable {
    /// Chip rows done.
    public var rowsDone: Int
    /// Chip rows in the product.
    public var rowsTotal: Int
    /// Chips stored so far.
    public var chipsStored: Int
    /// Chips rejected so far.
    public var chipsRejected: Int
}

/// Cuts aligned image/label chip pairs from one product and a label layer into a `ChipStore`,
/// streaming one row of chips at a time (memory: one strip of `chipSize` rows of every band).
public final class Chipper {
    private let image: ChipImageSource
    private let labels: ChipLabelSource
    /// The run's settings.
    public let configuration: ChipperConfiguration

    /// Creates a chipper.
    public init(image: ChipImageSource, labels: ChipLabelSource, configuration: ChipperConfiguration = .init()) {
        precondition(configuration.chipSize > 0 && configuration.stride > 0, "Chip size and stride must be positive.")
        self.image = image
        self.labels = labels
        self.configuration = configuration
    }

    /// Chip rows and columns that fit whole on the grid.
    public var chipGrid: (rows: Int, columns: Int) {
        let size = configuration.chipSize
        let stride = configuration.stride
        let grid = image.grid
        return (
            grid.height >= size ? (grid.height - size) / stride + 1 : 0,
            grid.width >= size ? (grid.width - size) / stride + 1 : 0
        )
    }

    /// The manifest header for this run (run key included).
    public func manifestHeader(version: String) -> ChipStoreManifest {
        let grid = image.grid
        let crs = try? CRS(grid.crsWKT)
        var manifest = ChipStoreManifest(
            createdBy: "landcover \(version)", runKey: "", products: [image.productRecord], corine: labels.path,
            crsWKT: grid.crsWKT, epsg: crs?.epsg, chipSize: configuration.chipSize, stride: configuration.stride,
            pixelSize: abs(grid.geoTransform.pixelWidth), bands: image.bandNames,
            maxInvalidFraction: configuration.maxInvalidFraction, maxCloudFraction: configuration.maxCloudFraction,
            split: configuration.split)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let key = (try? encoder.encode(manifest)) ?? Data()
        manifest.runKey = String(stableHash(key.map(UInt64.init) + [UInt64(key.count)]), radix: 16)
        return manifest
    }

    /// Runs (or resumes) chipping into `output`; returns the finished store.
    public func run(
        into output: URL, overwrite: Bool = false, version: String = "dev",
        progress: (ChipProgress) -> Void = { _ in }
    ) throws -> ChipStore {
        guard try labels.overlaps(image.grid) else {
            throw CorineError(path: labels.path, problem: "does not overlap the granule \(image.productRecord.name)")
        }
        let header = manifestHeader(version: version)
        let writer: ChipStoreWriter
        switch try ChipStoreWriter.prepare(output, manifest: header, overwrite: overwrite) {
        case .alreadyComplete(let store): return store
        case .writer(let prepared): writer = prepared
        }
        var statistics =
            writer.resumedAccumulators.flatMap { try? JSONDecoder().decode(ChipStatistics.self, from: $0) }
            ?? ChipStatistics(bandCount: image.bandNames.count)
        let (rows, columns) = chipGrid
        let size = configuration.chipSize
        let bandCount = image.bandNames.count
        let width = image.grid.width
        let offsets = image.bandNames.map { image.productRecord.offsets[$0] ?? 0 }
        // Stored values are reflectance × 10000 whatever the product's quantification value.
        let scale = 10_000 / image.productRecord.quantificationValue
        var strip = [UInt16](repeating: 0, count: bandCount * size * width)
        var chipImage = [UInt16](repeating: 0, count: bandCount * size * size)
        var chipLabels = [UInt8](repeating: 0, count: size * size)
        var valid = [Bool](repeating: false, count: size * size)
        progress(
            ChipProgress(
                rowsDone: writer.resumePosition, rowsTotal: rows, chipsStored: writer.chipCount,
                chipsRejected: statistics.rejected))

        for chipRow in writer.resumePosition..<rows {
            let top = chipRow * configuration.stride
            let stripWindow = PixelWindow(column: 0, row: top, width: width, height: size)
            try strip.withUnsafeMutableBufferPointer { try image.read(stripWindow, into: $0) }
            let stripLabels = try labels.labels(on: image.grid.subgrid(stripWindow))
            let stripInvalid = image.hasCloudMask ? try image.readInvalidMask(stripWindow) : nil

            for chipColumn in 0..<columns {
                let left = chipColumn * configuration.stride
                var invalid = 0
                var cloudy = 0
                // Labels, validity and cloud share.
                for y in 0..<size {
                    for x in 0..<size {
                        let source = y * width + left + x
                        let target = y * size + x
                        let label = stripLabels[source]
                        chipLabels[target] = label
                        var ok = label != 0
                        if let stripInvalid, stripInvalid[source] {
                            cloudy += 1
                            ok = false
                        }
                        valid[target] = ok
                    }
                }
                // Image values: reflectance × 10000 with the product offset applied; 0 stays no data.
                strip.withUnsafeBufferPointer { stripBuffer in
                    chipImage.withUnsafeMutableBufferPointer { chipBuffer in
                        for band in 0..<bandCount {
                            let offset = offsets[band]
                            for y in 0..<size {
                                let sourceRow = (band * size + y) * width + left
                                let targetRow = (band * size + y) * size
                                for x in 0..<size {
                                    let dn = stripBuffer[sourceRow + x]
                                    if dn == 0 {
                                        chipBuffer[targetRow + x] = 0
                                        valid[y * size + x] = false
                                    } else {
                                        let value = min(max((Double(dn) + offset) * scale, 1), 65535)
                                        chipBuffer[targetRow + x] = UInt16(value)
                                    }
                                }
                            }
                        }
                    }
                }
                for flag in valid where !flag { invalid += 1 }
                let pixels = Double(size * size)
                let invalidFraction = Double(invalid) / pixels
                let cloudFraction = Double(cloudy) / pixels
                if invalidFraction > configuration.maxInvalidFraction || cloudFraction > configuration.maxCloudFraction
                {
                    statistics.rejected += 1
                    continue
                }
                let split = configuration.split.split(product: 0, chipRow: chipRow, chipColumn: chipColumn)
                let classCounts = statistics.add(
                    image: chipImage, labels: chipLabels, valid: valid, size: size, training: split == .train)
                let origin = image.grid.geoTransform.map(column: Double(left), row: Double(top))
                let record = ChipRecord(
                    index: writer.chipCount, product: 0, row: top, column: left, originX: origin.x, originY: origin.y,
                    split: split, validFraction: 1 - invalidFraction, cloudFraction: cloudFraction,
                    classes: classCounts)
                try chipImage.withUnsafeBufferPointer { imageBuffer in
                    try chipLabels.withUnsafeBufferPointer { labelBuffer in
                        try writer.append(image: imageBuffer, labels: labelBuffer, record: record)
                    }
                }
            }
            try writer.checkpoint(position: chipRow + 1, accumulators: JSONEncoder().encode(statistics))
            progress(
                ChipProgress(
                    rowsDone: chipRow + 1, rowsTotal: rows, chipsStored: writer.chipCount,
                    chipsRejected: statistics.rejected))
        }
        var final = header
        statistics.fill(&final, bandNames: image.bandNames)
        return try writer.finish(final)
    }
}

/// Running sums behind the manifest's statistics; checkpointed so a resumed run gives the same numbers.
struct ChipStatistics: Codable {
    var count: [Int]
    var sum: [Double]
    var sumOfSquares: [Double]
    var minimum: [Double]
    var maximum: [Double]
    /// Pixel counts per level-3 index (0…44).
    var level3Pixels = [Int](repeating: 0, count: 45)
    /// Image counts per level (1…3) and class index.
    var images: [[Int]] = [6, 16, 45].map { [Int](repeating: 0, count: $0) }
    var train = 0
    var validation = 0
    var rejected = 0

    init(bandCount: Int) {
        count = Array(repeating: 0, count: bandCount)
        sum = Array(repeating: 0, count: bandCount)
        sumOfSquares = Array(repeating: 0, count: bandCount)
        // Stored values are UInt16, so these bounds are beaten by the first pixel (and encode in JSON).
        minimum = Array(repeating: 65536, count: bandCount)
        maximum = Array(repeating: -1, count: bandCount)
    }

    /// Adds one stored chip; returns its level-3 class counts for the chip record.
    mutating func add(image: [UInt16], labels: [UInt8], valid: [Bool], size: Int, training: Bool) -> [String: Int] {
        var counts = [Int](repeating: 0, count: 256)
        for label in labels { counts[Int(label)] += 1 }
        var classes: [String: Int] = [:]
        var present: [Set<Int>] = [[], [], []]
        let levels = CorineLevel.allCases.map { Nomenclature.corine($0).level3LookupTable }
        for index in 1..<45 where counts[index] > 0 {
            classes[String(index)] = counts[index]
            level3Pixels[index] += counts[index]
            for (level, table) in levels.enumerated() { present[level].insert(Int(table[index])) }
        }
        level3Pixels[0] += counts[0]
        for level in 0..<3 { for index in present[level] { images[level][index] += 1 } }
        if training {
            train += 1
            let pixels = size * size
            for band in 0..<count.count {
                var bandSum = 0.0
                var bandSquares = 0.0
                var bandCount = 0
                var low = minimum[band]
                var high = maximum[band]
                for i in 0..<pixels where valid[i] {
                    let value = Double(image[band * pixels + i])
                    bandSum += value
                    bandSquares += value * value
                    bandCount += 1
                    low = min(low, value)
                    high = max(high, value)
                }
                sum[band] += bandSum
                sumOfSquares[band] += bandSquares
                count[band] += bandCount
                minimum[band] = low
                maximum[band] = high
            }
        } else {
            validation += 1
        }
        return classes
    }

    /// Writes counts, band statistics and histograms at the three levels into `manifest`.
    func fill(_ manifest: inout ChipStoreManifest, bandNames: [String]) {
        manifest.trainCount = train
        manifest.validationCount = validation
        manifest.rejectedCount = rejected
        manifest.bandStatistics = bandNames.indices.map { band in
            let n = Double(max(count[band], 1))
            let mean = sum[band] / n
            return BandStatistics(
                band: bandNames[band], count: count[band], mean: mean,
                std: (max(sumOfSquares[band] / n - mean * mean, 0)).squareRoot(),
                min: count[band] > 0 ? minimum[band] : 0, max: count[band] > 0 ? maximum[band] : 0)
        }
        manifest.classHistograms = CorineLevel.allCases.map { level in
            let nomenclature = Nomenclature.corine(level)
            let table = nomenclature.level3LookupTable
            var pixels = [Int](repeating: 0, count: nomenclature.count + 1)
            for index in 0..<45 { pixels[Int(table[index])] += level3Pixels[index] }
            return ClassHistogram(nomenclature: nomenclature.id, pixels: pixels, images: images[level.rawValue - 1])
        }
    }
}

extension Chipper {
    /// Reads every strip a chipping run of `image` reads, in the same order and the same way, and does nothing
    /// else: the decode-alone baseline of `landcover bench chip`. Returns the number of strips read.
    public static func readStrips(of image: ChipImageSource, configuration: ChipperConfiguration = .init()) throws
        -> Int
    {
        let size = configuration.chipSize
        let width = image.grid.width
        let rows = image.grid.height >= size ? (image.grid.height - size) / configuration.stride + 1 : 0
        var strip = [UInt16](repeating: 0, count: image.bandNames.count * size * width)
        for chipRow in 0..<rows {
            let window = PixelWindow(column: 0, row: chipRow * configuration.stride, width: width, height: size)
            try strip.withUnsafeMutableBufferPointer { try image.read(window, into: $0) }
        }
        return rows
    }
}
