import ArgumentParser
import Foundation
import LandCoverData
import Pipeline

/// `landcover run`: execute a pipeline spec.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline spec (YAML): its stages in order, skipping those already finished.")

    @Argument(help: "Pipeline spec, e.g. Pipelines/sample.yaml.")
    var spec: String

    @Flag(help: "Report progress as JSON events even on a terminal.")
    var jsonProgress = false

    func run() throws {
        let file = URL(fileURLWithPath: spec)
        let pipeline = try PipelineSpec.load(file)
        let runner = PipelineRunner(spec: pipeline, specFile: file)
        let reporter = ProgressReporter(task: "chip", unit: "rows", forceJSON: jsonProgress)
        runner.onChipProgress = {
            reporter.update(done: $0.rowsDone, total: $0.rowsTotal, note: "\($0.chipsStored) chips")
        }
        runner.onTrainingProgress = TrainSegmenterCommand.progressPrinter(jsonProgress: jsonProgress)
        var reporters: [String: ProgressReporter] = [:]
        runner.onProgress = { task, done, total in
            let reporter = reporters[task] ?? ProgressReporter(task: task, unit: "steps", forceJSON: jsonProgress)
            reporters[task] = reporter
            reporter.update(done: done, total: total)
        }
        runner.onEvent = { event in
            guard let stage = event.stage, event.event != "stage_start" else { return }
            let verb = event.event == "stage_skipped" ? "up to date" : "done"
            print("\(stage): \(verb)\(event.note.map { " (\($0))" } ?? "")")
        }
        let manifest = try runner.run()
        print("\(pipeline.name): outputs in \(pipeline.output.path) (peak memory \(Int(manifest.peakMemoryMB)) MB)")
        if pipeline.stats != nil && pipeline.classifier == nil {
            print("")
            print(try String(contentsOf: pipeline.output.appendingPathComponent("stats.md"), encoding: .utf8))
        }
    }
}
