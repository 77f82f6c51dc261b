import Foundation
import LandCoverData
import Metrics
import NeuralNet
import TensorCore

/// How a segmenter is trained. The defaults follow the paper: a U-Net whose encoder is the trained classifier's
/// body; first the decoder alone (encoder frozen, its batch norm trainable), then everything, each stage a one-cycle
/// of AdamW (the classifier's optimiser settings); pixel cross-entropy ignoring no data; flips and 90° rotations.
public struct SegmenterRecipe: Codable, Sendable, Equatable, Hashable {
    /// The encoder when it does not come from a checkpoint: resnet18/34/50 or a reduced network.
    public var architecture = "resnet50"
    /// `unet` (compact smp-style decoder, the default) or `dynamic-unet` (the paper's fastai DynamicUnet).
    public var decoder = "unet"
    /// Images per step.
    public var batchSize = 16
    /// Epochs training the decoder alone (only when the encoder comes from a checkpoint).
    public var decoderEpochs = 5
    /// Epochs training everything.
    public var allEpochs = 5
    /// The largest learning rate of the decoder stage (and of training from scratch).
    public var learningRate = 1e-3
    /// The largest learning rates of the encoder and of the decoder when everything trains.
    public var allLearningRates = [1e-5, 1e-3]
    /// Class weights of the loss: `none` or `inverse-sqrt` (1/√frequency of each class's training pixels, scaled to
    /// mean 1 over the classes present), which lifts rare classes.
    public var classWeights = "none"
    /// Decoupled weight decay, Adam β2 and the one-cycle shape.
    public var weightDecay = 0.01
    public var beta2 = 0.99
    public var pctStart = 0.3
    public var divFactor = 25.0
    public var finalDivFactor = 1e4
    /// Random flips and 90° rotations (of image and labels together).
    public var augment = true
    /// Seeds decoder weights, shuffling and augmentation.
    public var seed: UInt64 = 0

    /// The paper's recipe.
    public init() {}

    /// Checks every value; the message names the field.
    public func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw TrainingError(message) }
        }
        try require(
            Checkpoint.resNetConfiguration(named: architecture) != nil, "unknown encoder architecture \(architecture)")
        try require(["unet", "dynamic-unet"].contains(decoder), "the decoder is unet or dynamic-unet, not \(decoder)")
        try require(batchSize >= 2, "the batch size must be at least 2 (batch norm), not \(batchSize)")
        try require(decoderEpochs >= 0 && allEpochs >= 0 && decoderEpochs + allEpochs >= 1, "train at least one epoch")
        try require(learningRate > 0, "the learning rate must be positive")
        try require(
            allLearningRates.count == 2 && allLearningRates.allSatisfy { $0 > 0 },
            "the second stage's learning rates are two positive numbers: encoder,decoder")
        try require(["none", "inverse-sqrt"].contains(classWeights), "class weights are none or inverse-sqrt")
        try require(weightDecay >= 0 && (0..<1).contains(beta2), "weight decay ≥ 0 and β2 in [0, 1)")
        try require(0 < pctStart && pctStart < 1 && divFactor > 0 && finalDivFactor > 0, "bad one-cycle shape")
    }

    /// The recipe as strings for checkpoint metadata and the run fingerprint.
    public var metadataStrings: [String: String] {
        [
            "architecture": architecture, "decoder": decoder, "batch_size": "\(batchSize)",
            "decoder_epochs": "\(decoderEpochs)", "all_epochs": "\(allEpochs)", "lr": "\(learningRate)",
            "all_lr": allLearningRates.map { "\($0)" }.joined(separator: ","), "class_weights": classWeights,
            "weight_decay": "\(weightDecay)", "beta2": "\(beta2)", "pct_start": "\(pctStart)",
            "div_factor": "\(divFactor)", "final_div_factor": "\(finalDivFactor)", "augment": "\(augment)",
            "seed": "\(seed)",
        ]
    }
}

/// Normalised `[batch, bands, size, size]` inputs and per-pixel targets (nomenclature index − 1, −1 for no data)
/// from a segmentation source, image and labels transformed by the same symmetry.
final class PixelBatches {
    let source: any SegmentationSource
    let images: ImageBatches

    init(source: any SegmentationSource, normalization: ChannelStatistics) {
        self.source = source
        images = ImageBatches(source: source, normalization: normalization)
    }

    /// The images `indices` and their pixel targets, row-major `[batch, size, size]`.
    func batch(_ indices: [Int], symmetries: [Dihedral] = []) throws -> (input: Tensor, targets: [Int]) {
        let (input, _) = try images.batch(indices, symmetries: symmetries)
        let size = source.size
        var targets: [Int] = []
        targets.reserveCapacity(indices.count * size * size)
        var transformed = [UInt8](repeating: 0, count: size * size)
        for (position, index) in indices.enumerated() {
            let labels = try source.pixelLabels(at: index)
            let symmetry = symmetries.isEmpty ? .identity : symmetries[position]
            labels.withUnsafeBufferPointer { plane in
                transformed.withUnsafeMutableBufferPointer { symmetry.apply(plane, size: size, into: $0) }
            }
            targets.append(contentsOf: transformed.map { Int($0) - 1 })
        }
        return (input, targets)
    }
}

/// Trains a U-Net segmenter (compact decoder, or fastai's DynamicUnet) into `output` (see `TrainingLoop`): the
/// encoder starts from a classifier or encoder checkpoint (`encoderWeights`) or from scratch.
public final class SegmenterTrainer {
    public let data: TrainingData
    public let source: any SegmentationSource
    public let recipe: SegmenterRecipe
    public let output: URL
    /// A classifier, encoder or segmenter checkpoint, or a torchvision state dict, for the encoder.
    public let encoderWeights: URL?
    /// Called after every batch.
    public var progress: ((TrainingProgress) -> Void)?
    /// How each step's batch is divided over MPI ranks and accumulated micro-batches (one of each by default).
    public var parallelism = DataParallelism()

    /// A trainer on `source`'s own split (see `TrainingData`).
    public init(source: any SegmentationSource, recipe: SegmenterRecipe, output: URL, encoderWeights: URL? = nil) throws
    {
        try recipe.validate()
        let data = TrainingData(source: source)
        guard data.train.count >= 2 else {
            throw TrainingError("only \(data.train.count) training images: a segmenter needs at least 2")
        }
        if let encoderWeights, !FileManager.default.fileExists(atPath: encoderWeights.path) {
            throw TrainingError("\(encoderWeights.path): file not found")
        }
        self.data = data
        self.source = source
        self.recipe = recipe
        self.output = output
        self.encoderWeights = encoderWeights
    }

    /// The encoder configuration: the checkpoint's architecture when it has landcover metadata, else the recipe's.
    func encoderConfiguration() throws -> ResNetConfiguration {
        let bands = source.bands.count
        if let encoderWeights, let (_, metadata) = try? Checkpoint.load(from: encoderWeights),
            let block = ResNetConfiguration.Block(rawValue: metadata.architecture.block)
        {
            let architecture = metadata.architecture
            return ResNetConfiguration(
                block: block, layers: architecture.layers, widths: architecture.widths, inputChannels: bands,
                classes: nil)
        }
        var configuration = Checkpoint.resNetConfiguration(named: recipe.architecture, inputChannels: bands)!
        configuration.classes = nil
        return configuration
    }

    /// The stages: decoder alone then everything with an encoder checkpoint; one stage from scratch.
    var stagePlan: [(name: String, epochs: Int, frozen: Bool, rates: [Double])] {
        let uniform = [recipe.learningRate, recipe.learningRate]
        guard encoderWeights != nil else { return [("all", recipe.decoderEpochs + recipe.allEpochs, false, uniform)] }
        return [
            ("decoder", recipe.decoderEpochs, true, uniform), ("all", recipe.allEpochs, false, recipe.allLearningRates),
        ]
        .filter { $0.epochs > 0 }
    }

    /// The recipe's strings for the fingerprint and checkpoints, with the number of micro-batches per step when
    /// several.
    var recipeStrings: [String: String] { parallelism.recipeStrings(recipe.metadataStrings) }

    /// The log of this run when `output` holds it finished, else nil.
    public func finishedLog() -> TrainingLog? {
        TrainingLoop.finishedLog(
            kind: "segmenter", recipe: recipeStrings, data: data, initialWeights: encoderWeights,
            output: output)
    }

    /// The total number of epochs.
    public var totalEpochs: Int { stagePlan.reduce(0) { $0 + $1.epochs } }

    /// Trains (resuming a stopped run); see `ClassifierTrainer.run`.
    @discardableResult
    public func run(overwrite: Bool = false, epochLimit: Int? = nil) throws -> TrainingLog {
        try parallelism.validate(batchSize: recipe.batchSize)
        let log = try TrainingLoop.openLog(
            kind: "segmenter", recipe: recipeStrings, data: data, initialWeights: encoderWeights,
            output: output, overwrite: overwrite, group: parallelism.group)
        if log.complete { return log }

        let configuration = try encoderConfiguration()
        let model = try makeModel(configuration)
        let batches = PixelBatches(source: source, normalization: log.normalization)
        let weights = try classWeights()
        let encoderParameters = model.encoder.parameters
        let encoderSet = Set(encoderParameters.map(ObjectIdentifier.init))
        let decoderParameters = model.parameters.filter { !encoderSet.contains(ObjectIdentifier($0)) }
        let stages = stagePlan.map { plan in
            TrainingStage(name: plan.name, epochs: plan.epochs, learningRates: plan.rates) {
                if plan.frozen { model.encoder.freeze(trainBatchNorm: true) } else { model.encoder.unfreeze() }
            }
        }
        let loop = TrainingLoop(
            output: output, model: model, groups: [encoderParameters, decoderParameters], stages: stages,
            settings: OptimizerSettings(
                weightDecay: recipe.weightDecay, beta2: recipe.beta2, pctStart: recipe.pctStart,
                divFactor: recipe.divFactor, finalDivFactor: recipe.finalDivFactor),
            trainIndices: data.train, batchSize: recipe.batchSize, seed: recipe.seed, augment: recipe.augment,
            batchLoss: { indices, symmetries in
                let (input, targets) = try batches.batch(indices, symmetries: symmetries)
                return crossEntropy(
                    try model(Variable(input)), targets: targets, ignoreIndex: -1, classWeights: weights)
            },
            validate: data.validation.isEmpty
                ? nil
                : { [self] epoch, record in
                    let result = try SegmenterPredictions.evaluate(
                        model: model, batches: batches, indices: data.validation, batchSize: recipe.batchSize,
                        classes: source.nomenclature.count
                    ) { done, total, loss in
                        self.progress?(
                            TrainingProgress(
                                epoch: epoch, epochs: self.totalEpochs, phase: "validate", batch: done, batches: total,
                                loss: loss))
                    }
                    record.validationLoss = result.meanLoss
                    record.pixelAccuracy = result.confusion.accuracy
                    record.meanIoU = result.confusion.meanIntersectionOverUnion
                },
            metadata: { [self] log, record in
                metadata(log: log, record: record, configuration: configuration)
            })
        loop.progress = progress
        loop.parallelism = parallelism
        return try loop.run(log: log, epochLimit: epochLimit)
    }

    /// The segmenter with its decoder seeded by the recipe and its encoder from `encoderWeights` when given.
    func makeModel(_ configuration: ResNetConfiguration) throws -> any ResNetSegmenter {
        var generator = SeededGenerator(seed: recipe.seed)
        let classes = source.nomenclature.count
        let model: any ResNetSegmenter =
            recipe.decoder == "unet"
            ? UNet(encoder: configuration, classes: classes, using: &generator)
            : DynamicUNet(
                encoder: configuration, classes: classes, imageSize: (source.size, source.size), using: &generator)
        if let encoderWeights {
            do {
                try model.transferEncoder(from: SafetensorsFile(contentsOf: encoderWeights).stateDict())
            } catch {
                throw TrainingError("\(encoderWeights.path): no encoder for \(configuration.block) ResNet: \(error)")
            }
        }
        return model
    }

    /// The loss's class weights, or nil.
    func classWeights() throws -> Tensor? {
        guard recipe.classWeights == "inverse-sqrt" else { return nil }
        let classes = source.nomenclature.count
        var pixels = [Int](repeating: 0, count: classes + 1)
        for index in data.train { for label in try source.pixelLabels(at: index) { pixels[Int(label)] += 1 } }
        let present = (1...classes).filter { pixels[$0] > 0 }
        guard !present.isEmpty else { return nil }
        let raw = (1...classes).map { pixels[$0] > 0 ? 1 / Double(pixels[$0]).squareRoot() : 0 }
        let mean = present.map { raw[$0 - 1] }.reduce(0, +) / Double(present.count)
        return Tensor(shape: [classes], scalars: raw.map { Float($0 / mean) })
    }

    func metadata(log: TrainingLog, record: EpochRecord, configuration: ResNetConfiguration) -> CheckpointMetadata {
        let classes = source.nomenclature.count
        var architecture = CheckpointMetadata.Architecture(
            kind: recipe.decoder == "unet" ? .unet : .dynamicUNet, resnet: configuration, classes: classes)
        if recipe.decoder == "dynamic-unet" { architecture.imageSize = source.size }
        return CheckpointMetadata(
            architecture: architecture, bands: log.bands,
            normalization: .init(mean: log.normalization.mean, std: log.normalization.std),
            nomenclature: .init(source.nomenclature), task: .segmentation, recipe: recipeStrings,
            metrics: record.metrics, codeVersion: log.codeVersion)
    }
}

/// A segmenter's pixel results on a list of images.
public struct SegmenterPredictions: Sendable {
    /// Rows truth, columns prediction, over nomenclature indices − 1; no-data pixels left out.
    public var confusion: ConfusionMatrix
    /// Mean pixel cross-entropy.
    public var meanLoss: Double
    /// Per image: the classes present in its predicted map (nomenclature indices, ascending).
    public var predictedLabelSets: [[Int]]

    /// Runs `model` over `indices` and accumulates the confusion matrix.
    static func evaluate(
        model: any Layer, batches: PixelBatches, indices: [Int], batchSize: Int, classes: Int,
        progress: ((Int, Int, Double) -> Void)? = nil
    ) throws -> SegmenterPredictions {
        var result = SegmenterPredictions(
            confusion: ConfusionMatrix(classCount: classes), meanLoss: 0, predictedLabelSets: [])
        let parts = ImageBatches.partition(indices, batchSize: batchSize, dropLast: false)
        var lossTotal = 0.0
        for (number, part) in parts.enumerated() {
            let (input, targets) = try batches.batch(part)
            let logits = try withoutGradients { try model(Variable(input)) }
            lossTotal += Double(crossEntropy(logits, targets: targets, ignoreIndex: -1).value.scalars[0])
            let predicted = Self.argmax(logits.value)
            let pixels = predicted.count / part.count
            for image in 0..<part.count {
                let slice = Array(predicted[(image * pixels)..<((image + 1) * pixels)])
                let truth = Array(targets[(image * pixels)..<((image + 1) * pixels)])
                result.confusion.add(truth: truth, predicted: slice, ignoring: -1)
                result.predictedLabelSets.append(Set(slice).sorted().map { $0 + 1 })
            }
            progress?(number + 1, parts.count, lossTotal / Double(number + 1))
        }
        result.meanLoss = parts.isEmpty ? 0 : lossTotal / Double(parts.count)
        return result
    }

    /// The class of largest logit per pixel of `[batch, classes, height, width]`, row-major `[batch, height, width]`.
    static func argmax(_ logits: Tensor) -> [Int] {
        let (batch, classes) = (logits.shape[0], logits.shape[1])
        let pixels = logits.count / (batch * classes)
        var result = [Int](repeating: 0, count: batch * pixels)
        logits.withUnsafeBufferPointer { x in
            for n in 0..<batch {
                for p in 0..<pixels {
                    var best = 0
                    var value = x[n * classes * pixels + p]
                    for c in 1..<classes where x[(n * classes + c) * pixels + p] > value {
                        value = x[(n * classes + c) * pixels + p]
                        best = c
                    }
                    result[n * pixels + p] = best
                }
            }
        }
        return result
    }
}
