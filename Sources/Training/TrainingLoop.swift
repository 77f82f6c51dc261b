import Cluster
import Foundation
import LandCoverData
import Metrics
import NeuralNet
import TensorCore

/// One finished epoch: losses, validation scores and time.
public struct EpochRecord: Codable, Sendable, Equatable {
    /// 1-based over the whole run.
    public var epoch: Int
    /// The stage's name (`frozen`/`unfrozen` for a classifier, `decoder`/`all` for a segmenter).
    public var stage: String
    /// Mean training loss over the epoch's batches.
    public var trainLoss: Double
    /// Mean validation loss; nil without validation images.
    public var validationLoss: Double?
    /// Classifier validation scores at threshold 0.5.
    public var f1Micro: Double?
    public var f1Macro: Double?
    public var f1Samples: Double?
    public var exactMatchRatio: Double?
    /// Segmenter validation scores.
    public var pixelAccuracy: Double?
    public var meanIoU: Double?
    /// Wall seconds of the epoch (training and validation).
    public var seconds: Double

    /// A record with the training loss; validation scores are filled in by the caller.
    public init(epoch: Int, stage: String, trainLoss: Double, seconds: Double = 0) {
        self.epoch = epoch
        self.stage = stage
        self.trainLoss = trainLoss
        self.seconds = seconds
    }
}

/// The record of a training run, `training.json` in its output directory: what was trained on what, every finished
/// epoch, and whether the run is complete. A rerun with the same fingerprint resumes after the last epoch.
public struct TrainingLog: Codable, Sendable, Equatable {
    /// `classifier` or `segmenter`.
    public var kind: String
    /// A hash of the recipe, data and initial weights; a rerun resumes only with the same fingerprint.
    public var fingerprint: String
    /// The recipe, as its metadata strings.
    public var recipe: [String: String]
    /// Normalisation computed from the training images.
    public var normalization: ChannelStatistics
    /// Nomenclature id of the labels.
    public var nomenclature: String
    /// Input bands, in order.
    public var bands: [String]
    /// Image counts.
    public var trainImages: Int
    public var validationImages: Int
    /// The weights the model started from, if any.
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

/// One stage of a run: a name, its epochs, the parameter groups with their largest learning rates, and what to
/// freeze before it starts.
struct TrainingStage {
    var name: String
    var epochs: Int
    var learningRates: [Double]
    var prepare: () -> Void
}

/// The optimiser settings every stage shares (fastai v1: Adam β1 cycled 0.95 → 0.85 → 0.95, β2, ε 1e-5,
/// decoupled weight decay; a one-cycle schedule per stage).
struct OptimizerSettings: Codable, Equatable, Hashable, Sendable {
    var weightDecay: Double
    var beta2: Double
    var pctStart: Double
    var divFactor: Double
    var finalDivFactor: Double
}

/// The epoch loop shared by the classifier and segmenter trainers, writing into `output`:
///
/// - `training.json`: the `TrainingLog`, rewritten after every epoch;
/// - `checkpoints/epoch-NNN.safetensors`: the model after each epoch, and `checkpoints/state.safetensors`: the
///   optimiser moments and dropout generators of the last epoch, for resuming;
/// - `model.safetensors`: the final model;
/// - `curves.svg`: loss and validation scores per epoch.
///
/// Everything random is drawn from generators derived from the seed and the epoch, so a run interrupted after any
/// epoch and resumed ends with exactly the model an uninterrupted run gives.
///
/// With `parallelism` of several slots (ranks of an MPI job and/or accumulated micro-batches), each step's batch
/// is cut into equal micro-batches, gradients are averaged over them (`GradientAverager`), batch-norm statistics are
/// kept per slot and averaged at the end of each epoch (`BatchNormReplicas`), and dropout is reseeded for every
/// micro-batch from the seed, the epoch, the step and the slot. Only rank 0 validates and writes files; the other
/// ranks read the same files when a run resumes.
final class TrainingLoop {
    /// File names inside the output directory.
    enum FileName {
        static let log = "training.json"
        static let model = "model.safetensors"
        static let curves = "curves.svg"
        static let checkpoints = "checkpoints"
        static let state = "state.safetensors"
        static func epoch(_ epoch: Int) -> String { String(format: "epoch-%03d.safetensors", epoch) }
    }

    let output: URL
    let model: any Layer
    /// The parameter groups, the same in every stage (frozen parameters simply get no gradient).
    let groups: [[Variable]]
    let stages: [TrainingStage]
    let settings: OptimizerSettings
    let trainIndices: [Int]
    let batchSize: Int
    let seed: UInt64
    let augment: Bool
    /// The loss of one training batch (images `indices`, each transformed by its symmetry; none without
    /// augmentation).
    let batchLoss: (_ indices: [Int], _ symmetries: [Dihedral]) throws -> Variable
    /// Validation scores after an epoch (the model in inference mode), filling `record`; nil without validation.
    let validate: ((_ epoch: Int, _ record: inout EpochRecord) throws -> Void)?
    /// The checkpoint metadata after an epoch.
    let metadata: (_ log: TrainingLog, _ record: EpochRecord) -> CheckpointMetadata
    var progress: ((TrainingProgress) -> Void)?
    /// How each step's batch is divided over ranks and micro-batches.
    var parallelism = DataParallelism()

    init(
        output: URL, model: any Layer, groups: [[Variable]], stages: [TrainingStage], settings: OptimizerSettings,
        trainIndices: [Int], batchSize: Int, seed: UInt64, augment: Bool,
        batchLoss: @escaping ([Int], [Dihedral]) throws -> Variable,
        validate: ((Int, inout EpochRecord) throws -> Void)?,
        metadata: @escaping (TrainingLog, EpochRecord) -> CheckpointMetadata
    ) {
        self.output = output
        self.model = model
        self.groups = groups
        self.stages = stages
        self.settings = settings
        self.trainIndices = trainIndices
        self.batchSize = batchSize
        self.seed = seed
        self.augment = augment
        self.batchLoss = batchLoss
        self.validate = validate
        self.metadata = metadata
    }

    /// The total number of epochs.
    var totalEpochs: Int { stages.reduce(0) { $0 + $1.epochs } }

    /// The batches of one training epoch (a short final batch is dropped).
    var batchesPerEpoch: Int { ImageBatches.partition(trainIndices, batchSize: batchSize, dropLast: true).count }

    /// The log found in `output` for `fingerprint`, or nil for a fresh run; throws when `output` holds another run,
    /// unless `overwrite`, which removes that run's files (and nothing else in `output`).
    static func existingLog(in output: URL, fingerprint: String, overwrite: Bool) throws -> TrainingLog? {
        let url = output.appendingPathComponent(FileName.log)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let existing = try? JSONDecoder().decode(TrainingLog.self, from: Data(contentsOf: url))
        if let existing, existing.fingerprint == fingerprint { return existing }
        if overwrite {
            for name in [FileName.log, FileName.model, FileName.curves, FileName.checkpoints] {
                try? FileManager.default.removeItem(at: output.appendingPathComponent(name))
            }
            return nil
        }
        guard existing != nil else {
            throw TrainingError("\(url.path) is not a training log; use another output directory or --overwrite")
        }
        throw TrainingError(
            "\(output.path) holds another training run (different recipe, data or weights); "
                + "use another output directory or --overwrite")
    }

    /// Trains from `log` (fresh or resumed) until done or `epochLimit` epochs; returns the log.
    func run(log start: TrainingLog, epochLimit: Int?) throws -> TrainingLog {
        var log = start
        if log.complete { return log }
        try parallelism.validate(batchSize: batchSize)
        let writes = parallelism.group.isRoot
        let files = FileManager.default
        let checkpoints = output.appendingPathComponent(FileName.checkpoints)
        if writes { try files.createDirectory(at: checkpoints, withIntermediateDirectories: true) }
        let logURL = output.appendingPathComponent(FileName.log)
        var epoch = 0
        for stage in stages {
            let stageStart = epoch
            epoch += stage.epochs
            if log.epochs.count >= epoch { continue }
            stage.prepare()
            let optimizer = AdamW(
                zip(groups, stage.learningRates).map {
                    ParameterGroup($0, learningRate: $1, weightDecay: settings.weightDecay)
                }, beta1: 0.95, beta2: settings.beta2, epsilon: 1e-5)
            let stepsPerEpoch = batchesPerEpoch
            let schedule = OneCycleSchedule(
                totalSteps: max(2, stepsPerEpoch * stage.epochs), maxLearningRates: stage.learningRates,
                pctStart: settings.pctStart, divFactor: settings.divFactor, finalDivFactor: settings.finalDivFactor,
                variant: .fastaiV1)
            let done = log.epochs.count
            if done > stageStart {
                try restoreState(optimizer: optimizer, from: checkpoints, epoch: done)
            }
            for stageEpoch in (done - stageStart)..<stage.epochs {
                let number = stageStart + stageEpoch + 1
                if let epochLimit, number > epochLimit { return log }
                let clock = ContinuousClock.now
                var record = EpochRecord(
                    epoch: number, stage: stage.name,
                    trainLoss: try trainEpoch(
                        optimizer: optimizer, schedule: schedule, firstStep: stageEpoch * stepsPerEpoch, epoch: number))
                if let validate, writes {
                    let wasTraining = model.isTraining
                    model.eval()
                    defer { model.train(wasTraining) }
                    try validate(number, &record)
                }
                record.seconds = (ContinuousClock.now - clock).seconds
                if writes { try saveEpoch(optimizer: optimizer, log: log, record: record, into: checkpoints) }
                log.epochs.append(record)
                if writes { try Self.write(log, to: logURL) }
            }
        }
        guard writes else {
            log.complete = true
            return log
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
        try Self.write(log, to: logURL)
        return log
    }

    /// One epoch of optimiser steps; returns the mean loss.
    private func trainEpoch(optimizer: AdamW, schedule: OneCycleSchedule, firstStep: Int, epoch: Int) throws -> Double {
        model.train()
        // Every rank draws the whole order and every image's symmetry, then takes its own slices.
        var generator = SeededGenerator(seed: Self.mix(seed, UInt64(epoch)))
        let order = TrainingData.shuffled(trainIndices, using: &generator)
        let epochBatches = ImageBatches.partition(order, batchSize: batchSize, dropLast: true)
        let divided = parallelism.slots > 1
        let microBatch = batchSize / parallelism.slots
        let averager = GradientAverager(parallelism)
        let statistics = BatchNormReplicas(model: model, parallelism: parallelism)
        statistics.reset()
        let dropouts = model.namedModules().compactMap { $0.module as? Dropout }
        var total = 0.0
        for (index, indices) in epochBatches.enumerated() {
            let symmetries = augment ? indices.map { _ in Dihedral.random(using: &generator) } : []
            schedule.apply(to: optimizer, step: min(firstStep + index, schedule.totalSteps - 1))
            optimizer.clearGradients()
            var stepLoss = 0.0
            if divided {
                for (local, slot) in parallelism.localSlots.enumerated() {
                    let range = (slot * microBatch)..<((slot + 1) * microBatch)
                    statistics.activate(local)
                    for (number, dropout) in dropouts.enumerated() {
                        dropout.generator = SeededGenerator(
                            seed: Self.mix(
                                Self.mix(Self.mix(seed, UInt64(epoch)), UInt64(index)), UInt64(slot << 16 | number)))
                    }
                    let loss = try batchLoss(Array(indices[range]), symmetries.isEmpty ? [] : Array(symmetries[range]))
                    try loss.backward()
                    stepLoss += Double(loss.value.scalars[0])
                }
                let localLoss = stepLoss
                stepLoss = try OperationProfile.measure("gradient averaging (buckets + all-reduce)") {
                    try averager.average(model.parameters, localLoss: localLoss)
                }
            } else {
                let loss = try batchLoss(indices, symmetries)
                try loss.backward()
                stepLoss = Double(loss.value.scalars[0])
            }
            optimizer.step()
            stepsTaken += 1
            killHook.afterStep(stepsTaken)
            total += stepLoss
            progress?(
                TrainingProgress(
                    epoch: epoch, epochs: totalEpochs, phase: "train", batch: index + 1, batches: epochBatches.count,
                    loss: total / Double(index + 1)))
        }
        try statistics.average()
        return total / Double(max(epochBatches.count, 1))
    }

    /// Optimiser steps this process has taken in this run (for the test hook).
    private var stepsTaken = 0
    private lazy var killHook = KillHook(rank: parallelism.group.rank)

    /// Writes the epoch's model checkpoint, then the optimiser and dropout state.
    private func saveEpoch(optimizer: AdamW, log: TrainingLog, record: EpochRecord, into directory: URL) throws {
        try Checkpoint.save(
            model: model, metadata: metadata(log, record),
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

    /// Loads the model of epoch `epoch` and, from the state of the same epoch, the optimiser moments (of the
    /// parameters the current stage has trained) and the dropout generators.
    private func restoreState(optimizer: AdamW, from directory: URL, epoch: Int) throws {
        let (file, _) = try Checkpoint.load(from: directory.appendingPathComponent(FileName.epoch(epoch)))
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

    static func write(_ log: TrainingLog, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(log).write(to: url, options: .atomic)
    }

    /// A seed for `value` under `seed` (SplitMix64 of their combination).
    static func mix(_ seed: UInt64, _ value: UInt64) -> UInt64 {
        var generator = SeededGenerator(seed: seed ^ (value &* 0x9E37_79B9_7F4A_7C15))
        return generator.next()
    }

    /// A fingerprint of a run: FNV-1a over the recipe strings, the data (bands, nomenclature, image names, splits
    /// and labels; a segmenter's pixel labels too) and the initial weights' content.
    static func fingerprint(
        kind: String, recipe: [String: String], data: TrainingData, initialWeights: URL?
    ) throws -> String {
        var hasher = FNV1a()
        hasher.combine(kind)
        for key in recipe.keys.sorted() { hasher.combine("\(key)=\(recipe[key]!)") }
        hasher.combine(data.source.bands.map(\.name).joined(separator: ","))
        hasher.combine(data.source.nomenclature.id)
        let pixelSource = data.source as? any SegmentationSource
        for (prefix, indices) in [("t", data.train), ("v", data.validation)] {
            for index in indices {
                hasher.combine(prefix + data.source.identifier(at: index))
                hasher.combine(data.source.labels(at: index).map(String.init).joined(separator: ","))
                if kind == "segmenter", let pixelSource { hasher.combine(Data(try pixelSource.level3Map(at: index))) }
            }
        }
        if let initialWeights {
            // The content, not the path: a retrained classifier is a new encoder, a moved one the same.
            hasher.combine(try Data(contentsOf: initialWeights, options: .alwaysMapped))
        }
        return String(format: "%016llx", hasher.value)
    }

    /// The log of the run `kind`/`recipe`/`data`/`initialWeights` in `output`: the existing one (to resume or
    /// return), or a fresh one with normalisation computed from the training images.
    ///
    /// In a job of several ranks, rank 0 looks first (and removes another run with `overwrite`); the others read
    /// the log once it has, so that every rank starts from the same state.
    static func openLog(
        kind: String, recipe: [String: String], data: TrainingData, initialWeights: URL?, output: URL,
        overwrite: Bool, group: any ProcessGroup = SingleProcess()
    ) throws -> TrainingLog {
        let fingerprint = try fingerprint(kind: kind, recipe: recipe, data: data, initialWeights: initialWeights)
        func open() throws -> TrainingLog {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            return try existingLog(in: output, fingerprint: fingerprint, overwrite: overwrite)
                ?? freshLog(
                    kind: kind, fingerprint: fingerprint, recipe: recipe, data: data, initialWeights: initialWeights)
        }
        if group.isRoot {
            let log = try open()
            try group.barrier()
            return log
        }
        try group.barrier()
        return try open()
    }

    /// The finished log of that run in `output`, or nil.
    static func finishedLog(
        kind: String, recipe: [String: String], data: TrainingData, initialWeights: URL?, output: URL
    ) -> TrainingLog? {
        guard
            let fingerprint = try? fingerprint(kind: kind, recipe: recipe, data: data, initialWeights: initialWeights),
            let data = try? Data(contentsOf: output.appendingPathComponent(FileName.log)),
            let log = try? JSONDecoder().decode(TrainingLog.self, from: data),
            log.fingerprint == fingerprint, log.complete
        else { return nil }
        return log
    }

    /// A fresh log for a run.
    static func freshLog(
        kind: String, fingerprint: String, recipe: [String: String], data: TrainingData, initialWeights: URL?
    ) throws -> TrainingLog {
        TrainingLog(
            kind: kind, fingerprint: fingerprint, recipe: recipe,
            normalization: try ChannelStatistics.compute(from: data.source, indices: data.train),
            nomenclature: data.source.nomenclature.id, bands: data.source.bands.map(\.name),
            trainImages: data.train.count, validationImages: data.validation.count,
            initialWeights: initialWeights?.path, epochs: [], complete: false,
            codeVersion: "landcover \(LandCover.version)")
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

extension CheckpointMetadata.Nomenclature {
    /// The checkpoint form of `nomenclature`: its id and its classes' codes and names.
    init(_ nomenclature: LandCoverData.Nomenclature) {
        self.init(
            id: nomenclature.id,
            classes: zip(nomenclature.codes, nomenclature.names).map { .init(code: "\($0)", name: $1) })
    }
}

extension EpochRecord {
    /// The record's numbers as checkpoint metrics.
    var metrics: [String: Double] {
        var metrics: [String: Double] = ["epoch": Double(epoch), "train_loss": trainLoss]
        let optional: [(String, Double?)] = [
            ("validation_loss", validationLoss), ("f1_micro", f1Micro), ("f1_macro", f1Macro),
            ("f1_samples", f1Samples), ("pixel_accuracy", pixelAccuracy), ("mean_iou", meanIoU),
        ]
        for (key, value) in optional { if let value { metrics[key] = value } }
        return metrics
    }
}
