import Foundation
import GeoRaster
import LandCoverData
import Mapping
import TestSupport
import Testing

@Suite("Land-cover map COG writer")
struct MapWriterTests {
    let provenance = [
        "MODEL": "unet-test", "INPUT_PRODUCT": "S2B_MSIL2A_20230704T090559_N0509_R050_T35TLF_20230704T113458.SAFE",
        "DATE": "2023-07-04", "LANDCOVER_VERSION": "0.1.0",
    ]

    @Test func writesAStyledCloudOptimizedGeoTIFF() throws {
        let directory = TemporaryDirectory()
        let grid = try MapFixtures.grid()
        let nomenclature = Nomenclature.corine(.level3)
        let writer = LandCoverMapWriter(nomenclature: nomenclature, options: MapFixtures.options())
        let path = directory.path("map.tif")
        let files = try writer.write(classes: MapFixtures.pattern(), grid: grid, to: path, provenance: provenance)
        #expect(files.map == path)
        #expect(files.auxiliary == path + ".aux.xml")
        #expect(files.style == directory.path("map.qml"))
        for file in files.all { #expect(FileManager.default.fileExists(atPath: file), "\(file) is missing") }
        // Only the products remain: no temporary folder.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).sorted()
        #expect(names == ["map.qml", "map.tif", "map.tif.aux.xml"])

        let dataset = try Dataset.open(path)
        #expect(dataset.driverName == "GTiff")
        #expect(dataset.metadata(domain: "IMAGE_STRUCTURE")["LAYOUT"] == "COG")
        #expect(dataset.metadata(domain: "IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE")
        #expect(dataset.metadata(domain: "IMAGE_STRUCTURE")["PREDICTOR"] == "2")
        let band = dataset.band(1)
        #expect(band.pixelType == .byte)
        #expect(band.blockSize.width == 128 && band.blockSize.height == 128)
        #expect(band.noDataValue == 0)
        #expect(band.bandDescription.contains("corine-l3"))

        // Georeference equals the input grid.
        #expect(dataset.geoTransform == grid.geoTransform)
        #expect(try dataset.crs?.isSame(as: CRS(epsg: 32635)) == true)
        #expect(dataset.crs?.epsg == 32635)

        // Palette: index 0 no data (alpha 0 on read), then the EEA colours of the 44 classes.
        let palette = try #require(band.colorTable)
        #expect(palette.count >= 45)
        #expect(palette[0].alpha == 0)
        for (i, color) in nomenclature.colors.enumerated() {
            #expect(palette[i + 1].red == color.red && palette[i + 1].green == color.green)
            #expect(palette[i + 1].blue == color.blue && palette[i + 1].alpha == 255)
        }
        #expect(palette[23] == ColorEntry(red: 128, green: 255, blue: 0))

        // Category names come back from the .aux.xml beside the file.
        let categories = band.categoryNames
        #expect(categories.count >= 45)
        #expect(categories[0] == "No data")
        #expect(categories[23] == "311 Broad-leaved forest")
        #expect(categories[1] == "111 Continuous urban fabric")
        #expect(categories[44] == "523 Sea and ocean")

        // Provenance metadata travels inside the TIFF.
        let metadata = dataset.metadata()
        for (key, value) in provenance { #expect(metadata[key] == value, "\(key)") }
        #expect(metadata["NOMENCLATURE"] == "corine-l3")
        #expect(metadata["CLASSES"]?.contains("23=311 Broad-leaved forest") == true)
        #expect(metadata["TIFFTAG_SOFTWARE"] == "landcover 0.1.0")

        // MODE overview: the 2×2 majority (12) everywhere, although every cell holds one 18.
        #expect(band.overviewCount >= 1)
        let overview = band.overview(0)
        let reduced: [UInt8] = try overview.read(PixelWindow(column: 0, row: 0, width: 128, height: 128))
        #expect(reduced[10 * 128 + 10] == 12)
        #expect(reduced[64 * 128 + 64] == 12)
        var eighteens = 0
        for index in 10 * 128..<128 * 128 where reduced[index] == 18 { eighteens += 1 }
        #expect(eighteens == 0, "a mode overview has no 18")
        #expect(reduced[27 * 128 + 52] == 23)

        // The values themselves round-trip.
        let values: [UInt8] = try band.read(grid.fullWindow)
        #expect(values == MapFixtures.pattern())
    }

    @Test func aKnownFeatureLandsOnItsMapCoordinate() throws {
        let directory = TemporaryDirectory()
        let grid = try MapFixtures.grid()
        let writer = LandCoverMapWriter(nomenclature: .corine(.level3), options: MapFixtures.options())
        let path = directory.path("map.tif")
        try writer.write(classes: MapFixtures.pattern(), grid: grid, to: path)
        let dataset = try Dataset.open(path)
        let transform = try #require(dataset.geoTransform)
        // The centre of the 10×10 block of 311 at columns 100..<110, rows 50..<60 in map coordinates:
        let x = 500_000.0 + 105 * 10
        let y = 4_600_000.0 - 55 * 10
        let pixel = transform.pixel(x: x, y: y)
        #expect(Int(pixel.column) == 105 && Int(pixel.row) == 55)
        let inside: [UInt8] = try dataset.band(1).read(
            PixelWindow(column: Int(pixel.column), row: Int(pixel.row), width: 1, height: 1))
        #expect(inside == [23])
        // Its corners: (501 000, 4 599 500) is the top-left corner of pixel (100, 50).
        let corner = transform.pixel(x: 501_000 + 5, y: 4_599_500 - 5)
        let cornerValue: [UInt8] = try dataset.band(1).read(
            PixelWindow(column: Int(corner.column), row: Int(corner.row), width: 1, height: 1))
        #expect(cornerValue == [23])
        let outside = transform.pixel(x: 501_000 - 5, y: 4_599_500 - 5)
        let outsideValue: [UInt8] = try dataset.band(1).read(
            PixelWindow(column: Int(outside.column), row: Int(outside.row), width: 1, height: 1))
        #expect(outsideValue != [23])
    }

    @Test func theStyleListsTheNomenclatureClasses() throws {
        let directory = TemporaryDirectory()
        let writer = LandCoverMapWriter(nomenclature: .corine(.level2), options: MapFixtures.options())
        let classes = MapFixtures.pattern().map { Nomenclature.corine(.level2).level3LookupTable[Int($0)] }
        let files = try writer.write(classes: classes, grid: try MapFixtures.grid(), to: directory.path("l2.tif"))
        let xml = try #require(MapFixtures.parseXML(files.style), "the .qml is well-formed XML")
        #expect(xml.elements.first == "qgis")
        #expect(xml.elements.contains("rasterrenderer"))
        #expect(xml.entries.count == 15)
        #expect(xml.entries.first?["value"] == "1")
        #expect(xml.entries.first?["label"] == "11 Urban fabric")
        #expect(xml.entries.first?["color"] == "#e6004d")
        #expect(xml.entries.contains { $0["label"] == "31 Forests" && $0["value"] == "9" })
        #expect(try MapFixtures.categoryNames(files.map)[safe: 9] == "31 Forests")
    }

    @Test func gdalsOwnValidatorAcceptsTheCOG() throws {
        let python = URL(fileURLWithPath: "/usr/bin/python3")
        let probe = try? Executables.run(
            python, ["-c", "from osgeo_utils.samples import validate_cloud_optimized_geotiff"])
        guard probe?.status == 0 else {
            print("skipped: Python GDAL (osgeo_utils) is not available to validate the COG independently")
            return
        }
        let directory = TemporaryDirectory()
        let path = directory.path("map.tif")
        try LandCoverMapWriter(nomenclature: .corine(.level3), options: MapFixtures.options())
            .write(classes: MapFixtures.pattern(), grid: try MapFixtures.grid(), to: path)
        let result = try Executables.run(
            python, ["-m", "osgeo_utils.samples.validate_cloud_optimized_geotiff", "--full-check=yes", path])
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("is a valid cloud optimized GeoTIFF"), "\(result.output)")
    }

    @Test func streamsRowStripsWithConfidenceAndMargin() throws {
        let directory = TemporaryDirectory()
        let grid = try MapFixtures.grid()
        let writer = LandCoverMapWriter(nomenclature: .corine(.level3), options: MapFixtures.options())
        let stream = try writer.begin(
            path: directory.path("stream.tif"), grid: grid, provenance: provenance, confidence: true, margin: true)
        let classes = MapFixtures.pattern()
        for start in stride(from: 0, to: 256, by: 100) {
            let rows = start..<min(256, start + 100)
            let range = rows.lowerBound * 256..<rows.upperBound * 256
            let confidence = range.map { UInt8(($0 / 256) % 101) }
            let margin = range.map { _ in UInt8(7) }
            try stream.write(
                rows: rows, classes: Array(classes[range]), confidence: confidence, margin: margin)
        }
        let files = try stream.finish()
        #expect(try Dataset.open(files.map).band(1).read(grid.fullWindow) == classes)
        let confidencePath = try #require(files.confidence)
        #expect(confidencePath == directory.path("stream.confidence.tif"))
        let confidence = try Dataset.open(confidencePath)
        #expect(confidence.bandCount == 2)
        #expect(confidence.metadata(domain: "IMAGE_STRUCTURE")["LAYOUT"] == "COG")
        #expect(confidence.band(1).noDataValue == 255)
        let row200: [UInt8] = try confidence.band(1).read(PixelWindow(column: 0, row: 200, width: 256, height: 1))
        #expect(row200.allSatisfy { $0 == 200 % 101 })
        let margin: [UInt8] = try confidence.band(2).read(PixelWindow(column: 9, row: 9, width: 1, height: 1))
        #expect(margin == [7])
        #expect(confidence.geoTransform == grid.geoTransform)
        #expect(LandCoverMapWriter.confidencePercent(0.874) == 87)
        #expect(LandCoverMapWriter.confidencePercent(.nan) == 255)
    }

    @Test func refusesAnExistingOutputUnlessOverwriting() throws {
        let directory = TemporaryDirectory()
        let grid = try MapFixtures.grid()
        let path = directory.path("map.tif")
        let classes = MapFixtures.pattern()
        try LandCoverMapWriter(nomenclature: .corine(.level3), options: MapFixtures.options())
            .write(classes: classes, grid: grid, to: path)
        #expect(throws: MappingError.self) {
            try LandCoverMapWriter(nomenclature: .corine(.level3), options: MapFixtures.options())
                .write(classes: classes, grid: grid, to: path)
        }
        let changed = classes.map { $0 == 12 ? UInt8(13) : $0 }
        try LandCoverMapWriter(nomenclature: .corine(.level3), options: MapFixtures.options(overwrite: true))
            .write(classes: changed, grid: grid, to: path)
        #expect(try Dataset.open(path).band(1).read(grid.fullWindow) == changed)
        #expect(try MapFixtures.categoryNames(path)[safe: 23] == "311 Broad-leaved forest")
    }

    @Test func aFailedWriteLeavesNothingBehind() throws {
        let directory = TemporaryDirectory()
        let grid = try MapFixtures.grid()
        let writer = LandCoverMapWriter(nomenclature: .corine(.level1), options: MapFixtures.options())
        // An invalid path: the folder does not exist.
        #expect(throws: (any Error).self) {
            try writer.write(
                classes: MapFixtures.pattern(), grid: grid, to: directory.path("missing/folder/map.tif"))
        }
        // A value that is not a level-1 class fails half-way through the strips.
        var classes = [UInt8](repeating: 3, count: 256 * 256)
        classes[200 * 256] = 9
        #expect(throws: MappingError.self) {
            try writer.write(classes: classes, grid: grid, to: directory.path("map.tif"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
        // An abandoned stream cleans up too.
        do {
            let stream = try writer.begin(path: directory.path("abandoned.tif"), grid: grid)
            try stream.write(rows: 0..<10, classes: [UInt8](repeating: 1, count: 2560))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
    }
}
