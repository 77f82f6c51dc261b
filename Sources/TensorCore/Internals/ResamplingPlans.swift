import CDNNL

/// What identifies a cached bilinear resampling primitive.
///
/// Only bilinear runs on oneDNN: its nearest mode picks ⌊(dst + ½)·in/out⌋, PyTorch's `nearest-exact`, not the
/// legacy ⌊dst·in/out⌋ of `F.interpolate(mode="nearest")` (8 → 15 pixels differ at output 7), so nearest is Swift.
struct ResamplingKey: Hashable {
    let backward: Bool
    /// `[batch, channels, height, width]`.
    let inputShape: [Int]
    /// `[batch, channels, outHeight, outWidth]`.
    let outputShape: [Int]
}

extension DNNLPlan {
    /// Builds the oneDNN plan for bilinear resampling (`dnnl_resampling_linear`, half-pixel centres, the same
    /// mapping as PyTorch's `align_corners=False`) on row-major NCHW data, with the factors taken from the shapes.
    /// Operands: forward `SRC → DST`; backward `DIFF_DST → DIFF_SRC`.
    static func resampling(_ key: ResamplingKey, engine: DNNLEngine) throws(DNNLError) -> DNNLPlan {
        let source = try plainMemoryDescriptor(key.inputShape)
        let destination = try plainMemoryDescriptor(key.outputShape)
        let forward = try DNNLPrimitiveDescriptor(
            dnnlPrimitiveDescCreate(
                dnnlResamplingForwardDescInit(
                    algorithm: dnnl_resampling_linear, source: source, destination: destination),
                engine.engine, hint: nil),
            engine: engine)
        guard key.backward else {
            return try DNNLPlan(
                DNNLPrimitive(forward),
                arguments: [(DNNL_ARG_SRC, .input, key.inputShape), (DNNL_ARG_DST, .output, key.outputShape)])
        }
        let backward = try DNNLPrimitiveDescriptor(
            dnnlPrimitiveDescCreate(
                dnnlResamplingBackwardDescInit(
                    algorithm: dnnl_resampling_linear, sourceGradient: source, destinationGradient: destination),
                engine.engine, hint: forward.handle),
            engine: engine)
        return try DNNLPlan(
            DNNLPrimitive(backward, hint: forward),
            arguments: [(DNNL_ARG_DIFF_DST, .input, key.outputShape), (DNNL_ARG_DIFF_SRC, .output, key.inputShape)])
    }
}

/// A resampling forward (training) operation descriptor; the factors are the destination over the source extents.
/// The corresponding C function is `dnnl_resampling_forward_desc_init`.
func dnnlResamplingForwardDescInit(
    algorithm: dnnl_alg_kind_t, source: dnnl_memory_desc_t, destination: dnnl_memory_desc_t
) throws(DNNLError) -> dnnl_resampling_desc_t {
    var operation = dnnl_resampling_desc_t()
    var (source, destination) = (source, destination)
    try checkDNNL(
        dnnl_resampling_forward_desc_init(&operation, dnnl_forward_training, algorithm, nil, &source, &destination),
        "dnnl_resampling_forward_desc_init")
    return operation
}

/// A resampling backward operation descriptor; the factors are the destination over the source extents.
/// The corresponding C function is `dnnl_resampling_backward_desc_init`.
func dnnlResamplingBackwardDescInit(
    algorithm: dnnl_alg_kind_t, sourceGradient: dnnl_memory_desc_t, destinationGradient: dnnl_memory_desc_t
) throws(DNNLError) -> dnnl_resampling_desc_t {
    var operation = dnnl_resampling_desc_t()
    var (sourceGradient, destinationGradient) = (sourceGradient, destinationGradient)
    try checkDNNL(
        dnnl_resampling_backward_desc_init(&operation, algorithm, nil, &sourceGradient, &destinationGradient),
        "dnnl_resampling_backward_desc_init")
    return operation
}
