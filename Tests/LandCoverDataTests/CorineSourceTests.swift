import Foundation
import GeoRaster
import Testing
import TestSupport

@testable import LandCoverData

/// Writes a single-band raster with `values` on `grid`.
func writeRaster<T: RasterScalar>(
    _ path: String, grid: RasterGrid, values: [T], noData: Double? = nil, withCRS: Bool = true
) throws {
    let dataset = try Dataset.create(path, width: grid.width, height: grid.height, bands: 1, type: T.gdalType)
    try dataset.setGeoTransform(grid.geoTransform)
    if withCRS { try dataset.setCRS(CRS(grid.crsWKT)) }
    try dataset.band(1).write(values, window: grid.fullWindow)
    if let noData { try dataset.band(1).setNoDataValue(noData) }
    try dataset.close()
}

/// A 100 m EPSG:3035 grid of `side` pixels around a point in Estonia.
func laeaGrid(side: Int) throws -> RasterGrid {
    RasterGrid(
        crsWKT: try CRS(epsg: 3035).wkt,
        geoTransform: GeoTransform(originX: 5_230_000, originY: 4_100_000, pixelWidth: 100, pixelHeight: -100),
        width: side, height: side)
}

@Suite struct CorineSourceTests {
    @Test func gridCodeRasterIsDetectedAndMapped() throws {
        let directory = TemporaryDirectory()
        let grid = try laeaGrid(side: 4)
        let path = directory.path("clc.tif")
        try writeRaster(
            path, grid: grid, values: [UInt8]([1, 12, 23, 44, 48, 49, 50, 255, 0, 18, 18, 18, 41, 41, 41, 41]))
        let source = try CorineSource.open(path)
        #expect(source.kind == .raster(.gridCode))
        #expect(try source.labels(on: grid) == [1, 12, 23, 44, 0, 0, 0, 0, 0, 18, 18, 18, 41, 41, 41, 41])
    }

    @Test func clcCodeRasterIsDetectedAndMapped() throws {
        let directory = TemporaryDirectory()
        let grid = try laeaGrid(side: 2)
        let path = directory.path("clc-codes.tif")
        try writeRaster(path, grid: grid, values: [UInt16]([111, 311, 523, 999]))
        let source = try CorineSource.open(path)
        #expect(source.kind == .raster(.clcCode))
        #expect(try source.labels(on: grid) == [1, 23, 44, 0])
    }

    @Test func wideGridCodeRasterWithOutsideValuesIsNotTakenForCLCCodes() throws {
        let directory = TemporaryDirectory()
        let grid = try laeaGrid(side: 2)
        let path = directory.path("wide.tif")
        try writeRaster(path, grid: grid, values: [UInt16]([12, 255, 128, 44]))
        let source = try CorineSource.open(path)
        #expect(source.kind == .raster(.gridCode))
        #expect(try source.labels(on: grid) == [12, 0, 0, 44])
    }

    @Test func unknownCodeFailsNamingFileAndCode() throws {
        let directory = TemporaryDirectory()
        let grid = try laeaGrid(side: 2)
        let path = directory.path("bad.tif")
        try writeRaster(path, grid: grid, values: [UInt8]([12, 77, 12, 12]))
        let source = try CorineSource.open(path)
        let error = #expect(throws: CorineError.self) { try source.labels(on: grid) }
        #expect(error?.description == "\(path): unknown CORINE grid-code 77")
    }

    @Test func rasterWithoutCRSIsRefused() throws {
        let directory = TemporaryDirectory()
        let grid = try laeaGrid(side: 2)
        let path = directory.path("nocrs.tif")
        try writeRaster(path, grid: grid, values: [UInt8]([12, 12, 12, 12]), withCRS: false)
        let error = #expect(throws: CorineError.self) { try CorineSource.open(path) }
        #expect(error?.description == "\(path): has no coordinate reference system")
    }

    @Test func missingFileIsRefused() {
        let error = #expect(throws: CorineError.self) { try CorineSource.open("/nonexistent/clc.tif") }
        #expect(error?.description == "/nonexistent/clc.tif: file not found")
    }

    @Test func modeIsUsedWhenTheTargetIsCoarser() throws {
        let directory = TemporaryDirectory()
        let grid = try laeaGrid(side: 4)
        let path = directory.path("clc.tif")
        // Each 2×2 block: three pixels of 23, one of 12 → mode 23 (nearest could pick 12).
        try writeRaster(
            path, grid: grid, values: [UInt8]([12, 23, 12, 23, 23, 23, 23, 23, 12, 23, 12, 23, 23, 23, 23, 23]))
        var coarse = grid
        coarse.geoTransform.pixelWidth = 200
        coarse.geoTransform.pixelHeight = -200
        coarse.width = 2
        coarse.height = 2
        #expect(try CorineSource.open(path).labels(on: coarse) == [23, 23, 23, 23])
    }

    @Test func vectorGeoPackageIsRasterisedFromCode18() throws {
        let directory = TemporaryDirectory()
        // Two squares in EPSG:3035: forest (311) west, lake (512) east.
        let geojson = """
            {"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3035"}},
             "features":[
              {"type":"Feature","properties":{"Code_18":"311"},"geometry":{"type":"Polygon","coordinates":[[[5230000,4099600],[5230200,4099600],[5230200,4100000],[5230000,4100000],[5230000,4099600]]]}},
              {"type":"Feature","properties":{"Code_18":"512"},"geometry":{"type":"Polygon","coordinates":[[[5230200,4099600],[5230400,4099600],[5230400,4100000],[5230200,4100000],[5230200,4099600]]]}}]}
            """
        let jsonPath = directory.path("clc.geojson")
        try geojson.write(toFile: jsonPath, atomically: true, encoding: .utf8)
        let gpkgPath = directory.path("clc.gpkg")
        try Dataset.openVector(jsonPath).vectorTranslate(to: gpkgPath, arguments: ["-f", "GPKG", "-nln", "clc18"])
            .close()
        let source = try CorineSource.open(gpkgPath)
        #expect(source.kind == .vector(layer: "clc18", field: "Code_18"))
        let grid = RasterGrid(
            crsWKT: try CRS(epsg: 3035).wkt,
            geoTransform: GeoTransform(originX: 5_229_900, originY: 4_100_000, pixelWidth: 100, pixelHeight: -100),
            width: 6, height: 5)
        let labels = try source.labels(on: grid)
        // Row 0: outside, 311, 311, 512, 512, outside; row 4 (below the polygons) is all no data.
        #expect(Array(labels[0..<6]) == [0, 23, 23, 41, 41, 0])
        #expect(Array(labels[24..<30]) == [0, 0, 0, 0, 0, 0])
    }

    static let guadeloupe = "clc2018-guadeloupe/U2018_CLC2018_V2020_20u1_FR_GLP.tif"

    @Test(
        .enabled(
            if: TestPaths.hasSharedTestData(guadeloupe),
            "../shared/testdata/clc2018-guadeloupe is absent: skipping the real CORINE raster"))
    func realGuadeloupeRasterReadsAsGridCodesAndMatchesGDALWarp() throws {
        let path = TestPaths.sharedTestData(Self.guadeloupe).path
        let source = try CorineSource.open(path)
        #expect(source.kind == .raster(.gridCode))
        #expect(source.crs.epsg == 4559)
        // A 10 m WGS 84 / UTM 20N grid around Pointe-à-Pitre (13 classes at 100 m).
        let grid = RasterGrid(
            crsWKT: try CRS(epsg: 32620).wkt,
            geoTransform: GeoTransform(originX: 651_000, originY: 1_800_000, pixelWidth: 10, pixelHeight: -10),
            width: 600, height: 480)
        let labels = try source.labels(on: grid)
        let classes = Set(labels)
        #expect(classes.count >= 8, "expected several CORINE classes, got \(classes.sorted())")
        #expect(classes.allSatisfy { $0 <= 44 })
        // Independent reference: the gdalwarp program with the exact transformer.
        guard let gdalwarp = Executables.onPath("gdalwarp") else { return }
        let directory = TemporaryDirectory()
        let reference = directory.path("reference.tif")
        let result = try Executables.run(
            gdalwarp,
            [
                "-q", "-t_srs", "EPSG:32620", "-te", "651000", "1795200", "657000", "1800000", "-ts", "600", "480",
                "-r", "near", "-et", "0", "-ot", "UInt16", "-dstnodata", "65535", path, reference,
            ])
        #expect(result.status == 0, "\(result.error)")
        let warped: [UInt16] = try Dataset.open(reference).band(1).read(grid.fullWindow)
        let expected = warped.map { (1...44).contains($0) ? UInt8($0) : 0 }
        let differing = zip(labels, expected).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) pixels differ from gdalwarp -et 0 -r near")
    }
}
