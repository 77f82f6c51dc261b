import GeoRaster

/// One interface for every multi-label training source.
///
/// A source is a fixed, indexed list of `size`×`size` images with the set of classes present in each. Sources read
/// images on demand; labels, identifiers and splits are known from construction on.
public protocol MultiLabelSource: AnyObject {
    /// Number of images.
    var count: Int { get }
    /// The bands of every image, in image order.
    var bands: [SpectralBand] { get }
    /// Image side in pixels (120).
    var size: Int { get }
    /// The class list labels refer to: labels are indices 1...nomenclature.count.
    var nomenclature: Nomenclature { get }
    /// The name of image `index`: a patch name or a chip id.
    func identifier(at index: Int) -> String
    /// The official or stored split of image `index`, nil when the source has none for it.
    func split(at index: Int) -> ChipSplit?
    /// The classes present in image `index`: ascending indices in 1...nomenclature.count.
    func labels(at index: Int) -> [Int]
    /// Reflectance (DN/10000 after the product offset; 0 = no data) `[bands, size, size]` into `buffer`.
    func readImage(at index: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Where image `index` lies on the ground, when the source knows; nil otherwise.
    func footprint(at index: Int) throws -> Footprint?
}

/// The ground rectangle of an image in its CRS.
public struct Footprint: Sendable, Equatable, Codable {
    /// The CRS as WKT.
    public var crsWKT: String
    /// The rectangle's corners in CRS units.
    public var minX: Double
    public var minY: Double
    public var maxX: Double
    public var maxY: Double

    /// A footprint.
    public init(crsWKT: String, minX: Double, minY: Double, maxX: Double, maxY: Double) {
        self.crsWKT = crsWKT
        self.minX = minX
        self.minY = minY
        self.maxX = maxX
        self.maxY = maxY
    }

    /// The footprint of a whole raster grid (any geotransform without rotation).
    public init(grid: RasterGrid) {
        let transform = grid.geoTransform
        let xs = [transform.originX, transform.originX + Double(grid.width) * transform.pixelWidth]
        let ys = [transform.originY, transform.originY + Double(grid.height) * transform.pixelHeight]
        self.init(crsWKT: grid.crsWKT, minX: xs.min()!, minY: ys.min()!, maxX: xs.max()!, maxY: ys.max()!)
    }
}

extension MultiLabelSource {
    /// Sources without georeference have no footprints.
    public func footprint(at index: Int) throws -> Footprint? { nil }

    /// Number of values of one image: `bands.count * size * size`.
    public var imageElementCount: Int { bands.count * size * size }

    /// Image `index`'s labels as a multi-hot vector `[nomenclature.count]`: element `i - 1` is 1 for label `i`.
    public func labelVector(at index: Int) -> [Float] {
        var vector = [Float](repeating: 0, count: nomenclature.count)
        for label in labels(at: index) { vector[label - 1] = 1 }
        return vector
    }

    /// The indices of the images in `split`, ascending.
    public func indices(in split: ChipSplit) -> [Int] {
        (0..<count).filter { self.split(at: $0) == split }
    }

    /// A newly allocated copy of image `index`, `[bands, size, size]`.
    public func image(at index: Int) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: imageElementCount) { buffer, initialized in
            try readImage(at: index, into: buffer)
            initialized = buffer.count
        }
    }
}

/// A problem with a training source: a one-line message naming the file and what is wrong.
public struct MultiLabelSourceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The message, for example "…/S2A_…_labels_metadata.json: unknown BigEarthNet label \"Glaciers\"".
    public let message: String

    /// Creates an error with a one-line message.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

/// The set of labels of one image, as a bit mask over nomenclature indices (bit `i - 1` = index `i`).
///
/// Every nomenclature has at most 44 classes, so one word holds any label set compactly (590 k patches = 4.7 MB).
struct LabelMask: Sendable, Equatable {
    /// The bits.
    var bits: UInt64 = 0

    /// Adds class `index` (1...64).
    mutating func insert(_ index: Int) {
        precondition((1...64).contains(index), "Class index \(index) does not fit a label mask.")
        bits |= 1 << UInt64(index - 1)
    }

    /// The indices, ascending.
    var indices: [Int] {
        var result: [Int] = []
        result.reserveCapacity(bits.nonzeroBitCount)
        var remaining = bits
        while remaining != 0 {
            let bit = remaining.trailingZeroBitCount
            result.append(bit + 1)
            remaining &= remaining - 1
        }
        return result
    }

    /// The label set in `nomenclature` of the CORINE level-3 classes (grid codes) in `level3`; dropped classes vanish.
    static func mapping(level3: LabelMask, to nomenclature: Nomenclature) -> LabelMask {
        var mask = LabelMask()
        for gridCode in level3.indices {
            if let index = nomenclature.index(ofLevel3: gridCode) { mask.insert(index) }
        }
        return mask
    }
}

extension Nomenclature {
    /// Checks that label sets of this nomenclature fit a `LabelMask`.
    func requireMaskable() {
        precondition(count <= 64, "Nomenclature \(id) has \(count) classes; sources support at most 64.")
    }
}

/// A multi-label source that also knows every pixel's class: the segmenter's training data.
public protocol SegmentationSource: MultiLabelSource {
    /// Image `index`'s pixel classes as CORINE level-3 indices (grid codes 1…44, 0 = no data) `[size * size]`.
    func level3Map(at index: Int) throws -> [UInt8]
}

extension SegmentationSource {
    /// Image `index`'s pixel classes as indices of `nomenclature` (0 = no data or a class it drops) `[size * size]`.
    public func pixelLabels(at index: Int) throws -> [UInt8] {
        let table = nomenclature.level3LookupTable
        return try level3Map(at: index).map { table[Int($0)] }
    }
}

extension ChipStoreSource: SegmentationSource {
    /// The chip's stored labels.
    public func level3Map(at index: Int) throws -> [UInt8] { store.labels(index) }
}

extension BigEarthNetV2Source: SegmentationSource {
    /// The patch's reference map.
    public func level3Map(at index: Int) throws -> [UInt8] { try referenceMap(at: index) }
}
