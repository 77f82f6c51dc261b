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
    public var chipGrid: (rows: Int, columns: Int) { Self.chipGrid(of: image.grid, configuration: configuration) }

    /// Chip rows and columns of `configuration` that fit whole on `grid`.
    static func chipGrid(of grid: RasterGrid, configuration: ChipperConfiguration) -> (rows: Int, columns: Int) {
        let size = configuration.chipSize
        let stride = configuration.stride
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
        let width = image.grid.width
        let cutter = ChipCutter(
            size: size, bandCount: image.bandNames.count, storedValues: Self.storedValueTable(for: image),
            integerOffsets: Self.integerOffsets(for: image))
        progress(
            ChipProgress(
                rowsDone: writer.resumePosition, rowsTotal: rows, chipsStored: writer.chipCount,
                chipsRejected: statistics.rejected))

        let reader = StripReader(
            image: image, labels: labels, rows: writer.resumePosition..<rows,
            window: Self.stripWindow(configuration: configuration, width: width))
        defer { reader.cancel() }
        for chipRow in writer.resumePosition..<rows {
            var strip = try reader.next()
            let hasNoData = cutter.storeValues(of: &strip)
            let top = chipRow * configuration.stride
            for chipColumn in 0..<columns {
                let left = chipColumn * configuration.stride
                let (invalid, cloudy) = cutter.cut(strip, left: left, width: width, hasNoData: hasNoData)
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
                    image: UnsafeBufferPointer(cutter.image), labels: UnsafeBufferPointer(cutter.labels),
                    valid: UnsafeBufferPointer(cutter.valid), size: size, training: split == .train)
                let origin = image.grid.geoTransform.map(column: Double(left), row: Double(top))
                let record = ChipRecord(
                    index: writer.chipCount, product: 0, row: top, column: left, originX: origin.x, originY: origin.y,
                    split: split, validFraction: 1 - invalidFraction, cloudFraction: cloudFraction,
                    classes: classCounts)
                try writer.append(
                    image: UnsafeBufferPointer(cutter.image), labels: UnsafeBufferPointer(cutter.labels), record: record
                )
            }
            reader.recycle(strip)
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

    /// The pixel window of a chip row's strip: `chipSize` rows across the whole grid.
    static func stripWindow(configuration: ChipperConfiguration, width: Int) -> @Sendable (Int) -> PixelWindow {
        let size = configuration.chipSize
        let stride = configuration.stride
        return { PixelWindow(column: 0, row: $0 * stride, width: width, height: size) }
    }

    /// Per band, the whole number `storedValueTable` adds to a DN when the quantification value is 10 000 and every
    /// offset a whole number (the stored value is then `clamp(DN + offset, 1, 65535)`); nil otherwise.
    static func integerOffsets(for image: ChipImageSource) -> [Int32]? {
        let record = image.productRecord
        guard record.quantificationValue == 10_000 else { return nil }
        let offsets = image.bandNames.map { record.offsets[$0] ?? 0 }
        guard offsets.allSatisfy({ $0 == $0.rounded() && abs($0) <= 65536 }) else { return nil }
        return offsets.map { Int32($0) }
    }

    /// The stored value of every DN, band after band (`[bands, 65536]`): reflectance × 10000 with the product's
    /// offset applied and scaled to a quantification of 10000, clamped to 1…65535; DN 0 (no data) stays 0.
    static func storedValueTable(for image: ChipImageSource) -> [UInt16] {
        let record = image.productRecord
        // Stored values are reflectance × 10000 whatever the product's quantification value.
        let scale = 10_000 / record.quantificationValue
        return image.bandNames.flatMap { name in
            let offset = record.offsets[name] ?? 0
            return (0...Int(UInt16.max)).map { dn in
                dn == 0 ? 0 : UInt16(min(max((Double(dn) + offset) * scale, 1), 65535))
            }
        }
    }
}

/// Cuts chips out of strips into buffers reused from chip to chip: stored image values `[bands, size, size]`,
/// labels and the validity mask `[size, size]`.
private final class ChipCutter {
    let size: Int
    /// The last chip's stored values.
    let image: UnsafeMutableBufferPointer<UInt16>
    /// The last chip's labels.
    let labels: UnsafeMutableBufferPointer<UInt8>
    /// The last chip's validity: a label, image data in every band and no cloud.
    let valid: UnsafeMutableBufferPointer<Bool>
    private let bandCount: Int
    /// `Chipper.storedValueTable`: the stored value of every DN, `[bands, 65536]`.
    private let storedValues: [UInt16]
    /// Per band, the whole number added to a DN to store it, when that is all there is to it (a quantification value
    /// of 10 000); nil: the stored values are looked up in `storedValues`.
    private let integerOffsets: [Int32]?

    init(size: Int, bandCount: Int, storedValues: [UInt16], integerOffsets: [Int32]?) {
        precondition(storedValues.count == bandCount << 16, "One stored value per DN and band.")
        self.size = size
        self.bandCount = bandCount
        self.storedValues = storedValues
        self.integerOffsets = integerOffsets
        image = .allocate(capacity: bandCount * size * size)
        labels = .allocate(capacity: size * size)
        valid = .allocate(capacity: size * size)
    }

    deinit {
        image.deallocate()
        labels.deallocate()
        valid.deallocate()
    }

    /// Turns the DNs of `strip` into stored values in place, one band at a time; returns whether any pixel has no
    /// data (DN 0, which stays 0 while every other DN is stored as 1 or more).
    func storeValues(of strip: inout ChipStrip) -> Bool {
        let plane = strip.image.count / bandCount
        return strip.image.withUnsafeMutableBufferPointer { image in
            storedValues.withUnsafeBufferPointer { storedValues in
                for band in 0..<bandCount {
                    let values = UnsafeMutableBufferPointer(rebasing: image[(band * plane)..<((band + 1) * plane)])
                    if let offset = integerOffsets?[band] {
                        Self.store(values, adding: offset)
                    } else {
                        let table = storedValues.baseAddress! + (band << 16)
                        for i in values.indices { values[i] = table[Int(values[i])] }
                    }
                }
            }
            return image.min() == 0
        }
    }

    /// Cuts the chip whose left edge is column `left` out of `strip` (`width` columns wide), whose image holds
    /// stored values (`storeValues(of:)`, which tells `hasNoData`); returns how many of the chip's pixels are invalid
    /// and how many are cloudy.
    func cut(_ strip: ChipStrip, left: Int, width: Int, hasNoData: Bool) -> (invalid: Int, cloudy: Int) {
        let size = size
        strip.labels.withUnsafeBufferPointer { stripLabels in
            for y in 0..<size {
                for x in 0..<size {
                    let label = stripLabels[y * width + left + x]
                    labels[y * size + x] = label
                    valid[y * size + x] = label != 0
                }
            }
        }
        var cloudy = 0
        strip.invalid?.withUnsafeBufferPointer { stripInvalid in
            for y in 0..<size {
                for x in 0..<size where stripInvalid[y * width + left + x] {
                    cloudy += 1
                    valid[y * size + x] = false
                }
            }
        }
        strip.image.withUnsafeBufferPointer { stripImage in
            for band in 0..<bandCount {
                for y in 0..<size {
                    let source = UnsafeBufferPointer(
                        rebasing: stripImage[((band * size + y) * width + left)...].prefix(size))
                    let target = (band * size + y) * size
                    _ = UnsafeMutableBufferPointer(rebasing: image[target..<(target + size)]).initialize(from: source)
                    // Stored value 0 is no data, in any band.
                    if hasNoData {
                        for x in 0..<size where source[x] == 0 { valid[y * size + x] = false }
                    }
                }
            }
        }
        var invalid = 0
        for flag in valid where !flag { invalid += 1 }
        return (invalid, cloudy)
    }

    /// `clamp(DN + offset, 1, 65535)` in place, 0 for DN 0: the table's values when the quantification value is
    /// 10 000, computed without branches so that the loop vectorises.
    private static func store(_ values: UnsafeMutableBufferPointer<UInt16>, adding offset: Int32) {
        for i in 0..<values.count {
            let dn = Int32(values[i])
            values[i] = UInt16(truncatingIfNeeded: dn == 0 ? 0 : min(max(dn &+ offset, 1), 65535))
        }
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

    /// The level-3 → level-1/2/3 lookup tables, in level order.
    private static let levelTables = CorineLevel.allCases.map { Nomenclature.corine($0).level3LookupTable }

    /// Adds one stored chip; returns its level-3 class counts for the chip record.
    ///
    /// Per chip, band sums are taken in integers: every partial sum stays below 2^53, so they equal the
    /// pixel-by-pixel sums in `Double`.
    mutating func add(
        image: UnsafeBufferPointer<UInt16>, labels: UnsafeBufferPointer<UInt8>, valid: UnsafeBufferPointer<Bool>,
        size: Int, training: Bool
    ) -> [String: Int] {
        var counts = [Int](repeating: 0, count: 256)
        // By runs: CORINE's 100 m pixels make long runs of one label along a row of 10 m pixels.
        var start = 0
        while start < labels.count {
            let label = labels[start]
            var end = start + 1
            while end < labels.count && labels[end] == label { end += 1 }
            counts[Int(label)] += end - start
            start = end
        }
        var classes: [String: Int] = [:]
        var present: [Set<Int>] = [[], [], []]
        for index in 1..<45 where counts[index] > 0 {
            classes[String(index)] = counts[index]
            level3Pixels[index] += counts[index]
            for (level, table) in Self.levelTables.enumerated() { present[level].insert(Int(table[index])) }
        }
        level3Pixels[0] += counts[0]
        for level in 0..<3 { for index in present[level] { images[level][index] += 1 } }
        guard training else {
            validation += 1
            return classes
        }
        train += 1
        let pixels = size * size
        let allValid = !valid.contains(false)
        for band in 0..<count.count {
            // Wrapping arithmetic cannot wrap here (≤ 14 400 values below 2^16 a chip) and lets the loops vectorise.
            var bandSum = 0
            var bandSquares = 0
            var bandCount = 0
            var low = Int.max
            var high = Int.min
            let values = UnsafeBufferPointer(rebasing: image[(band * pixels)..<((band + 1) * pixels)])
            if allValid {
                for value in values {
                    let value = Int(value)
                    bandSum &+= value
                    bandSquares &+= value &* value
                    low = min(low, value)
                    high = max(high, value)
                }
                bandCount = pixels
            } else {
                for (value, ok) in zip(values, valid) where ok {
                    let value = Int(value)
                    bandSum &+= value
                    bandSquares &+= value &* value
                    bandCount &+= 1
                    low = min(low, value)
                    high = max(high, value)
                }
            }
            guard bandCount > 0 else { continue }
            sum[band] += Double(bandSum)
            sumOfSquares[band] += Double(bandSquares)
            count[band] += bandCount
            minimum[band] = min(minimum[band], Double(low))
            maximum[band] = max(maximum[band], Double(high))
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
    /// Reads every strip a chipping run of `image` reads, in the same order and the same way (ahead, on a background
    /// thread), and does nothing else: the decode-alone baseline of `landcover bench chip`. Returns the number of
    /// strips read.
    public static func readStrips(of image: ChipImageSource, configuration: ChipperConfiguration = .init()) throws
        -> Int
    {
        let rows = chipGrid(of: image.grid, configuration: configuration).rows
        let reader = StripReader(
            image: image, labels: nil, rows: 0..<rows,
            window: stripWindow(configuration: configuration, width: image.grid.width))
        defer { reader.cancel() }
        for _ in 0..<rows { reader.recycle(try reader.next()) }
        return rows
    }
}
