import CDNNL

extension CPUDevice {
    /// 2-D convolution (cross-correlation, as PyTorch's `conv2d`) of `input` `[batch, inChannels, height, width]`
    /// with `weight` `[outChannels, inChannels, kernelHeight, kernelWidth]` plus `bias` `[outChannels]`, giving
    /// `[batch, outChannels, outHeight, outWidth]`. Runs oneDNN's convolution forward primitive; the output keeps
    /// the layout oneDNN chose (blocked), and an input in another layout is reordered first.
    public func convolution2D(
        _ input: Tensor, weight: Tensor, bias: Tensor? = nil, options: ConvolutionOptions = ConvolutionOptions()
    ) throws(DNNLError) -> Tensor {
        let outputShape = options.outputShape(input: input.shape, weight: weight.shape)
        if let bias {
            precondition(bias.shape == [weight.shape[0]], "A convolution bias is [outChannels], not \(bias.shape).")
        }
        Self.requireNonEmpty(input, weight)
        let key = ConvolutionKey(
            pass: .forward, inputShape: input.shape, weightShape: weight.shape, options: options, hasBias: bias != nil)
        let output = try run(.convolution(key), [input, weight] + (bias.map { [$0] } ?? []))[0]
        assert(output.shape == outputShape)
        return output
    }

    /// The gradient of `convolution2D` with respect to its input `[batch, inChannels, height, width]`, from the
    /// output gradient `[batch, outChannels, outHeight, outWidth]` and the weight. Runs oneDNN's backward data.
    public func convolution2DBackwardData(
        _ outputGradient: Tensor, weight: Tensor, inputShape: [Int], options: ConvolutionOptions = ConvolutionOptions()
    ) throws(DNNLError) -> Tensor {
        let outputShape = options.outputShape(input: inputShape, weight: weight.shape)
        precondition(
            outputGradient.shape == outputShape,
            "The output gradient is \(outputGradient.shape) but the convolution gives \(outputShape).")
        Self.requireNonEmpty(outputGradient, weight)
        let key = ConvolutionKey(
            pass: .backwardData, inputShape: inputShape, weightShape: weight.shape, options: options, hasBias: false)
        return try run(.convolution(key), [outputGradient, weight])[0]
    }

    /// The gradients of `convolution2D` with respect to its weight `[outChannels, inChannels, kernelHeight,
    /// kernelWidth]`, in `weightLayout` (the weight's own, so an optimizer can update it elementwise), and, when
    /// `withBias`, its bias `[outChannels]`. Runs oneDNN's backward weights.
    public func convolution2DBackwardWeights(
        _ outputGradient: Tensor, input: Tensor, weightShape: [Int], options: ConvolutionOptions = ConvolutionOptions(),
        withBias: Bool = true, weightLayout: TensorLayout = .rowMajor
    ) throws(DNNLError) -> (weight: Tensor, bias: Tensor?) {
        let outputShape = options.outputShape(input: input.shape, weight: weightShape)
        precondition(
            outputGradient.shape == outputShape,
            "The output gradient is \(outputGradient.shape) but the convolution gives \(outputShape).")
        Self.requireNonEmpty(outputGradient, input)
        let key = ConvolutionKey(
            pass: .backwardWeights, inputShape: input.shape, weightShape: weightShape, options: options,
            hasBias: withBias)
        let gradients = try run(.convolution(key), [input, outputGradient])
        return (try reordered(gradients[0], to: weightLayout), withBias ? gradients[1] : nil)
    }

    /// `weight` `[outChannels, inChannels, kernelHeight, kernelWidth]` in the layout `convolution2D` runs on for
    /// inputs of `inputShape` (blocked, such as `ABcd8b8a`), so that a parameter kept in it is never reordered for
    /// the forward pass, and its gradient (`weightLayout:` of the backward pass) needs no reorder either.
    public func convolutionWeightsInPreferredLayout(
        _ weight: Tensor, inputShape: [Int], options: ConvolutionOptions = ConvolutionOptions(), hasBias: Bool = false
    ) throws(DNNLError) -> Tensor {
        let key = ConvolutionKey(
            pass: .forward, inputShape: inputShape, weightShape: weight.shape, options: options, hasBias: hasBias)
        let layout = try withPlan(.convolution(key)) { plan throws(DNNLError) in
            plan.operands.first { $0.argument == DNNL_ARG_WEIGHTS }?.resultLayout ?? .rowMajor
        }
        return try reordered(weight, to: layout)
    }

    private static func requireNonEmpty(_ tensors: Tensor...) {
        for tensor in tensors {
            precondition(tensor.count > 0, "oneDNN convolutions need non-empty tensors, not \(tensor.shape).")
        }
    }
}
