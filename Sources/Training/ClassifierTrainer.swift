import Foundation
import LandCoverData
import Metrics
import NeuralNet
import TensorCore

/// The images a classifier trains and validates on.
public struct TrainingData {
    /// The source of images and labels.
    public let source: any MultiLabelSource
    /// Training image indices.
    public let train: [Int]
    /// Validation image indices.
    public let validation: [Int]

    /// Data from `source`'s own splits when it has them; images without a split (a BigEarthNet folder without split
    /// file) are divided 80/20 at random with `seed`.
    public init(source: any MultiLabelSource, seed: UInt64 = 0) {
        var train = source.indices(in: .train)
        var validation = source.indices(in: .validation)
        let unsplit = (0..<source.count).filter { source.split(at: $0) == nil }
        if train.isEmpty && validation.isEmpty && !unsplit.isEmpty {
            var generator = SeededGenerator(seed: seed ^ 0x5EED_5A17)
            let shuffled = Self.shuffled(unsplit, using: &generator)
            let cut = shuffled.count - shuffled.count / 5
            train = shuffled[..<cut].sorted()
            validation = shuffled[cut...].sorted()
        }
        self.init(source: source, train: train, validation: validation)
    }

    /// Data with explicit index lists.
    public init(source: any MultiLabelSource, train: [Int], validation: [Int]) {
        self.source = source
        self.train = train
        self.validation = validation
    }

    /// `indices` in a random order drawn from `generator` (Fisher–Yates, one draw per position, so the order is the
    /// same on every platform).
    public static func shuffled(_ indices: [Int], using generator: inout NeuralNet.SeededGenerator) -> [Int] {
        var result = indices
        guard result.count > 1 else { return result }
        for position in stride(from: result.count - 1, to: 0, by: -1) {
            let other = Int(generator.next() % UInt64(position + 1))
            result.swapAt(position, other)
        }
        return result
    }
}

/// One finished epoch: losses, validation scores and time.
public struct EpochRecord: Codable, Sendable, Equatable {
    /// 1-based over the whole run.
    public var epoch: Int
    /// `frozen` or `unfrozen`.
    public var stage: String
    /// Mean training loss over the epoch's batches.
    public var trainLoss: Double
    /// Mean validation loss; nil without validation images.
    public var validationLoss: Double?
    /// Validation scores at threshold 0.5.
    public var f1Micro: Double?
    public var f1Macro: Double?
    public var f1Samples: Double?
    public var exactMatchRatio: Double?
    /// Wall seconds of the epoch (training and validation).
    public var seconds: Double
}

/// The record of a training run, `training.json` in its output directory: what was trained on what, every finished
/// epoch, and whether the run is complete. A rerun with the same fingerprint resumes after the last epoch.
public struct TrainingLog: Codable, Sendable, Equatable {
    /// `classifier` or `segmenter`.
    public var kind: String
    /// A hash of the recipe, data and initial weights; a rerun resumes only with the same fingerprint.
    public var fingerprint: String
    /// The recipe.
    public var recipe: ClassifierRecipe
    /// Normalisation computed from the training images.
    public var normalization: ChannelStatistics
    /// Nomenclature id of the labels.
    public var nomenclature: String
    /// Input bands, in order.
    public var bands: [String]
    /// Image counts.
    public var trainImages: Int
    public var validationImages: Int
    /// The imported weights the body started from, if any.
    public var initialWeights: String?
    /// Finished epochs.
    public var epochs: [EpochRecord]
    /// True once `model.safetensors` is written.
    public var complete: Bool
    /// The code that trained.
    public var codeVersion: String
}

/// Progress of a training run, reported after every batch.
public struct TrainingProgress: Sendable {
    /// 1-based epoch and the run's total.
    public var epoch: Int
    public var epochs: Int
    /// `train` or `validate`.
    public var phase: String
    /// Batches done in this phase and their total.
    public var batch: Int
    public var batches: Int
    /// Mean loss so far in this phase.
    public var loss: Double
}

/// Trains a fastai multi-label classifier (`FastaiClassifier`) with a `ClassifierRecipe`, writing into `output`:
///
/// - `training.json`: the `TrainingLog`, rewritten after every epoch;
/// - `checkpoints/epoch-NNN.safetensors`: the model after each epoch (a checkpoint `landcover evaluate` reads), and
///   `checkpoints/state.safetensors`: the optimizer moments and dropout generators of the last epoch, for resuming;
/// - `model.safetensors`: the final model, with validation metrics in its metadata;
/// - `curves.svg`: loss and F1 per epoch.
///
/// Everything random is drawn from generators derived from the recipe's seed and the epoch, so a run interrupted
/// after any epoch and resumed ends with exactly the model an uninterrupted run gives.
public final class ClassifierTrainer {
    /// The data.
    public let data: TrainingData
    /// The recipe.
    public let recipe: ClassifierRecipe
    /// The output directory.
    public let output: URL
    /// Imported weights for the body (an encoder or classifier checkpoint, or a torchvision state dict).
    public let initialWeights: URL?
    /// Called after every batch.
    public var progress: ((TrainingProgress) -> Void)?

    /// File names inside the output directory.
    public enum FileName {
        public static let log = "training.json"
        public static let model = "model.safetensors"
        public static let curves = "curves.svg"
        public static let checkpoints = "checkpoints"
        public static let state = "state.safetensors"
        public static func epoch(_ epoch: Int) -> String { String(format: "epoch-%03d.safetensors", epoch) }
    }

    /// A trainer; checks the recipe and that there is something to train on.
    public init(data: TrainingData, recipe: ClassifierRecipe, output: URL, initialWeights: URL? = nil) throws {
        try recipe.validate()
        guard data.train.count >= 2 else {
            throw TrainingError("only \(data.train.count) training images: a classifier needs at least 2")
        }
        if let initialWeights, !FileManager.default.fileExists(atPath: initialWeights.path) {
            throw TrainingError("\(initialWeights.path): file not found")
        }
        self.data = data
        self.recipe = recipe
        self.output = output
        self.initialWeights = initialWeights
    }

    /// One stage of the run: its name, epochs, whether the body is frozen, and its largest learning rate per group.
    struct Stage {
        var name: String
        var epochs: Int
        var frozen: Bool
        var learningRates: [Double]
    }

    /// With imported weights: the frozen stage, then the unfrozen one (the paper). From scratch, freezing a random
    /// body teaches nothing: one stage of all epochs, every layer at the frozen stage's learning rate.
    var stages: [Stage] {
        guard initialWeights != nil else {
            let epochs = recipe.frozenEpochs + recipe.unfrozenEpochs
            return [
                Stage(
                    name: "unfrozen", epochs: epochs, frozen: false,
                    learningRates: Array(repeating: recipe.frozenLearningRate, count: 3))
            ]
        }
        return [
            Stage(
                name: "frozen", epochs: recipe.frozenEpochs, frozen: true,
                learningRates: Array(repeating: recipe.frozenLearningRate, count: 3)),
            Stage(
                name: "unfrozen", epochs: recipe.unfrozenEpochs, frozen: false, learningRates: recipe.unfrozenGroupRates
            ),
        ].filter { $0.epochs > 0 }
    }

    /// The total number of epochs.
    public var totalEpochs: Int { stages.reduce(0) { $0 + $1.epochs } }

    /// The batches of one training epoch (a short final batch is dropped).
    public var batchesPerEpoch: Int {
        ImageBatches.partition(data.train, batchSize: recipe.batchSize, dropLast: true).count
    }

    /// Trains, resuming after the last finished epoch when `output` holds this run; returns the log. Throws when
    /// `output` holds another run (unless `overwrite`). With `epochLimit` the run stops once that many epochs are
    /// done (for jobs with a wall-time limit) and a later call continues it.
    @discardableResult
    public func run(overwrite: Bool = false, epochLimit: Int? = nil) throws -> TrainingLog {
        let files = FileManager.default
        let checkpoints = output.appendingPathComponent(FileName.checkpoints)
        try files.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        let logURL = output.appendingPathComponent(FileName.log)
        let fingerprint = try self.fingerprint()

        var log: TrainingLog
        if let existing = try? JSONDecoder().decode(TrainingLog.self, from: Data(contentsOf: logURL)),
            !overwrite || existing.fingerprint == fingerprint
        {
            guard existing.fingerprint == fingerprint else {
                throw TrainingError(
                    "\(output.path) holds another training run (different recipe, data or weights); "
                        + "use another output directory or --overwrite")
            }
            log = existing
            if log.complete { return log }
        } else {
            if files.fileExists(atPath: logURL.path) && !overwrite {
                throw TrainingError("\(logURL.path) is not a training log; use another output directory")
            }
            let normalization = try ChannelStatistics.compute(from: data.source, indices: data.train)
            log = TrainingLog(
                kind: "classifier", fingerprint: fingerprint, recipe: recipe, normalization: normalization,
                nomenclature: data.source.nomenclature.id, bands: data.source.bands.map(\.name),
                trainImages: data.train.count, validationImages: data.validation.count,
                initialWeights: initialWeights?.path, epochs: [], complete: false,
                codeVersion: "landcover \(LandCover.version)")
        }

        let model = try makeModel(log: log)
        let batches = ImageBatches(source: data.source, normalization: log.normalization)
        var epoch = 0
        for stage in stages {
            let stageStart = epoch
            epoch += stage.epochs
            if log.epochs.count >= epoch { continue }
            if stage.frozen { model.body.freeze(trainBatchNorm: true) } else { model.body.unfreeze() }
            let optimizer = AdamW(
                zip(model.layerGroups, stage.learningRates).map {
                    ParameterGroup($0, learningRate: $1, weightDecay: recipe.weightDecay)
                }, beta1: 0.95, beta2: recipe.beta2, epsilon: 1e-5)
            let stepsPerEpoch = batchesPerEpoch
            let schedule = OneCycleSchedule(
                totalSteps: max(2, stepsPerEpoch * stage.epochs), maxLearningRates: stage.learningRates,
                pctStart: recipe.pctStart, divFactor: recipe.divFactor, finalDivFactor: recipe.finalDivFactor,
                variant: .fastaiV1)
            let done = log.epochs.count
            if done > stageStart {
                try restoreState(model: model, optimizer: optimizer, from: checkpoints, epoch: done)
            }
            for stageEpoch in (done - stageStart)..<stage.epochs {
                let number = stageStart + stageEpoch + 1
                if let epochLimit, number > epochLimit { return log }
                let start = ContinuousClock.now
                let trainLoss = try trainEpoch(
                    model: model, optimizer: optimizer, schedule: schedule, batches: batches,
                    firstStep: stageEpoch * stepsPerEpoch, epoch: number)
                var record = EpochRecord(
                    epoch: number, stage: stage.name, trainLoss: trainLoss, seconds: 0)
                if !data.validation.isEmpty {
                    let validation = try ClassifierPredictions.predict(
                        model: model, batches: batches, indices: data.validation, batchSize: recipe.batchSize
                    ) { done, total, loss in
                        self.progress?(
                            TrainingProgress(
                                epoch: number, epochs: self.totalEpochs, phase: "validate", batch: done, batches: total,
                                loss: loss))
                    }
                    let evaluation = validation.evaluation(thresholds: validation.defaultThresholds)
                    record.validationLoss = validation.meanLoss
                    record.f1Micro = evaluation.f1Micro
                    record.f1Macro = evaluation.f1Macro
                    record.f1Samples = evaluation.f1Samples
                    record.exactMatchRatio = evaluation.exactMatchRatio
                }
                record.seconds = (ContinuousClock.now - start).seconds
                try saveEpoch(model: model, optimizer: optimizer, log: log, record: record, into: checkpoints)
                log.epochs.append(record)
                try write(log, to: logURL)
            }
        }

        let last = checkpoints.appendingPathComponent(FileName.epoch(log.epochs.count))
        let finalURL = output.appendingPathComponent(FileName.model)
        let temporary = output.appendingPathComponent(".\(FileName.model).partial")
        try? files.removeItem(at: temporary)
        try files.copyItem(at: last, to: temporary)
        guard rename(temporary.path, finalURL.path) == 0 else {
            throw TrainingError("\(finalURL.path): cannot rename into place: \(String(cString: strerror(errno)))")
        }
        try? LineChart.trainingCurves(log.epochs).svg().write(
            to: output.appendingPathComponent(FileName.curves), atomically: true, encoding: .utf8)
        log.complete = true
        try write(log, to: logURL)
        return log
    }

    // MARK: - Steps

    /// One epoch of optimizer steps; returns the mean loss.
    private func trainEpoch(
        model: FastaiClassifier, optimizer: AdamW, schedule: OneCycleSchedule, batches: ImageBatches, firstStep: Int,
        epoch: Int
    ) throws -> Double {
        model.train()
        var generator = SeededGenerator(seed: Self.mix(recipe.seed, UInt64(epoch)))
        let order = TrainingData.shuffled(data.train, using: &generator)
        let epochBatches = ImageBatches.partition(order, batchSize: recipe.batchSize, dropLast: true)
        var total = 0.0
        for (index, indices) in epochBatches.enumerated() {
            let symmetries = recipe.augment ? indices.map { _ in Dihedral.random(using: &generator) } : []
            let (input, targets) = try batches.batch(indices, symmetries: symmetries)
            schedule.apply(to: optimizer, step: min(firstStep + index, schedule.totalSteps - 1))
            optimizer.clearGradients()
            let loss = binaryCrossEntropyWithLogits(try model(Variable(input)), targets: targets)
            try loss.backward()
            optimizer.step()
            total += Double(loss.value.scalars[0])
            progress?(
                TrainingProgress(
                    epoch: epoch, epochs: totalEpochs, phase: "train", batch: index + 1, batches: epochBatches.count,
                    loss: total / Double(index + 1)))
        }
        return total / Double(max(epochBatches.count, 1))
    }

    // MARK: - Model, checkpoints and state

    /// The classifier for this run, with imported body weights when given.
    private func makeModel(log: TrainingLog) throws -> FastaiClassifier {
        let configuration = Checkpoint.resNetConfiguration(
            named: recipe.architecture, inputChannels: data.source.bands.count)!
        var generator = SeededGenerator(seed: recipe.seed)
        let model = FastaiClassifier(
            body: configuration, hidden: recipe.hidden, classes: data.source.nomenclature.count,
            dropout: (recipe.dropout[0], recipe.dropout[1]), using: &generator)
        if let initialWeights {
            try Self.loadBody(of: model, from: initialWeights)
        }
        return model
    }

    /// Loads a body from an encoder checkpoint, a classifier checkpoint (`body.*` or torchvision keys) or a plain
    /// torchvision state dict; `fc.*` and head tensors are left out, a stem of another band count is adapted.
    static func loadBody(of model: FastaiClassifier, from url: URL) throws {
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(contentsOf: url)
        } catch {
            throw TrainingError("\(error)")
        }
        var stateDict = file.stateDict()
        if stateDict.keys.contains(where: { $0.hasPrefix("body.") }) {
            stateDict = Dictionary(
                uniqueKeysWithValues: stateDict.compactMap { key, value in
                    key.hasPrefix("body.") ? (String(key.dropFirst(5)), value) : nil
                })
        }
        stateDict = stateDict.filter { !$0.key.hasPrefix("fc.") }
        do {
            try model.body.load(pretrained: stateDict, strict: true)
        } catch {
            throw TrainingError(
                "\(url.path): not weights for a \(model.body.configuration.block) ResNet body: \(error)")
        }
    }

    /// The model's checkpoint metadata.
    func metadata(log: TrainingLog, record: EpochRecord?) -> CheckpointMetadata {
        let nomenclature = data.source.nomenclature
        var metrics: [String: Double] = [:]
        if let record {
            metrics["epoch"] = Double(record.epoch)
            metrics["train_loss"] = record.trainLoss
            if let value = record.validationLoss { metrics["validation_loss"] = value }
            if let value = record.f1Micro { metrics["f1_micro"] = value }
            if let value = record.f1Macro { metrics["f1_macro"] = value }
            if let value = record.f1Samples { metrics["f1_samples"] = value }
        }
        return CheckpointMetadata(
            architecture: .init(
                kind: .fastaiClassifier,
                resnet: Checkpoint.resNetConfiguration(named: recipe.architecture, inputChannels: log.bands.count)!,
                classes: nomenclature.count, hidden: recipe.hidden),
            bands: log.bands, normalization: .init(mean: log.normalization.mean, std: log.normalization.std),
            nomenclature: .init(
                id: nomenclature.id,
                classes: zip(nomenclature.codes, nomenclature.names).map { .init(code: "\($0)", name: $1) }),
            task: .classification, recipe: recipe.metadataStrings, metrics: metrics,
            codeVersion: log.codeVersion)
    }

    /// Writes the epoch's model checkpoint, then the optimizer and dropout state.
    private func saveEpoch(
        model: FastaiClassifier, optimizer: AdamW, log: TrainingLog, record: EpochRecord, into directory: URL
    ) throws {
        try Checkpoint.save(
            model: model, metadata: metadata(log: log, record: record),
            to: directory.appendingPathComponent(FileName.epoch(record.epoch)))
        var tensors: [String: Tensor] = [:]
        var steps: [String: Int] = [:]
        for (name, parameter) in model.namedParameters() {
            guard let state = optimizer.state(of: parameter) else { continue }
            tensors["optimizer.\(name).exp_avg"] = state.firstMoment
            tensors["optimizer.\(name).exp_avg_sq"] = state.secondMoment
            steps[name] = state.step
        }
        let dropouts = model.namedModules().compactMap { ($0.module as? Dropout)?.generator.state }
        let metadata = [
            "epoch": "\(record.epoch)",
            "steps": String(decoding: try JSONEncoder().encode(steps), as: UTF8.self),
            "dropout_generators": dropouts.map { "\($0)" }.joined(separator: ","),
        ]
        try SafetensorsFile(stateDict: tensors, metadata: metadata).write(
            to: directory.appendingPathComponent(FileName.state))
    }

    /// Loads the model of epoch `epoch`; with the state of the same epoch, the optimizer moments (when the optimizer
    /// belongs to the same stage) and the dropout generators.
    private func restoreState(model: FastaiClassifier, optimizer: AdamW, from directory: URL, epoch: Int) throws {
        let modelURL = directory.appendingPathComponent(FileName.epoch(epoch))
        let (file, _) = try Checkpoint.load(from: modelURL)
        try model.load(stateDict: file.stateDict(), strict: true)
        let stateURL = directory.appendingPathComponent(FileName.state)
        let state = try SafetensorsFile(contentsOf: stateURL)
        guard state.metadata["epoch"] == "\(epoch)" else {
            throw TrainingError("\(stateURL.path): holds the state of another epoch than \(epoch); cannot resume")
        }
        let steps =
            try state.metadata["steps"].map { try JSONDecoder().decode([String: Int].self, from: Data($0.utf8)) } ?? [:]
        let tensors = state.stateDict()
        for (name, parameter) in model.namedParameters() {
            guard let step = steps[name], let first = tensors["optimizer.\(name).exp_avg"],
                let second = tensors["optimizer.\(name).exp_avg_sq"]
            else { continue }
            optimizer.restore(.init(step: step, firstMoment: first, secondMoment: second), of: parameter)
        }
        let generators = (state.metadata["dropout_generators"] ?? "").split(separator: ",").compactMap {
            UInt64($0)
        }
        let dropouts = model.namedModules().compactMap { $0.module as? Dropout }
        guard generators.count == dropouts.count else {
            throw TrainingError("\(stateURL.path): dropout state does not match the model; cannot resume")
        }
        for (dropout, state) in zip(dropouts, generators) { dropout.generator = SeededGenerator(seed: state) }
    }

    /// The run's fingerprint: FNV-1a over the recipe, the data (bands, nomenclature, image names, splits) and the
    /// initial weights' path and size.
    private func fingerprint() throws -> String {
        var hasher = FNV1a()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        hasher.combine(try encoder.encode(recipe))
        hasher.combine(data.source.bands.map(\.name).joined(separator: ","))
        hasher.combine(data.source.nomenclature.id)
        for index in data.train { hasher.combine("t" + data.source.identifier(at: index)) }
        for index in data.validation { hasher.combine("v" + data.source.identifier(at: index)) }
        if let initialWeights {
            let attributes = try? FileManager.default.attributesOfItem(atPath: initialWeights.path)
            let size = (attributes?[.size] as? Int) ?? 0
            hasher.combine("\(initialWeights.standardizedFileURL.path):\(size)")
        }
        return String(format: "%016llx", hasher.value)
    }

    private func write(_ log: TrainingLog, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(log).write(to: url, options: .atomic)
    }

    /// A seed for `value` under `seed` (SplitMix64 finaliser of their combination).
    static func mix(_ seed: UInt64, _ value: UInt64) -> UInt64 {
        var generator = SeededGenerator(seed: seed ^ (value &* 0x9E37_79B9_7F4A_7C15))
        return generator.next()
    }
}

/// FNV-1a, 64 bit: a stable hash for fingerprints.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func combine(_ data: Data) {
        for byte in data {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        value ^= 0xff
        value &*= 0x0000_0100_0000_01b3
    }

    mutating func combine(_ string: String) { combine(Data(string.utf8)) }
}
