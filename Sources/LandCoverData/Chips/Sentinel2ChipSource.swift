import GeoRaster

/// A Sentinel-2 product's bands as a chip image source (the L2A SCL, when present, as the cloud mask).
public final class Sentinel2ChipSource: ChipImageSource {
    private let product: Sentinel2Product
    private let reader: Sentinel2BandReader
    /// Bands in storage order.
    public let bands: [SpectralBand]

    /// Opens a reader for `bands`; the SCL mask is used where the product has one.
    public init(product: Sentinel2Product, bands: [SpectralBand] = SpectralBand.rgb) throws {
        self.product = product
        self.bands = bands
        reader = try product.openReader(bands: bands, includeSceneClassification: product.hasSceneClassification)
    }

    public var grid: RasterGrid { product.grid }
    public var bandNames: [String] { bands.map(\.name) }
    public var hasCloudMask: Bool { product.hasSceneClassification }

    public var productRecord: ChipProductRecord {
        ChipProductRecord(
            name: product.productName, path: product.path, level: product.level.rawValue, tileID: product.tileID,
            sensingTime: product.sensingTime, processingBaseline: product.processingBaseline,
            quantificationValue: product.quantificationValue,
            offsets: Dictionary(uniqueKeysWithValues: bands.map { ($0.name, product.radiometricOffset($0)) }))
    }

    public func read(_ window: PixelWindow, into buffer: UnsafeMutableBufferPointer<UInt16>) throws {
        try reader.read(window, into: buffer)
    }

    public func readInvalidMask(_ window: PixelWindow) throws -> [Bool] {
        try reader.readSceneClassification(window).map { SceneClass(rawValue: $0)?.isInvalid ?? true }
    }
}
