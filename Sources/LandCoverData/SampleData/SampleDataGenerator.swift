import Foundation
import GeoRaster

/// Why sample data could not be written.
public enum SampleDataError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The output exists and overwriting was not requested.
    case alreadyExists(path: String)
    /// The scene size does not fit the product layout.
    case invalidSize(Int, reason: String)
    /// An input array is missing or has the wrong length.
    case missingData(String)

    public var description: String {
        switch self {
        case .alreadyExists(let path): "\(path) already exists; pass overwrite to replace it"
        case .invalidSize(let size, let reason): "invalid sample size \(size): \(reason)"
        case .missingData(let problem): "incomplete sample data: \(problem)"
        }
    }
}

/// The files of a generated sample data set.
public struct SampleDataSet: Sendable {
    /// The folder holding everything.
    public let directory: URL
    /// The Sentinel-2 L1C product folder (`….SAFE`).
    public let product: URL
    /// The product's `MTD_MSIL1C.xml`, the path GDAL opens.
    public let productMetadata: URL
    /// GDAL subdataset name of the 10 m bands (B4, B3, B2, B8).
    public let subdataset10m: String
    /// GDAL subdataset name of the 20 m bands (B11).
    public let subdataset20m: String
    /// CORINE-like land cover, EPSG:3035, 100 m, grid codes (`corine.tif`, names in `corine.tif.aux.xml`).
    public let corine: URL
    /// True land cover at 10 m on the product's grid, grid codes (`truth.tif`).
    public let truth: URL
    /// The data set's `README.md`.
    public let readme: URL
    /// Scene width and height in 10 m pixels.
    public let size: Int
    /// Seed of the landscape.
    public let seed: UInt64
}

/// Writes the bundled sample data: a synthetic Sentinel-2 L1C granule, a CORINE-like raster and the true classes.
///
/// `generate` is deterministic: the same size and seed give byte-identical files.
public enum SampleDataGenerator {
    /// File name of the CORINE raster.
    public static let corineFileName = "corine.tif"
    /// File name of the 10 m truth raster.
    public static let truthFileName = "truth.tif"
    /// File name of the README.
    public static let readmeFileName = "README.md"
    /// The sample's Sentinel-2 product settings (S2B, 2018-05-10, baseline 05.00, tile 35VMF).
    public static let productWriter = Sentinel2ProductWriter()

    /// Generates the landscape for `size` and `seed` and writes it into `directory` (created if missing).
    ///
    /// - Parameters:
    ///   - size: scene width and height in 10 m pixels, a multiple of 30 (100 m CORINE cells, 60 m band grid).
    ///   - seed: landscape seed.
    ///   - overwrite: replace existing outputs; otherwise any existing output is an error and nothing is written.
    /// Everything is written to a hidden staging folder inside `directory` and renamed into place at the end.
    @discardableResult
    public static func generate(
        into directory: URL, size: Int = 1200, seed: UInt64 = 2018, overwrite: Bool = false
    ) throws -> SampleDataSet {
        guard size > 0, size % 30 == 0 else {
            throw SampleDataError.invalidSize(size, reason: "it must be a positive multiple of 30 pixels")
        }
        let writer = productWriter
        let names = [
            writer.safeName, corineFileName, corineFileName + ".aux.xml", truthFileName,
            truthFileName + ".aux.xml", readmeFileName,
        ]
        let files = FileManager.default
        if !overwrite,
            let existing = names.first(where: { files.fileExists(atPath: directory.appendingPathComponent($0).path) })
        {
            throw SampleDataError.alreadyExists(path: directory.appendingPathComponent(existing).path)
        }

        let landscape = SyntheticLandscape(.init(size: size, seed: seed))
        var reflectance: [SpectralBand: [UInt16]] = [:]
        for (name, values) in landscape.reflectance {
            guard let band = SpectralBand(name) else { throw SampleDataError.missingData("unknown band \(name)") }
            reflectance[band] = values
        }

        try files.createDirectory(at: directory, withIntermediateDirectories: true)
        let staging = directory.appendingPathComponent(".sample-data-staging-\(UUID().uuidString)")
        try files.createDirectory(at: staging, withIntermediateDirectories: false)
        defer { try? files.removeItem(at: staging) }

        try writer.write(reflectance: reflectance, size: size, into: staging)
        let grid10m = try writer.grid(size: size)
        let corineCells = size / SyntheticLandscape.corineCellPixels
        let labelGrid = RasterGrid(
            crsWKT: grid10m.crsWKT,
            geoTransform: GeoTransform(
                originX: grid10m.geoTransform.originX, originY: grid10m.geoTransform.originY, pixelWidth: 100,
                pixelHeight: -100),
            width: corineCells, height: corineCells)
        let corineGrid = try CorineRasterWriter.write(
            labels: landscape.corine100m, on: labelGrid, to: staging.appendingPathComponent(corineFileName).path)
        try CorineRasterWriter.writeClasses(
            landscape.truth, grid: grid10m, to: staging.appendingPathComponent(truthFileName).path)
        try readme(size: size, seed: seed, writer: writer, corineGrid: corineGrid).write(
            to: staging.appendingPathComponent(readmeFileName), atomically: false, encoding: .utf8)

        for name in names where files.fileExists(atPath: staging.appendingPathComponent(name).path) {
            try installAtomically(
                staging.appendingPathComponent(name), at: directory.appendingPathComponent(name), overwrite: overwrite)
        }
        let product = directory.appendingPathComponent(writer.safeName)
        return SampleDataSet(
            directory: directory, product: product,
            productMetadata: Sentinel2ProductWriter.metadataURL(inProduct: product),
            subdataset10m: writer.subdatasetName(product: product, resolution: 10),
            subdataset20m: writer.subdatasetName(product: product, resolution: 20),
            corine: directory.appendingPathComponent(corineFileName),
            truth: directory.appendingPathComponent(truthFileName),
            readme: directory.appendingPathComponent(readmeFileName), size: size, seed: seed)
    }

    private static func readme(size: Int, seed: UInt64, writer: Sentinel2ProductWriter, corineGrid: RasterGrid)
        -> String
    {
        let kilometres = Double(size) / 100
        let origin = writer.windowOrigin
        let extent = corineGrid.extent
        return """
            # Sample data (synthetic)

            **Everything in this folder is generated, not observed.** It is a deterministic synthetic landscape \
            (seed \(seed)) packaged in the real file formats, so that `landcover` can be tried, tested and \
            demonstrated without downloading a Sentinel-2 product or the CORINE Land Cover raster. Models trained \
            on it learn nothing about the real world.

            | file | content |
            |---|---|
            | `\(writer.safeName)/` | Sentinel-2 Level-1C product (SAFE compact layout, processing baseline \
            \(writer.processingBaseline)) for tile T\(writer.tile), EPSG:\(writer.epsg): a \(size)×\(size) pixel \
            (\(decimalText(kilometres)) km) window of the tile at 10 m, upper-left corner \
            (\(Int(origin.x)), \(Int(origin.y))). Bands B02, B03, B04, B08 (10 m) and B11 (20 m) as lossless \
            JPEG-2000, `DN = reflectance × 10000 + 1000` (offset −1000 in `Radiometric_Offset_List`). Open \
            `MTD_MSIL1C.xml` with GDAL, e.g. `SENTINEL2_L1C:<path>/MTD_MSIL1C.xml:10m:EPSG_\(writer.epsg)`. |
            | `\(corineFileName)` | CORINE-Land-Cover-like raster as in release U2018: EPSG:3035, 100 m, Byte grid \
            codes 1–44, 48 = no data outside the scene, official palette; class names in \
            `\(corineFileName).aux.xml`. \(corineGrid.width)×\(corineGrid.height) cells, extent \
            \(Int(extent.minX)), \(Int(extent.minY)) – \(Int(extent.maxX)), \(Int(extent.maxY)). Like real CORINE \
            it is generalised (25 ha minimum mapping unit) and disagrees with the image at class borders. |
            | `\(truthFileName)` | The true land cover of every 10 m pixel (grid codes) on the product's grid, for \
            tests and for measuring how noisy the CORINE labels are. |

            The landscape holds a lake with a reed belt, a river, a town with a street grid, arable fields and \
            pastures, coniferous, mixed and broad-leaved forest and peat bogs; reflectance follows measured \
            top-of-atmosphere means per class with field, stand and crown texture.

            Regenerate (byte-identical) with:

            ```
            landcover sample-data --out SampleData
            ```

            """
    }

    private static func decimalText(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// Writes class rasters of CORINE grid codes with the official palette, class names and no-data value.
public enum CorineRasterWriter {
    /// CRS of CORINE Land Cover rasters: ETRS89-extended / LAEA Europe.
    public static let epsg = 3035
    /// Cell size of CORINE Land Cover rasters, metres.
    public static let resolution = 100.0

    /// Palette indexed by grid code: the 44 official colours, white for 48 (no data, transparent) and
    /// transparent black for unused values.
    public static var palette: [ColorEntry] {
        (0...Corine.gridNoData).map { value in
            if let corineClass = Corine.byGridCode(value) {
                return ColorEntry(
                    red: corineClass.color.red, green: corineClass.color.green, blue: corineClass.color.blue)
            }
            if value == Corine.gridNoData { return ColorEntry(red: 255, green: 255, blue: 255, alpha: 0) }
            return ColorEntry(red: 0, green: 0, blue: 0, alpha: 0)
        }
    }

    /// Category names indexed by grid code: "311 Broad-leaved forest"; "NODATA" for 48, empty for unused values.
    public static var categoryNames: [String] {
        (0...Corine.gridNoData).map { value in
            if let corineClass = Corine.byGridCode(value) { return "\(corineClass.code) \(corineClass.name)" }
            return value == Corine.gridNoData ? "NODATA" : ""
        }
    }

    /// GeoTIFF creation options: DEFLATE, 256² tiles.
    static let creationOptions = [
        "-of", "GTiff", "-co", "COMPRESS=DEFLATE", "-co", "TILED=YES", "-co", "BLOCKXSIZE=256", "-co", "BLOCKYSIZE=256",
    ]

    /// Warps `labels` (grid codes on `grid`, any CRS) with nearest neighbour onto an EPSG:3035 100 m grid aligned
    /// to multiples of 100 m that covers the labels with a `margin` (metres) of no data (48), and writes it as a
    /// GeoTIFF with palette, class names (in the `.aux.xml` sidecar) and NoData 48. Returns the written grid.
    @discardableResult
    public static func write(labels: [UInt8], on grid: RasterGrid, to path: String, margin: Double = 1000) throws
        -> RasterGrid
    {
        guard labels.count == grid.width * grid.height else {
            throw SampleDataError.missingData("\(labels.count) labels for a \(grid.width)×\(grid.height) grid")
        }
        let source = try Dataset.createInMemory(grid: grid, bands: 1, type: .byte)
        try source.band(1).write(labels, window: grid.fullWindow)
        let target = try coveringGrid(grid, margin: margin)
        let warped = try source.warp(
            onto: target, options: WarpOptions(resampling: .nearest, destinationNoData: Double(Corine.gridNoData)))
        try write(warped, to: path, noData: true)
        return target
    }

    /// Writes grid codes on `grid` unchanged (no reprojection) with palette and class names, e.g. the 10 m truth.
    public static func writeClasses(_ classes: [UInt8], grid: RasterGrid, to path: String) throws {
        guard classes.count == grid.width * grid.height else {
            throw SampleDataError.missingData("\(classes.count) classes for a \(grid.width)×\(grid.height) grid")
        }
        let memory = try Dataset.createInMemory(grid: grid, bands: 1, type: .byte)
        try memory.band(1).write(classes, window: grid.fullWindow)
        try write(memory, to: path, noData: false)
    }

    private static func write(_ memory: Dataset, to path: String, noData: Bool) throws {
        let band = memory.band(1)
        if noData { try band.setNoDataValue(Double(Corine.gridNoData)) }
        try band.setColorTable(palette)
        try band.setCategoryNames(categoryNames)
        try memory.translate(to: path, arguments: creationOptions).close()
    }

    /// The EPSG:3035 grid with 100 m cells on multiples of 100 m covering `grid` plus `margin` metres.
    static func coveringGrid(_ grid: RasterGrid, margin: Double) throws -> RasterGrid {
        let sourceCRS = try CRS(grid.crsWKT)
        let targetCRS = try CRS(epsg: epsg)
        // Densify the outline: a straight edge in one projection is slightly curved in the other.
        let steps = 16
        var outline: [(x: Double, y: Double)] = []
        for step in 0...steps {
            let t = Double(step) / Double(steps)
            let w = Double(grid.width)
            let h = Double(grid.height)
            for (column, row) in [(t * w, 0.0), (t * w, h), (0.0, t * h), (w, t * h)] {
                outline.append(grid.geoTransform.map(column: column, row: row))
            }
        }
        let projected = try sourceCRS.transform(outline, to: targetCRS)
        let minX = ((projected.map(\.x).min()! - margin) / resolution).rounded(.down) * resolution
        let maxX = ((projected.map(\.x).max()! + margin) / resolution).rounded(.up) * resolution
        let minY = ((projected.map(\.y).min()! - margin) / resolution).rounded(.down) * resolution
        let maxY = ((projected.map(\.y).max()! + margin) / resolution).rounded(.up) * resolution
        return RasterGrid(
            crsWKT: targetCRS.wkt,
            geoTransform: GeoTransform(originX: minX, originY: maxY, pixelWidth: resolution, pixelHeight: -resolution),
            width: Int(((maxX - minX) / resolution).rounded()), height: Int(((maxY - minY) / resolution).rounded()))
    }
}
