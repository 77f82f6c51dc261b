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

/// Trains a fastai multi-label classifier (`FastaiClassifier`) with a `ClassifierRecipe` into `output` (see
/// `TrainingLoop` for the files): `model.safetensors` carries the validation metrics of the last epoch.
///
/// With imported weights the paper's two stages run: the body frozen (batch norm trainable), then everything with
/// discriminative learning rates over fastai's three layer groups. From scratch, freezing a random body teaches
/// nothing: one stage of all epochs, every layer at the frozen stage's learning rate.
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
    /// How each step's batch is divided over MPI ranks and accumulated micro-batches (one of each by default).
    public var parallelism = DataParallelism()

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

    /// The epochs of each stage: frozen then unfrozen with imported weights, one unfrozen stage from scratch.
    var stagePlan: [(name: String, epochs: Int, frozen: Bool, rates: [Double])] {
        let uniform = Array(repeating: recipe.frozenLearningRate, count: 3)
        guard initialWeights != nil else {
            return [("unfrozen", recipe.frozenEpochs + recipe.unfrozenEpochs, false, uniform)]
        }
        return [
            ("frozen", recipe.frozenEpochs, true, uniform),
            ("unfrozen", recipe.unfrozenEpochs, false, recipe.unfrozenGroupRates),
        ].filter { $0.epochs > 0 }
    }

    /// The recipe's strings for the fingerprint and checkpoints, with the number of micro-batches per step when
    /// several.
    var recipeStrings: [String: String] { parallelism.recipeStrings(recipe.metadataStrings) }

    /// The log of this run when `output` holds it finished, else nil.
    public func finishedLog() -> TrainingLog? {
        TrainingLoop.finishedLog(
            kind: "classifier", recipe: recipeStrings, data: data, initialWeights: initialWeights,
            output: output)
    }

    /// The total number of epochs.
    public var totalEpochs: Int { stagePlan.reduce(0) { $0 + $1.epochs } }

    /// The batches of one training epoch (a short final batch is dropped).
    public var batchesPerEpoch: Int {
        ImageBatches.partition(data.train, batchSize: recipe.batchSize, dropLast: true).count
    }

    /// Trains, resuming after the last finished epoch when `output` holds this run; returns the log. Throws when
    /// `output` holds another run (unless `overwrite`). With `epochLimit` the run stops once that many epochs are
    /// done (for jobs with a wall-time limit) and a later call continues it.
    @discardableResult
    public func run(overwrite: Bool = false, epochLimit: Int? = nil) throws -> TrainingLog {
        try parallelism.validate(batchSize: recipe.batchSize)
        let log = try TrainingLoop.openLog(
            kind: "classifier", recipe: recipeStrings, data: data, initialWeights: initialWeights,
            output: output, overwrite: overwrite, group: parallelism.group)
        if log.complete { return log }

        let model = try makeModel()
        let batches = ImageBatches(source: data.source, normalization: log.normalization)
        let stages = stagePlan.map { plan in
            TrainingStage(name: plan.name, epochs: plan.epochs, learningRates: plan.rates) {
                if plan.frozen { model.body.freeze(trainBatchNorm: true) } else { model.body.unfreeze() }
            }
        }
        let settings = OptimizerSettings(
            weightDecay: recipe.weightDecay, beta2: recipe.beta2, pctStart: recipe.pctStart,
            divFactor: recipe.divFactor, finalDivFactor: recipe.finalDivFactor)
        let loop = TrainingLoop(
            output: output, model: model, groups: model.layerGroups, stages: stages, settings: settings,
            trainIndices: data.train, batchSize: recipe.batchSize, seed: recipe.seed, augment: recipe.augment,
            batchLoss: { indices, symmetries in
                let (input, targets) = try batches.batch(indices, symmetries: symmetries)
                return binaryCrossEntropyWithLogits(try model(Variable(input)), targets: targets)
            },
            validate: data.validation.isEmpty
                ? nil
                : { [self] epoch, record in
                    let validation = try ClassifierPredictions.predict(
                        model: model, batches: batches, indices: data.validation, batchSize: recipe.batchSize
                    ) { done, total, loss in
                        self.progress?(
                            TrainingProgress(
                                epoch: epoch, epochs: self.totalEpochs, phase: "validate", batch: done, batches: total,
                                loss: loss))
                    }
                    let evaluation = validation.evaluation(thresholds: validation.defaultThresholds)
                    record.validationLoss = validation.meanLoss
                    record.f1Micro = evaluation.f1Micro
                    record.f1Macro = evaluation.f1Macro
                    record.f1Samples = evaluation.f1Samples
                    record.exactMatchRatio = evaluation.exactMatchRatio
                },
            metadata: { [self] log, record in metadata(log: log, record: record) })
        loop.progress = progress
        loop.parallelism = parallelism
        return try loop.run(log: log, epochLimit: epochLimit)
    }

    /// The classifier for this run, with imported body weights when given.
    private func makeModel() throws -> FastaiClassifier {
        let configuration = Checkpoint.resNetConfiguration(
            named: recipe.architecture, inputChannels: data.source.bands.count)!
        var generator = SeededGenerator(seed: recipe.seed)
        let model = FastaiClassifier(
            body: configuration, hidden: recipe.hidden, classes: data.source.nomenclature.count,
            dropout: (recipe.dropout[0], recipe.dropout[1]), using: &generator)
        if let initialWeights {
            // An encoder, classifier or segmenter checkpoint, or a torchvision state dict: the body's own entries.
            let stateDict: [String: Tensor]
            do {
                stateDict = try SafetensorsFile(contentsOf: initialWeights).stateDict()
            } catch {
                throw TrainingError("\(error)")
            }
            try model.body.load(pretrained: model.body.ownEntries(of: stateDict), strict: true)
        }
        return model
    }

    /// The model's checkpoint metadata.
    func metadata(log: TrainingLog, record: EpochRecord) -> CheckpointMetadata {
        CheckpointMetadata(
            architecture: .init(
                kind: .fastaiClassifier,
                resnet: Checkpoint.resNetConfiguration(named: recipe.architecture, inputChannels: log.bands.count)!,
                classes: data.source.nomenclature.count, hidden: recipe.hidden),
            bands: log.bands, normalization: .init(mean: log.normalization.mean, std: log.normalization.std),
            nomenclature: .init(data.source.nomenclature), task: .classification, recipe: recipeStrings,
            metrics: record.metrics, codeVersion: log.codeVersion)
    }
}
