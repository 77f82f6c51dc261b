import Foundation
import GeoRaster
import LandCoverData
import TestSupport
import Testing

/// The folder of the shared data set; a global is never deinitialised, so it is removed when the process exits.
private let sharedDirectory = TemporaryDirectory("sample-data")

/// One small data set shared by the read-only tests (generation takes a moment in debug builds).
private final class GeneratedSample: Sendable {
    static let size = 240
    let set: SampleDataSet
    let landscape: SyntheticLandscape

    init() throws {
        atexit { try? FileManager.default.removeItem(at: sharedDirectory.url) }
        set = try SampleDataGenerator.generate(into: sharedDirectory.url, size: Self.size, seed: 7)
        landscape = SyntheticLandscape(.init(size: Self.size, seed: 7))
    }
}

private let shared = Result { try GeneratedSample() }

/// Relative path → bytes of every regular file under `root`.
private func fileContents(under root: URL) throws -> [String: Data] {
    var contents: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])!
    for case let url as URL in enumerator where try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile! {
        contents[String(url.path.dropFirst(root.path.count))] = try Data(contentsOf: url)
    }
    return contents
}

@Suite struct SampleDataTests {
    // MARK: Sentinel-2 product

    @Test func productOpensAsSentinel2L1C() throws {
        let sample = try shared.get()
        let product = try Dataset.open(sample.set.productMetadata.path)
        #expect(product.driverName == "SENTINEL2")
        #expect(
            sample.set.product.lastPathComponent
                == "S2B_MSIL1C_20180510T094029_N0500_R036_T35VMF_20230104T000000.SAFE")
        let metadata = product.metadata()
        #expect(metadata["PROCESSING_LEVEL"] == "Level-1C")
        #expect(metadata["PROCESSING_BASELINE"] == "05.00")
        #expect(metadata["QUANTIFICATION_VALUE"] == "10000")
        #expect(metadata["SPECIAL_VALUE_NODATA"] == "0")
        #expect(metadata["PRODUCT_START_TIME"] == "2018-05-10T09:40:29.024Z")
        #expect(metadata["FOOTPRINT"]?.hasPrefix("POLYGON((25.9") == true)
        let names = product.subdatasets.map(\.name)
        #expect(names.contains(sample.set.subdataset10m))
        #expect(names.contains(sample.set.subdataset20m))
        #expect(sample.set.subdataset10m.hasSuffix(":10m:EPSG_32635"))
        let xml = product.metadataStrings(domain: "xml:SENTINEL2").joined()
        for id in 0...12 { #expect(xml.contains("<RADIO_ADD_OFFSET band_id=\"\(id)\">-1000</RADIO_ADD_OFFSET>")) }
    }

    @Test func tenMetreSubdatasetHoldsReflectancePlusOffset() throws {
        let sample = try shared.get()
        let size = GeneratedSample.size
        let bands10m = try Dataset.open(sample.set.subdataset10m)
        #expect(bands10m.width == size && bands10m.height == size)
        #expect(bands10m.crs?.epsg == 32635)
        #expect(
            bands10m.geoTransform
                == GeoTransform(originX: 440_160, originY: 6_550_200, pixelWidth: 10, pixelHeight: -10))
        #expect(bands10m.bands.map { $0.metadataItem("BANDNAME") } == ["B4", "B3", "B2", "B8"])
        for band in bands10m.bands {
            let name = try #require(band.metadataItem("BANDNAME"))
            let reflectance = try #require(sample.landscape.reflectance[SpectralBand(name)!.name])
            let values = try band.read(PixelWindow(column: 0, row: 0, width: size, height: size), as: UInt16.self)
            #expect(values == reflectance.map { $0 + 1000 }, "band \(name)")
        }
    }

    @Test func twentyMetreSubdatasetHoldsB11BlockMeans() throws {
        let sample = try shared.get()
        let size = GeneratedSample.size
        let bands20m = try Dataset.open(sample.set.subdataset20m)
        #expect(bands20m.width == size / 2 && bands20m.height == size / 2)
        #expect(bands20m.geoTransform?.pixelWidth == 20)
        // GDAL 3.6 lists all six 20 m bands; the ones not written read as 0 (no data).
        let b11 = try #require(bands20m.bands.first { $0.metadataItem("BANDNAME") == "B11" })
        let values = try b11.read(PixelWindow(column: 0, row: 0, width: size / 2, height: size / 2), as: UInt16.self)
        let full = try #require(sample.landscape.reflectance["B11"])
        for (row, column) in [(0, 0), (17, 93), (59, 60), (119, 119)] {
            let sum = [(0, 0), (0, 1), (1, 0), (1, 1)].reduce(0) { sum, step in
                sum + Int(full[(2 * row + step.0) * size + 2 * column + step.1])
            }
            #expect(Int(values[row * size / 2 + column]) == (sum + 2) / 4 + 1000)
        }
    }

    @Test func bandFilesAreLosslessGeoreferencedJPEG2000() throws {
        let sample = try shared.get()
        let images = try #require(
            FileManager.default.enumerator(at: sample.set.product, includingPropertiesForKeys: nil)?
                .compactMap { $0 as? URL }.filter { $0.pathExtension == "jp2" })
        #expect(
            images.map(\.lastPathComponent).sorted()
                == ["B02", "B03", "B04", "B08", "B11"].map {
                    "T35VMF_20180510T094029_\($0).jp2"
                })
        #expect(images.allSatisfy { $0.path.contains("/GRANULE/L1C_T35VMF_A006199_20180510T094029/IMG_DATA/") })
        for image in images {
            let dataset = try Dataset.open(image.path)
            #expect(dataset.driverName == "JP2OpenJPEG")
            #expect(dataset.band(1).pixelType == .uint16)
            #expect(dataset.metadataItem("COMPRESSION_REVERSIBILITY", domain: "IMAGE_STRUCTURE") == "LOSSLESS")
            #expect(dataset.crs?.epsg == 32635)
            #expect(dataset.geoTransform?.originX == 440_160)
        }
    }

    // MARK: CORINE and truth

    @Test func corineRasterIsLAEA100mWithPaletteAndNames() throws {
        let sample = try shared.get()
        let corine = try Dataset.open(sample.set.corine.path)
        #expect(corine.driverName == "GTiff")
        #expect(corine.crs?.epsg == 3035)
        let transform = try #require(corine.geoTransform)
        #expect(transform.pixelWidth == 100 && transform.pixelHeight == -100)
        #expect(transform.originX.truncatingRemainder(dividingBy: 100) == 0)
        #expect(transform.originY.truncatingRemainder(dividingBy: 100) == 0)
        let band = corine.band(1)
        #expect(band.pixelType == .byte)
        #expect(band.noDataValue == 48)
        let palette = try #require(band.colorTable)
        let forest = try #require(Corine.byGridCode(23))
        #expect(palette[23] == ColorEntry(red: forest.color.red, green: forest.color.green, blue: forest.color.blue))
        let names = band.categoryNames
        #expect(names[23] == "311 Broad-leaved forest")
        #expect(names[1] == "111 Continuous urban fabric")
        #expect(names[48] == "NODATA")

        let values = try band.read(corine.grid!.fullWindow, as: UInt8.self)
        #expect(values.allSatisfy { (1...44).contains($0) || $0 == 48 })
        #expect(values.prefix(corine.width).allSatisfy { $0 == 48 }, "the margin is no data")
        #expect(values.contains { $0 != 48 })
    }

    @Test func corineRasterMatchesTheLabelGridByNearestNeighbour() throws {
        let sample = try shared.get()
        let corine = try Dataset.open(sample.set.corine.path)
        let grid = try #require(corine.grid)
        let values = try corine.band(1).read(grid.fullWindow, as: UInt8.self)
        let cells = GeneratedSample.size / 10
        // Cell centres of the middle of the raster, mapped back into the 100 m UTM label grid.
        var pixels: [(column: Int, row: Int)] = []
        for row in stride(from: grid.height / 2 - 6, to: grid.height / 2 + 6, by: 3) {
            for column in stride(from: grid.width / 2 - 6, to: grid.width / 2 + 6, by: 3) {
                pixels.append((column, row))
            }
        }
        let centres = pixels.map { grid.geoTransform.map(column: Double($0.column) + 0.5, row: Double($0.row) + 0.5) }
        let utm = try CRS(epsg: 3035).transform(centres, to: CRS(epsg: 32635))
        for (pixel, point) in zip(pixels, utm) {
            let column = Int(((point.x - 440_160) / 100).rounded(.down))
            let row = Int(((6_550_200 - point.y) / 100).rounded(.down))
            try #require((0..<cells).contains(column) && (0..<cells).contains(row))
            #expect(values[pixel.row * grid.width + pixel.column] == sample.landscape.corine100m[row * cells + column])
        }
    }

    @Test func truthRasterHoldsTheTrueClassesOnTheProductGrid() throws {
        let sample = try shared.get()
        let truth = try Dataset.open(sample.set.truth.path)
        let product = try Dataset.open(sample.set.subdataset10m)
        #expect(truth.geoTransform == product.geoTransform)
        #expect(truth.crs?.epsg == 32635)
        #expect(try truth.band(1).read(truth.grid!.fullWindow, as: UInt8.self) == sample.landscape.truth)
        #expect(truth.band(1).categoryNames[24] == "312 Coniferous forest")
    }

    @Test func readmeSaysTheDataIsSynthetic() throws {
        let readme = try String(contentsOf: try shared.get().set.readme, encoding: .utf8)
        #expect(readme.contains("synthetic"))
        #expect(readme.contains("landcover sample-data --out SampleData"))
    }

    // MARK: Determinism and overwriting

    @Test func generationIsByteIdenticalAndRefusesToOverwrite() throws {
        let first = TemporaryDirectory("sample-data-a")
        let second = TemporaryDirectory("sample-data-b")
        try SampleDataGenerator.generate(into: first.url, size: 60, seed: 11)
        try SampleDataGenerator.generate(into: second.url, size: 60, seed: 11)
        let contents = try fileContents(under: first.url)
        #expect(contents.count == 13)
        #expect(contents == (try fileContents(under: second.url)))

        #expect(throws: SampleDataError.self) { try SampleDataGenerator.generate(into: first.url, size: 60, seed: 11) }
        try SampleDataGenerator.generate(into: first.url, size: 60, seed: 12, overwrite: true)
        let replaced = try fileContents(under: first.url)
        #expect(Set(replaced.keys) == Set(contents.keys), "no staging or old files left behind")
        #expect(replaced != contents)
    }

    @Test func rejectsSizesThatDoNotNest() {
        let directory = TemporaryDirectory("sample-data-size")
        #expect(throws: SampleDataError.self) { try SampleDataGenerator.generate(into: directory.url, size: 100) }
    }

    // MARK: Writer on its own

    @Test func writerDownsamplesCoarseBandsAndHonoursTheBaseline() throws {
        let directory = TemporaryDirectory("s2-writer")
        var writer = Sentinel2ProductWriter()
        writer.processingBaseline = "02.06"
        writer.spacecraft = "S2A"
        let size = 12
        let ramp = (0..<size * size).map { UInt16(100 + $0) }
        let product = try writer.write(
            reflectance: [.b04: ramp, .b8A: ramp, .b01: ramp], size: size, into: directory.url)
        #expect(product.lastPathComponent == "S2A_MSIL1C_20180510T094029_N0206_R036_T35VMF_20230104T000000.SAFE")
        #expect(writer.radiometricOffset == 0)

        let xml = try String(contentsOf: Sentinel2ProductWriter.metadataURL(inProduct: product), encoding: .utf8)
        #expect(!xml.contains("RADIO_ADD_OFFSET"))
        #expect(
            xml.contains(
                "<IMAGE_FILE>GRANULE/L1C_T35VMF_A006199_20180510T094029/IMG_DATA/T35VMF_20180510T094029_B8A</IMAGE_FILE>"
            ))

        let images = product.appendingPathComponent("GRANULE/L1C_T35VMF_A006199_20180510T094029/IMG_DATA")
        let red = try Dataset.open(images.appendingPathComponent("T35VMF_20180510T094029_B04.jp2").path)
        #expect(try red.band(1).read(red.grid!.fullWindow, as: UInt16.self) == ramp, "no offset before 04.00")
        let narrowNIR = try Dataset.open(images.appendingPathComponent("T35VMF_20180510T094029_B8A.jp2").path)
        #expect(narrowNIR.width == 6 && narrowNIR.geoTransform?.pixelWidth == 20)
        // Mean of the top-left 2×2 block 100, 101, 112, 113.
        #expect(
            try narrowNIR.band(1).read(PixelWindow(column: 0, row: 0, width: 1, height: 1), as: UInt16.self) == [107])
        let aerosol = try Dataset.open(images.appendingPathComponent("T35VMF_20180510T094029_B01.jp2").path)
        #expect(aerosol.width == 2 && aerosol.geoTransform?.pixelWidth == 60)

        let sixty = try Dataset.open(writer.subdatasetName(product: product, resolution: 60))
        #expect(sixty.width == 2 && sixty.bands.first?.metadataItem("BANDNAME") == "B1")

        #expect(throws: SampleDataError.alreadyExists(path: product.path)) {
            try writer.write(reflectance: [.b04: ramp], size: size, into: directory.url)
        }
        #expect(throws: SampleDataError.self) {
            try writer.write(reflectance: [.b04: ramp], size: 10, into: directory.url, overwrite: true)
        }
    }
}
