import Foundation
import GeoRaster
import LandCoverData
import Testing
import TestSupport

/// `landcover map --out-dir` over several tiny granules, with one process and under `mpirun -np 2`: every granule's
/// maps, the per-CRS VRT mosaics, the STAC collection and the summary; a broken granule reported and retried without
/// losing the others; a rank killed mid-run; a rerun that skips finished granules and resumes the interrupted one.
@Suite(.serialized) struct MapBatchCommandTests {
    /// Side of the tiny granules in 10 m pixels; with 64-pixel windows overlapping by 32 a granule has 2 bands.
    static let size = 96

    /// Writes a `size`² product of tile `tile` (in `epsg`), sensed on May `day` 2018, its window `column` pixels
    /// into the tile; fields of varied reflectance so that the tiny model predicts more than one class.
    static func granule(
        in directory: URL, tile: String = "35VMF", epsg: Int = 32635, day: Int, column: Int = 4020
    ) throws -> URL {
        var writer = Sentinel2ProductWriter()
        writer.tile = tile
        writer.epsg = epsg
        writer.sensingTime.day = day
        writer.windowOffset = (column, 4980)
        let bands: [SpectralBand: Int] = [.b02: 400, .b03: 600, .b04: 500, .b08: 2500]
        var reflectance: [SpectralBand: [UInt16]] = [:]
        for (band, base) in bands {
            reflectance[band] = (0..<(size * size)).map { pixel in
                let (row, column) = (pixel / size, pixel % size)
                return UInt16(base + ((row / 16 + column / 24 + day) % 5) * base / 3)
            }
        }
        return try writer.write(reflectance: reflectance, size: size, into: directory)
    }

    /// A granule whose B02 image is garbage: it opens, but reading it fails.
    static func brokenGranule(in directory: URL) throws -> URL {
        var writer = Sentinel2ProductWriter()
        writer.tile = "35VLF"
        writer.sensingTime.day = 12
        let product = try granule(in: directory, tile: "35VLF", day: 12)
        let image = product.appendingPathComponent("GRANULE/\(writer.granuleName)/IMG_DATA")
            .appendingPathComponent(writer.imageName(.b02) + ".jp2")
        try Data(repeating: 0x5A, count: 4096).write(to: image)
        return product
    }

    static let options = ["--window", "64", "--overlap", "32", "--levels", "2,3", "--threads", "1"]

    /// The tiny model and two neighbouring granules of tile 35VMF, sensed on May 10 and May 20.
    static func modelAndTwoGranules(in directory: TemporaryDirectory) throws -> (
        model: String, granules: URL, first: URL, second: URL
    ) {
        let granules = directory.url.appendingPathComponent("granules")
        let first = try granule(in: granules, day: 10)
        let second = try granule(in: granules, day: 20, column: 4020 + size)
        return (try model(in: directory), granules, first, second)
    }

    static func model(in directory: TemporaryDirectory) throws -> String {
        let model = directory.url.appendingPathComponent("unet.safetensors")
        try TinyModels.writeSegmenter(to: model)
        return model.path
    }

    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    /// The summary's granules by name.
    static func summary(_ out: String) throws -> [String: [String: Any]] {
        let granules = try json("\(out)/summary.json")["granules"] as! [[String: Any]]
        return Dictionary(uniqueKeysWithValues: granules.map { ($0["granule"] as! String, $0) })
    }

    /// Expects `mosaic` to be a VRT holding exactly `maps` side by side: each map's pixels at its own place.
    static func expectMosaic(
        _ mosaic: String, of maps: [String], epsg: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let vrt = try Dataset.open(mosaic)
        #expect(vrt.driverName == "VRT", sourceLocation: sourceLocation)
        #expect(try vrt.crs?.isSame(as: CRS(epsg: epsg)) == true, sourceLocation: sourceLocation)
        #expect(
            Set(vrt.fileList.filter { $0.hasSuffix(".tif") }.map { URL(fileURLWithPath: $0).lastPathComponent })
                == Set(maps.map { URL(fileURLWithPath: $0).lastPathComponent }), sourceLocation: sourceLocation)
        #expect(vrt.band(1).categoryNames.count > 1, "category names", sourceLocation: sourceLocation)
        let origin = vrt.geoTransform!
        for map in maps {
            let source = try Dataset.open(map)
            let transform = source.geoTransform!
            let column = Int(((transform.originX - origin.originX) / origin.pixelWidth).rounded())
            let row = Int(((transform.originY - origin.originY) / origin.pixelHeight).rounded())
            let window = PixelWindow(column: column, row: row, width: source.width, height: source.height)
            let pixels: [UInt8] = try vrt.band(1).read(window)
            let expected: [UInt8] = try source.band(1).read(source.grid!.fullWindow)
            #expect(pixels == expected, "\(map) in the mosaic", sourceLocation: sourceLocation)
        }
    }

    // MARK: One process

    @Test(.enabled(if: Sample.isPresent, "needs SampleData for the tiny model's classes"))
    func oneProcessMapsEveryGranuleWithAMosaicPerCRSAndSkipsThemOnARerun() throws {
        let directory = TemporaryDirectory()
        let (model, granules, first, second) = try Self.modelAndTwoGranules(in: directory)
        let otherZone = try Self.granule(in: granules, tile: "34VFL", epsg: 32634, day: 15)
        let list = directory.path("granules.txt")
        try "# three granules\n\(first.path)\n\n\(second.path)\n\(otherZone.path)\n".write(
            toFile: list, atomically: true, encoding: .utf8)
        let out = directory.path("maps")
        let command = ["map", "--model", model, "--safe-list", list, "--out-dir", out] + Self.options

        let result = try landcover(command)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("3 mapped, 0 skipped (already done), 0 failed"), "\(result.output)")
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        for granule in ["T35VMF_20180510", "T35VMF_20180520", "T34VFL_20180515"] {
            for suffix in [".tif", ".tif.aux.xml", ".qml", ".stac.json", ".level2.tif", ".level2.stac.json"] {
                #expect(names.contains(granule + suffix), "\(granule + suffix) in \(names)")
            }
        }
        #expect(!names.contains { $0.hasPrefix(".") || $0.hasSuffix(".partial") }, "leftovers: \(names)")

        // One mosaic per CRS and level: the two granules of zone 35 side by side, the one of zone 34 alone.
        try Self.expectMosaic(
            "\(out)/mosaic-EPSG32635.vrt", of: ["\(out)/T35VMF_20180510.tif", "\(out)/T35VMF_20180520.tif"],
            epsg: 32635)
        #expect(try Dataset.open("\(out)/mosaic-EPSG32635.vrt").width == 2 * Self.size)
        try Self.expectMosaic(
            "\(out)/mosaic-EPSG32635.level2.vrt",
            of: ["\(out)/T35VMF_20180510.level2.tif", "\(out)/T35VMF_20180520.level2.tif"], epsg: 32635)
        try Self.expectMosaic("\(out)/mosaic-EPSG32634.vrt", of: ["\(out)/T34VFL_20180515.tif"], epsg: 32634)
        #expect(names.contains("mosaic-EPSG32635.qml") && names.contains("mosaic-EPSG32634.level2.qml"))

        // The collection links every item, spans their dates and bboxes, and lists the mosaics.
        let collection = try Self.json("\(out)/collection.json")
        #expect(collection["type"] as? String == "Collection" && collection["stac_version"] as? String == "1.0.0")
        let items = (collection["links"] as! [[String: Any]]).filter { $0["rel"] as? String == "item" }
            .map { $0["href"] as! String }
        #expect(items.count == 6 && items.contains("./T34VFL_20180515.level2.stac.json"))
        for item in items { #expect(names.contains(String(item.dropFirst(2))), "\(item) exists") }
        let extent = collection["extent"] as! [String: Any]
        let interval = ((extent["temporal"] as! [String: Any])["interval"] as! [[String]])[0]
        #expect(interval[0].hasPrefix("2018-05-10") && interval[1].hasPrefix("2018-05-20"), "\(interval)")
        let bbox = ((extent["spatial"] as! [String: Any])["bbox"] as! [[Double]])[0]
        #expect(bbox[0] < 21 && bbox[2] > 25 && bbox[1] > 55 && bbox[3] < 65, "zones 34 and 35 of the Baltic: \(bbox)")
        #expect((collection["assets"] as! [String: Any]).count == 4)

        let summary = try Self.summary(out)
        #expect(summary.count == 3 && summary.values.allSatisfy { $0["status"] as? String == "mapped" })
        #expect(summary.values.allSatisfy { $0["rank"] as? Int == 0 && ($0["seconds"] as? Double ?? 0) > 0 })

        // A rerun skips every finished granule and leaves its maps untouched; the mosaics are rewritten.
        let modified =
            try FileManager.default.attributesOfItem(atPath: "\(out)/T35VMF_20180510.tif")[
                .modificationDate] as! Date
        let rerun = try landcover(command)
        #expect(rerun.status == 0, "\(rerun.error)")
        #expect(rerun.output.contains("0 mapped, 3 skipped (already done), 0 failed"), "\(rerun.output)")
        #expect(
            try FileManager.default.attributesOfItem(atPath: "\(out)/T35VMF_20180510.tif")[.modificationDate] as! Date
                == modified)
        #expect(try Self.summary(out).values.allSatisfy { $0["status"] as? String == "skipped" })
        try Self.expectMosaic("\(out)/mosaic-EPSG32634.vrt", of: ["\(out)/T34VFL_20180515.tif"], epsg: 32634)
    }

    @Test func badBatchOptionsFailInOneLine() throws {
        let directory = TemporaryDirectory()
        let both = try landcover([
            "map", "--model", "m.safetensors", "--safe", "a.SAFE", "--out", "x.tif", "--out-dir", directory.path("o"),
        ])
        let two = try landcover([
            "map", "--model", "m.safetensors", "--safe", "a.SAFE", "--safe", "b", "--out", "x.tif",
        ])
        // Argument errors: ArgumentParser's error line, then its usage lines.
        for result in [both, two] {
            #expect(result.status != 0)
            #expect(result.error.hasPrefix("Error: ") && result.error.split(separator: "\n")[0].contains("--out-dir"))
        }
        let model = try Self.model(in: directory)
        let list = directory.path("empty.txt")
        try "# nothing\n".write(toFile: list, atomically: true, encoding: .utf8)
        let empty = try landcover(["map", "--model", model, "--safe-list", list, "--out-dir", directory.path("o")])
        expectOneLineFailure(empty, mentioning: ["empty.txt", "lists no granule"])
    }

    // MARK: mpirun -np 2

    static func mpirun(_ arguments: [String], environment: [String: String] = [:]) throws -> Executables.Result {
        let binary = try #require(Executables.landcover, "the landcover binary is not built beside the tests")
        return try Executables.mpirun(processes: 2, binary, arguments, environment: environment)
    }

    /// Granule 0 and 2 go to rank 0, granule 1 to rank 1. Granule 2 is broken: it is reported, retried once and
    /// recorded as failed, the job exits non-zero after rank 0 has written everything for the two good granules.
    @Test(.enabled(if: Sample.isPresent, "needs SampleData for the tiny model's classes"))
    func twoRanksMapOneGranuleEachAndReportABrokenOne() throws {
        let directory = TemporaryDirectory()
        let (model, granules, first, second) = try Self.modelAndTwoGranules(in: directory)
        let broken = try Self.brokenGranule(in: granules)
        let out = directory.path("maps")
        let result = try Self.mpirun(
            [
                "map", "--model", model, "--safe", first.path, "--safe", second.path, "--safe", broken.path,
                "--out-dir", out,
            ]
                + Self.options)
        #expect(result.status != 0)
        let errors = result.error.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errors.filter { $0.contains("T35VLF_20180512") && $0.contains("attempt 1 of 2 on rank 0") }.count == 1)
        #expect(errors.filter { $0.contains("T35VLF_20180512") && $0.contains("attempt 2 of 2 on rank 0") }.count == 1)
        #expect(errors.contains { $0.contains("1 of 3 granules failed: T35VLF_20180512") }, "\(result.error)")
        #expect(result.output.contains("T35VMF_20180510: mapped by rank 0"), "\(result.output)")
        #expect(result.output.contains("T35VMF_20180520: mapped by rank 1"), "\(result.output)")

        let summary = try Self.summary(out)
        #expect(summary["T35VMF_20180510"]?["rank"] as? Int == 0 && summary["T35VMF_20180520"]?["rank"] as? Int == 1)
        #expect(summary["T35VLF_20180512"]?["status"] as? String == "failed")
        #expect(summary["T35VLF_20180512"]?["attempts"] as? Int == 2)
        #expect((summary["T35VLF_20180512"]?["error"] as? String)?.isEmpty == false)
        #expect(try Self.json("\(out)/summary.json")["ranks"] as? Int == 2)
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(!names.contains { $0.hasPrefix("T35VLF_20180512.") && !$0.hasSuffix(".partial") }, "\(names)")
        try Self.expectMosaic(
            "\(out)/mosaic-EPSG32635.vrt", of: ["\(out)/T35VMF_20180510.tif", "\(out)/T35VMF_20180520.tif"],
            epsg: 32635)
        let collection = try Self.json("\(out)/collection.json")
        #expect((collection["links"] as! [[String: Any]]).filter { $0["rel"] as? String == "item" }.count == 4)
    }

    /// Rank 1 is killed (SIGKILL) after the first band of its granule: mpirun ends the job with its report of the
    /// lost rank; no map, mosaic, collection or summary is left under a final name half-written, and the same
    /// command then resumes the interrupted granule from its work directory and finishes the job.
    @Test(.enabled(if: Sample.isPresent, "needs SampleData for the tiny model's classes"))
    func aKilledRankEndsTheJobAndTheRerunResumes() throws {
        let directory = TemporaryDirectory()
        let (model, granules, first, second) = try Self.modelAndTwoGranules(in: directory)
        let out = directory.path("maps")
        let command =
            ["map", "--model", model, "--safe", first.path, "--safe", second.path, "--out-dir", out] + Self.options
        let killed = try Self.mpirun(
            command, environment: ["LANDCOVER_TEST_KILL_RANK": "1", "LANDCOVER_TEST_KILL_AFTER_BANDS": "1"])
        #expect(killed.status != 0)
        #expect(killed.error.contains("rank 1") && killed.error.contains("signal 9"), "\(killed.error)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(!names.contains("summary.json") && !names.contains("collection.json"), "\(names)")
        #expect(
            !names.contains {
                $0.hasPrefix("mosaic-") || $0.hasPrefix("T35VMF_20180520.tif") && $0 != "T35VMF_20180520.tif.partial"
            }, "\(names)")
        #expect(names.contains("T35VMF_20180520.tif.partial"), "rank 1's resumable work: \(names)")
        for name in names where name.hasSuffix(".tif") {
            let dataset = try Dataset.open("\(out)/\(name)")
            #expect(dataset.metadata(domain: "IMAGE_STRUCTURE")["LAYOUT"] == "COG", "\(name) is whole")
        }

        let resumed = try Self.mpirun(command)
        #expect(resumed.status == 0, "\(resumed.output)\n\(resumed.error)")
        // The kill comes when the first band is reported; the blending thread may have written more by then.
        let resumedBands = resumed.output.firstMatch(of: /resumed after (\d+) bands/).flatMap { Int($0.1) } ?? 0
        #expect(
            resumed.output.contains("T35VMF_20180520: mapped by rank") && resumedBands >= 1, "\(resumed.output)")
        let summary = try Self.summary(out)
        #expect(summary.values.allSatisfy { $0["status"] as? String != "failed" } && summary.count == 2)
        try Self.expectMosaic(
            "\(out)/mosaic-EPSG32635.vrt", of: ["\(out)/T35VMF_20180510.tif", "\(out)/T35VMF_20180520.tif"],
            epsg: 32635)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter {
            $0.hasPrefix(".") || $0.hasSuffix(".partial")
        }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
