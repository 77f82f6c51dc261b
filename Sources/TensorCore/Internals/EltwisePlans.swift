import CDNNL

/// What identifies a cached elementwise primitive.
struct EltwiseKey: Hashable {
    /// The elementwise function.
    enum Algorithm: Hashable {
        case relu
        /// The logistic function; its backward pass reads the forward output rather than the input.
        case sigmoid

        var dnnl: dnnl_alg_kind_t {
            switch self {
            case .relu: dnnl_eltwise_relu
            case .sigmoid: dnnl_eltwise_logistic_use_dst_for_bwd
            }
        }

        /// The execution argument the backward pass reads: the forward input (`SRC`) or output (`DST`).
        var backwardData: Int32 {
            switch self {
            case .relu: DNNL_ARG_SRC
            case .sigmoid: DNNL_ARG_DST
            }
        }
    }

    let algorithm: Algorithm
    let backward: Bool
    let shape: [Int]
    /// The layout of the data, which the result shares.
    let layout: TensorLayout
}

extension DNNLPlan {
    /// Builds the oneDNN plan for an elementwise forward pass (`SRC` → `DST`) or backward pass
    /// (`SRC` or `DST`, `DIFF_DST` → `DIFF_SRC`), on row-major data of the key's shape.
    static func eltwise(_ key: EltwiseKey, engine: DNNLEngine) throws(DNNLError) -> DNNLPlan {
        let plain = try key.layout.memoryDescriptor(key.shape)
        let forward = try DNNLPrimitiveDescriptor(
            dnnlPrimitiveDescCreate(
                dnnlEltwiseForwardDescInit(algorithm: key.algorithm.dnnl, data: plain, alpha: 0, beta: 0),
                engine.engine, hint: nil),
            engine: engine)
        guard key.backward else {
            return try DNNLPlan(
                DNNLPrimitive(forward),
                arguments: [(DNNL_ARG_SRC, .input, key.shape), (DNNL_ARG_DST, .output, key.shape)])
        }
        let backward = try DNNLPrimitiveDescriptor(
            dnnlPrimitiveDescCreate(
                dnnlEltwiseBackwardDescInit(
                    algorithm: key.algorithm.dnnl, gradient: plain, data: plain, alpha: 0, beta: 0),
                engine.engine, hint: forward.handle),
            engine: engine)
        return try DNNLPlan(
            DNNLPrimitive(backward, hint: forward),
            arguments: [
                (key.algorithm.backwardData, .input, key.shape), (DNNL_ARG_DIFF_DST, .input, key.shape),
                (DNNL_ARG_DIFF_SRC, .output, key.shape),
            ])
    }
}
