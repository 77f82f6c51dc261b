import ArgumentParser
import Cluster
import Foundation
import LandCoverData
import TensorCore
import Training

/// `landcover train`: train the classifier (and, later in the chain, the segmenter).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a model.",
        subcommands: [TrainClassifierCommand.self, TrainSegmenterCommand.self])
}

/// `landcover train classifier`: the paper's multi-label ResNet at one CORINE level.
struct TrainClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train a multi-label ResNet classifier (fastai head) at one CORINE level.",
        discussion: """
            The paper's recipe by default: ResNet-50, imported body weights if --weights is given (10 epochs with the \
            body frozen, batch norm trainable, then 5 unfrozen with discriminative learning rates), else from \
            scratch (one stage of 15 epochs, every layer at --lr); one-cycle AdamW; random flips and 90° rotations. \
            Normalisation statistics come from the training images and are stored in the checkpoint. Writes \
            <out>/model.safetensors, one checkpoint per epoch, training.json and curves.svg; rerunning the same \
            command resumes after the last finished epoch and ends with the same model as an uninterrupted run.
            """)

    @OptionGroup var data: DataOptions

    @Option(help: "CORINE level 1, 2 or 3, or a nomenclature id such as bigearthnet-19.")
    var level = "3"

    @Option(help: "Bands in input order, comma-separated (RGB as the paper; add B08,B05,… for more).")
    var bands = "B04,B03,B02"

    @Option(help: "Output directory.")
    var out: String

    @Option(
        help:
            "Imported body weights: `landcover import-weights` output, a classifier checkpoint, or a torchvision state dict."
    )
    var weights: String?

    @Option(help: "resnet18, resnet34, resnet50, or a reduced network such as basic:1,1,1,1:8,16,32,64.")
    var arch = ClassifierRecipe().architecture

    @Option(help: "Epochs with the body frozen (only with --weights).")
    var frozenEpochs = ClassifierRecipe().frozenEpochs

    @Option(help: "Epochs with every layer trainable.")
    var unfrozenEpochs = ClassifierRecipe().unfrozenEpochs

    @Option(help: "Images per step.")
    var batchSize = ClassifierRecipe().batchSize

    @Option(help: "Largest learning rate of the frozen stage (and of training from scratch).")
    var lr = ClassifierRecipe().frozenLearningRate

    @Option(help: "Largest learning rates of the first and last layer groups when unfrozen: low,high.")
    var unfrozenLr = ClassifierRecipe().unfrozenLearningRates.map { "\($0)" }.joined(separator: ",")

    @Option(help: "Decoupled weight decay.")
    var weightDecay = ClassifierRecipe().weightDecay

    @Option(help: "Hidden units of the head.")
    var hidden = ClassifierRecipe().hidden

    @OptionGroup var common: TrainingRunOptions

    func validate() throws {
        try data.validateSource()
        _ = try DataOptions.bands(bands)
        _ = try DataOptions.nomenclature(level)
        if let weights, !FileManager.default.fileExists(atPath: weights) {
            throw ValidationError("--weights \(weights): file not found")
        }
        try recipe().validate()
    }

    func recipe() throws -> ClassifierRecipe {
        var recipe = ClassifierRecipe()
        recipe.architecture = arch
        recipe.hidden = hidden
        recipe.batchSize = batchSize
        recipe.frozenEpochs = frozenEpochs
        recipe.unfrozenEpochs = unfrozenEpochs
        recipe.frozenLearningRate = lr
        recipe.unfrozenLearningRates = try unfrozenLr.split(separator: ",").map {
            guard let value = Double($0) else { throw ValidationError("--unfrozen-lr is low,high: got \(unfrozenLr)") }
            return value
        }
        recipe.weightDecay = weightDecay
        recipe.augment = !common.noAugment
        recipe.seed = common.seed
        return recipe
    }

    func run() throws {
        let source = try data.source(bands: DataOptions.bands(bands), nomenclature: DataOptions.nomenclature(level))
        let trainingData = TrainingData(source: source)
        let trainer = try ClassifierTrainer(
            data: trainingData, recipe: recipe(), output: URL(fileURLWithPath: out),
            initialWeights: weights.map { URL(fileURLWithPath: $0) })
        try common.train(
            trainer, out: out,
            header: "training on \(trainingData.train.count) images, validating on \(trainingData.validation.count); "
                + "\(source.nomenclature.id), \(trainer.totalEpochs) epochs of \(trainer.batchesPerEpoch) batches")
    }
}

/// `landcover train segmenter`: the paper's U-Net on the classifier's encoder, trained on chip pairs.
struct TrainSegmenterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segmenter",
        abstract: "Train a U-Net segmenter whose encoder is a trained classifier (or imported weights).",
        discussion: """
            The encoder comes from --encoder (a `train classifier` model, an `import-weights` encoder or a \
            torchvision state dict): first the decoder trains alone (encoder frozen, batch norm trainable), then \
            everything, each stage a one-cycle AdamW. Without --encoder, one stage from scratch. Pixels without a \
            CORINE class are ignored by the loss. Data: a chip store (--chips) or BigEarthNet v2 reference maps. \
            Train at level 3 and `evaluate` derives levels 2 and 1 from the same model, so the three maps agree. \
            Writes <out>/model.safetensors, per-epoch checkpoints, training.json and curves.svg; a rerun resumes.
            """)

    @OptionGroup var data: DataOptions

    @Option(help: "CORINE level 1, 2 or 3 (3 gives all three levels from one model).")
    var level = "3"

    @Option(help: "Bands in input order, comma-separated; must match the encoder's checkpoint.")
    var bands = "B04,B03,B02"

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "The encoder: a classifier, encoder or segmenter checkpoint, or a torchvision state dict.")
    var encoder: String?

    @Option(help: "Encoder architecture when training from scratch (resnet18/34/50 or e.g. basic:1,1,1,1:8,16,32,64).")
    var arch = SegmenterRecipe().architecture

    @Option(help: "unet (compact decoder) or dynamic-unet (the paper's fastai DynamicUnet).")
    var decoder = SegmenterRecipe().decoder

    @Option(help: "Epochs training the decoder alone (with --encoder).")
    var decoderEpochs = SegmenterRecipe().decoderEpochs

    @Option(help: "Epochs training everything.")
    var allEpochs = SegmenterRecipe().allEpochs

    @Option(help: "Images per step.")
    var batchSize = SegmenterRecipe().batchSize

    @Option(help: "Largest learning rate of the decoder stage (and of training from scratch).")
    var lr = SegmenterRecipe().learningRate

    @Option(help: "Largest learning rates of encoder and decoder when everything trains: encoder,decoder.")
    var allLr = SegmenterRecipe().allLearningRates.map { "\($0)" }.joined(separator: ",")

    @Option(help: "Loss class weights: none or inverse-sqrt.")
    var classWeights = SegmenterRecipe().classWeights

    @OptionGroup var common: TrainingRunOptions

    func validate() throws {
        try data.validateSource()
        guard data.bigearthnet == nil else {
            throw ValidationError("BigEarthNet v1 has no pixel labels: use --chips or --bigearthnet-v2.")
        }
        _ = try DataOptions.bands(bands)
        _ = try DataOptions.nomenclature(level)
        if let encoder, !FileManager.default.fileExists(atPath: encoder) {
            throw ValidationError("--encoder \(encoder): file not found")
        }
        try recipe().validate()
    }

    func recipe() throws -> SegmenterRecipe {
        var recipe = SegmenterRecipe()
        recipe.architecture = arch
        recipe.decoder = decoder
        recipe.decoderEpochs = decoderEpochs
        recipe.allEpochs = allEpochs
        recipe.batchSize = batchSize
        recipe.learningRate = lr
        recipe.allLearningRates = try allLr.split(separator: ",").map {
            guard let value = Double($0) else { throw ValidationError("--all-lr is encoder,decoder: got \(allLr)") }
            return value
        }
        recipe.classWeights = classWeights
        recipe.augment = !common.noAugment
        recipe.seed = common.seed
        return recipe
    }

    func run() throws {
        guard
            let source = try data.source(
                bands: DataOptions.bands(bands), nomenclature: DataOptions.nomenclature(level))
                as? any SegmentationSource
        else { throw ValidationError("the data has no pixel labels: use --chips or --bigearthnet-v2.") }
        let trainer = try SegmenterTrainer(
            source: source, recipe: recipe(), output: URL(fileURLWithPath: out),
            encoderWeights: encoder.map { URL(fileURLWithPath: $0) })
        try common.train(
            trainer, out: out,
            header: "training on \(trainer.data.train.count) images, validating on \(trainer.data.validation.count); "
                + "\(source.nomenclature.id), \(decoder), \(trainer.totalEpochs) epochs")
    }

    /// A progress callback drawing one bar per epoch phase.
    static func progressPrinter(jsonProgress: Bool) -> (TrainingProgress) -> Void {
        var reporter: ProgressReporter?
        var phase = ""
        return { progress in
            let name = "epoch \(progress.epoch)/\(progress.epochs) \(progress.phase)"
            if name != phase {
                phase = name
                reporter = ProgressReporter(task: name, unit: "batches", forceJSON: jsonProgress)
            }
            reporter?.update(
                done: progress.batch, total: progress.batches, note: String(format: "loss %.4f", progress.loss))
        }
    }
}

/// The options every trainer shares: augmentation, seed, stopping early, replacing another run, progress format.
struct TrainingRunOptions: ParsableArguments {
    @Flag(help: "No flips and rotations.")
    var noAugment = false

    @Option(help: "Seed of weights, dropout, shuffling and augmentation.")
    var seed: UInt64 = 0

    @Option(help: "Stop after this many epochs in total (a later run resumes).")
    var stopAfterEpochs: Int?

    @Flag(help: "Replace a different run found in --out.")
    var overwrite = false

    @Flag(help: "Report progress as JSON lines even on a terminal.")
    var jsonProgress = false

    @Option(
        help: ArgumentHelp(
            "Micro-batches per step on each process, run one after another with gradients accumulated.",
            discussion: """
                Under `mpirun -np N` every step's batch is split over the N ranks (data parallelism) and each \
                rank's share again into this many micro-batches; one process with --accumulate N computes what N \
                ranks do.
                """))
    var accumulate = 1

    @Option(help: "Compute threads per process (default: 2, or the cores per rank under mpirun).")
    var threads: Int?

    func validate() throws {
        guard accumulate >= 1 else { throw ValidationError("--accumulate must be at least 1, not \(accumulate)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
    }

    /// The division of each step over this job's ranks and `--accumulate`; also sets the compute threads (under
    /// `mpirun`, the machine's cores shared among the ranks started on it, unless `--threads`).
    func parallelism() -> DataParallelism {
        if let count = threads ?? coresPerRank() { setThreads(count) }
        return DataParallelism(group: Cluster.world, accumulation: accumulate)
    }

    /// Trains with this job's division of each step: rank 0 prints `header` (with the division when there is one),
    /// progress and the summary; the other ranks print nothing.
    func train(_ trainer: some CommandLineTrainer, out: String, header: String) throws {
        let parallelism = parallelism()
        trainer.parallelism = parallelism
        let root = parallelism.group.isRoot
        if root {
            let division =
                parallelism.slots > 1
                ? "; each step in \(parallelism.slots) micro-batches (\(parallelism.group.size) processes × "
                    + "\(parallelism.accumulation) accumulated, \(threadCount) threads each)" : ""
            print(header + division)
            trainer.progress = TrainSegmenterCommand.progressPrinter(jsonProgress: jsonProgress)
        }
        let log = try trainer.run(overwrite: overwrite, epochLimit: stopAfterEpochs)
        if root { summarize(log, out: out) }
    }

    /// Prints one line per epoch (losses and the validation scores the trainer recorded) and where the model is.
    func summarize(_ log: TrainingLog, out: String) {
        for epoch in log.epochs {
            var line = String(format: "epoch %2d %@ train loss %.4f", epoch.epoch, epoch.stage, epoch.trainLoss)
            if let loss = epoch.validationLoss, let micro = epoch.f1Micro, let samples = epoch.f1Samples {
                line += String(format: " · validation loss %.4f · F1 micro %.3f samples %.3f", loss, micro, samples)
            }
            if let loss = epoch.validationLoss, let accuracy = epoch.pixelAccuracy, let iou = epoch.meanIoU {
                line += String(
                    format: " · validation loss %.4f · pixel accuracy %.1f %% · mean IoU %.3f", loss, accuracy * 100,
                    iou)
            }
            print(line)
        }
        print(
            log.complete
                ? "wrote \(out)/model.safetensors" : "stopped after \(log.epochs.count) epochs; rerun to resume")
    }
}

/// What `TrainingRunOptions.train` needs of a trainer.
protocol CommandLineTrainer: AnyObject {
    var parallelism: DataParallelism { get set }
    var progress: ((TrainingProgress) -> Void)? { get set }
    func run(overwrite: Bool, epochLimit: Int?) throws -> TrainingLog
}

extension ClassifierTrainer: CommandLineTrainer {}
extension SegmenterTrainer: CommandLineTrainer {}
