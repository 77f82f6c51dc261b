import Foundation
import GeoRaster
import Testing
import TestSupport

@testable import LandCoverData

/// GDAL's autotest fake SAFE products (real XML, all-zero sparse GeoTIFFs named `.jp2`), outside the repository.
private let fakes = "gdal-autotest-sentinel2"
private let hasFakes = TestPaths.hasSharedTestData(fakes)
private let absent: Comment = "../shared/testdata/gdal-autotest-sentinel2 is absent"

private func fake(_ relative: String) -> String { TestPaths.sharedTestData("\(fakes)/\(relative)").path }

private let l1cBaseline509 =
    "fake_l1c_processing_baseline_5_09/S2B_MSIL1C_20230823T095559_N0509_R122_T34UCF_20230823T120234.SAFE"
private let l2aBaseline509 =
    "fake_l2a_processing_baseline_5_09/S2B_MSIL2A_20230823T095559_N0509_R122_T34UCF_20230823T124759.SAFE"

/// What each fake product must look like.
struct FakeProduct: Sendable, CustomTestStringConvertible {
    var xml: String
    var level: ProcessingLevel
    var name: String
    var tile: String?
    var baseline: String
    var sensing: String
    var quantification: Double
    var offset: Double
    var epsg: Int
    var size: (width: Int, height: Int)
    var bands: [SpectralBand]
    var hasSCL: Bool

    var testDescription: String { xml.split(separator: "/").first.map(String.init) ?? xml }
}

private let allBands = SpectralBand.allCases
private let l2aBands = SpectralBand.allCases.filter { $0 != .b10 }

private let fakeProducts: [FakeProduct] = [
    FakeProduct(
        xml: "fake_l1c/S2A_OPER_PRD_MSIL1C.SAFE/S2A_OPER_MTD_SAFL1C.xml", level: .l1c, name: "S2A_OPER_PRD_MSIL1C",
        tile: nil, baseline: "01.03", sensing: "2015-12-31T23:59:59.999Z", quantification: 1000, offset: 0,
        epsg: 32632, size: (20984, 20980), bands: allBands, hasSCL: false),
    FakeProduct(
        xml: "fake_l1c_safecompact/S2A_MSIL1C_test.SAFE/MTD_MSIL1C.xml", level: .l1c, name: "S2A_MSIL1C_test",
        tile: nil, baseline: "01.03", sensing: "2015-12-31T23:59:59.999Z", quantification: 1000, offset: 0,
        epsg: 32632, size: (10980, 10980), bands: allBands, hasSCL: false),
    FakeProduct(
        xml: "\(l1cBaseline509)/MTD_MSIL1C.xml", level: .l1c,
        name: "S2B_MSIL1C_20230823T095559_N0509_R122_T34UCF_20230823T120234", tile: "34UCF", baseline: "05.09",
        sensing: "2023-08-23T09:55:59.024Z", quantification: 10000, offset: -1000, epsg: 32634,
        size: (10980, 10980), bands: allBands, hasSCL: false),
    FakeProduct(
        xml: "fake_l2a/S2A_USER_PRD_MSIL2A.SAFE/S2A_USER_MTD_SAFL2A.xml", level: .l2a, name: "S2A_USER_PRD_MSIL2A",
        tile: "32TQR", baseline: "01.03", sensing: "2015-12-31T23:59:59.999Z", quantification: 1000, offset: 0,
        epsg: 32632, size: (10980, 10980), bands: [.b01, .b09, .b10], hasSCL: true),
    FakeProduct(
        xml: "fake_l2a_MSIL2Ap/S2A_MSIL2A_20170823T094031_N0205_R036_T34VFJ_20170823T094252.SAFE/MTD_MSIL2A.xml",
        level: .l2a, name: "S2A_MSIL2A_20170823T094031_N0205_R036_T34VFJ_20170823T094252", tile: "34VFJ",
        baseline: "02.05", sensing: "2017-08-23T09:40:31.026Z", quantification: 10000, offset: 0, epsg: 32634,
        size: (10980, 10980), bands: l2aBands, hasSCL: true),
    FakeProduct(
        xml: "fake_l2a_MSIL2A/S2A_MSIL2A_20180818T094031_N0208_R036_T34VFJ_20180818T120345.SAFE/MTD_MSIL2A.xml",
        level: .l2a, name: "S2A_MSIL2A_20180818T094031_N0208_R036_T34VFJ_20180818T120345", tile: "34VFJ",
        baseline: "02.08", sensing: "2018-08-18T09:40:31.024Z", quantification: 10000, offset: 0, epsg: 32634,
        size: (10980, 10980), bands: l2aBands, hasSCL: true),
    FakeProduct(
        xml: "\(l2aBaseline509)/MTD_MSIL2A.xml", level: .l2a,
        name: "S2B_MSIL2A_20230823T095559_N0509_R122_T34UCF_20230823T124759", tile: "34UCF", baseline: "05.09",
        sensing: "2023-08-23T09:55:59.024Z", quantification: 10000, offset: -1000, epsg: 32634,
        size: (10980, 10980), bands: l2aBands, hasSCL: true),
]

@Suite struct Sentinel2ProductTests {
    // MARK: Bands and classes (no data needed)

    @Test(arguments: [
        ("B02", "B02"), ("B2", "B02"), ("b4", "B04"), ("04", "B04"), ("8", "B08"), ("B8A", "B8A"), ("b8a", "B8A"),
        ("8A", "B8A"), ("B12", "B12"), ("b01", "B01"),
    ])
    func spectralBandParsesAndNormalises(input: String, name: String) throws {
        let band = try #require(SpectralBand(input))
        #expect(band.name == name)
    }

    @Test(arguments: ["", "B", "B0", "B13", "B8B", "B+4", "B004", "C02", "B１"])
    func spectralBandRejects(input: String) {
        #expect(SpectralBand(input) == nil)
    }

    @Test func spectralBandProperties() throws {
        #expect(
            SpectralBand.allCases.map(\.name) == [
                "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
            ])
        #expect(SpectralBand.allCases.map(\.xmlBandID) == Array(0...12))
        #expect(
            SpectralBand.allCases.map(\.gdalBandName) == [
                "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12",
            ])
        #expect(SpectralBand.rgb == [.b04, .b03, .b02])
        #expect(SpectralBand.tenMetre.allSatisfy { $0.nativeResolution == 10 })
        #expect(SpectralBand.twentyMetre.allSatisfy { $0.nativeResolution == 20 })
        #expect(SpectralBand.sixtyMetre.allSatisfy { $0.nativeResolution == 60 })
        #expect(Set(SpectralBand.tenMetre + SpectralBand.twentyMetre + SpectralBand.sixtyMetre).count == 13)
        #expect(SpectralBand.b8A < .b09 && .b08 < .b8A)
        #expect([SpectralBand.b12, .b02, .b8A].sorted() == [.b02, .b8A, .b12])
        #expect(SpectralBand(xmlBandID: 8) == .b8A)
        #expect(SpectralBand(xmlBandID: 13) == nil)

        let json = try JSONEncoder().encode(SpectralBand.rgb)
        #expect(String(decoding: json, as: UTF8.self) == #"["B04","B03","B02"]"#)
        #expect(try JSONDecoder().decode([SpectralBand].self, from: Data(#"["b4","B8A"]"#.utf8)) == [.b04, .b8A])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([SpectralBand].self, from: Data(#"["B13"]"#.utf8))
        }
    }

    @Test func sceneClassValidity() {
        #expect(SceneClass.allCases.count == 12)
        #expect(SceneClass.allCases.filter(\.isInvalid).map(\.rawValue) == [0, 1, 3, 8, 9, 10, 11])
        #expect(SceneClass.isInvalid(4) == false)
        #expect(SceneClass.isInvalid(200))
        #expect(SceneClass.cloudShadow.description == "CLOUD_SHADOW")
    }

    @Test func subdatasetNames() throws {
        let parsed = try #require(
            Sentinel2Product.parseSubdatasetName("SENTINEL2_L2A:/vsizip/a.zip/X.SAFE/MTD_MSIL2A.xml:20m:EPSG_32634"))
        #expect(parsed.resolution == 20 && parsed.epsg == 32634)
        #expect(Sentinel2Product.parseSubdatasetName("SENTINEL2_L1C:a/MTD_MSIL1C.xml:TCI:EPSG_32634") == nil)
        #expect(Sentinel2Product.parseSubdatasetName("SENTINEL2_L1C_TILE:a/T.xml:10m") == nil)
        #expect(
            Sentinel2Product.bestMetadataFile(["manifest.safe", "INSPIRE.xml", "MTD_MSIL2A.xml"]) == "MTD_MSIL2A.xml")
        #expect(
            Sentinel2Product.bestMetadataFile(["S2A_OPER_MTD_SAFL1C_PDMC_X.xml", "INSPIRE.xml"])
                == "S2A_OPER_MTD_SAFL1C_PDMC_X.xml")
        #expect(Sentinel2Product.bestMetadataFile(["INSPIRE.xml", "GRANULE"]) == nil)
    }

    // MARK: The fake products

    @Test(.enabled(if: hasFakes, absent), arguments: fakeProducts)
    func opensFakeProduct(_ expected: FakeProduct) throws {
        let product = try Sentinel2Product.open(fake(expected.xml))
        #expect(product.path == fake(expected.xml))
        #expect(product.metadataPath == fake(expected.xml))
        #expect(product.level == expected.level)
        #expect(product.productName == expected.name)
        #expect(product.tileID == expected.tile)
        #expect(product.processingBaseline == expected.baseline)
        #expect(product.sensingTime == expected.sensing)
        #expect(product.quantificationValue == expected.quantification)
        for band in SpectralBand.allCases {
            #expect(product.radiometricOffset(band) == expected.offset, "\(band)")
        }
        #expect(product.epsg == expected.epsg)
        #expect(product.availableEPSGCodes == [expected.epsg])
        #expect(product.grid.width == expected.size.width && product.grid.height == expected.size.height)
        #expect(product.grid.geoTransform.pixelWidth == 10 && product.grid.geoTransform.pixelHeight == -10)
        #expect(try CRS(product.grid.crsWKT).epsg == expected.epsg)
        #expect(product.availableBands == expected.bands)
        #expect(product.hasSceneClassification == expected.hasSCL)

        // Reading: all-zero fakes give DN 0 = no data = NaN reflectance, at an odd offset on the grid's edge.
        let window = PixelWindow(
            column: product.grid.width - 13, row: product.grid.height - 11, width: 13, height: 11)
        let reader = try product.openReader(bands: expected.bands, includeSceneClassification: expected.hasSCL)
        let values = try reader.read(window)
        #expect(values.count == expected.bands.count * 13 * 11)
        #expect(values.allSatisfy { $0 == 0 })
        #expect(product.reflectance(values[0], band: expected.bands[0]).isNaN)
        if expected.hasSCL {
            let classes = try reader.readSceneClassification(window)
            #expect(classes.count == 13 * 11)
            #expect(classes.allSatisfy { SceneClass(rawValue: $0) == .noData })
        } else {
            #expect(throws: Sentinel2Error.self) { try reader.readSceneClassification(window) }
        }
    }

    @Test(.enabled(if: hasFakes, absent), arguments: [l1cBaseline509, l2aBaseline509])
    func tenMetreBandsAreMappedByBandName(_ safe: String) throws {
        let product = try Sentinel2Product.open(fake(safe))
        // GDAL's 10 m subdataset holds B4, B3, B2, B8 in this order although its description lists B2, B3, B4, B8.
        let indices = try [SpectralBand.b04, .b03, .b02, .b08].map { band in
            let location = try #require(product.location(of: band))
            #expect(location.subdataset.resolution == 10)
            return location.index
        }
        #expect(indices == [1, 2, 3, 4])
        let b8A = try #require(product.location(of: .b8A))
        #expect(b8A.subdataset.resolution == 20 && b8A.index == 4)
        #expect(product.location(of: .b01)?.subdataset.resolution == 60)
        #expect(product.sceneClassificationLocation?.subdataset.resolution == (product.level == .l2a ? 20 : nil))
    }

    @Test(
        .enabled(if: hasFakes, absent),
        arguments: [
            (l2aBaseline509, "MTD_MSIL2A.xml", ProcessingLevel.l2a),
            (l1cBaseline509, "MTD_MSIL1C.xml", .l1c),
            ("fake_l1c/S2A_OPER_PRD_MSIL1C.SAFE", "S2A_OPER_MTD_SAFL1C.xml", .l1c),
            ("fake_l2a", "S2A_USER_MTD_SAFL2A.xml", .l2a),  // a folder holding one .SAFE
        ])
    func opensDirectory(_ directory: String, metadata: String, level: ProcessingLevel) throws {
        let product = try Sentinel2Product.open(fake(directory))
        #expect(product.path == fake(directory))
        #expect(product.metadataPath.hasSuffix("/" + metadata))
        #expect(product.level == level)
        #expect(!product.availableBands.isEmpty)
    }

    @Test(.enabled(if: hasFakes, absent))
    func opensZip() throws {
        let temporary = TemporaryDirectory("s2-zip")
        let safe = URL(fileURLWithPath: fake(l2aBaseline509))
        let zip = temporary.path(safe.lastPathComponent + ".zip")
        guard let zipper = zipCommand(zip: zip, directory: safe) else {
            print("Sentinel2ProductTests.opensZip: skipped, neither /usr/bin/zip nor python3 is available")
            return
        }
        let process = Process()
        process.executableURL = zipper.executable
        process.arguments = zipper.arguments
        process.currentDirectoryURL = safe.deletingLastPathComponent()
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "zipping \(safe.lastPathComponent) failed")

        let product = try Sentinel2Product.open(zip)
        #expect(product.path == zip)
        #expect(product.metadataPath == "/vsizip/\(zip)/\(safe.lastPathComponent)/MTD_MSIL2A.xml")
        #expect(product.level == .l2a)
        #expect(product.tileID == "34UCF")
        #expect(product.radiometricOffset(.b04) == -1000)
        #expect(product.grid.width == 10980)
        let reader = try product.openReader(bands: [.b04, .b8A], includeSceneClassification: true)
        let window = PixelWindow(column: 101, row: 33, width: 9, height: 5)
        #expect(try reader.read(window) == [UInt16](repeating: 0, count: 2 * 45))
        #expect(try reader.readSceneClassification(window) == [UInt8](repeating: 0, count: 45))

        // The same zip through an explicit /vsizip/ path to the XML.
        let direct = try Sentinel2Product.open(product.metadataPath)
        #expect(direct.metadataPath == product.metadataPath && direct.level == .l2a)
    }

    /// `zip -qr <zip> <SAFE>` or the Python equivalent, run in the SAFE's parent folder.
    private func zipCommand(zip: String, directory: URL) -> (executable: URL, arguments: [String])? {
        let manager = FileManager.default
        if manager.isExecutableFile(atPath: "/usr/bin/zip") {
            return (URL(fileURLWithPath: "/usr/bin/zip"), ["-qr", zip, directory.lastPathComponent])
        }
        for python in ["/usr/bin/python3", "/usr/local/bin/python3"] where manager.isExecutableFile(atPath: python) {
            let script = """
                import os, sys, zipfile
                with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
                    for root, dirs, files in os.walk(sys.argv[2]):
                        for name in files: z.write(os.path.join(root, name))
                """
            return (URL(fileURLWithPath: python), ["-c", script, zip, directory.lastPathComponent])
        }
        return nil
    }

    @Test(.enabled(if: hasFakes, absent))
    func chosenZoneAndMissingZone() throws {
        let path = fake("\(l2aBaseline509)/MTD_MSIL2A.xml")
        #expect(try Sentinel2Product.open(path, epsg: 32634).epsg == 32634)
        let error = try #require(throws: Sentinel2Error.self) { try Sentinel2Product.open(path, epsg: 32635) }
        #expect(error.description.contains("EPSG:32635"))
        #expect(error.description.contains("available: EPSG:32634"))
    }

    // MARK: Pixels: band order and upsampling, on a copy with patterned bands

    /// A value that identifies band, native column and row.
    private static func pattern(base: Int, column: Int, row: Int) -> UInt16 {
        UInt16(base + column % 50 + 50 * (row % 19))
    }

    private static func sceneClass(column: Int, row: Int) -> UInt8 { UInt8((column + 3 * row) % 12) }

    @Test(
        .enabled(if: hasFakes, absent),
        arguments: [
            PixelWindow(column: 0, row: 0, width: 24, height: 24),
            PixelWindow(column: 5, row: 7, width: 37, height: 41),
            PixelWindow(column: 11, row: 1, width: 1, height: 13),
            PixelWindow(column: 59, row: 60, width: 9, height: 8),  // partly beyond the patterned corner: zeros there
        ])
    func readsAndUpsamplesPatternedBands(window: PixelWindow) throws {
        let temporary = TemporaryDirectory("s2-pattern")
        let safe = try patternedCopy(of: fake(l2aBaseline509), into: temporary)
        let product = try Sentinel2Product.open(safe)
        let bands: [SpectralBand] = [.b04, .b03, .b02, .b05, .b01]
        let bases: [SpectralBand: Int] = [.b02: 2000, .b03: 3000, .b04: 4000, .b05: 5000, .b01: 1000]
        let reader = try product.openReader(bands: bands)
        let values = try reader.read(window)

        let plane = window.pixelCount
        var mismatches = 0
        for (i, band) in bands.enumerated() {
            let factor = band.nativeResolution / 10
            let written = 64 / factor  // patterned native pixels per side
            for y in 0..<window.height {
                for x in 0..<window.width {
                    let column = (window.column + x) / factor
                    let row = (window.row + y) / factor
                    let expected =
                        column < written && row < written
                        ? Self.pattern(base: bases[band]!, column: column, row: row) : 0
                    if values[i * plane + y * window.width + x] != expected { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0)

        var buffer = [UInt16](repeating: 9, count: bands.count * plane + 3)
        try buffer.withUnsafeMutableBufferPointer { try reader.read(window, into: $0) }
        #expect(Array(buffer.prefix(bands.count * plane)) == values)
        #expect(buffer.suffix(3) == [9, 9, 9])

        let classes = try reader.readSceneClassification(window)  // opened on demand
        let expectedClasses = (0..<plane).map { p -> UInt8 in
            let column = (window.column + p % window.width) / 2
            let row = (window.row + p / window.width) / 2
            return column < 32 && row < 32 ? Self.sceneClass(column: column, row: row) : 0
        }
        #expect(classes == expectedClasses)
    }

    @Test(.enabled(if: hasFakes, absent))
    func reflectanceAppliesOffsetAndQuantification() throws {
        let new = try Sentinel2Product.open(fake(l2aBaseline509))
        #expect(new.reflectance(0, band: .b04).isNaN)
        #expect(new.reflectance(1000, band: .b04) == 0)
        #expect(new.reflectance(2000, band: .b02) == 0.1)
        #expect(new.reflectance(11000, band: .b8A) == 1)
        let old = try Sentinel2Product.open(fake("fake_l2a_MSIL2A"))
        #expect(old.reflectance(2000, band: .b04) == 0.2)
        #expect(old.reflectance(0, band: .b04).isNaN)
    }

    /// Copies the PB 05.09 L2A fake into `directory` and writes known patterns into the top-left 64×64 10 m pixels
    /// of B02, B03, B04 (10 m), B05 and SCL (20 m) and B01 (60 m); returns the copied SAFE path.
    private func patternedCopy(of safe: String, into directory: TemporaryDirectory) throws -> String {
        let source = URL(fileURLWithPath: safe)
        let target = directory.url.appendingPathComponent(source.lastPathComponent)
        try copyTree(source, to: target)
        let images = try FileManager.default.contentsOfDirectory(
            at: target.appendingPathComponent("GRANULE"), includingPropertiesForKeys: nil
        )[0].appendingPathComponent("IMG_DATA")
        let prefix = "T34UCF_20230823T095559"
        let files: [(path: String, base: Int?, size: Int)] = [
            ("R10m/\(prefix)_B02_10m.jp2", 2000, 64), ("R10m/\(prefix)_B03_10m.jp2", 3000, 64),
            ("R10m/\(prefix)_B04_10m.jp2", 4000, 64), ("R20m/\(prefix)_B05_20m.jp2", 5000, 32),
            ("R60m/\(prefix)_B01_60m.jp2", 1000, 10), ("R20m/\(prefix)_SCL_20m.jp2", nil, 32),
        ]
        for file in files {
            let path = images.appendingPathComponent(file.path).path
            let original = try Dataset.open(path)
            let grid = try #require(original.grid)
            let type = try #require(original.band(1).pixelType)
            try FileManager.default.removeItem(atPath: path)
            let output = try Dataset.create(
                path, driver: "GTiff", width: grid.width, height: grid.height, bands: 1, type: type,
                options: ["TILED=YES", "SPARSE_OK=TRUE", "BLOCKXSIZE=64", "BLOCKYSIZE=64"])
            try output.setGeoTransform(grid.geoTransform)
            try output.setCRS(CRS(grid.crsWKT))
            let corner = PixelWindow(column: 0, row: 0, width: file.size, height: file.size)
            if let base = file.base {
                let values = (0..<corner.pixelCount).map {
                    Self.pattern(base: base, column: $0 % file.size, row: $0 / file.size)
                }
                try output.band(1).write(values, window: corner)
            } else {
                let values = (0..<corner.pixelCount).map {
                    Self.sceneClass(column: $0 % file.size, row: $0 / file.size)
                }
                try output.band(1).write(values, window: corner)
            }
            try output.close()
        }
        return target.path
    }

    /// Copies a directory tree with fresh (writable) permissions.
    private func copyTree(_ source: URL, to target: URL) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: target, withIntermediateDirectories: true)
        for name in try manager.contentsOfDirectory(atPath: source.path) {
            let from = source.appendingPathComponent(name)
            let to = target.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            _ = manager.fileExists(atPath: from.path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                try copyTree(from, to: to)
            } else {
                try Data(contentsOf: from).write(to: to)
            }
        }
    }

    // MARK: Errors

    @Test func missingPath() {
        let path = "/nonexistent/S2B_MSIL2A_X.SAFE"
        let error = #expect(throws: Sentinel2Error.self) { try Sentinel2Product.open(path) }
        #expect(error?.description == "\(path): no such file or directory")
    }

    @Test func directoryWithoutMetadata() throws {
        let temporary = TemporaryDirectory("s2-empty")
        try Data("x".utf8).write(to: temporary.url.appendingPathComponent("INSPIRE.xml"))
        let error = #expect(throws: Sentinel2Error.self) { try Sentinel2Product.open(temporary.url.path) }
        #expect(
            error?.description
                == "no Sentinel-2 product metadata (MTD_MSIL1C.xml / MTD_MSIL2A.xml) in \(temporary.url.path)")
    }

    @Test(
        .enabled(if: hasFakes, absent),
        arguments: [
            "fake_l1b/S2B_OPER_PRD_MSIL1B.SAFE/S2B_OPER_MTD_SAFL1B.xml", "fake_l1b/S2B_OPER_PRD_MSIL1B.SAFE",
            "fake_l1b_geoloc/S2B_OPER_PRD_MSIL1B.SAFE",
        ])
    func rejectsLevel1B(_ relative: String) throws {
        let error = try #require(throws: Sentinel2Error.self) { try Sentinel2Product.open(fake(relative)) }
        #expect(error.description.hasSuffix(": not a Sentinel-2 L1C/L2A product (L1B)"))
        #expect(error.description.contains("S2B_OPER_PRD_MSIL1B.SAFE/S2B_OPER_MTD_"))
        #expect(!error.description.contains("\n"))
    }

    @Test(.enabled(if: hasFakes, absent))
    func rejectsOtherXML() throws {
        let path = fake("\(l2aBaseline509)/INSPIRE.xml")
        let error = try #require(throws: Sentinel2Error.self) { try Sentinel2Product.open(path) }
        #expect(error.description.hasPrefix("\(path): not a Sentinel-2 L1C/L2A product (GDAL: "))
        #expect(!error.description.contains("\n"))
    }

    @Test(.enabled(if: hasFakes, absent))
    func missingBandAndSceneClassification() throws {
        // fake_l2a holds only a 60 m subdataset: B05 exists there only resampled, not at its native 20 m.
        let product = try Sentinel2Product.open(fake("fake_l2a/S2A_USER_PRD_MSIL2A.SAFE"))
        let error = try #require(throws: Sentinel2Error.self) { try product.openReader(bands: [.b01, .b05]) }
        #expect(error.description.hasPrefix("S2A_USER_PRD_MSIL2A has no band B05 at 20 m"))
        #expect(error.description.contains("S2A_USER_MTD_SAFL2A.xml"))

        let l1c = try Sentinel2Product.open(fake(l1cBaseline509))
        let noSCL = try #require(throws: Sentinel2Error.self) {
            try l1c.openReader(includeSceneClassification: true)
        }
        #expect(noSCL.description.contains("has no scene classification (SCL)"))
        #expect(noSCL.description.hasPrefix(l1c.productName))

        let reader = try l1c.openReader()
        #expect(throws: Sentinel2Error.self) {
            try reader.read(PixelWindow(column: 10975, row: 0, width: 10, height: 10))
        }
        #expect(throws: Sentinel2Error.self) { try reader.read(PixelWindow(column: 0, row: 0, width: 0, height: 10)) }
    }
}
