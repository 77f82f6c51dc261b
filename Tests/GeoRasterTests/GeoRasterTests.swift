import Foundation
import Testing
import TestSupport

@testable import GeoRaster

@Suite struct GeoTransformTests {
    @Test func pixelAndMapRoundTrip() {
        let transform = GeoTransform(originX: 300_000, originY: 6_100_020, pixelWidth: 10, pixelHeight: -10)
        let corner = transform.map(column: 120, row: 60)
        #expect(corner.x == 301_200 && corner.y == 6_099_420)
        let back = transform.pixel(x: corner.x, y: corner.y)
        #expect(back.column == 120 && back.row == 60)
        let shifted = transform.shifted(to: PixelWindow(column: 120, row: 60, width: 120, height: 120))
        #expect(shifted.originX == 301_200 && shifted.originY == 6_099_420)
    }

    @Test func windowIntersection() {
        let a = PixelWindow(column: 0, row: 0, width: 100, height: 100)
        let b = PixelWindow(column: 90, row: 95, width: 20, height: 20)
        #expect(a.intersection(b) == PixelWindow(column: 90, row: 95, width: 10, height: 5))
        #expect(a.intersection(PixelWindow(column: 200, row: 0, width: 5, height: 5)).isEmpty)
        #expect(a.contains(PixelWindow(column: 10, row: 10, width: 5, height: 5)))
    }
}

@Suite struct DatasetTests {
    let grid = RasterGrid(
        crsWKT: try! CRS(epsg: 32635).wkt,
        geoTransform: GeoTransform(originX: 500_000, originY: 6_500_000, pixelWidth: 10, pixelHeight: -10),
        width: 64, height: 48)

    @Test func writeReadGeoTIFFWithPaletteNamesAndMetadata() throws {
        let directory = TemporaryDirectory()
        let path = directory.path("classes.tif")
        let dataset = try Dataset.create(path, width: grid.width, height: grid.height, bands: 1, type: .byte)
        try dataset.setGeoTransform(grid.geoTransform)
        try dataset.setCRS(CRS(grid.crsWKT))
        let values = (0..<grid.width * grid.height).map { UInt8($0 % 7) }
        let band = dataset.band(1)
        try band.write(values, window: grid.fullWindow)
        try band.setNoDataValue(0)
        try band.setColorTable([
            ColorEntry(red: 0, green: 0, blue: 0, alpha: 0), ColorEntry(red: 230, green: 0, blue: 77),
        ])
        try band.setCategoryNames(["no data", "Continuous urban fabric"])
        try dataset.setMetadataItem("MODEL", "test")
        try dataset.close()

        let reopened = try Dataset.open(path)
        #expect(reopened.width == 64 && reopened.height == 48 && reopened.bandCount == 1)
        #expect(reopened.crs?.epsg == 32635)
        #expect(reopened.geoTransform == grid.geoTransform)
        #expect(reopened.metadataItem("MODEL") == "test")
        let readBand = reopened.band(1)
        #expect(readBand.noDataValue == 0)
        #expect(readBand.colorTable?[1] == ColorEntry(red: 230, green: 0, blue: 77))
        #expect(readBand.categoryNames.prefix(2) == ["no data", "Continuous urban fabric"])
        let window = PixelWindow(column: 5, row: 7, width: 10, height: 3)
        let read: [UInt8] = try readBand.read(window)
        var expected: [UInt8] = []
        for row in 7..<10 { expected += values[(row * 64 + 5)..<(row * 64 + 15)] }
        #expect(read == expected)
    }

    @Test func openingAMissingFileThrowsGDALsMessage() {
        #expect {
            _ = try Dataset.open("/nonexistent/nothing.tif")
        } throws: { error in
            guard let error = error as? GDALError else { return false }
            return error.call == "GDALOpenEx" && error.message.contains("nothing.tif")
        }
    }

    @Test func errorsAreCapturedPerThread() async throws {
        // Two threads fail at once; each must see its own message.
        try await withThrowingTaskGroup(of: String.self) { group in
            for name in ["first", "second", "third", "fourth"] {
                group.addTask {
                    do {
                        _ = try Dataset.open("/nonexistent/\(name).tif")
                        return "no error"
                    } catch let error as GDALError {
                        return error.message.contains(name) ? "ok" : error.message
                    }
                }
            }
            for try await result in group { #expect(result == "ok") }
        }
    }

    @Test func warpNearestMatchesSourceOnIdenticalGrid() throws {
        let source = try Dataset.createInMemory(grid: grid, bands: 1, type: .uint16)
        let values = (0..<grid.width * grid.height).map { UInt16($0) }
        try source.band(1).write(values, window: grid.fullWindow)
        let warped = try source.warp(onto: grid)
        let read: [UInt16] = try warped.band(1).read(grid.fullWindow)
        #expect(read == values)
    }

    @Test func warpModeDownsamplesClasses() throws {
        let source = try Dataset.createInMemory(grid: grid, bands: 1, type: .byte)
        // Left 3/4 of each 4×4 block is class 2, right quarter class 9: mode must pick 2.
        let values: [UInt8] = (0..<grid.width * grid.height).map { $0 % 4 == 3 ? 9 : 2 }
        try source.band(1).write(values, window: grid.fullWindow)
        var coarse = grid
        coarse.geoTransform.pixelWidth = 40
        coarse.geoTransform.pixelHeight = -40
        coarse.width = 16
        coarse.height = 12
        let warped = try source.warp(onto: coarse, options: WarpOptions(resampling: .mode))
        let read: [UInt8] = try warped.band(1).read(coarse.fullWindow)
        #expect(read.allSatisfy { $0 == 2 })
    }

    @Test func translateWritesCloudOptimizedGeoTIFF() throws {
        let directory = TemporaryDirectory()
        let big = RasterGrid(crsWKT: grid.crsWKT, geoTransform: grid.geoTransform, width: 1024, height: 1024)
        let source = try Dataset.createInMemory(grid: big, bands: 1, type: .byte)
        try source.band(1).write(
            (0..<big.width * big.height).map { UInt8(($0 / 1024 / 64) % 5) }, window: big.fullWindow)
        let path = directory.path("map.tif")
        try source.translate(
            to: path, arguments: ["-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "OVERVIEW_RESAMPLING=MODE"]
        ).close()
        let cog = try Dataset.open(path)
        #expect(cog.metadataItem("LAYOUT", domain: "IMAGE_STRUCTURE") == "COG")
        #expect(cog.band(1).overviewCount >= 1)
    }

    @Test func crsTransformAndIdentity() throws {
        let utm = try CRS(epsg: 32635)
        let laea = try CRS("EPSG:3035")
        #expect(!utm.isSame(as: laea))
        #expect(try CRS(utm.wkt).epsg == 32635)
        let points = try utm.transform([(x: 500_000, y: 6_500_000)], to: laea)
        let back = try laea.transform(points, to: utm)
        expectClose(back[0].x, 500_000, atol: 1e-3)
        expectClose(back[0].y, 6_500_000, atol: 1e-3)
        #expect(throws: GDALError.self) { try CRS("not a crs at all") }
    }
}
