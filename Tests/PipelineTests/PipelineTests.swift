import Foundation
import Testing
import Reports
import TestSupport

@testable import LandCoverData
@testable import Pipeline

@Suite struct PipelineSpecTests {
    /// Writes a spec beside two dummy input files and returns its URL.
    func writeSpec(_ body: String, in directory: TemporaryDirectory) throws -> URL {
        FileManager.default.createFile(atPath: directory.path("product.SAFE"), contents: Data())
        FileManager.default.createFile(atPath: directory.path("corine.tif"), contents: Data())
        let url = directory.url.appendingPathComponent("spec.yaml")
        try body.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    let valid = """
        name: t
        output: out
        inputs: {safe: product.SAFE, corine: corine.tif}
        stages:
          chip: {bands: [B04, B08], chip_size: 60, split: random, validation_fraction: 0.5, seed: 3}
          stats: {min_share: 0.01}
        """

    @Test func validSpecIsRead() throws {
        let directory = TemporaryDirectory()
        let spec = try PipelineSpec.load(writeSpec(valid, in: directory))
        #expect(spec.name == "t")
        #expect(spec.output.path == directory.url.appendingPathComponent("out").standardizedFileURL.path)
        #expect(spec.chip?.bands == [.b04, .b08])
        #expect(spec.chip?.configuration.chipSize == 60)
        #expect(spec.chip?.configuration.split == .random(validationFraction: 0.5, seed: 3))
        #expect(spec.stats?.minimumShare == 0.01)
    }

    @Test(arguments: [
        ("chip_size: 60", "chip_sise: 60", "stages.chip.chip_sise: unknown key"),
        ("chip_size: 60", "chip_size: sixty", "stages.chip.chip_size: expected an integer"),
        ("corine: corine.tif", "corine: nowhere.tif", "inputs.corine:"),
        ("stats: {min_share: 0.01}", "train: {}", "stages.train: unknown key"),
        ("bands: [B04, B08]", "bands: [B04, B99]", "unknown band B99"),
        ("name: t", "nmae: t", "nmae: unknown key"),
    ])
    func mistakesAreReportedBeforeWork(original: String, replacement: String, message: String) throws {
        let directory = TemporaryDirectory()
        let url = try writeSpec(valid.replacingOccurrences(of: original, with: replacement), in: directory)
        let error = #expect(throws: PipelineError.self) { try PipelineSpec.load(url) }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
        #expect(error?.description.hasPrefix(url.path) == true)
    }
}

@Suite struct PipelineRunnerTests {
    @Test func runsChipAndStatsThenSkipsTheFinishedChipStage() throws {
        let directory = TemporaryDirectory()
        let sample = try SampleDataGenerator.generate(into: directory.url.appendingPathComponent("in"), size: 240)
        let specURL = directory.url.appendingPathComponent("spec.yaml")
        try """
        name: tiny
        output: out
        inputs: {safe: "\(sample.product.path)", corine: "\(sample.corine.path)"}
        stages: {chip: {}, stats: {}}
        """.write(to: specURL, atomically: true, encoding: .utf8)
        let spec = try PipelineSpec.load(specURL)
        let first = try PipelineRunner(spec: spec, specFile: specURL).run()
        #expect(first.skipped.isEmpty)
        let store = try ChipStore(spec.output.appendingPathComponent("chips"))
        #expect(store.count == 4)
        let stats = try String(contentsOf: spec.output.appendingPathComponent("stats.md"), encoding: .utf8)
        #expect(stats.contains("| Level 1 |"))
        #expect(first.inputs[sample.corine.path]?.bytes ?? 0 > 0)

        let second = try PipelineRunner(spec: spec, specFile: specURL).run()
        #expect(second.skipped == ["chip"])
        let events = try String(contentsOf: spec.output.appendingPathComponent("events.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONDecoder().decode(PipelineEvent.self, from: Data($0.utf8)) }
        #expect(events.filter { $0.event == "run_done" }.count == 2)
        #expect(events.contains { $0.event == "stage_skipped" && $0.stage == "chip" })
    }
}

@Suite struct PipelineChainTests {
    static func spec(product: URL, corine: URL, segmenterEpochs: Int) -> String {
        """
        name: chain
        output: out
        inputs: {safe: "\(product.path)", corine: "\(corine.path)"}
        stages:
          chip: {split: blocked, block_size: 1, validation_fraction: 0.25}
          stats: {}
          classifier: {level: 2, arch: "basic:1,1,1,1:8,8,16,16", hidden: 8, batch_size: 4, frozen_epochs: 0,
                       unfrozen_epochs: 1}
          segmenter: {level: 2, batch_size: 4, decoder_epochs: 1, all_epochs: \(segmenterEpochs)}
          evaluate: {split: validation}
          noise: {top: 3}
          map: {window: 128, overlap: 16, batch_size: 2, minimum_mapping_unit: 1, polygons: true}
          change: {}
          report: {preview_size: 240}
        """
    }

    /// The whole chain on a generated 480² product; a rerun skips every stage; a changed segmenter setting reruns
    /// the segmenter and what depends on it, not the chips or the classifier.
    @Test func wholeChainResumesAndRerunsOnlyWhatChanged() throws {
        let directory = TemporaryDirectory()
        let sample = try SampleDataGenerator.generate(into: directory.url.appendingPathComponent("in"), size: 480)
        let specURL = directory.url.appendingPathComponent("spec.yaml")
        try Self.spec(product: sample.product, corine: sample.corine, segmenterEpochs: 1)
            .write(to: specURL, atomically: true, encoding: .utf8)
        let spec = try PipelineSpec.load(specURL)
        let runner = PipelineRunner(spec: spec, specFile: specURL)
        let first = try runner.run()
        #expect(first.skipped.isEmpty)
        let files = FileManager.default
        for path in [
            "classifier/model.safetensors", "segmenter/model.safetensors", "evaluation/classifier/evaluation.md",
            "evaluation/segmenter/evaluation.json", "evaluation/segmenter/confusion-corine-l1.svg", "noise/noise.json",
            "maps/map.tif", "maps/map.level1.tif", "maps/map.generalized.tif", "maps/map.gpkg", "change/change.tif",
            "change/change.md", "report.html", "report.md", "report-images/preview-map.png",
        ] {
            #expect(files.fileExists(atPath: spec.output.appendingPathComponent(path).path), "\(path)")
        }
        try Self.expectReportRenders(spec.output)
        let second = try PipelineRunner(spec: spec, specFile: specURL).run()
        #expect(
            Set(second.skipped) == ["chip", "classifier", "segmenter", "evaluate", "noise", "map", "change", "report"],
            "\(second.skipped)")

        try Self.spec(product: sample.product, corine: sample.corine, segmenterEpochs: 2)
            .write(to: specURL, atomically: true, encoding: .utf8)
        let edited = try PipelineSpec.load(specURL)
        let third = try PipelineRunner(spec: edited, specFile: specURL).run()
        #expect(Set(third.skipped) == ["chip", "classifier", "noise"], "\(third.skipped)")
        #expect(third.stageSeconds["report"] != nil)
    }

    /// The run's report has every section, records the run in `run.json`, and renders in headless Chromium: not
    /// blank, every image decoded (three map previews and the noise thumbnails).
    static func expectReportRenders(_ output: URL) throws {
        let html = try String(contentsOf: output.appendingPathComponent("report.html"), encoding: .utf8)
        for section in ["summary", "maps", "data", "classifier", "segmenter", "noise", "change", "manifest"] {
            #expect(html.contains("<section id=\"\(section)\">"), "\(section)")
        }
        let manifest = try JSONDecoder().decode(
            RunManifest.self, from: Data(contentsOf: output.appendingPathComponent("run.json")))
        #expect(manifest.product != nil && manifest.corine != nil && manifest.started != nil)
        #expect(manifest.stageSeconds["report"] != nil && manifest.system != nil)
        guard Browser.shouldRun else { return }
        try #require(Browser.executable != nil, "\(Browser.missing)")
        let rendering = try Browser.render(
            output.appendingPathComponent("report.html"), screenshot: output.appendingPathComponent("screenshot.png"))
        #expect(rendering.images >= 6, "\(rendering.images) images")
        #expect(rendering.brokenImages == 0)
        #expect(!rendering.isBlank, "variance \(rendering.variance)")
    }

    /// Stage dependencies are checked before any work.
    @Test func stagesNeedTheirInputs() throws {
        let directory = TemporaryDirectory()
        FileManager.default.createFile(atPath: directory.path("p.SAFE"), contents: Data())
        FileManager.default.createFile(atPath: directory.path("c.tif"), contents: Data())
        let url = directory.url.appendingPathComponent("spec.yaml")
        try """
        output: out
        inputs: {safe: p.SAFE, corine: c.tif}
        stages: {chip: {}, noise: {}}
        """.write(to: url, atomically: true, encoding: .utf8)
        let error = #expect(throws: PipelineError.self) { try PipelineSpec.load(url) }
        #expect(error?.description.contains("stages.noise: needs the classifier stage") == true)
    }
}

@Suite struct PaperSpecTests {
    /// The paper's specs are valid apart from their data, which CI does not have: with the inputs pointed at
    /// dummy files every key and value is accepted, and the stages are the paper's.
    @Test(arguments: [1, 2, 3])
    func paperSpecIsValid(level: Int) throws {
        let file = TestPaths.repositoryRoot.appendingPathComponent("Pipelines/paper-level\(level).yaml")
        let directory = TemporaryDirectory()
        for name in ["product.SAFE", "corine.tif", "encoder.safetensors"] {
            FileManager.default.createFile(atPath: directory.path(name), contents: Data())
        }
        var text = try String(contentsOf: file, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "../data/S2B_MSIL1C_20180510T094029_N0206_R036_T35VMF_20180510T114700.SAFE", with: "product.SAFE")
        text = text.replacingOccurrences(of: "../data/U2018_CLC2018_V2020_20u1.tif", with: "corine.tif")
        text = text.replacingOccurrences(
            of: "../data/resnet50-imagenet-encoder.safetensors", with: "encoder.safetensors")
        let url = directory.url.appendingPathComponent("paper.yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        let spec = try PipelineSpec.load(url)
        #expect(spec.classifier?.level.rawValue == level && spec.segmenter?.level.rawValue == level)
        #expect(spec.classifier?.recipe.architecture == "resnet50" && spec.classifier?.recipe.frozenEpochs == 10)
        #expect(spec.segmenter?.recipe.decoder == "dynamic-unet")
        #expect(spec.chip?.configuration.split == .random(validationFraction: 0.2, seed: 0))
    }
}
