extension CPUDevice {
    /// Batch normalisation in training mode (PyTorch's `BatchNorm2d`, or `BatchNorm1d` on `[batch, channels]`) of
    /// `input` `[batch, channels, height, width]` with `scale` (γ, `weight`) and `shift` (β, `bias`) `[channels]`:
    /// `output = (input − mean) / √(variance + epsilon) · scale + shift`, where `mean` and `variance` `[channels]`
    /// are the batch mean and the biased batch variance over batch and pixels (Ioffe & Szegedy 2015).
    ///
    /// PyTorch updates its running variance with the unbiased variance, `variance · n / (n − 1)` for
    /// n = batch · height · width. Runs oneDNN's batch normalisation forward (`dnnl_forward_training`).
    public func batchNormTraining(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) throws(DNNLError) -> (output: Tensor, mean: Tensor, variance: Tensor) {
        let channels = Self.batchNormChannels(input, epsilon: epsilon, ["scale": scale, "shift": shift])
        precondition(
            input.count / channels > 1,
            "Batch normalisation in training needs more than one value per channel, not \(input.shape).")
        let key = BatchNormalizationKey(
            pass: .forwardTraining, shape: input.shape, layout: input.layout, epsilon: epsilon)
        let outputs = try run(.batchNormalization(key), [input, scale, shift])
        return (outputs[0], outputs[1], outputs[2])
    }

    /// `batchNormTraining` followed by ReLU in one pass (`dnnl_fuse_norm_relu`): max(0, normalised `input`), with
    /// the batch `mean` and biased `variance` and the `reluMask` that `batchNormReLUBackward` needs.
    public func batchNormReLUTraining(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) throws(DNNLError) -> (output: Tensor, mean: Tensor, variance: Tensor, reluMask: BatchNormReLUMask) {
        let channels = Self.batchNormChannels(input, epsilon: epsilon, ["scale": scale, "shift": shift])
        precondition(
            input.count / channels > 1,
            "Batch normalisation in training needs more than one value per channel, not \(input.shape).")
        var key = BatchNormalizationKey(
            pass: .forwardTraining, shape: input.shape, layout: input.layout, epsilon: epsilon)
        key.fusesReLU = true
        let outputs = try run(.batchNormalization(key), [input, scale, shift])
        return (outputs[0], outputs[1], outputs[2], BatchNormReLUMask(workspace: outputs[3]))
    }

    /// The gradients of `batchNormReLUTraining` with respect to its input, `scale` and `shift`, from the output
    /// gradient, the forward pass's `mean`, `variance` and `reluMask`. Runs oneDNN's batch normalisation backward.
    public func batchNormReLUBackward(
        _ outputGradient: Tensor, input: Tensor, scale: Tensor, mean: Tensor, variance: Tensor,
        reluMask: BatchNormReLUMask, epsilon: Float
    ) throws(DNNLError) -> (input: Tensor, scale: Tensor, shift: Tensor) {
        let channels = Self.batchNormChannels(
            input, epsilon: epsilon, ["scale": scale, "mean": mean, "variance": variance])
        precondition(
            outputGradient.shape == input.shape,
            "The output gradient \(outputGradient.shape) and the input \(input.shape) must have the same shape.")
        var key = BatchNormalizationKey(pass: .backward, shape: input.shape, layout: input.layout, epsilon: epsilon)
        key.fusesReLU = true
        let unusedShift = Tensor.zeros([channels])
        let gradients = try run(
            .batchNormalization(key), [input, mean, variance, outputGradient, scale, unusedShift, reluMask.workspace])
        return (gradients[0], gradients[1], gradients[2])
    }

    /// `batchNormInference` followed by ReLU in one pass (`dnnl_fuse_norm_relu`).
    public func batchNormReLUInference(
        _ input: Tensor, scale: Tensor, shift: Tensor, mean: Tensor, variance: Tensor, epsilon: Float
    ) throws(DNNLError) -> Tensor {
        _ = Self.batchNormChannels(
            input, epsilon: epsilon, ["scale": scale, "shift": shift, "mean": mean, "variance": variance])
        var key = BatchNormalizationKey(
            pass: .forwardInference, shape: input.shape, layout: input.layout, epsilon: epsilon)
        key.fusesReLU = true
        return try run(.batchNormalization(key), [input, mean, variance, scale, shift])[0]
    }

    /// Batch normalisation in inference mode (PyTorch's eval mode) of `input` `[batch, channels, height, width]` or
    /// `[batch, channels]` with given (running) `mean` and `variance` and `scale`, `shift`, all `[channels]`:
    /// `output = (input − mean) / √(variance + epsilon) · scale + shift`. Runs oneDNN's batch normalisation forward
    /// (`dnnl_forward_inference`, `dnnl_use_global_stats`).
    public func batchNormInference(
        _ input: Tensor, scale: Tensor, shift: Tensor, mean: Tensor, variance: Tensor, epsilon: Float
    ) throws(DNNLError) -> Tensor {
        _ = Self.batchNormChannels(
            input, epsilon: epsilon, ["scale": scale, "shift": shift, "mean": mean, "variance": variance])
        let key = BatchNormalizationKey(
            pass: .forwardInference, shape: input.shape, layout: input.layout, epsilon: epsilon)
        return try run(.batchNormalization(key), [input, mean, variance, scale, shift])[0]
    }

    /// The gradients of `batchNormTraining` with respect to its input (same shape), `scale` and `shift`
    /// (`[channels]`), from the output gradient and the `mean` and `variance` that the forward pass returned.
    ///
    /// With `usesRunningStatistics` the statistics are constants, as in `batchNormInference` (PyTorch's eval mode):
    /// the input gradient is then `outputGradient · scale / √(variance + epsilon)`. Runs oneDNN's batch
    /// normalisation backward (`dnnl_backward`).
    public func batchNormBackward(
        _ outputGradient: Tensor, input: Tensor, scale: Tensor, mean: Tensor, variance: Tensor, epsilon: Float,
        usesRunningStatistics: Bool = false
    ) throws(DNNLError) -> (input: Tensor, scale: Tensor, shift: Tensor) {
        let channels = Self.batchNormChannels(
            input, epsilon: epsilon, ["scale": scale, "mean": mean, "variance": variance])
        precondition(
            outputGradient.shape == input.shape,
            "The output gradient \(outputGradient.shape) and the input \(input.shape) must have the same shape.")
        let key = BatchNormalizationKey(
            pass: usesRunningStatistics ? .backwardWithRunningStatistics : .backward, shape: input.shape,
            layout: input.layout, epsilon: epsilon)
        // oneDNN wants a shift operand, which the gradients do not depend on.
        let unusedShift = Tensor.zeros([channels])
        let gradients = try run(
            .batchNormalization(key), [input, mean, variance, outputGradient, scale, unusedShift])
        return (gradients[0], gradients[1], gradients[2])
    }

    /// The channel count of a batch normalisation input, after checking it and the `[channels]` parameters.
    private static func batchNormChannels(_ input: Tensor, epsilon: Float, _ parameters: KeyValuePairs<String, Tensor>)
        -> Int
    {
        precondition(
            input.rank == 2 || input.rank == 4,
            "Batch normalisation takes [batch, channels, height, width] or [batch, channels], not \(input.shape).")
        precondition(input.count > 0, "Batch normalisation needs a non-empty input, not \(input.shape).")
        precondition(epsilon >= 0, "The batch normalisation epsilon cannot be negative.")
        let channels = input.shape[1]
        for (name, parameter) in parameters {
            precondition(
                parameter.shape == [channels],
                "The batch normalisation \(name) is [channels] = [\(channels)], not \(parameter.shape).")
        }
        return channels
    }
}

/// Where the output of `batchNormReLUTraining` was positive, as oneDNN's opaque workspace (one bit per element);
/// only `CPUDevice` reads it.
public struct BatchNormReLUMask: Sendable {
    let workspace: Tensor
}
