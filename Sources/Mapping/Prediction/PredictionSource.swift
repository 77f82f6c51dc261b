import Foundation
import GeoRaster
import LandCoverData

/// The input of a whole-granule prediction: model-ready rows of a grid, read strip by strip.
public protocol PredictionSource: AnyObject {
    /// The grid the map is made on.
    var grid: RasterGrid { get }
    /// Input channels per pixel.
    var bandCount: Int { get }
    /// Reads the full-width rows `rows`: `input` `[bandCount, rows.count, grid.width]` normalised for the model
    /// (no-data pixels 0) and `valid` `[rows.count, grid.width]` (false = no data: the map gets 0 there).
    func read(rows: Range<Int>, input: UnsafeMutableBufferPointer<Float>, valid: UnsafeMutableBufferPointer<Bool>)
        throws
}

/// A Sentinel-2 product as model input, prepared as the training chips were: reflectance
/// clamp(DN + offset, 1, 65535) / quantification value, then (x − mean) / std per band (std 0 counts as 1).
///
/// A pixel is no data when any band's DN is 0 or, for L2A, when its scene classification is no data, defective,
/// cloud shadow, cloud, thin cirrus or snow (`SceneClass.isInvalid`); its input is 0 (the band mean).
public final class Sentinel2PredictionSource: PredictionSource {
    /// The product.
    public let product: Sentinel2Product
    /// The bands, in model channel order.
    public let bands: [SpectralBand]
    public var grid: RasterGrid { product.grid }
    public var bandCount: Int { bands.count }
    /// Whether L2A clouds, shadows and snow are masked.
    public let masksClouds: Bool
    private let reader: Sentinel2BandReader
    private let mean: [Float]
    private let scale: [Float]
    private let offsets: [Float]
    private var numbers: [UInt16] = []

    /// Opens `bands` of `product`; `mean` and `std` (reflectance, one per band) normalise, nil leaves reflectance.
    /// Fails with one line when the product lacks a band the model was trained on.
    public init(
        product: Sentinel2Product, bands: [SpectralBand], mean: [Float]? = nil, std: [Float]? = nil,
        modelPath: String = "the model"
    ) throws {
        precondition(mean.map { $0.count == bands.count } ?? true, "One mean per band.")
        precondition(std.map { $0.count == bands.count } ?? true, "One std per band.")
        let missing = bands.filter { !product.availableBands.contains($0) }
        guard missing.isEmpty else {
            let available = product.availableBands.map(\.name).joined(separator: ",")
            throw MappingError(
                path: product.path,
                problem: "lacks band \(missing.map(\.name).joined(separator: ",")) that \(modelPath) was trained on "
                    + "(model bands \(bands.map(\.name).joined(separator: ",")); product has \(available))")
        }
        self.product = product
        self.bands = bands
        masksClouds = product.level == .l2a && product.hasSceneClassification
        reader = try product.openReader(bands: bands, includeSceneClassification: masksClouds)
        self.mean = mean ?? [Float](repeating: 0, count: bands.count)
        let quantification = Float(product.quantificationValue)
        scale = (std ?? [Float](repeating: 1, count: bands.count)).map { 1 / (($0 == 0 ? 1 : $0) * quantification) }
        offsets = bands.map { Float(product.radiometricOffset($0)) }
    }

    public func read(
        rows: Range<Int>, input: UnsafeMutableBufferPointer<Float>, valid: UnsafeMutableBufferPointer<Bool>
    )
        throws
    {
        let window = PixelWindow(column: 0, row: rows.lowerBound, width: grid.width, height: rows.count)
        let plane = window.pixelCount
        precondition(input.count >= bands.count * plane && valid.count >= plane, "Buffers too small for \(rows).")
        if numbers.count < bands.count * plane { numbers = [UInt16](repeating: 0, count: bands.count * plane) }
        try numbers.withUnsafeMutableBufferPointer { try reader.read(window, into: $0) }
        for i in 0..<plane { valid[i] = true }
        if masksClouds {
            let classes = try reader.readSceneClassification(window)
            for i in 0..<plane where SceneClass.isInvalid(classes[i]) { valid[i] = false }
        }
        numbers.withUnsafeBufferPointer { numbers in
            for band in 0..<bands.count {
                let base = band * plane
                for i in 0..<plane where numbers[base + i] == 0 { valid[i] = false }
            }
            for band in 0..<bands.count {
                let base = band * plane
                let (offset, scale, mean) = (offsets[band], self.scale[band], self.mean[band] * self.scale[band])
                let quantification = Float(product.quantificationValue)
                for i in 0..<plane {
                    // (reflectance − mean) / std with reflectance = stored / q: stored · scale − mean · scale · q.
                    let stored = min(max(Float(numbers[base + i]) + offset, 1), 65535)
                    input[base + i] = valid[i] ? stored * scale - mean * quantification : 0
                }
            }
        }
    }
}
