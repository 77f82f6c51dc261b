import Foundation
import LandCoverData
import Mapping
import Training
import Yams

/// A validated pipeline specification (`Pipelines/*.yaml`). See `Pipelines/README.md`.
///
/// Every mistake — unknown key, wrong type, missing input — is found by `load` before any work starts.
public struct PipelineSpec: Sendable, Equatable {
    /// Name of the run.
    public var name: String
    /// Output directory (relative paths are relative to the spec file).
    public var output: URL
    /// Sentinel-2 product (.SAFE directory, MTD XML or zip).
    public var safe: URL
    /// CORINE layer.
    public var corine: URL
    /// Chipping settings and bands, when the spec has a `chip` stage.
    public var chip: ChipStage?
    /// Statistics settings, when the spec has a `stats` stage.
    public var stats: StatsStage?
    /// Classifier training, when the spec has a `classifier` stage.
    public var classifier: ClassifierStage?
    /// Segmenter training, when the spec has a `segmenter` stage.
    public var segmenter: SegmenterStage?
    /// Evaluation of the trained models, when the spec has an `evaluate` stage.
    public var evaluate: EvaluateStage?
    /// Label-noise review, when the spec has a `noise` stage.
    public var noise: NoiseStage?
    /// Whole-granule maps, when the spec has a `map` stage.
    public var map: MapStage?
    /// The map against CORINE, when the spec has a `change` stage.
    public var change: ChangeStage?
    /// The HTML and Markdown report of the run, when the spec has a `report` stage.
    public var report: ReportStage?

    /// The `classifier` stage: `landcover train classifier` on the chips.
    public struct ClassifierStage: Sendable, Equatable {
        /// CORINE level 1, 2 or 3.
        public var level = CorineLevel.level3
        /// Imported body weights, if any.
        public var weights: URL?
        /// A class is a chip label when it covers more than this share of the chip's labelled pixels.
        public var minimumShare = 0.0
        /// The recipe.
        public var recipe = ClassifierRecipe()
    }

    /// The `segmenter` stage: `landcover train segmenter` on the chips, its encoder from the `classifier` stage
    /// (or `encoder`, or scratch).
    public struct SegmenterStage: Sendable, Equatable {
        public var level = CorineLevel.level3
        public var encoder: URL?
        public var recipe = SegmenterRecipe()
    }

    /// The `evaluate` stage: both models on a split of the chips.
    public struct EvaluateStage: Sendable, Equatable {
        public var split = EvaluationSplit.validation
        public var tuneThresholds = false
    }

    /// The `noise` stage: the classifier's highest-loss chips.
    public struct NoiseStage: Sendable, Equatable {
        public var split = EvaluationSplit.all
        public var top = 20
    }

    /// The `map` stage: the segmenter (or classifier) over the whole product.
    public struct MapStage: Sendable, Equatable {
        public var window = 256
        public var overlap = 32
        public var batchSize = 4
        public var confidence = true
        /// Minimum mapping unit in hectares for a generalised copy; nil for none.
        public var minimumMappingUnit: Double?
        /// Also write the (generalised) map as polygons.
        public var polygons = false
    }

    /// The `change` stage: the finest map against the CORINE input.
    public struct ChangeStage: Sendable, Equatable {
        /// Leave out pixels whose top-1 probability (percent) is below this.
        public var confidenceThreshold: UInt8?
    }

    /// The `report` stage: `landcover report` on the output directory, after every other stage.
    public struct ReportStage: Sendable, Equatable {
        /// Longest side of the map previews in pixels.
        public var previewSize = 480
    }

    /// The `chip` stage.
    public struct ChipStage: Sendable, Equatable {
        /// Bands in storage order.
        public var bands: [SpectralBand] = SpectralBand.rgb
        /// Chipper settings.
        public var configuration = ChipperConfiguration()
    }

    /// The `stats` stage.
    public struct StatsStage: Sendable, Equatable {
        /// Minimum share of labelled pixels for a class to count as a chip label.
        public var minimumShare = 0.0
    }

    /// The stages this build runs, in execution order.
    public static let knownStages = [
        "chip", "stats", "classifier", "segmenter", "evaluate", "noise", "map", "change", "report",
    ]

    /// Reads and validates a spec file.
    public static func load(_ file: URL) throws -> PipelineSpec {
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw PipelineError(file.path, "cannot read the pipeline spec")
        }
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw PipelineError(file.path, "not valid YAML (\(error))")
        }
        var reader = SpecReader(file: file)
        return try reader.spec(from: root)
    }
}

/// A pipeline problem, in one line naming the spec file and the key.
public struct PipelineError: Error, CustomStringConvertible, Sendable {
    /// The message.
    public let message: String
    init(_ path: String, _ problem: String) { message = "\(path): \(problem)" }
    public var description: String { message }
}

/// Walks the parsed YAML with a key path for error messages.
private struct SpecReader {
    let file: URL
    var base: URL { file.deletingLastPathComponent() }

    func fail(_ path: String, _ problem: String) -> PipelineError {
        PipelineError(file.path, path.isEmpty ? problem : "\(path): \(problem)")
    }

    func mapping(_ value: Any?, at path: String, allowed: [String]) throws -> [String: Any] {
        guard let map = value as? [String: Any] else { throw fail(path, "expected a mapping") }
        for key in map.keys.sorted() where !allowed.contains(key) {
            throw fail(path.isEmpty ? key : "\(path).\(key)", "unknown key (known: \(allowed.joined(separator: ", ")))")
        }
        return map
    }

    func string(_ map: [String: Any], _ key: String, at path: String) throws -> String? {
        guard let value = map[key] else { return nil }
        guard let string = value as? String else { throw fail("\(path)\(key)", "expected text, got \(value)") }
        return string
    }

    func number(_ map: [String: Any], _ key: String, at path: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value = map[key] else { return nil }
        let number: Double
        switch value {
        case let int as Int: number = Double(int)
        case let double as Double: number = double
        default: throw fail("\(path)\(key)", "expected a number, got \(value)")
        }
        guard range.contains(number) else {
            throw fail("\(path)\(key)", "\(number) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    func integer(_ map: [String: Any], _ key: String, at path: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = map[key] else { return nil }
        guard let int = value as? Int else { throw fail("\(path)\(key)", "expected an integer, got \(value)") }
        guard range.contains(int) else { throw fail("\(path)\(key)", "\(int) is outside \(range)") }
        return int
    }

    func existingPath(_ map: [String: Any], _ key: String, at path: String) throws -> URL {
        guard let relative = try string(map, key, at: path) else { throw fail("\(path)\(key)", "missing") }
        let url = URL(fileURLWithPath: relative, relativeTo: base).standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw fail("\(path)\(key)", "\(url.path) does not exist")
        }
        return url
    }

    mutating func spec(from root: Any?) throws -> PipelineSpec {
        let top = try mapping(root, at: "", allowed: ["name", "output", "inputs", "stages"])
        let inputs = try mapping(top["inputs"] ?? [String: Any](), at: "inputs", allowed: ["safe", "corine"])
        let stages = try mapping(top["stages"] ?? [String: Any](), at: "stages", allowed: PipelineSpec.knownStages)
        guard let output = try string(top, "output", at: "") else { throw fail("output", "missing") }
        var spec = PipelineSpec(
            name: try string(top, "name", at: "") ?? file.deletingPathExtension().lastPathComponent,
            output: URL(fileURLWithPath: output, relativeTo: base).standardizedFileURL,
            safe: try existingPath(inputs, "safe", at: "inputs."),
            corine: try existingPath(inputs, "corine", at: "inputs."))
        if stages.keys.contains("chip") { spec.chip = try chipStage(stages["chip"]) }
        if stages.keys.contains("stats") { spec.stats = try statsStage(stages["stats"]) }
        if stages.keys.contains("classifier") { spec.classifier = try classifierStage(stages["classifier"]) }
        if stages.keys.contains("segmenter") { spec.segmenter = try segmenterStage(stages["segmenter"]) }
        if stages.keys.contains("evaluate") { spec.evaluate = try evaluateStage(stages["evaluate"]) }
        if stages.keys.contains("noise") { spec.noise = try noiseStage(stages["noise"]) }
        if stages.keys.contains("map") { spec.map = try mapStage(stages["map"]) }
        if stages.keys.contains("change") { spec.change = try changeStage(stages["change"]) }
        if stages.keys.contains("report") { spec.report = try reportStage(stages["report"]) }
        let trains = spec.classifier != nil || spec.segmenter != nil
        if trains && spec.chip == nil { throw fail("stages", "training needs the chip stage") }
        if spec.noise != nil && spec.classifier == nil { throw fail("stages.noise", "needs the classifier stage") }
        if spec.evaluate != nil && !trains { throw fail("stages.evaluate", "needs a classifier or segmenter stage") }
        if spec.map != nil && !trains { throw fail("stages.map", "needs a classifier or segmenter stage") }
        if spec.change != nil && spec.segmenter == nil { throw fail("stages.change", "needs the segmenter stage") }
        return spec
    }

    func level(_ map: [String: Any], at path: String) throws -> CorineLevel {
        CorineLevel(rawValue: try integer(map, "level", at: path, in: 1...3) ?? 3)!
    }

    func bool(_ map: [String: Any], _ key: String, at path: String) throws -> Bool? {
        guard let value = map[key] else { return nil }
        guard let flag = value as? Bool else { throw fail("\(path)\(key)", "expected true or false, got \(value)") }
        return flag
    }

    func pair(_ map: [String: Any], _ key: String, at path: String) throws -> [Double]? {
        guard let value = map[key] else { return nil }
        let numbers = (value as? [Any])?.compactMap { ($0 as? Double) ?? ($0 as? Int).map(Double.init) }
        guard let numbers, numbers.count == 2, numbers.allSatisfy({ $0 > 0 }) else {
            throw fail("\(path)\(key)", "expected two positive numbers, got \(value)")
        }
        return numbers
    }

    func classifierStage(_ value: Any?) throws -> PipelineSpec.ClassifierStage {
        let keys = [
            "level", "weights", "min_share", "arch", "hidden", "batch_size", "frozen_epochs", "unfrozen_epochs", "lr",
            "unfrozen_lr", "weight_decay", "augment", "seed",
        ]
        let map = try mapping(value ?? [String: Any](), at: "stages.classifier", allowed: keys)
        let path = "stages.classifier."
        var stage = PipelineSpec.ClassifierStage()
        stage.level = try level(map, at: path)
        if map["weights"] != nil { stage.weights = try existingPath(map, "weights", at: path) }
        stage.minimumShare = try number(map, "min_share", at: path, in: 0...0.99) ?? 0
        var recipe = ClassifierRecipe()
        recipe.architecture = try string(map, "arch", at: path) ?? recipe.architecture
        recipe.hidden = try integer(map, "hidden", at: path, in: 1...100_000) ?? recipe.hidden
        recipe.batchSize = try integer(map, "batch_size", at: path, in: 2...100_000) ?? recipe.batchSize
        recipe.frozenEpochs = try integer(map, "frozen_epochs", at: path, in: 0...10_000) ?? recipe.frozenEpochs
        recipe.unfrozenEpochs = try integer(map, "unfrozen_epochs", at: path, in: 0...10_000) ?? recipe.unfrozenEpochs
        recipe.frozenLearningRate = try number(map, "lr", at: path, in: 1e-9...10) ?? recipe.frozenLearningRate
        recipe.unfrozenLearningRates = try pair(map, "unfrozen_lr", at: path) ?? recipe.unfrozenLearningRates
        recipe.weightDecay = try number(map, "weight_decay", at: path, in: 0...10) ?? recipe.weightDecay
        recipe.augment = try bool(map, "augment", at: path) ?? recipe.augment
        recipe.seed = UInt64(try integer(map, "seed", at: path, in: 0...Int.max) ?? 0)
        do { try recipe.validate() } catch { throw fail("stages.classifier", "\(error)") }
        stage.recipe = recipe
        return stage
    }

    func segmenterStage(_ value: Any?) throws -> PipelineSpec.SegmenterStage {
        let keys = [
            "level", "encoder", "arch", "decoder", "batch_size", "decoder_epochs", "all_epochs", "lr", "all_lr",
            "class_weights", "weight_decay", "augment", "seed",
        ]
        let map = try mapping(value ?? [String: Any](), at: "stages.segmenter", allowed: keys)
        let path = "stages.segmenter."
        var stage = PipelineSpec.SegmenterStage()
        stage.level = try level(map, at: path)
        if map["encoder"] != nil { stage.encoder = try existingPath(map, "encoder", at: path) }
        var recipe = SegmenterRecipe()
        recipe.architecture = try string(map, "arch", at: path) ?? recipe.architecture
        recipe.decoder = try string(map, "decoder", at: path) ?? recipe.decoder
        recipe.batchSize = try integer(map, "batch_size", at: path, in: 2...100_000) ?? recipe.batchSize
        recipe.decoderEpochs = try integer(map, "decoder_epochs", at: path, in: 0...10_000) ?? recipe.decoderEpochs
        recipe.allEpochs = try integer(map, "all_epochs", at: path, in: 0...10_000) ?? recipe.allEpochs
        recipe.learningRate = try number(map, "lr", at: path, in: 1e-9...10) ?? recipe.learningRate
        recipe.allLearningRates = try pair(map, "all_lr", at: path) ?? recipe.allLearningRates
        recipe.classWeights = try string(map, "class_weights", at: path) ?? recipe.classWeights
        recipe.weightDecay = try number(map, "weight_decay", at: path, in: 0...10) ?? recipe.weightDecay
        recipe.augment = try bool(map, "augment", at: path) ?? recipe.augment
        recipe.seed = UInt64(try integer(map, "seed", at: path, in: 0...Int.max) ?? 0)
        do { try recipe.validate() } catch { throw fail("stages.segmenter", "\(error)") }
        stage.recipe = recipe
        return stage
    }

    func evaluateStage(_ value: Any?) throws -> PipelineSpec.EvaluateStage {
        let map = try mapping(value ?? [String: Any](), at: "stages.evaluate", allowed: ["split", "tune_thresholds"])
        var stage = PipelineSpec.EvaluateStage()
        if let text = try string(map, "split", at: "stages.evaluate.") {
            guard let split = EvaluationSplit(rawValue: text) else {
                throw fail("stages.evaluate.split", "expected train, validation, test or all, got \(text)")
            }
            stage.split = split
        }
        stage.tuneThresholds = try bool(map, "tune_thresholds", at: "stages.evaluate.") ?? false
        return stage
    }

    func noiseStage(_ value: Any?) throws -> PipelineSpec.NoiseStage {
        let map = try mapping(value ?? [String: Any](), at: "stages.noise", allowed: ["split", "top"])
        var stage = PipelineSpec.NoiseStage()
        if let text = try string(map, "split", at: "stages.noise.") {
            guard let split = EvaluationSplit(rawValue: text) else {
                throw fail("stages.noise.split", "expected train, validation, test or all, got \(text)")
            }
            stage.split = split
        }
        stage.top = try integer(map, "top", at: "stages.noise.", in: 1...100_000) ?? 20
        return stage
    }

    func mapStage(_ value: Any?) throws -> PipelineSpec.MapStage {
        let keys = ["window", "overlap", "batch_size", "confidence", "minimum_mapping_unit", "polygons"]
        let map = try mapping(value ?? [String: Any](), at: "stages.map", allowed: keys)
        let path = "stages.map."
        var stage = PipelineSpec.MapStage()
        stage.window = try integer(map, "window", at: path, in: 32...4096) ?? stage.window
        stage.overlap = try integer(map, "overlap", at: path, in: 0...2048) ?? stage.overlap
        guard stage.overlap * 2 < stage.window else { throw fail(path + "overlap", "must be below half the window") }
        stage.batchSize = try integer(map, "batch_size", at: path, in: 1...1024) ?? stage.batchSize
        stage.confidence = try bool(map, "confidence", at: path) ?? stage.confidence
        stage.minimumMappingUnit = try number(map, "minimum_mapping_unit", at: path, in: 0...1_000_000)
        stage.polygons = try bool(map, "polygons", at: path) ?? false
        return stage
    }

    func changeStage(_ value: Any?) throws -> PipelineSpec.ChangeStage {
        let map = try mapping(value ?? [String: Any](), at: "stages.change", allowed: ["confidence_threshold"])
        return PipelineSpec.ChangeStage(
            confidenceThreshold: try integer(map, "confidence_threshold", at: "stages.change.", in: 0...100).map(
                UInt8.init))
    }

    func reportStage(_ value: Any?) throws -> PipelineSpec.ReportStage {
        let map = try mapping(value ?? [String: Any](), at: "stages.report", allowed: ["preview_size"])
        return PipelineSpec.ReportStage(
            previewSize: try integer(map, "preview_size", at: "stages.report.", in: 64...4096) ?? 480)
    }

    func chipStage(_ value: Any?) throws -> PipelineSpec.ChipStage {
        let keys = [
            "bands", "chip_size", "stride", "split", "block_size", "validation_fraction", "seed", "max_invalid",
            "max_cloud",
        ]
        let map = try mapping(value ?? [String: Any](), at: "stages.chip", allowed: keys)
        let path = "stages.chip."
        var stage = PipelineSpec.ChipStage()
        if let bands = map["bands"] {
            guard let names = bands as? [String] else { throw fail(path + "bands", "expected a list of band names") }
            stage.bands = try names.map {
                guard let band = SpectralBand($0) else { throw fail(path + "bands", "unknown band \($0)") }
                return band
            }
        }
        let size = try integer(map, "chip_size", at: path, in: 8...4096) ?? 120
        let fraction = try number(map, "validation_fraction", at: path, in: 0...1) ?? 0.2
        let seed = UInt64(try integer(map, "seed", at: path, in: 0...Int.max) ?? 0)
        let split: SplitRule
        switch try string(map, "split", at: path) ?? "blocked" {
        case "blocked":
            let block = try integer(map, "block_size", at: path, in: 1...1000) ?? 5
            split = .blocked(blockSize: block, validationFraction: fraction, seed: seed)
        case "random": split = .random(validationFraction: fraction, seed: seed)
        case let other: throw fail(path + "split", "expected blocked or random, got \(other)")
        }
        stage.configuration = ChipperConfiguration(
            chipSize: size, stride: try integer(map, "stride", at: path, in: 1...4096),
            maxInvalidFraction: try number(map, "max_invalid", at: path, in: 0...1) ?? 0.2,
            maxCloudFraction: try number(map, "max_cloud", at: path, in: 0...1) ?? 0.1, split: split)
        return stage
    }

    func statsStage(_ value: Any?) throws -> PipelineSpec.StatsStage {
        let map = try mapping(value ?? [String: Any](), at: "stages.stats", allowed: ["min_share"])
        return PipelineSpec.StatsStage(minimumShare: try number(map, "min_share", at: "stages.stats.", in: 0...1) ?? 0)
    }
}
