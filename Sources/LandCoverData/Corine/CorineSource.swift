import Foundation
import GeoRaster

/// How a CORINE raster stores its classes: release U2018_CLC2018_V2020_20u1 stores grid codes 1…44, release
/// V2018_20 stores three-digit CLC codes 111…523.
public enum CorineEncoding: String, Sendable, Codable {
    /// Pixel values 1…44 (48 = no data, 49/50 unclassified, 255 outside).
    case gridCode = "grid-code"
    /// Pixel values 111…523 (999 = no data, 990/995 unclassified).
    case clcCode = "clc-code"
}

/// A CORINE Land Cover layer brought onto other grids as a level-3 class index (= grid code 1…44, 0 = no data).
public final class CorineSource: @unchecked Sendable {
    /// What kind of layer backs this source.
    public enum Kind: Sendable, Equatable {
        /// A raster with the given encoding.
        case raster(CorineEncoding)
        /// A vector layer whose text field holds the CLC code ("311").
        case vector(layer: String, field: String)
    }

    /// The path as given.
    public let path: String
    /// Raster (with its detected encoding) or vector layer.
    public let kind: Kind
    /// The layer's coordinate reference system.
    public let crs: CRS
    /// The open raster or vector dataset.
    let dataset: Dataset

    /// The raw pixel values that mean "no class" for each encoding.
    static let nonClassValues: [CorineEncoding: Set<Int>] = [
        .gridCode: [0, 48, 49, 50, 128, 255],
        .clcCode: [0, 990, 995, 999],
    ]

    /// Opens a CORINE raster (GeoTIFF of either release) or vector layer (GeoPackage with `Code_18`).
    public static func open(_ path: String) throws -> CorineSource {
        guard FileManager.default.fileExists(atPath: path) || GDAL.pathExists(path) else {
            throw CorineError(path: path, problem: "file not found")
        }
        if let raster = try? Dataset.open(path), raster.bandCount > 0 {
            guard let crs = raster.crs else {
                throw CorineError(path: path, problem: "has no coordinate reference system")
            }
            return CorineSource(path: path, kind: .raster(try detectEncoding(raster)), crs: crs, dataset: raster)
        }
        let vector: Dataset
        do {
            vector = try Dataset.openVector(path)
        } catch {
            throw CorineError(path: path, problem: "not a raster or vector dataset GDAL can read (\(error))")
        }
        for layer in vector.vectorLayers {
            guard let field = layer.fields.first(where: { $0.lowercased().hasPrefix("code_") }) else { continue }
            guard let wkt = layer.crsWKT, let crs = try? CRS(wkt) else {
                throw CorineError(path: path, problem: "layer \(layer.name) has no coordinate reference system")
            }
            return CorineSource(path: path, kind: .vector(layer: layer.name, field: field), crs: crs, dataset: vector)
        }
        throw CorineError(path: path, problem: "no layer with a CLC code field (Code_18, Code_12 …)")
    }

    private init(path: String, kind: Kind, crs: CRS, dataset: Dataset) {
        self.path = path
        self.kind = kind
        self.crs = crs
        self.dataset = dataset
    }

    /// Decides grid codes vs CLC codes from the pixel type and a decimated sample of values.
    static func detectEncoding(_ raster: Dataset) throws -> CorineEncoding {
        let band = raster.band(1)
        // Three-digit codes cannot be stored in a byte.
        if band.pixelType == .byte { return .gridCode }
        let side = 512
        let width = min(raster.width, side)
        let height = min(raster.height, side)
        var sample = [Int32](repeating: 0, count: width * height)
        try sample.withUnsafeMutableBufferPointer {
            try band.read(
                PixelWindow(column: 0, row: 0, width: raster.width, height: raster.height), into: $0,
                outputWidth: width, outputHeight: height)
        }
        let values = Set(sample.map(Int.init))
        // 128 and 255 are no-data values of grid-code rasters, so only legend codes count as CLC evidence.
        if values.contains(where: { Corine.byCode($0) != nil || $0 == 999 }) { return .clcCode }
        if values.contains(where: { (1...44).contains($0) }) { return .gridCode }
        throw CorineError(path: raster.path, problem: "cannot tell grid codes from CLC codes: no class value found")
    }

    /// The level-3 index of a raw pixel value: 0 for a no-data value, nil for a code outside the legend.
    static func level3Index(of value: Int, encoding: CorineEncoding) -> UInt8? {
        if nonClassValues[encoding]!.contains(value) { return 0 }
        switch encoding {
        case .gridCode: return (1...44).contains(value) ? UInt8(value) : nil
        case .clcCode: return Corine.byCode(value).map { UInt8($0.gridCode) }
        }
    }

    /// Whether the layer's extent intersects `grid`'s extent.
    public func overlaps(_ grid: RasterGrid) throws -> Bool {
        let target = try CRS(grid.crsWKT)
        let extent = grid.extent
        let corners = [
            (x: extent.minX, y: extent.minY), (x: extent.maxX, y: extent.minY),
            (x: extent.minX, y: extent.maxY), (x: extent.maxX, y: extent.maxY),
        ]
        let projected = try target.transform(corners, to: crs)
        let xs = projected.map(\.x)
        let ys = projected.map(\.y)
        guard let own = sourceExtent else { return true }
        return xs.min()! < own.maxX && xs.max()! > own.minX && ys.min()! < own.maxY && ys.max()! > own.minY
    }

    private var sourceExtent: (minX: Double, minY: Double, maxX: Double, maxY: Double)? {
        switch kind {
        case .raster: return dataset.grid?.extent
        case .vector(let layer, _): return dataset.vectorLayers.first { $0.name == layer }?.extent
        }
    }

    /// CORINE on `grid` as level-3 class indices, row-major `[grid.height * grid.width]`; 0 = no data.
    ///
    /// Rasters are warped with nearest neighbour and GDAL's exact transformer (mode when the target grid is
    /// coarser than the source); vectors are rasterised (pixel centres) after a spatial filter on the grid.
    /// Throws on a code that is not in the CORINE legend.
    public func labels(on grid: RasterGrid) throws -> [UInt8] {
        let raw: [UInt16]
        let encoding: CorineEncoding
        switch kind {
        case .raster(let rasterEncoding):
            encoding = rasterEncoding
            raw = try warpedValues(on: grid)
        case .vector(let layer, let field):
            encoding = .clcCode
            raw = try rasterizedValues(on: grid, layer: layer, field: field)
        }
        var table = [UInt8](repeating: 0, count: 65536)
        var known = [Bool](repeating: false, count: 65536)
        known[Int(UInt16.max)] = true
        for value in 0..<1000 {
            if let index = Self.level3Index(of: value, encoding: encoding) {
                table[value] = index
                known[value] = true
            }
        }
        var unknown: UInt16?
        let labels = [UInt8](unsafeUninitializedCapacity: raw.count) { labels, initialised in
            raw.withUnsafeBufferPointer { raw in
                table.withUnsafeBufferPointer { table in
                    known.withUnsafeBufferPointer { known in
                        for (i, value) in raw.enumerated() {
                            if !known[Int(value)] { unknown = value }
                            labels[i] = table[Int(value)]
                        }
                    }
                }
            }
            initialised = raw.count
        }
        if let unknown {
            throw CorineError(path: path, problem: "unknown CORINE \(encoding.rawValue) \(unknown)")
        }
        return labels
    }

    private func warpedValues(on grid: RasterGrid) throws -> [UInt16] {
        let sourceResolution = dataset.geoTransform.map { abs($0.pixelWidth) } ?? 0
        let targetInSourceUnits = try targetResolution(of: grid)
        let resampling: Resampling = targetInSourceUnits > 1.5 * sourceResolution ? .mode : .nearest
        if resampling == .nearest, let values = try nearestValues(on: grid) { return values }
        let warped = try dataset.warp(
            onto: grid,
            options: WarpOptions(resampling: resampling, outputType: .uint16, destinationNoData: Double(UInt16.max)))
        return try warped.band(1).read(grid.fullWindow)
    }

    /// The target pixel size expressed in the source CRS's units (approximate, at the grid centre).
    private func targetResolution(of grid: RasterGrid) throws -> Double {
        let target = try CRS(grid.crsWKT)
        let centre = grid.geoTransform.map(column: Double(grid.width) / 2, row: Double(grid.height) / 2)
        let step = grid.geoTransform.map(column: Double(grid.width) / 2 + 1, row: Double(grid.height) / 2)
        let projected = try target.transform([(centre.x, centre.y), (step.x, step.y)], to: crs)
        return hypot(projected[1].x - projected[0].x, projected[1].y - projected[0].y)
    }

    private func rasterizedValues(on grid: RasterGrid, layer: String, field: String) throws -> [UInt16] {
        let extent = grid.extent
        // GDAL 3.6's rasterizer does not filter spatially: cut the layer to the grid first.
        let subset = try dataset.vectorTranslate(
            to: "",
            arguments: [
                "-f", "Memory", "-spat", "\(extent.minX)", "\(extent.minY)", "\(extent.maxX)", "\(extent.maxY)",
                "-spat_srs", grid.crsWKT, "-select", field, layer,
            ])
        let target = try Dataset.createInMemory(grid: grid, bands: 1, type: .uint16)
        try target.rasterize(from: subset, arguments: ["-a", field, "-l", layer])
        return try target.band(1).read(grid.fullWindow)
    }
}

/// A CORINE input problem, described in one line naming the file.
public struct CorineError: Error, CustomStringConvertible, Sendable {
    /// The CORINE file.
    public let path: String
    /// What is wrong with it.
    public let problem: String

    public var description: String { "\(path): \(problem)" }
}
