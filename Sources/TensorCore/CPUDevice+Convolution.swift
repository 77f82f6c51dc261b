import CDNNL

extension CPUDevice {
    /// 2-D convolution (cross-correlation, as PyTorch's `conv2d`) of `input` `[batch, inChannels, height, width]`
    /// with `weight` `[outChannels, inChannels, kernelHeight, kernelWidth]` plus `bias` `[outChannels]`, giving
    /// `[batch, outChannels, outHeight, outWidth]`. Runs oneDNN's convolution forward primitive; the output keeps
    /// the layout oneDNN chose (blocked), and an input in another layout is reordered first. With `fusingReLU`
    /// the result is max(·, 0), applied by the same primitive (an eltwise post-op; inference only, since the
    /// backward pass needs the value before the ReLU).
    public func convolution2D(
        _ input: Tensor, weight: Tensor, bias: Tensor? = nil, options: ConvolutionOptions = ConvolutionOptions(),
        fusingReLU: Bool = false
    ) throws(DNNLError) -> Tensor {
        let outputShape = options.outputShape(input: input.shape, weight: weight.shape)
        if let bias {
            precondition(bias.shape == [weight.shape[0]], "A convolution bias is [outChannels], not \(bias.shape).")
        }
        Self.requireNonEmpty(input, weight)
        let geometry = PointwiseSampling(inputShape: input.shape, weightShape: weight.shape, options: options)
        let input =
            try geometry.map { (sampling) throws(DNNLError) in try sampledPixels(input, stride: sampling.stride) }
            ?? input
        let key = ConvolutionKey(
            pass: .forward, inputShape: input.shape, weightShape: weight.shape,
            options: geometry?.options ?? options, hasBias: bias != nil, fusesReLU: fusingReLU)
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
        let geometry = PointwiseSampling(inputShape: inputShape, weightShape: weight.shape, options: options)
        let key = ConvolutionKey(
            pass: .backwardData, inputShape: geometry?.sampledShape ?? inputShape, weightShape: weight.shape,
            options: geometry?.options ?? options, hasBias: false)
        let gradient = try run(.convolution(key), [outputGradient, weight])[0]
        guard let geometry else { return gradient }
        return try scatteredPixels(gradient, stride: geometry.stride, into: inputShape)
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
        let geometry = PointwiseSampling(inputShape: input.shape, weightShape: weightShape, options: options)
        let input =
            try geometry.map { (sampling) throws(DNNLError) in try sampledPixels(input, stride: sampling.stride) }
            ?? input
        let key = ConvolutionKey(
            pass: .backwardWeights, inputShape: input.shape, weightShape: weightShape,
            options: geometry?.options ?? options, hasBias: withBias)
        let gradients = try run(.convolution(key), [input, outputGradient])
        return (try reordered(gradients[0], to: weightLayout), withBias ? gradients[1] : nil)
    }

    /// `weight` `[outChannels, inChannels, kernelHeight, kernelWidth]` in the layout `convolution2D` runs on for
    /// inputs of `inputShape` (blocked, such as `ABcd8b8a`), so that a parameter kept in it is never reordered for
    /// the forward pass, and its gradient (`weightLayout:` of the backward pass) needs no reorder either.
    public func convolutionWeightsInPreferredLayout(
        _ weight: Tensor, inputShape: [Int], options: ConvolutionOptions = ConvolutionOptions(), hasBias: Bool = false
    ) throws(DNNLError) -> Tensor {
        let geometry = PointwiseSampling(inputShape: inputShape, weightShape: weight.shape, options: options)
        let key = ConvolutionKey(
            pass: .forward, inputShape: geometry?.sampledShape ?? inputShape, weightShape: weight.shape,
            options: geometry?.options ?? options, hasBias: hasBias)
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

/// A 1×1 convolution with a stride and no padding reads only every stride-th pixel. oneDNN 2.6 runs such a
/// convolution on odd sizes (15 → 8 in ResNet-50's third stage) with its generic `jit:avx2` kernel at a third of
/// the speed of `jit_1x1`, so these convolutions sample the pixels first and run the 1×1 kernel at stride 1; the
/// input gradient is scattered back to the sampled pixels (zero elsewhere).
struct PointwiseSampling {
    let stride: Int
    /// The sampled input `[batch, channels, ⌈height / stride⌉, ⌈width / stride⌉]`.
    let sampledShape: [Int]
    /// Stride 1, no padding.
    let options = ConvolutionOptions()

    /// The sampling for a strided 1×1 convolution without padding, nil for any other.
    init?(inputShape: [Int], weightShape: [Int], options: ConvolutionOptions) {
        guard weightShape.count == 4, inputShape.count == 4, weightShape[2] == 1, weightShape[3] == 1,
            options.stride > 1, options.padding == 0
        else { return nil }
        stride = options.stride
        sampledShape = [
            inputShape[0], inputShape[1], (inputShape[2] - 1) / stride + 1, (inputShape[3] - 1) / stride + 1,
        ]
    }
}

extension CPUDevice {
    /// Every `stride`-th row and column of `input` `[batch, channels, height, width]`, from the first; in `nChw8c`
    /// when the input is (whole 8-channel pixels move), else row-major. A Swift loop over the threads.
    func sampledPixels(_ input: Tensor, stride: Int) throws(DNNLError) -> Tensor {
        let (height, width) = (input.shape[2], input.shape[3])
        let shape = [input.shape[0], input.shape[1], (height - 1) / stride + 1, (width - 1) / stride + 1]
        let blocked = input.layout.isChannelBlocks8(input.shape)
        let source = blocked ? input : input.rowMajor
        let output = Tensor(uninitializedShape: shape, layout: blocked ? try .channelBlocks8(shape) : .rowMajor)
        let vector = blocked ? 8 : 1
        let planes = blocked ? shape[0] * ((shape[1] + 7) / 8) : shape[0] * shape[1]
        let (outHeight, outWidth) = (shape[2], shape[3])
        withExtendedLifetime(source) {
            nonisolated(unsafe) let (from, to) = (source.storage.base, output.storage.base)
            Parallel.forEachIndex(count: planes) { plane in
                var target = to + plane * outHeight * outWidth * vector
                for y in 0..<outHeight {
                    let row = from + (plane * height + y * stride) * width * vector
                    for x in 0..<outWidth {
                        target.initialize(from: row + x * stride * vector, count: vector)
                        target += vector
                    }
                }
            }
        }
        return output
    }

    /// The inverse of `sampledPixels` for gradients: `gradient` placed at every `stride`-th row and column of a
    /// `shape` tensor of zeros, in `nChw8c` when the gradient is, else row-major.
    func scatteredPixels(_ gradient: Tensor, stride: Int, into shape: [Int]) throws(DNNLError) -> Tensor {
        let (height, width) = (shape[2], shape[3])
        let blocked = gradient.layout.isChannelBlocks8(gradient.shape)
        let source = blocked ? gradient : gradient.rowMajor
        let output = Tensor(uninitializedShape: shape, layout: blocked ? try .channelBlocks8(shape) : .rowMajor)
        let vector = blocked ? 8 : 1
        let planes = blocked ? shape[0] * ((shape[1] + 7) / 8) : shape[0] * shape[1]
        let (sampledHeight, sampledWidth) = (gradient.shape[2], gradient.shape[3])
        withExtendedLifetime(source) {
            nonisolated(unsafe) let (from, to) = (source.storage.base, output.storage.base)
            Parallel.forEachIndex(count: planes) { plane in
                (to + plane * height * width * vector).initialize(repeating: 0, count: height * width * vector)
                var position = from + plane * sampledHeight * sampledWidth * vector
                for y in 0..<sampledHeight {
                    let row = to + (plane * height + y * stride) * width * vector
                    for x in 0..<sampledWidth {
                        (row + x * stride * vector).update(from: position, count: vector)
                        position += vector
                    }
                }
            }
        }
        return output
    }
}
