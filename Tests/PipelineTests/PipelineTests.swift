import Foundation
import Testing
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
