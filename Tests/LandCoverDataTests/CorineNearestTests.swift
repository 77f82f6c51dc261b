import Foundation
import GeoRaster
import Testing
import TestSupport

@testable import LandCoverData

/// The nearest-neighbour warp that transforms only sample points and pixels near a source pixel edge must pick the
/// pixel GDAL's warper (`-r near -et 0`) picks, everywhere.
@Suite struct CorineNearestTests {
    /// GDAL's warp of the source, as `CorineSource` asks for it.
    func gdalWarp(_ source: CorineSource, on grid: RasterGrid) throws -> [UInt16] {
        let options = WarpOptions(resampling: .nearest, outputType: .uint16, destinationNoData: Double(UInt16.max))
        return try source.dataset.warp(onto: grid, options: options).band(1).read(grid.fullWindow)
    }

    func expectSameAsGDAL(
        _ source: CorineSource, on grid: RasterGrid, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let fast = try #require(try source.nearestValues(on: grid), sourceLocation: sourceLocation)
        let reference = try gdalWarp(source, on: grid)
        let differing = zip(fast, reference).filter { $0 != $1 }.count
        #expect(fast.count == reference.count, sourceLocation: sourceLocation)
        #expect(differing == 0, "\(differing) of \(fast.count) pixels differ from GDAL", sourceLocation: sourceLocation)
    }

    static let sampleCorine = TestPaths.sampleData.appendingPathComponent("corine.tif")
    static let sampleProduct = TestPaths.sampleData.appendingPathComponent(
        "S2B_MSIL1C_20180510T094029_N0500_R036_T35VMF_20230104T000000.SAFE")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: sampleCorine.path), "SampleData is absent"))
    func sampleCorineOnTheStripsOfTheSampleProduct() throws {
        let source = try CorineSource.open(Self.sampleCorine.path)
        let grid = try Sentinel2Product.open(Self.sampleProduct.path).grid
        for row in stride(from: 0, through: grid.height - 120, by: 120) {
            try expectSameAsGDAL(
                source, on: grid.subgrid(PixelWindow(column: 0, row: row, width: grid.width, height: 120)))
        }
    }

    /// Grids around the sample CORINE raster: its own grid, finer and coarser pixels, odd sizes and offsets,
    /// grids reaching beyond the raster and grids in other coordinate systems.
    static let odd: [(epsg: Int, originX: Double, originY: Double, pixel: Double, width: Int, height: Int)] = [
        (32635, 440_220, 6_550_200, 10, 1201, 37),
        (32635, 440_000, 6_551_000, 7.3, 333, 777),
        (32635, 439_000, 6_552_000, 20, 400, 400),
        (32635, 441_111.1, 6_549_999.9, 3.33, 1000, 64),
        (32634, 834_000, 6_560_000, 10, 900, 120),
        (3035, 5_240_000, 4_120_000, 25, 300, 300),
    ]

    @Test(
        .enabled(if: FileManager.default.fileExists(atPath: sampleCorine.path), "SampleData is absent"),
        arguments: odd.indices)
    func sampleCorineOnOddGrids(_ index: Int) throws {
        let source = try CorineSource.open(Self.sampleCorine.path)
        let spec = Self.odd[index]
        let grid = RasterGrid(
            crsWKT: try CRS(epsg: spec.epsg).wkt,
            geoTransform: GeoTransform(
                originX: spec.originX, originY: spec.originY, pixelWidth: spec.pixel, pixelHeight: -spec.pixel),
            width: spec.width, height: spec.height)
        try expectSameAsGDAL(source, on: grid)
    }

    @Test func int16RasterWithNoDataAndNegativeValues() throws {
        let directory = TemporaryDirectory()
        let grid = try laeaGrid(side: 40)
        let values = (0..<(40 * 40)).map { Int16(($0 * 37) % 700) - 100 }
        let path = directory.path("int16.tif")
        try writeRaster(path, grid: grid, values: values, noData: 211)
        let source = try CorineSource.open(path)
        // A 10 m UTM 35N grid over the raster's middle, reaching beyond it on the east.
        let corner = try CRS(epsg: 3035).transform([(x: 5_231_000.0, y: 4_099_000.0)], to: CRS(epsg: 32635))[0]
        let target = RasterGrid(
            crsWKT: try CRS(epsg: 32635).wkt,
            geoTransform: GeoTransform(
                originX: corner.x.rounded(), originY: corner.y.rounded(), pixelWidth: 10, pixelHeight: -10),
            width: 450, height: 200)
        try expectSameAsGDAL(source, on: target)
    }

    @Test func rasterWithAnAlphaBandIsLeftToGDAL() throws {
        let directory = TemporaryDirectory()
        let grid = try laeaGrid(side: 8)
        let path = directory.path("alpha.tif")
        let dataset = try Dataset.create(path, width: 8, height: 8, bands: 2, type: .byte, options: ["ALPHA=YES"])
        try dataset.setGeoTransform(grid.geoTransform)
        try dataset.setCRS(CRS(grid.crsWKT))
        try dataset.band(1).write([UInt8](repeating: 23, count: 64), window: grid.fullWindow)
        try dataset.band(2).write([UInt8](repeating: 255, count: 64), window: grid.fullWindow)
        try dataset.close()
        let source = try CorineSource.open(path)
        #expect(try source.nearestValues(on: grid) == nil)
        #expect(try source.labels(on: grid) == [UInt8](repeating: 23, count: 64))
    }
}
