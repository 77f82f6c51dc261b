import TensorCore

/// Batch normalisation with the statistics of this batch (training mode) of `input` `[batch, channels, height,
/// width]` or `[batch, channels]`, with `scale` (γ) and `shift` (β) `[channels]`:
/// (x − mean) / √(variance + ε) · γ + β over batch and pixels, with the biased variance (Ioffe & Szegedy 2015).
/// Also returns the batch `mean` and biased `variance` `[channels]` for the running statistics. oneDNN both ways.
public func batchNormTraining(
    _ input: Variable, scale: Variable, shift: Variable, epsilon: Float
) throws -> (output: Variable, mean: Tensor, variance: Tensor) {
    let device = CPUDevice.shared
    let (x, gamma) = (input.value, scale.value)
    let (output, mean, variance) = try device.batchNormTraining(x, scale: gamma, shift: shift.value, epsilon: epsilon)
    let result = Variable(output, inputs: [input, scale, shift]) { gradient, _ in
        let gradients = try device.batchNormBackward(
            gradient, input: x, scale: gamma, mean: mean, variance: variance, epsilon: epsilon)
        return [gradients.input, gradients.scale, gradients.shift]
    }
    return (result, mean, variance)
}

/// Batch normalisation with fixed statistics (inference mode, or a frozen layer) of `input` `[batch, channels,
/// height, width]` or `[batch, channels]`: (x − `mean`) / √(`variance` + ε) · γ + β, all `[channels]`. The statistics
/// are constants, so the input gradient is the output gradient · γ / √(variance + ε). oneDNN both ways.
public func batchNormInference(
    _ input: Variable, scale: Variable, shift: Variable, mean: Tensor, variance: Tensor, epsilon: Float
) throws -> Variable {
    let device = CPUDevice.shared
    let (x, gamma) = (input.value, scale.value)
    let output = try device.batchNormInference(
        x, scale: gamma, shift: shift.value, mean: mean, variance: variance, epsilon: epsilon)
    return Variable(output, inputs: [input, scale, shift]) { gradient, _ in
        let gradients = try device.batchNormBackward(
            gradient, input: x, scale: gamma, mean: mean, variance: variance, epsilon: epsilon,
            usesRunningStatistics: true)
        return [gradients.input, gradients.scale, gradients.shift]
    }
}

/// `relu(batchNormTraining(…).output)` in one oneDNN pass (`dnnl_fuse_norm_relu`), with the batch `mean` and biased
/// `variance` for the running statistics; the gradient goes through both. oneDNN both ways.
public func batchNormReLUTraining(
    _ input: Variable, scale: Variable, shift: Variable, epsilon: Float
) throws -> (output: Variable, mean: Tensor, variance: Tensor) {
    let device = CPUDevice.shared
    let (x, gamma) = (input.value, scale.value)
    let (output, mean, variance, mask) = try device.batchNormReLUTraining(
        x, scale: gamma, shift: shift.value, epsilon: epsilon)
    let result = Variable(output, inputs: [input, scale, shift]) { gradient, _ in
        let gradients = try device.batchNormReLUBackward(
            gradient, input: x, scale: gamma, mean: mean, variance: variance, reluMask: mask, epsilon: epsilon)
        return [gradients.input, gradients.scale, gradients.shift]
    }
    return (result, mean, variance)
}

/// `relu(batchNormInference(…))`; without gradient recording (inference) one oneDNN pass
/// (`dnnl_fuse_norm_relu`), else the two operations.
public func batchNormReLUInference(
    _ input: Variable, scale: Variable, shift: Variable, mean: Tensor, variance: Tensor, epsilon: Float
) throws -> Variable {
    guard !GradientMode.isEnabled else {
        return try relu(
            try batchNormInference(input, scale: scale, shift: shift, mean: mean, variance: variance, epsilon: epsilon))
    }
    let output = try CPUDevice.shared.batchNormReLUInference(
        input.value, scale: scale.value, shift: shift.value, mean: mean, variance: variance, epsilon: epsilon)
    return Variable(output, inputs: [input, scale, shift]) { _, _ in
        preconditionFailure("No graph is recorded without gradients.")
    }
}
