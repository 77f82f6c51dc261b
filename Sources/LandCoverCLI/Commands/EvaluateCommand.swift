import ArgumentParser
import Foundation
import LandCoverData
import Metrics
import NeuralNet
import Training

extension EvaluationSplit: ExpressibleByArgument {}

typealias SplitChoice = EvaluationSplit

/// `landcover evaluate`: the paper's classification tables for a classifier checkpoint.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a classifier (Tables 2–6) or a segmenter (pixel accuracy, IoU, Tables 7–9).",
        discussion: """
            Writes evaluation.json and evaluation.md into --out (Markdown also to standard output). Classifiers: \
            thresholds 0.5 by default, --threshold for another one, or --tune-thresholds to choose per class the \
            threshold that maximises F1 on the validation split (then applied to the evaluated split). Segmenters: \
            every level the model supports (a level-3 model also at levels 2 and 1, by summing its probabilities), \
            with confusion-<level>.svg heatmaps; --classifier compares each chip's predicted map with the \
            classifier's labels and lists the chips that disagree.
            """)

    @Option(help: "Classifier or segmenter checkpoint (model.safetensors of `landcover train`).")
    var model: String

    @Option(help: "Segmenters: a classifier checkpoint at the same level, to compare label sets chip by chip.")
    var classifier: String?

    @Option(
        help:
            "Segmenters: a segmenter trained at another level (the paper's one model per level), compared with the levels this model derives; repeatable."
    )
    var perLevelModel: [String] = []

    @OptionGroup var data: DataOptions

    @Option(help: "Split to evaluate: train, validation, test (BigEarthNet) or all.")
    var split = SplitChoice.validation

    @Option(help: "Decision threshold for every class.")
    var threshold: Float = 0.5

    @Flag(help: "Tune one threshold per class on the validation split.")
    var tuneThresholds = false

    @Option(help: "Output directory for evaluation.json and evaluation.md.")
    var out: String?

    @Option(help: "Images per batch.")
    var batchSize = 64

    @Flag(help: "Report progress as JSON lines even on a terminal.")
    var jsonProgress = false

    func validate() throws {
        try data.validateSource()
        guard threshold > 0 && threshold < 1 else { throw ValidationError("--threshold lies in (0, 1).") }
        guard FileManager.default.fileExists(atPath: model) else {
            throw ValidationError("--model \(model): file not found")
        }
    }

    func run() throws {
        let (_, metadata) = try Checkpoint.load(from: URL(fileURLWithPath: model))
        if metadata.task == .segmentation { return try evaluateSegmenter() }
        let classifier = try TrainedClassifier(contentsOf: URL(fileURLWithPath: model))
        let source = try data.source(bands: classifier.bands, nomenclature: classifier.nomenclature)
        let reporter = ProgressReporter(task: "evaluate \(split.rawValue)", unit: "batches", forceJSON: jsonProgress)
        let report = try ClassifierReport.evaluate(
            classifier, source: source, split: split, threshold: threshold, tuneThresholds: tuneThresholds,
            batchSize: batchSize
        ) { done, total in reporter.update(done: done, total: total) }
        try write(report, markdown: report.markdown)
    }

    /// Prints the Markdown and, with --out, writes evaluation.json, evaluation.md and `extra` files.
    func write(_ report: some Encodable, markdown: String, extra: [String: String] = [:]) throws {
        print(markdown)
        guard let out else { return }
        let directory = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: directory.appendingPathComponent("evaluation.json"), options: .atomic)
        for (name, text) in extra.merging(["evaluation.md": markdown], uniquingKeysWith: { $1 }) {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        print("wrote \(out)/evaluation.json, evaluation.md" + extra.keys.sorted().map { ", \($0)" }.joined())
    }

    func evaluateSegmenter() throws {
        let segmenter = try TrainedSegmenter(contentsOf: URL(fileURLWithPath: model))
        guard
            let source = try data.source(bands: segmenter.bands, nomenclature: segmenter.nomenclature)
                as? any SegmentationSource
        else { throw TrainingError("the data has no pixel labels: use --chips or --bigearthnet-v2") }
        let indices = split.indices(of: source)
        guard !indices.isEmpty else { throw TrainingError("the \(split.rawValue) split of the data is empty") }
        let reporter = ProgressReporter(task: "evaluate \(split.rawValue)", unit: "batches", forceJSON: jsonProgress)
        var (report, sets) = try SegmentationReport.evaluate(
            segmenter, source: source, indices: indices, split: split.rawValue, batchSize: batchSize
        ) { done, total in reporter.update(done: done, total: total) }
        for path in perLevelModel {
            let separate = try TrainedSegmenter(contentsOf: URL(fileURLWithPath: path))
            guard
                let separateSource = try data.source(bands: separate.bands, nomenclature: separate.nomenclature)
                    as? any SegmentationSource
            else { continue }
            var (result, _) = try SegmentationReport.evaluate(
                separate, source: separateSource, indices: indices, split: split.rawValue, batchSize: batchSize)
            result.levels[0].derivation = "separate model \(path)"
            report.separateModels.append(result.levels[0])
        }
        if let classifier {
            let trained = try TrainedClassifier(contentsOf: URL(fileURLWithPath: classifier))
            guard trained.nomenclature.id == segmenter.nomenclature.id else {
                throw TrainingError(
                    "\(classifier): predicts \(trained.nomenclature.id), the segmenter \(segmenter.nomenclature.id)")
            }
            let classifierSource = try data.source(bands: trained.bands, nomenclature: trained.nomenclature)
            let predictions = try predict(trained, classifierSource, indices, task: "classify")
            report.compare(predictedSets: sets, with: trained, predictions: predictions, source: source)
        }
        let heatmaps = Dictionary(
            uniqueKeysWithValues: report.levels.map { ("confusion-\($0.nomenclature).svg", $0.heatmap.svg()) })
        try write(report, markdown: report.markdown, extra: heatmaps)
    }

    func predict(
        _ classifier: TrainedClassifier, _ source: any MultiLabelSource, _ indices: [Int], task: String
    ) throws -> ClassifierPredictions {
        let reporter = ProgressReporter(task: task, unit: "batches", forceJSON: jsonProgress)
        return try classifier.predict(source, indices: indices, batchSize: batchSize) { done, total, loss in
            reporter.update(done: done, total: total, note: String(format: "loss %.4f", loss))
        }
    }
}

/// `landcover noise`: the images a classifier finds least believable, for label review.
struct NoiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "noise",
        abstract: "Rank images by a classifier's loss and list the likely mislabelled ones (the paper's Fig. 5).",
        discussion: """
            Writes into --out: noise.json (rank, identifier, loss, labels, predicted, missing, added, probabilities, thumbnail, footprint), noise.md, PNG \
            thumbnails under thumbnails/, and noise.gpkg (layer likely_mislabelled: chip footprints with the same \
            fields) when the data is georeferenced — open it in QGIS beside the map.
            """)

    @Option(help: "Classifier checkpoint.")
    var model: String

    @OptionGroup var data: DataOptions

    @Option(help: "Split to rank: train, validation, test (BigEarthNet) or all.")
    var split = SplitChoice.all

    @Option(help: "How many images to list.")
    var top = 20

    @Option(help: "Decision threshold for the predicted labels.")
    var threshold: Float = 0.5

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "Images per batch.")
    var batchSize = 64

    @Flag(help: "Report progress as JSON lines even on a terminal.")
    var jsonProgress = false

    func validate() throws {
        try data.validateSource()
        guard top >= 1 else { throw ValidationError("--top must be at least 1.") }
        guard FileManager.default.fileExists(atPath: model) else {
            throw ValidationError("--model \(model): file not found")
        }
    }

    func run() throws {
        let classifier = try TrainedClassifier(contentsOf: URL(fileURLWithPath: model))
        let source = try data.source(bands: classifier.bands, nomenclature: classifier.nomenclature)
        let indices = split.indices(of: source)
        guard !indices.isEmpty else { throw TrainingError("the \(split.rawValue) split of the data is empty") }
        let reporter = ProgressReporter(task: "rank \(split.rawValue)", unit: "batches", forceJSON: jsonProgress)
        let predictions = try classifier.predict(source, indices: indices, batchSize: batchSize) { done, total, loss in
            reporter.update(done: done, total: total, note: String(format: "loss %.4f", loss))
        }
        var review = try NoiseReview(
            model: model, split: split.rawValue, source: source, predictions: predictions,
            thresholds: [Float](repeating: threshold, count: classifier.nomenclature.count), top: top)
        let directory = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try review.write(to: directory, source: source)
        try review.markdown.write(to: directory.appendingPathComponent("noise.md"), atomically: true, encoding: .utf8)
        print(review.markdown)
        let geopackage = FileManager.default.fileExists(atPath: directory.appendingPathComponent("noise.gpkg").path)
        print("wrote \(out)/noise.json, noise.md, thumbnails/" + (geopackage ? ", noise.gpkg" : ""))
    }
}
