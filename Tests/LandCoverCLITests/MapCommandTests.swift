import ArgumentParser
import Foundation
import GeoRaster
import LandCoverData
import Mapping
import NeuralNet
import Testing
import TestSupport

@testable import LandCoverCLI

/// Small random-init checkpoints for the sample product.
enum TinyModels {
    static let body = ResNetConfiguration(
        block: .basic, layers: [1, 1, 1, 1], widths: [4, 8, 8, 8], inputChannels: 4, classes: nil)
    static let bands = ["B04", "B03", "B02", "B08"]
    /// The level-3 classes of the sample scene.
    static let sampleCodes = ["112", "211", "231", "311", "312", "313", "411", "412", "512"]
    static let normalization = CheckpointMetadata.Normalization(
        mean: [0.06, 0.07, 0.08, 0.3], std: [0.03, 0.03, 0.03, 0.1])

    static func classes(_ codes: [String]) -> [CheckpointMetadata.Nomenclature.Class] {
        codes.map { code in
            .init(code: code, name: Corine.classes.first { String($0.code) == code }?.name ?? code)
        }
    }

    /// A compact U-Net on `bands` with `codes` (level 3) written to `url`.
    static func writeSegmenter(to url: URL, bands: [String] = bands, codes: [String] = sampleCodes) throws {
        var generator = NeuralNet.SeededGenerator(seed: 17)
        var body = Self.body
        body.inputChannels = bands.count
        let decoder = [8, 8, 8, 4, 4]
        let model = UNet(encoder: body, classes: codes.count, decoderChannels: decoder, using: &generator)
        let metadata = CheckpointMetadata(
            architecture: .init(kind: .unet, resnet: body, classes: codes.count, decoderChannels: decoder),
            bands: bands,
            normalization: .init(
                mean: [Float](repeating: 0.1, count: bands.count), std: [Float](repeating: 0.05, count: bands.count)),
            nomenclature: .init(id: "corine-l3", classes: classes(codes)), task: .segmentation,
            codeVersion: "landcover test")
        try Checkpoint.save(model: model, metadata: metadata, to: url)
    }

    /// A fastai multi-label classifier over the sample's level-2 classes written to `url`.
    static func writeClassifier(to url: URL) throws {
        let codes = ["11", "21", "23", "31", "41", "51"]
        var generator = NeuralNet.SeededGenerator(seed: 18)
        let model = FastaiClassifier(body: body, hidden: 8, classes: codes.count, using: &generator)
        let metadata = CheckpointMetadata(
            architecture: .init(kind: .fastaiClassifier, resnet: body, classes: codes.count, hidden: 8),
            bands: bands, normalization: normalization,
            nomenclature: .init(
                id: "corine-l2",
                classes: codes.map { code in
                    .init(code: code, name: Corine.classes.first { String($0.level2Code) == code }!.level2Name)
                }), task: .classification, codeVersion: "landcover test")
        try Checkpoint.save(model: model, metadata: metadata, to: url)
    }
}

@Suite(.serialized) struct MapCommandTests {
    @Test(.enabled(if: Sample.isPresent, "needs SampleData"))
    func mapsTheSampleProductAtThreeLevelsOnItsOwnGrid() throws {
        let directory = TemporaryDirectory()
        let model = directory.url.appendingPathComponent("unet.safetensors")
        try TinyModels.writeSegmenter(to: model)
        let out = directory.path("map.tif")
        let result = try landcover([
            "map", "--model", model.path, "--safe", Sample.product.path, "--out", out, "--confidence",
            "--minimum-mapping-unit", "25", "--polygons", directory.path("map.gpkg"), "--json-progress", "--threads",
            "1",
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("map.tif: CORINE level 3, 1200×1200"))
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: directory.url.path))
        let expected: Set = [
            "unet.safetensors", "map.tif", "map.tif.aux.xml", "map.qml", "map.confidence.tif", "map.stac.json",
            "map.level2.tif", "map.level2.tif.aux.xml", "map.level2.qml", "map.level2.confidence.tif",
            "map.level2.stac.json", "map.level1.tif", "map.level1.tif.aux.xml", "map.level1.qml",
            "map.level1.confidence.tif", "map.level1.stac.json", "map.generalized.tif",
            "map.generalized.tif.aux.xml", "map.generalized.qml", "map.gpkg",
        ]
        #expect(names == expected, "unexpected: \(names.symmetricDifference(expected))")

        // Georeference: the product's own CRS and grid, every pixel (edges included) mapped.
        let product = try Sentinel2Product.open(Sample.product.path)
        let dataset = try Dataset.open(out)
        #expect(dataset.width == 1200 && dataset.height == 1200)
        #expect(dataset.geoTransform == product.grid.geoTransform)
        #expect(try dataset.crs?.isSame(as: CRS(epsg: 32635)) == true)
        #expect(dataset.metadata(domain: "IMAGE_STRUCTURE")["LAYOUT"] == "COG")
        let band = dataset.band(1)
        #expect(band.overviewCount >= 1 && band.noDataValue == 0)
        #expect(band.colorTable?[23] == ColorEntry(red: 128, green: 255, blue: 0))
        _ = dataset.geoTransform
        #expect(band.categoryNames.count > 23 && band.categoryNames[23] == "311 Broad-leaved forest")
        let metadata = dataset.metadata()
        #expect(metadata["MODEL"] == "unet.safetensors" && metadata["MODEL_ARCHITECTURE"] == "resnet-unet")
        #expect(metadata["INPUT_PRODUCT"] == product.productName && metadata["DATE"] == "2018-05-10")
        #expect(
            metadata["NOMENCLATURE"] == "corine-l3" && metadata["LANDCOVER_VERSION"]?.hasPrefix("landcover") == true)
        let level3: [UInt8] = try band.read(product.grid.fullWindow)
        let allowed = Set(
            TinyModels.sampleCodes.map { code in UInt8(Corine.classes.first { String($0.code) == code }!.gridCode) })
        #expect(level3.allSatisfy { allowed.contains($0) }, "every pixel holds one of the model's classes")

        // Levels from one run: level 2 holds only parents of the model's classes.
        let level2: [UInt8] = try Dataset.open(directory.path("map.level2.tif")).band(1).read(product.grid.fullWindow)
        let parents = Set(allowed.map { Nomenclature.corine(.level2).level3LookupTable[Int($0)] })
        #expect(level2.allSatisfy { parents.contains($0) })
        #expect(try Dataset.open(directory.path("map.level1.tif")).metadata()["NOMENCLATURE"] == "corine-l1")
        let confidence: [UInt8] = try Dataset.open(directory.path("map.confidence.tif")).band(1)
            .read(product.grid.fullWindow)
        #expect(confidence.allSatisfy { $0 >= 100 / TinyModels.sampleCodes.count && $0 <= 100 })

        // STAC item and polygons.
        let stac =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: directory.path("map.stac.json")))) as! [String: Any]
        let assets = stac["assets"] as! [String: Any]
        #expect((assets["data"] as! [String: Any])["href"] as? String == "map.tif")
        #expect((stac["properties"] as! [String: Any])["proj:epsg"] as? Int == 32635)
        let layers = try Dataset.openVector(directory.path("map.gpkg")).vectorLayers
        #expect(layers.first?.fields.contains("clc_code") == true && (layers.first?.featureCount ?? 0) > 0)
    }

    @Test(.enabled(if: Sample.isPresent, "needs SampleData"))
    func badInputsFailInOneLine() throws {
        let directory = TemporaryDirectory()
        let model = directory.url.appendingPathComponent("b05.safetensors")
        try TinyModels.writeSegmenter(to: model, bands: ["B04", "B03", "B02", "B05"])
        let out = directory.path("map.tif")
        let missingBand = try landcover(["map", "--model", model.path, "--safe", Sample.product.path, "--out", out])
        expectOneLineFailure(missingBand, mentioning: ["lacks band B05", "b05.safetensors"])
        #expect(!FileManager.default.fileExists(atPath: out))

        let good = directory.url.appendingPathComponent("unet.safetensors")
        try TinyModels.writeSegmenter(to: good)
        try Data("old".utf8).write(to: URL(fileURLWithPath: out))
        let existing = try landcover(["map", "--model", good.path, "--safe", Sample.product.path, "--out", out])
        expectOneLineFailure(existing, mentioning: ["map.tif: exists; pass --overwrite"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data("old".utf8), "the old output is kept")

        let deeper = try landcover([
            "map", "--model", good.path, "--safe", Sample.product.path, "--out", directory.path("x.tif"), "--levels",
            "4",
        ])
        #expect(deeper.status != 0 && deeper.error.contains("--levels takes 1, 2 and 3"), "\(deeper.error)")

        let classifier = directory.url.appendingPathComponent("classifier.safetensors")
        try TinyModels.writeClassifier(to: classifier)
        let wrongOutput = try landcover([
            "map", "--model", classifier.path, "--safe", Sample.product.path, "--out", directory.path("chips.tif"),
        ])
        expectOneLineFailure(wrongOutput, mentioning: ["GeoPackage"])
    }

    @Test(.enabled(if: Sample.isPresent && getuid() == 0, "needs SampleData and root to mount a small tmpfs"))
    func diskFullFailsWithoutAMapUnderTheFinalName() throws {
        let directory = TemporaryDirectory()
        let model = directory.url.appendingPathComponent("unet.safetensors")
        try TinyModels.writeSegmenter(to: model)
        try withSmallDisk(in: directory) { mountPoint in
            let out = mountPoint + "/map.tif"
            let result = try landcover([
                "map", "--model", model.path, "--safe", Sample.product.path, "--out", out, "--confidence",
            ])
            expectOneLineFailure(result, mentioning: ["space"])
            #expect(!FileManager.default.fileExists(atPath: out), "no map under the final name")
        }
    }

    @Test(.enabled(if: Sample.isPresent, "needs SampleData"))
    func aClassifierMapsChipFootprintsToAGeoPackage() throws {
        let directory = TemporaryDirectory()
        let model = directory.url.appendingPathComponent("classifier.safetensors")
        try TinyModels.writeClassifier(to: model)
        let out = directory.path("chips.gpkg")
        let result = try landcover([
            "map", "--model", model.path, "--safe", Sample.product.path, "--out", out, "--threshold", "0.4",
            "--threads", "1",
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("100 chips"))
        let dataset = try Dataset.openVector(out)
        let layer = try #require(dataset.layer(named: "chips"))
        #expect(layer.featureCount == 100)
        let features = layer.features()
        let first = try #require(features.first)
        expectClose(first.area, 1200 * 1200, rtol: 1e-9)
        #expect(first.fields["chip_row"] == "0" && first.fields["chip_column"] == "0")
        #expect(first.fields["probabilities"]??.contains("\"31\": ") == true)
        #expect(features.allSatisfy { ($0.fields["top_code"] ?? nil) != nil })
        let info = try #require(dataset.vectorLayers.first)
        #expect(try CRS(info.crsWKT ?? "").isSame(as: CRS(epsg: 32635)))
    }

    @Test(.enabled(if: Sample.isPresent, "needs SampleData"))
    func changeAgainstCorineAndBetweenDates() throws {
        let directory = TemporaryDirectory()
        let model = directory.url.appendingPathComponent("unet.safetensors")
        try TinyModels.writeSegmenter(to: model)
        let map = directory.path("map.tif")
        let mapped = try landcover([
            "map", "--model", model.path, "--safe", Sample.product.path, "--out", map, "--levels", "3",
            "--confidence", "--window", "512", "--threads", "1",
        ])
        #expect(mapped.status == 0, "\(mapped.error)")

        let agreement = try landcover([
            "change", "--map", map, "--corine", Sample.corine.path, "--out", directory.path("agreement.tif"),
        ])
        #expect(agreement.status == 0, "\(agreement.error)")
        let summary =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: directory.path("agreement.json")))) as! [String: Any]
        #expect(summary["kind"] as? String == "agreement")
        let compared = summary["comparedPixels"] as! Int
        #expect(compared > 1_000_000 && compared <= 1_440_000)
        let matrix = summary["transitionHectares"] as! [[Double]]
        expectClose(matrix.joined().reduce(0, +), Double(compared) / 100, rtol: 1e-9)
        #expect(FileManager.default.fileExists(atPath: directory.path("agreement.md")))
        #expect(try Dataset.open(directory.path("agreement.tif")).metadata()["NOMENCLATURE"] == "agreement")

        // The same map at two "dates": no change anywhere; a threshold leaves out uncertain pixels.
        let change = try landcover([
            "change", "--map", map, "--earlier", map, "--out", directory.path("change.tif"), "--confidence-threshold",
            "30",
        ])
        #expect(change.status == 0, "\(change.error)")
        let changeSummary =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: directory.path("change.json")))) as! [String: Any]
        #expect(changeSummary["agreementShare"] as? Double == 1)
        #expect(changeSummary["confidenceThreshold"] as? Int == 30)
        let low = changeSummary["lowConfidencePixels"] as! Int
        let kept = changeSummary["comparedPixels"] as! Int
        #expect(low + kept == 1_440_000)

        let again = try landcover([
            "change", "--map", map, "--earlier", map, "--out", directory.path("change.tif"),
        ])
        expectOneLineFailure(again, mentioning: ["exists"])
        let both = try landcover([
            "change", "--map", map, "--earlier", map, "--corine", Sample.corine.path, "--out", directory.path("c.tif"),
        ])
        #expect(both.status != 0 && both.error.contains("exactly one of --corine and --earlier"), "\(both.error)")
    }
}

/// Runs `body` with the path of a 1 MB tmpfs mounted inside `directory` (root only), unmounting it afterwards; prints
/// a note and skips `body` when the mount fails.
func withSmallDisk(in directory: TemporaryDirectory, _ body: (String) throws -> Void) throws {
    let mountPoint = directory.path("small")
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
    let mount = try Executables.run(
        URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint])
    guard mount.status == 0 else {
        print("skipping disk-full test: cannot mount tmpfs (\(mount.error))")
        return
    }
    defer { _ = try? Executables.run(URL(fileURLWithPath: "/bin/umount"), [mountPoint]) }
    try body(mountPoint)
}
