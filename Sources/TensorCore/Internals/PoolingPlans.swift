import CDNNL

/// What identifies a cached 2-D pooling primitive: square kernel, the same stride and padding on both axes.
struct PoolingKey: Hashable {
    /// How a window is reduced.
    enum Algorithm: Hashable {
        /// The largest value; padding never wins (PyTorch pads with −∞).
        case max
        /// The mean over kernel² values, padding counted as zeros (`count_include_pad=True`).
        case averageIncludingPadding
        /// The mean over the values inside the input (`count_include_pad=False`).
        case averageExcludingPadding

        var dnnl: dnnl_alg_kind_t {
            switch self {
            case .max: dnnl_pooling_max
            case .averageIncludingPadding: dnnl_pooling_avg_include_padding
            case .averageExcludingPadding: dnnl_pooling_avg_exclude_padding
            }
        }
    }

    let algorithm: Algorithm
    let backward: Bool
    /// `[batch, channels, height, width]`.
    let inputShape: [Int]
    /// The layout of the input (the output's layout is the one oneDNN picks for it).
    let layout: TensorLayout
    let kernel: Int
    let stride: Int
    let padding: Int

    /// `[batch, channels, outHeight, outWidth]`, each extent ⌊(input + 2·padding − kernel) / stride⌋ + 1.
    var outputShape: [Int] {
        [inputShape[0], inputShape[1], outputExtent(inputShape[2]), outputExtent(inputShape[3])]
    }

    /// Padding after the last pixel of `axis` (0 height, 1 width) that makes oneDNN's size formula exact.
    ///
    /// As for convolutions, rounding down can make it smaller than `padding`, even negative; oneDNN accepts that.
    func paddingRight(axis: Int) -> Int {
        (outputShape[2 + axis] - 1) * stride + kernel - inputShape[2 + axis] - padding
    }

    private func outputExtent(_ input: Int) -> Int {
        (input + 2 * padding - kernel) / stride + 1
    }
}

extension DNNLPlan {
    /// Builds the oneDNN plan for a pooling pass on data in the key's layout; the output takes the layout oneDNN
    /// picks for it (the input's). Operands: forward `SRC → DST` (and `WORKSPACE` for max); backward `DIFF_DST`
    /// (and `WORKSPACE` for max) `→ DIFF_SRC`. The workspace is opaque: its descriptor is the primitive's own, so it
    /// is never reordered.
    static func pooling(_ key: PoolingKey, engine: DNNLEngine) throws(DNNLError) -> DNNLPlan {
        let source = try key.layout.memoryDescriptor(key.inputShape)
        let strides = [key.stride, key.stride]
        let kernel = [key.kernel, key.kernel]
        let paddingLeft = [key.padding, key.padding]
        let paddingRight = [key.paddingRight(axis: 0), key.paddingRight(axis: 1)]

        // The forward descriptor, for the forward pass and as the hint the backward descriptor needs.
        let forward = try DNNLPrimitiveDescriptor(
            dnnlPrimitiveDescCreate(
                dnnlPoolingForwardDescInit(
                    algorithm: key.algorithm.dnnl, source: source, destination: anyMemoryDescriptor(key.outputShape),
                    strides: strides, kernel: kernel, paddingLeft: paddingLeft, paddingRight: paddingRight),
                engine.engine, hint: nil),
            engine: engine)
        let usesWorkspace = key.algorithm == .max
        let opaque: [Int32: Form] = [DNNL_ARG_WORKSPACE: .opaque]
        guard key.backward else {
            var arguments: [(argument: Int32, direction: Direction, shape: [Int])] = [
                (DNNL_ARG_SRC, .input, key.inputShape), (DNNL_ARG_DST, .output, key.outputShape),
            ]
            if usesWorkspace { arguments.append((DNNL_ARG_WORKSPACE, .output, [])) }
            return try DNNLPlan(DNNLPrimitive(forward), arguments: arguments, forms: opaque)
        }
        let backward = try DNNLPrimitiveDescriptor(
            dnnlPrimitiveDescCreate(
                dnnlPoolingBackwardDescInit(
                    algorithm: key.algorithm.dnnl, sourceGradient: source,
                    destinationGradient: forward.memoryDescriptor(DNNL_ARG_DST), strides: strides, kernel: kernel,
                    paddingLeft: paddingLeft, paddingRight: paddingRight),
                engine.engine, hint: forward.handle),
            engine: engine)
        var arguments: [(argument: Int32, direction: Direction, shape: [Int])] = [
            (DNNL_ARG_DIFF_DST, .input, key.outputShape)
        ]
        if usesWorkspace { arguments.append((DNNL_ARG_WORKSPACE, .input, [])) }
        arguments.append((DNNL_ARG_DIFF_SRC, .output, key.inputShape))
        return try DNNLPlan(DNNLPrimitive(backward, hint: forward), arguments: arguments, forms: opaque)
    }
}

/// A 2-D pooling forward (training) operation descriptor. The corresponding C function is
/// `dnnl_pooling_forward_desc_init`.
func dnnlPoolingForwardDescInit(
    algorithm: dnnl_alg_kind_t, source: dnnl_memory_desc_t, destination: dnnl_memory_desc_t, strides: [Int],
    kernel: [Int], paddingLeft: [Int], paddingRight: [Int]
) throws(DNNLError) -> dnnl_pooling_desc_t {
    var operation = dnnl_pooling_desc_t()
    var (source, destination) = (source, destination)
    try checkDNNL(
        dnnl_pooling_forward_desc_init(
            &operation, dnnl_forward_training, algorithm, &source, &destination, dnnlDims(strides), dnnlDims(kernel),
            dnnlDims(paddingLeft), dnnlDims(paddingRight)),
        "dnnl_pooling_forward_desc_init")
    return operation
}

/// A 2-D pooling backward operation descriptor. The corresponding C function is `dnnl_pooling_backward_desc_init`.
func dnnlPoolingBackwardDescInit(
    algorithm: dnnl_alg_kind_t, sourceGradient: dnnl_memory_desc_t, destinationGradient: dnnl_memory_desc_t,
    strides: [Int], kernel: [Int], paddingLeft: [Int], paddingRight: [Int]
) throws(DNNLError) -> dnnl_pooling_desc_t {
    var operation = dnnl_pooling_desc_t()
    var (sourceGradient, destinationGradient) = (sourceGradient, destinationGradient)
    try checkDNNL(
        dnnl_pooling_backward_desc_init(
            &operation, algorithm, &sourceGradient, &destinationGradient, dnnlDims(strides), dnnlDims(kernel),
            dnnlDims(paddingLeft), dnnlDims(paddingRight)),
        "dnnl_pooling_backward_desc_init")
    return operation
}
