import ArgumentParser
import Foundation
import GeoRaster
import Testing
import TestSupport

@testable import LandCoverCLI
@testable import LandCoverData

/// The bundled sample product and CORINE raster.
enum Sample {
    static var product: URL {
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: TestPaths.sampleData.path)) ?? []
        let name = contents.first { $0.hasSuffix(".SAFE") } ?? "missing.SAFE"
        return TestPaths.sampleData.appendingPathComponent(name)
    }
    static var corine: URL { TestPaths.sampleData.appendingPathComponent("corine.tif") }
    static var isPresent: Bool { FileManager.default.fileExists(atPath: product.path) }
}

/// Runs the built binary; fails the test when it is missing.
func landcover(_ arguments: [String]) throws -> Executables.Result {
    let binary = try #require(Executables.landcover, "the landcover binary is not built beside the tests")
    return try Executables.run(binary, arguments)
}

/// Expects a failed run with exactly one line on standard error that mentions each of `fragments`.
func expectOneLineFailure(
    _ result: Executables.Result, mentioning fragments: [String], sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.status != 0, "exit status", sourceLocation: sourceLocation)
    let lines = result.error.split(separator: "\n").filter { !$0.hasPrefix("{") }
    #expect(lines.count == 1, "expected one error line, got: \(result.error)", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(
            result.error.contains(fragment), "error should mention \(fragment): \(result.error)",
            sourceLocation: sourceLocation)
    }
}

@Suite struct HelpTextTests {
    /// The pinned help: regenerate the fixture deliberately when the interface changes.
    @Test(arguments: ["", "chip", "info", "stats", "sample-data", "run", "map", "change", "report"])
    func helpIsPinned(_ subcommand: String) throws {
        let command: any ParsableCommand.Type =
            subcommand.isEmpty
            ? LandCoverCommand.self
            : LandCoverCommand.configuration.subcommands.first {
                $0.configuration.commandName == subcommand
            }!
        let help = LandCoverCommand.helpMessage(for: command, columns: 100)
        let fixture = TestPaths.repositoryRoot.appendingPathComponent(
            "Tests/LandCoverCLITests/Fixtures/help-\(subcommand.isEmpty ? "landcover" : subcommand).txt")
        if ProcessInfo.processInfo.environment["LANDCOVER_RECORD_HELP"] != nil {
            try help.write(to: fixture, atomically: true, encoding: .utf8)
        }
        let pinned = try String(contentsOf: fixture, encoding: .utf8)
        #expect(help == pinned, "help of '\(subcommand)' changed; rerun with LANDCOVER_RECORD_HELP=1 if intended")
    }
}

@Suite struct ReportCommandTests {
    /// A folder that holds no landcover outputs, or none at all, fails in one line naming it.
    @Test func refusesAFolderWithoutOutputs() throws {
        let directory = TemporaryDirectory()
        expectOneLineFailure(
            try landcover(["report", directory.url.path]),
            mentioning: [directory.url.path, "not a landcover output directory"])
        expectOneLineFailure(
            try landcover(["report", directory.path("absent")]), mentioning: ["absent: no such directory"])
        #expect(!FileManager.default.fileExists(atPath: directory.path("report.html")))
    }
}

@Suite(.serialized) struct ChipCommandTests {
    @Test(.enabled(if: Sample.isPresent, "SampleData is absent"))
    func chipsTheSampleWithAlignedLabelsAndBandOrder() throws {
        let directory = TemporaryDirectory()
        let out = directory.path("chips")
        let result = try landcover([
            "chip", "--safe", Sample.product.path, "--corine", Sample.corine.path, "--out", out,
        ])
        #expect(result.status == 0, "\(result.error)")
        let store = try ChipStore(URL(fileURLWithPath: out))
        #expect(store.count == 100)
        #expect(store.manifest.bands == ["B04", "B03", "B02"])
        #expect(store.manifest.epsg == 32635)

        // Image: the B04 JP2 read directly (not through the SENTINEL2 driver), minus the 1000 offset.
        let imageData = Sample.product.appendingPathComponent("GRANULE")
        let granule = try FileManager.default.contentsOfDirectory(atPath: imageData.path).first!
        let jp2Folder = imageData.appendingPathComponent(granule).appendingPathComponent("IMG_DATA")
        let b04 = try FileManager.default.contentsOfDirectory(atPath: jp2Folder.path).first {
            $0.hasSuffix("_B04.jp2")
        }!
        let record = store.records[57]
        let window = PixelWindow(column: record.column, row: record.row, width: 120, height: 120)
        let direct: [UInt16] = try Dataset.open(jp2Folder.appendingPathComponent(b04).path).band(1).read(window)
        let stored = Array(store.image(57)[0..<14_400])
        #expect(stored == direct.map { $0 == 0 ? 0 : UInt16(max(Int($0) - 1000, 1)) })

        // Labels: an independent gdalwarp -et 0 -r near of the same window.
        guard let gdalwarp = Executables.onPath("gdalwarp") else { return }
        for index in [0, 57, 99] {
            let chip = store.records[index]
            let reference = directory.path("label-\(index).tif")
            let warp = try Executables.run(
                gdalwarp,
                [
                    "-q", "-t_srs", "EPSG:32635", "-te", "\(chip.originX)", "\(chip.originY - 1200)",
                    "\(chip.originX + 1200)", "\(chip.originY)", "-ts", "120", "120", "-r", "near", "-et", "0",
                    "-dstnodata", "0", Sample.corine.path, reference,
                ])
            #expect(warp.status == 0, "\(warp.error)")
            let expected: [UInt8] = try Dataset.open(reference).band(1).read(
                PixelWindow(column: 0, row: 0, width: 120, height: 120))
            #expect(store.labels(index) == expected.map { (1...44).contains($0) ? $0 : 0 }, "chip \(index)")
        }

        let stats = try landcover(["stats", out])
        #expect(stats.status == 0 && stats.output.contains("| Level 3 |"))
        let info = try landcover(["info", out])
        #expect(info.status == 0 && info.output.contains("100 of 120×120 px"))
    }

    @Test func missingProductFails() throws {
        let directory = TemporaryDirectory()
        let result = try landcover([
            "chip", "--safe", "/nonexistent/S2A_MSIL1C.SAFE", "--corine", Sample.corine.path, "--out",
            directory.path("c"),
        ])
        expectOneLineFailure(result, mentioning: ["/nonexistent/S2A_MSIL1C.SAFE"])
        #expect(!FileManager.default.fileExists(atPath: directory.path("c")))
    }

    @Test(.enabled(if: Sample.isPresent, "SampleData is absent"))
    func missingBandFails() throws {
        let directory = TemporaryDirectory()
        let result = try landcover([
            "chip", "--safe", Sample.product.path, "--corine", Sample.corine.path, "--out", directory.path("c"),
            "--bands", "B04,B05",
        ])
        expectOneLineFailure(result, mentioning: ["no band B05"])
        #expect(!FileManager.default.fileExists(atPath: directory.path("c")))
    }

    @Test(.enabled(if: Sample.isPresent, "SampleData is absent"))
    func truncatedJP2Fails() throws {
        let directory = TemporaryDirectory()
        let copy = directory.url.appendingPathComponent(Sample.product.lastPathComponent)
        try FileManager.default.copyItem(at: Sample.product, to: copy)
        let enumerator = FileManager.default.enumerator(atPath: copy.path)!
        let b03 = (enumerator.allObjects as! [String]).first { $0.hasSuffix("_B03.jp2") }!
        let path = copy.appendingPathComponent(b03)
        let data = try Data(contentsOf: path)
        try data.prefix(data.count / 3).write(to: path)
        let result = try landcover([
            "chip", "--safe", copy.path, "--corine", Sample.corine.path, "--out", directory.path("c"),
        ])
        expectOneLineFailure(result, mentioning: [])
        #expect(!FileManager.default.fileExists(atPath: directory.path("c")))
    }

    @Test(.enabled(if: Sample.isPresent, "SampleData is absent"))
    func corineProblemsFailWithTheirFileNamed() throws {
        let directory = TemporaryDirectory()
        // Far away (Iberia) in EPSG:3035, without a CRS, and with an unknown code.
        let far = RasterGrid(
            crsWKT: try CRS(epsg: 3035).wkt,
            geoTransform: GeoTransform(originX: 3_000_000, originY: 2_000_000, pixelWidth: 100, pixelHeight: -100),
            width: 10, height: 10)
        let cases: [(name: String, grid: RasterGrid, value: UInt8, crs: Bool, message: String)] = [
            ("far.tif", far, 23, true, "does not overlap"),
            ("nocrs.tif", try Dataset.open(Sample.corine.path).grid!, 23, false, "no coordinate reference system"),
            ("unknown.tif", try Dataset.open(Sample.corine.path).grid!, 77, true, "unknown CORINE grid-code 77"),
        ]
        for item in cases {
            let path = directory.path(item.name)
            let dataset = try Dataset.create(
                path, width: item.grid.width, height: item.grid.height, bands: 1, type: .byte)
            try dataset.setGeoTransform(item.grid.geoTransform)
            if item.crs { try dataset.setCRS(CRS(item.grid.crsWKT)) }
            try dataset.band(1).write(
                [UInt8](repeating: item.value, count: item.grid.width * item.grid.height), window: item.grid.fullWindow)
            try dataset.close()
            let result = try landcover([
                "chip", "--safe", Sample.product.path, "--corine", path, "--out", directory.path("c-\(item.name)"),
            ])
            expectOneLineFailure(result, mentioning: [item.name, item.message])
            #expect(!FileManager.default.fileExists(atPath: directory.path("c-\(item.name)")))
        }
    }

    @Test(.enabled(if: Sample.isPresent, "SampleData is absent"))
    func outputHoldingADifferentRunIsRefusedAndKept() throws {
        let directory = TemporaryDirectory()
        let out = directory.path("chips")
        let common = ["chip", "--safe", Sample.product.path, "--corine", Sample.corine.path, "--out", out]
        #expect(try landcover(common + ["--chip-size", "240"]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent("manifest.json"))
        let result = try landcover(common)
        expectOneLineFailure(result, mentioning: [out, "holds a different run", "--overwrite"])
        let after = try Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent("manifest.json"))
        #expect(before == after)
        // The same run again is a no-op success.
        #expect(try landcover(common + ["--chip-size", "240"]).status == 0)
    }

    @Test(.enabled(if: Sample.isPresent, "SampleData is absent"))
    func newerChipStoreVersionIsRefused() throws {
        let directory = TemporaryDirectory()
        let out = directory.path("chips")
        #expect(
            try landcover([
                "chip", "--safe", Sample.product.path, "--corine", Sample.corine.path, "--out", out, "--chip-size",
                "600",
            ])
            .status == 0)
        let manifestURL = URL(fileURLWithPath: out).appendingPathComponent("manifest.json")
        let text = try String(contentsOf: manifestURL, encoding: .utf8)
            .replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 7")
        try text.write(to: manifestURL, atomically: true, encoding: .utf8)
        expectOneLineFailure(try landcover(["stats", out]), mentioning: [out, "format version 7 is newer"])
    }

    @Test(.enabled(if: Sample.isPresent && getuid() == 0, "needs root to mount a small tmpfs"))
    func diskFullFailsWithoutOutputUnderTheFinalName() throws {
        let directory = TemporaryDirectory()
        try withSmallDisk(in: directory) { mountPoint in
            let out = mountPoint + "/chips"
            let result = try landcover([
                "chip", "--safe", Sample.product.path, "--corine", Sample.corine.path, "--out", out,
            ])
            expectOneLineFailure(result, mentioning: ["space"])
            #expect(!FileManager.default.fileExists(atPath: out), "no output under the final name")
        }
    }
}
