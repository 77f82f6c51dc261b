import Synchronization
import TensorCore

/// `norm(convolution(input))`, then a ReLU when `relu`: the pattern of every ResNet and U-Net convolution.
///
/// In inference without gradients the batch norm is folded into the convolution, as an affine map per output
/// channel: with s = γ / √(running variance + ε), the weight of output channel c becomes s_c·W_c and its bias
/// s_c·(b_c − running mean_c) + β_c; the ReLU runs as the convolution's post-op. One oneDNN pass replaces three,
/// with the same result up to rounding. The folded weight is computed on first use and kept until a parameter or
/// running statistic it came from is written (tensor stamps), so a model evaluated between training epochs folds
/// its current weights. In training, or while recording gradients, the layers run as they are.
func convolutionBatchNorm(_ input: Variable, _ convolution: Conv2d, _ norm: BatchNorm2d, relu: Bool) throws
    -> Variable
{
    guard !norm.isTraining && !GradientMode.isEnabled else {
        return try norm(try convolution(input), fusingReLU: relu)
    }
    let folded = try norm.folded(into: convolution)
    let output = try OperationProfile.measure("conv forward (batch norm folded)") {
        try CPUDevice.shared.convolution2D(
            input.value, weight: folded.weight, bias: folded.bias, options: convolution.options, fusingReLU: relu)
    }
    return Variable(output)
}

/// A convolution's weight and bias with the following batch norm folded in, and the stamps of what they came from.
struct FoldedConvolution: Sendable {
    let weight: Tensor
    let bias: Tensor
    let sources: [TensorStamp]
}

extension BatchNorm {
    /// The stamps of the tensors a fold into `convolution` depends on.
    fileprivate func foldSources(_ convolution: Conv2d) -> [TensorStamp] {
        [
            convolution.weight.value.stamp, weight.value.stamp, bias.value.stamp, runningMean.value.stamp,
            runningVariance.value.stamp,
        ] + (convolution.bias.map { [$0.value.stamp] } ?? [])
    }

    /// `convolution` with this batch norm (running statistics) folded in: the cached fold while its sources are
    /// unchanged, else a new one.
    func folded(into convolution: Conv2d) throws -> FoldedConvolution {
        let sources = foldSources(convolution)
        if let cached = fold.withLock({ $0 }), cached.sources == sources { return cached }
        let outputs = convolution.weight.shape[0]
        precondition(outputs == features, "A batch norm of \(features) features follows \(outputs) channels.")
        let gamma = weight.value.scalars
        let beta = bias.value.scalars
        let mean = runningMean.value.scalars
        let variance = runningVariance.value.scalars
        let convolutionBias = convolution.bias?.value.scalars ?? Array(repeating: 0, count: outputs)
        let scale = (0..<outputs).map { gamma[$0] / (variance[$0] + epsilon).squareRoot() }
        var scalars = convolution.weight.value.scalars
        let perOutput = scalars.count / outputs
        for channel in 0..<outputs {
            for index in channel * perOutput..<(channel + 1) * perOutput { scalars[index] *= scale[channel] }
        }
        let foldedBias = (0..<outputs).map { scale[$0] * (convolutionBias[$0] - mean[$0]) + beta[$0] }
        let result = FoldedConvolution(
            weight: Tensor(shape: convolution.weight.shape, scalars: scalars),
            bias: Tensor(shape: [outputs], scalars: foldedBias), sources: sources)
        fold.withLock { $0 = result }
        return result
    }
}
