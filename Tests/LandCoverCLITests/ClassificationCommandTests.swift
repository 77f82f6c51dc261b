import Foundation
import GeoRaster
import NeuralNet
import Testing
import TestSupport

@testable import LandCoverCLI

/// `train classifier`, `evaluate` and `noise` through the built binary, on the sample's chips and on the
/// BigEarthNet v1 example patches.
@Suite(.serialized) struct ClassificationCommandTests {
    @Test(arguments: ["train", "evaluate", "noise"])
    func helpIsPinned(_ subcommand: String) throws {
        var command = try #require(
            LandCoverCommand.configuration.subcommands.first { $0.configuration.commandName == subcommand })
        if subcommand == "train" { command = TrainClassifierCommand.self }
        let help = LandCoverCommand.helpMessage(for: command, columns: 100)
        let name = subcommand == "train" ? "train-classifier" : subcommand
        let fixture = TestPaths.repositoryRoot.appendingPathComponent(
            "Tests/LandCoverCLITests/Fixtures/help-\(name).txt")
        if ProcessInfo.processInfo.environment["LANDCOVER_RECORD_HELP"] != nil {
            try help.write(to: fixture, atomically: true, encoding: .utf8)
        }
        let pinned = try String(contentsOf: fixture, encoding: .utf8)
        #expect(help == pinned, "help of '\(subcommand)' changed; rerun with LANDCOVER_RECORD_HELP=1 if intended")
    }

    static let tinyNetwork = ["--arch", "basic:1,1,1,1:8,16,16,16", "--hidden", "16", "--batch-size", "8"]

    /// Chips the sample, trains two epochs at level 1, resumes a stopped run, evaluates and reviews noise.
    @Test(.enabled(if: Sample.isPresent, "SampleData is absent"))
    func sampleFlow() throws {
        let directory = TemporaryDirectory()
        let chips = directory.path("chips")
        let chip = try landcover([
            "chip", "--safe", Sample.product.path, "--corine", Sample.corine.path, "--out", chips, "--block-size", "2",
        ])
        #expect(chip.status == 0, "\(chip.error)")

        let model = directory.path("classifier")
        let train =
            ["train", "classifier", "--chips", chips, "--level", "1", "--out", model, "--unfrozen-epochs", "2"]
            + Self.tinyNetwork
        let stopped = try landcover(train + ["--stop-after-epochs", "1"])
        #expect(stopped.status == 0, "\(stopped.error)")
        #expect(stopped.output.contains("stopped after 1 epochs"))
        let resumed = try landcover(train)
        #expect(resumed.status == 0, "\(resumed.error)")
        #expect(resumed.output.contains("epoch  2 unfrozen") && resumed.output.contains("wrote"))
        let (_, metadata) = try Checkpoint.load(from: URL(fileURLWithPath: "\(model)/model.safetensors"))
        #expect(metadata.nomenclature?.id == "corine-l1" && metadata.bands == ["B04", "B03", "B02"])
        #expect(FileManager.default.fileExists(atPath: "\(model)/curves.svg"))

        // Another recipe into the same directory is refused, and the finished model is kept.
        let other = try landcover(train + ["--seed", "5"])
        expectOneLineFailure(other, mentioning: ["holds another training run"])
        #expect(FileManager.default.fileExists(atPath: "\(model)/model.safetensors"))

        let evaluation = directory.path("evaluation")
        let evaluate = try landcover([
            "evaluate", "--model", "\(model)/model.safetensors", "--chips", chips, "--out", evaluation,
            "--tune-thresholds",
        ])
        #expect(evaluate.status == 0, "\(evaluate.error)")
        #expect(
            evaluate.output.contains("## Table 3") && evaluate.output.contains("| 3 | Forest and semi natural areas |"))
        let report =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(evaluation)/evaluation.json"))) as? [String: Any]
        #expect((report?["thresholdRule"] as? String) == "tuned per class on validation")

        let noise = directory.path("noise")
        let review = try landcover([
            "noise", "--model", "\(model)/model.safetensors", "--chips", chips, "--out", noise, "--top", "4",
        ])
        #expect(review.status == 0, "\(review.error)")
        let layer = try #require(try Dataset.openVector("\(noise)/noise.gpkg").vectorLayers.first)
        #expect(layer.name == "likely_mislabelled" && layer.featureCount == 4)
        #expect(layer.fields.contains("loss") && layer.fields.contains("labels"))
        #expect(layer.crsWKT?.contains("UTM zone 35N") == true)
        let thumbnails = try FileManager.default.contentsOfDirectory(atPath: "\(noise)/thumbnails")
        #expect(thumbnails.count == 4 && thumbnails.allSatisfy { $0.hasSuffix(".png") })
        let png = try Dataset.open("\(noise)/thumbnails/\(thumbnails.sorted()[0])")
        #expect(png.bandCount == 3 && png.width == 120)
        // The listed losses are the highest, in descending order.
        let listed = try JSONDecoder().decode(
            NoiseFile.self, from: Data(contentsOf: URL(fileURLWithPath: "\(noise)/noise.json")))
        #expect(listed.candidates.map(\.loss) == listed.candidates.map(\.loss).sorted(by: >))
        #expect(listed.images == 100)

        // A segmenter on the classifier's encoder, evaluated at level 1 and against the classifier.
        let segmenter = directory.path("segmenter")
        let segment = try landcover([
            "train", "segmenter", "--chips", chips, "--level", "1", "--out", segmenter, "--encoder",
            "\(model)/model.safetensors", "--decoder-epochs", "1", "--all-epochs", "1", "--batch-size", "8",
        ])
        #expect(segment.status == 0, "\(segment.error)")
        #expect(segment.output.contains("epoch  1 decoder") && segment.output.contains("epoch  2 all"))
        let segmentation = directory.path("segmentation")
        let evaluateSegmenter = try landcover([
            "evaluate", "--model", "\(segmenter)/model.safetensors", "--chips", chips, "--out", segmentation,
            "--classifier", "\(model)/model.safetensors", "--per-level-model", "\(segmenter)/model.safetensors",
        ])
        #expect(evaluateSegmenter.status == 0, "\(evaluateSegmenter.error)")
        #expect(evaluateSegmenter.output.contains("## Segmenter vs classifier"))
        #expect(evaluateSegmenter.output.contains("One model for all levels vs one model per level"))
        #expect(FileManager.default.fileExists(atPath: "\(segmentation)/confusion-corine-l1.svg"))

        // A model on bands the data lacks: one clear line.
        let wrongBands = try landcover(
            [
                "train", "classifier", "--chips", chips, "--bands", "B04,B08", "--out", directory.path("wrong"),
            ] + Self.tinyNetwork)
        expectOneLineFailure(wrongBands, mentioning: ["B08"])
    }

    private struct NoiseFile: Decodable {
        struct Candidate: Decodable { var loss: Double }
        var images: Int
        var candidates: [Candidate]
    }

    /// BigEarthNet v1 patches (BigEarthNet-19 labels): train one epoch, evaluate all patches, rank noise with
    /// footprints from the patches' GeoTIFFs.
    @Test(
        .enabled(
            if: TestPaths.hasSharedTestData("bigearthnet-v1-example"),
            "../shared/testdata/bigearthnet-v1-example is absent"))
    func bigEarthNetFlow() throws {
        let root = TestPaths.sharedTestData("bigearthnet-v1-example").path
        let directory = TemporaryDirectory()
        let model = directory.path("classifier")
        let train = try landcover(
            [
                "train", "classifier", "--bigearthnet", root, "--level", "bigearthnet-19", "--out", model,
                "--unfrozen-epochs", "1", "--arch", "basic:1,1,1,1:8,16,16,16", "--hidden", "16", "--batch-size", "2",
            ])
        #expect(train.status == 0, "\(train.error)")
        let evaluate = try landcover([
            "evaluate", "--model", "\(model)/model.safetensors", "--bigearthnet", root, "--split", "all",
        ])
        #expect(evaluate.status == 0, "\(evaluate.error)")
        #expect(evaluate.output.contains("bigearthnet-19"))
        let noise = try landcover([
            "noise", "--model", "\(model)/model.safetensors", "--bigearthnet", root, "--out", directory.path("noise"),
            "--top", "3",
        ])
        #expect(noise.status == 0, "\(noise.error)")
        let layer = try #require(try Dataset.openVector(directory.path("noise/noise.gpkg")).vectorLayers.first)
        #expect(layer.featureCount == 3)
    }
}
