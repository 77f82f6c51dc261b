import CDNNL

/// What identifies a cached convolution primitive.
struct ConvolutionKey: Hashable {
    /// Which of the three convolution computations.
    enum Pass: Hashable {
        case forward
        case backwardData
        case backwardWeights
    }

    let pass: Pass
    /// `[batch, inChannels, height, width]`.
    let inputShape: [Int]
    /// `[outChannels, inChannels, kernelHeight, kernelWidth]`.
    let weightShape: [Int]
    let options: ConvolutionOptions
    /// Whether the forward pass adds a bias, or the backward-weights pass also computes its gradient.
    let hasBias: Bool
    /// Whether the forward pass applies a ReLU to its result (a oneDNN eltwise post-op).
    var fusesReLU = false

    /// `[batch, outChannels, outHeight, outWidth]`.
    var outputShape: [Int] { options.outputShape(input: inputShape, weight: weightShape) }

    /// Padding after the last pixel on each spatial axis.
    ///
    /// oneDNN wants the padding that makes its output size formula exact; with PyTorch's rounding down it can be
    /// smaller than `padding`, even negative (kernel 1, stride 2 on 8 pixels: −1), which oneDNN accepts.
    var paddingRight: [Int] {
        (0..<2).map { axis in
            (outputShape[2 + axis] - 1) * options.stride + weightShape[2 + axis] - inputShape[2 + axis]
                - options.padding
        }
    }
}

extension DNNLPlan {
    /// Builds the oneDNN plan for one convolution pass.
    static func convolution(_ key: ConvolutionKey, engine: DNNLEngine) throws(DNNLError) -> DNNLPlan {
        let strides = [key.options.stride, key.options.stride]
        let paddingLeft = [key.options.padding, key.options.padding]
        let outputChannels = [key.weightShape[0]]

        // The forward descriptor, for the forward pass and as the hint every backward descriptor needs.
        let forward = try DNNLPrimitiveDescriptor(
            dnnlPrimitiveDescCreate(
                dnnlConvolutionForwardDescInit(
                    source: anyMemoryDescriptor(key.inputShape), weights: anyMemoryDescriptor(key.weightShape),
                    bias: key.hasBias ? plainMemoryDescriptor(outputChannels) : nil,
                    destination: anyMemoryDescriptor(key.outputShape),
                    strides: strides, paddingLeft: paddingLeft, paddingRight: key.paddingRight),
                engine.engine, hint: nil, reluPostOp: key.fusesReLU),
            engine: engine)

        switch key.pass {
        case .forward:
            var arguments: [(argument: Int32, direction: Direction, shape: [Int])] = [
                (DNNL_ARG_SRC, .input, key.inputShape), (DNNL_ARG_WEIGHTS, .input, key.weightShape),
            ]
            if key.hasBias { arguments.append((DNNL_ARG_BIAS, .input, outputChannels)) }
            arguments.append((DNNL_ARG_DST, .output, key.outputShape))
            return try DNNLPlan(DNNLPrimitive(forward), arguments: arguments)

        case .backwardData:
            let descriptor = try DNNLPrimitiveDescriptor(
                dnnlPrimitiveDescCreate(
                    dnnlConvolutionBackwardDataDescInit(
                        sourceGradient: anyMemoryDescriptor(key.inputShape),
                        weights: anyMemoryDescriptor(key.weightShape),
                        destinationGradient: anyMemoryDescriptor(key.outputShape),
                        strides: strides, paddingLeft: paddingLeft, paddingRight: key.paddingRight),
                    engine.engine, hint: forward.handle),
                engine: engine)
            return try DNNLPlan(
                DNNLPrimitive(descriptor, hint: forward),
                arguments: [
                    (DNNL_ARG_DIFF_DST, .input, key.outputShape), (DNNL_ARG_WEIGHTS, .input, key.weightShape),
                    (DNNL_ARG_DIFF_SRC, .output, key.inputShape),
                ])

        case .backwardWeights:
            let descriptor = try DNNLPrimitiveDescriptor(
                dnnlPrimitiveDescCreate(
                    dnnlConvolutionBackwardWeightsDescInit(
                        source: anyMemoryDescriptor(key.inputShape),
                        weightsGradient: anyMemoryDescriptor(key.weightShape),
                        biasGradient: key.hasBias ? plainMemoryDescriptor(outputChannels) : nil,
                        destinationGradient: anyMemoryDescriptor(key.outputShape),
                        strides: strides, paddingLeft: paddingLeft, paddingRight: key.paddingRight),
                    engine.engine, hint: forward.handle),
                engine: engine)
            var arguments: [(argument: Int32, direction: Direction, shape: [Int])] = [
                (DNNL_ARG_SRC, .input, key.inputShape), (DNNL_ARG_DIFF_DST, .input, key.outputShape),
                (DNNL_ARG_DIFF_WEIGHTS, .output, key.weightShape),
            ]
            if key.hasBias { arguments.append((DNNL_ARG_DIFF_BIAS, .output, outputChannels)) }
            return try DNNLPlan(DNNLPrimitive(descriptor, hint: forward), arguments: arguments)
        }
    }
}
