import Foundation
import NeuralNet

/// How a multi-label classifier is trained. The defaults are the paper's (Ulmas & Liiv 2020, fastai v1): a fastai
/// classifier on ResNet-50; 10 epochs with the body frozen (batch norm kept trainable), then 5 with everything
/// trainable; a one-cycle schedule per stage (warm-up 0.3, div 25, final div 1e4, β1 0.95 → 0.85 → 0.95); Adam
/// with β2 0.99 and decoupled weight decay 0.01; discriminative learning rates over fastai's three layer groups in
/// the second stage; random flips and 90° rotations.
public struct ClassifierRecipe: Codable, Sendable, Equatable, Hashable {
    /// resnet18, resnet34, resnet50, or a reduced network `basic|bottleneck:<layers>:<widths>`.
    public var architecture = "resnet50"
    /// Hidden units of fastai's head.
    public var hidden = 512
    /// Images per optimizer step.
    public var batchSize = 64
    /// Epochs with the body frozen; only run when the body starts from imported weights.
    public var frozenEpochs = 10
    /// Epochs with every layer trainable.
    public var unfrozenEpochs = 5
    /// The largest learning rate of the frozen stage (every group).
    public var frozenLearningRate = 1e-2
    /// The largest learning rates of the first and last layer group in the unfrozen stage (fastai's
    /// `slice(1e-5, 1e-3)`); the middle group gets their geometric mean.
    public var unfrozenLearningRates = [1e-5, 1e-3]
    /// Decoupled weight decay.
    public var weightDecay = 0.01
    /// Adam's β2.
    public var beta2 = 0.99
    /// The one-cycle warm-up fraction.
    public var pctStart = 0.3
    /// The one-cycle initial division.
    public var divFactor = 25.0
    /// The one-cycle final division (of the initial rate).
    public var finalDivFactor = 1e4
    /// The head's dropout probabilities.
    public var dropout = [0.25, 0.5]
    /// Random flips and 90° rotations of training images.
    public var augment = true
    /// Seeds weights, dropout, shuffling and augmentation.
    public var seed: UInt64 = 0

    /// The paper's recipe.
    public init() {}

    /// Checks every number; the message names the field.
    public func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw TrainingError(message) }
        }
        try require(
            Checkpoint.resNetConfiguration(named: architecture) != nil,
            "unknown architecture \(architecture) (resnet18, resnet34, resnet50 or e.g. basic:1,1,1,1:8,16,32,64)")
        try require(hidden >= 1, "hidden units must be at least 1, not \(hidden)")
        try require(batchSize >= 2, "the batch size must be at least 2 (batch norm), not \(batchSize)")
        try require(frozenEpochs >= 0 && unfrozenEpochs >= 0, "epochs cannot be negative")
        try require(frozenEpochs + unfrozenEpochs >= 1, "train at least one epoch")
        try require(frozenLearningRate > 0, "the frozen learning rate must be positive")
        try require(
            unfrozenLearningRates.count == 2 && unfrozenLearningRates.allSatisfy { $0 > 0 }
                && unfrozenLearningRates[0] <= unfrozenLearningRates[1],
            "unfrozen learning rates are two positive numbers, lowest first (got \(unfrozenLearningRates))")
        try require(weightDecay >= 0, "weight decay cannot be negative")
        try require((0..<1).contains(beta2), "β2 lies in [0, 1)")
        try require(0 < pctStart && pctStart < 1, "the warm-up fraction lies in (0, 1)")
        try require(divFactor > 0 && finalDivFactor > 0, "division factors must be positive")
        try require(
            dropout.count == 2 && dropout.allSatisfy { (0..<1).contains($0) },
            "dropout is two probabilities in [0, 1)")
    }

    /// The learning rate of each of the three layer groups in the unfrozen stage: geometric from the lowest to the
    /// highest (fastai's `even_mults`).
    public var unfrozenGroupRates: [Double] {
        let (low, high) = (unfrozenLearningRates[0], unfrozenLearningRates[1])
        return [low, (low * high).squareRoot(), high]
    }

    /// The recipe as `key=value` strings for checkpoint metadata.
    public var metadataStrings: [String: String] {
        [
            "architecture": architecture, "hidden": "\(hidden)", "batch_size": "\(batchSize)",
            "frozen_epochs": "\(frozenEpochs)", "unfrozen_epochs": "\(unfrozenEpochs)",
            "frozen_lr": "\(frozenLearningRate)",
            "unfrozen_lr": unfrozenLearningRates.map { "\($0)" }.joined(separator: ","),
            "weight_decay": "\(weightDecay)", "beta2": "\(beta2)", "pct_start": "\(pctStart)",
            "div_factor": "\(divFactor)", "final_div_factor": "\(finalDivFactor)",
            "dropout": dropout.map { "\($0)" }.joined(separator: ","), "augment": "\(augment)", "seed": "\(seed)",
        ]
    }
}

/// A training problem in one line: bad options, a data set too small, an output holding another run.
public struct TrainingError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The message.
    public let message: String

    /// An error with a one-line message.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
