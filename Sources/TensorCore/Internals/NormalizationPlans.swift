import CDNNL

/// What identifies a cached batch normalisation primitive.
struct BatchNormalizationKey: Hashable {
    /// Which batch normalisation computation.
    enum Pass: Hashable {
        /// Normalise with the batch statistics and return them (PyTorch's train mode).
        case forwardTraining
        /// Normalise with given statistics (PyTorch's eval mode).
        case forwardInference
        /// The full gradient through the batch statistics.
        case backward
        /// The gradient with the statistics held constant, as for `forwardInference`.
        case backwardWithRunningStatistics
    }

    let pass: Pass
    /// `[batch, channels, height, width]` or `[batch, channels]`.
    let shape: [Int]
    /// The layout of the input, which the output (or input gradient) shares.
    let layout: TensorLayout
    let epsilon: Float
    /// Whether a ReLU follows in the same pass (`dnnl_fuse_norm_relu`): training then also writes a workspace
    /// (where the output was positive), which the backward pass reads.
    var fusesReLU = false
}

extension DNNLPlan {
    /// Builds the oneDNN plan for one batch normalisation pass on row-major data, with separate scale and shift
    /// (`dnnl_use_scale | dnnl_use_shift`, which oneDNN 2.6 prefers to the packed `dnnl_use_scaleshift`).
    ///
    /// Operands: training `SRC, SCALE, SHIFT → DST, MEAN, VARIANCE`; inference `SRC, MEAN, VARIANCE, SCALE, SHIFT →
    /// DST`; backward `SRC, MEAN, VARIANCE, DIFF_DST, SCALE, SHIFT → DIFF_SRC, DIFF_SCALE, DIFF_SHIFT`. oneDNN 2.6
    /// rejects a backward execution without `SHIFT` (`invalid_arguments`), though no gradient depends on it.
    static func batchNormalization(_ key: BatchNormalizationKey, engine: DNNLEngine) throws(DNNLError) -> DNNLPlan {
        let data = try key.layout.memoryDescriptor(key.shape)
        let (shape, channelShape) = (key.shape, [key.shape[1]])
        let affine =
            dnnl_use_scale.rawValue | dnnl_use_shift.rawValue | (key.fusesReLU ? dnnl_fuse_norm_relu.rawValue : 0)
        let given = dnnl_use_global_stats.rawValue
        let opaque: [Int32: Form] = [DNNL_ARG_WORKSPACE: .opaque]

        switch key.pass {
        case .forwardTraining:
            let forward = try DNNLPrimitiveDescriptor(
                dnnlPrimitiveDescCreate(
                    dnnlBatchNormalizationForwardDescInit(
                        propagation: dnnl_forward_training, data: data, epsilon: key.epsilon, flags: affine),
                    engine.engine, hint: nil),
                engine: engine)
            return try DNNLPlan(
                DNNLPrimitive(forward),
                arguments: [
                    (DNNL_ARG_SRC, .input, shape), (DNNL_ARG_SCALE, .input, channelShape),
                    (DNNL_ARG_SHIFT, .input, channelShape),
                    (DNNL_ARG_DST, .output, shape), (DNNL_ARG_MEAN, .output, channelShape),
                    (DNNL_ARG_VARIANCE, .output, channelShape),
                ] + (key.fusesReLU ? [(DNNL_ARG_WORKSPACE, .output, [])] : []), forms: opaque)

        case .forwardInference:
            let forward = try DNNLPrimitiveDescriptor(
                dnnlPrimitiveDescCreate(
                    dnnlBatchNormalizationForwardDescInit(
                        propagation: dnnl_forward_inference, data: data, epsilon: key.epsilon, flags: affine | given),
                    engine.engine, hint: nil),
                engine: engine)
            return try DNNLPlan(
                DNNLPrimitive(forward),
                arguments: [
                    (DNNL_ARG_SRC, .input, shape), (DNNL_ARG_MEAN, .input, channelShape),
                    (DNNL_ARG_VARIANCE, .input, channelShape), (DNNL_ARG_SCALE, .input, channelShape),
                    (DNNL_ARG_SHIFT, .input, channelShape), (DNNL_ARG_DST, .output, shape),
                ])

        case .backward, .backwardWithRunningStatistics:
            let flags = key.pass == .backward ? affine : affine | given
            let forward = try DNNLPrimitiveDescriptor(
                dnnlPrimitiveDescCreate(
                    dnnlBatchNormalizationForwardDescInit(
                        propagation: dnnl_forward_training, data: data, epsilon: key.epsilon, flags: flags),
                    engine.engine, hint: nil),
                engine: engine)
            // `dnnl_backward` (not `dnnl_backward_data`) also gives the scale and shift gradients.
            let backward = try DNNLPrimitiveDescriptor(
                dnnlPrimitiveDescCreate(
                    dnnlBatchNormalizationBackwardDescInit(
                        propagation: dnnl_backward, gradient: data, data: data, epsilon: key.epsilon, flags: flags),
                    engine.engine, hint: forward.handle),
                engine: engine)
            return try DNNLPlan(
                DNNLPrimitive(backward, hint: forward),
                arguments: [
                    (DNNL_ARG_SRC, .input, shape), (DNNL_ARG_MEAN, .input, channelShape),
                    (DNNL_ARG_VARIANCE, .input, channelShape), (DNNL_ARG_DIFF_DST, .input, shape),
                    (DNNL_ARG_SCALE, .input, channelShape), (DNNL_ARG_SHIFT, .input, channelShape),
                ] + (key.fusesReLU && key.pass == .backward ? [(DNNL_ARG_WORKSPACE, .input, [])] : []) + [
                    (DNNL_ARG_DIFF_SRC, .output, shape),
                    (DNNL_ARG_DIFF_SCALE, .output, channelShape), (DNNL_ARG_DIFF_SHIFT, .output, channelShape),
                ], forms: opaque)
        }
    }
}

/// A batch normalisation forward operation descriptor (`flags` from `dnnl_normalization_flags_t`).
/// The corresponding C function is `dnnl_batch_normalization_forward_desc_init`.
func dnnlBatchNormalizationForwardDescInit(
    propagation: dnnl_prop_kind_t, data: dnnl_memory_desc_t, epsilon: Float, flags: UInt32
) throws(DNNLError) -> dnnl_batch_normalization_desc_t {
    var operation = dnnl_batch_normalization_desc_t()
    var data = data
    try checkDNNL(
        dnnl_batch_normalization_forward_desc_init(&operation, propagation, &data, epsilon, flags),
        "dnnl_batch_normalization_forward_desc_init")
    return operation
}

/// A batch normalisation backward operation descriptor (`dnnl_backward` also gives scale and shift gradients).
/// The corresponding C function is `dnnl_batch_normalization_backward_desc_init`.
func dnnlBatchNormalizationBackwardDescInit(
    propagation: dnnl_prop_kind_t, gradient: dnnl_memory_desc_t, data: dnnl_memory_desc_t, epsilon: Float,
    flags: UInt32
) throws(DNNLError) -> dnnl_batch_normalization_desc_t {
    var operation = dnnl_batch_normalization_desc_t()
    var (gradient, data) = (gradient, data)
    try checkDNNL(
        dnnl_batch_normalization_backward_desc_init(&operation, propagation, &gradient, &data, epsilon, flags),
        "dnnl_batch_normalization_backward_desc_init")
    return operation
}
