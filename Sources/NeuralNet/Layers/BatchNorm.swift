import Synchronization
import TensorCore

/// Batch normalisation over channels (PyTorch's `_BatchNorm`), with learned `weight` (γ) and `bias` (β) and the
/// buffers `running_mean`, `running_var` and `num_batches_tracked`, all named as in PyTorch's `state_dict`.
///
/// Training normalises with the batch mean and biased variance and updates the running statistics as PyTorch
/// does: running ← (1 − momentum)·running + momentum·batch, where the running *variance* takes the unbiased batch
/// variance (× n/(n − 1), n = values per channel). Inference normalises with the running statistics.
/// `num_batches_tracked` is kept as a float scalar; it counts training batches and nothing reads it (momentum is
/// set), but checkpoints carry it.
public class BatchNorm: Module, Layer {
    /// γ `[features]`, 1 initially.
    public let weight: Variable
    /// β `[features]`, 0 initially.
    public let bias: Variable
    /// The running mean `[features]`, 0 initially.
    public let runningMean: Variable
    /// The running (unbiased) variance `[features]`, 1 initially.
    public let runningVariance: Variable
    /// The number of training batches seen, a scalar `[]`.
    public let batchesTracked: Variable
    /// The weight of a new batch in the running statistics (PyTorch's default 0.1).
    public let momentum: Float
    /// Added to the variance before the square root (PyTorch's default 1e-5).
    public let epsilon: Float
    /// The input rank: 4 for `BatchNorm2d`, 2 for `BatchNorm1d`.
    let inputRank: Int
    /// The preceding convolution with this layer folded in, for inference (`convolutionBatchNorm`).
    let fold = Mutex<FoldedConvolution?>(nil)

    init(features: Int, momentum: Float, epsilon: Float, inputRank: Int) {
        precondition(features > 0, "Batch normalisation needs at least one feature.")
        precondition((0...1).contains(momentum), "The batch normalisation momentum lies in [0, 1], not \(momentum).")
        weight = Variable(Tensor(shape: [features], repeating: 1), requiresGrad: true)
        bias = Variable(.zeros([features]), requiresGrad: true)
        runningMean = Variable(.zeros([features]))
        runningVariance = Variable(Tensor(shape: [features], repeating: 1))
        batchesTracked = Variable(.zeros([]))
        self.momentum = momentum
        self.epsilon = epsilon
        self.inputRank = inputRank
    }

    /// The number of features (channels).
    public var features: Int { weight.shape[0] }

    public override var namedOwnParameters: [(name: String, parameter: Variable)] {
        [("weight", weight), ("bias", bias)]
    }

    public override var namedOwnBuffers: [(name: String, buffer: Variable)] {
        [("running_mean", runningMean), ("running_var", runningVariance), ("num_batches_tracked", batchesTracked)]
    }

    /// The normalised input; in training mode this also updates the running statistics.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        try callAsFunction(input, fusingReLU: false)
    }

    /// The normalised input, followed by a ReLU when `fusingReLU` (one oneDNN pass instead of two); in training mode
    /// this also updates the running statistics.
    public func callAsFunction(_ input: Variable, fusingReLU: Bool) throws -> Variable {
        let expected = inputRank == 4 ? "[batch, \(features), height, width]" : "[batch, \(features)]"
        precondition(
            input.shape.count == inputRank && input.shape[1] == features,
            "\(type(of: self))(\(features)) takes \(expected), not \(input.shape).")
        guard isTraining else {
            let normalize = fusingReLU ? batchNormReLUInference : batchNormInference
            return try normalize(
                input, weight, bias, runningMean.value, runningVariance.value, epsilon)
        }
        let (output, mean, variance) =
            fusingReLU
            ? try batchNormReLUTraining(input, scale: weight, shift: bias, epsilon: epsilon)
            : try batchNormTraining(input, scale: weight, shift: bias, epsilon: epsilon)
        OperationProfile.measure("batch norm running statistics") {
            let count = Float(input.value.count / features)
            let keep = 1 - momentum
            let unbiased = variance * (count / (count - 1))
            runningMean.value = momentum * mean + keep * runningMean.value
            runningVariance.value = momentum * unbiased + keep * runningVariance.value
            batchesTracked.value = batchesTracked.value.mapped { $0 + 1 }
        }
        return output
    }
}

/// Batch normalisation of images (PyTorch's `nn.BatchNorm2d`): `[batch, features, height, width]`, statistics per
/// channel over batch and pixels.
public final class BatchNorm2d: BatchNorm {
    /// A layer for `features` channels with PyTorch's defaults (γ 1, β 0, running mean 0 and variance 1).
    public init(_ features: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        super.init(features: features, momentum: momentum, epsilon: epsilon, inputRank: 4)
    }
}

/// Batch normalisation of feature vectors (PyTorch's `nn.BatchNorm1d` on `[batch, features]`), as in fastai's head.
public final class BatchNorm1d: BatchNorm {
    /// A layer for `features` features with PyTorch's defaults (γ 1, β 0, running mean 0 and variance 1).
    public init(_ features: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        super.init(features: features, momentum: momentum, epsilon: epsilon, inputRank: 2)
    }
}
