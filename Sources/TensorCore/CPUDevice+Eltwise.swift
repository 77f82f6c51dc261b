extension CPUDevice {
    /// max(x, 0) elementwise, for a tensor of any shape and layout (the output keeps it). Runs oneDNN's eltwise
    /// forward (`dnnl_eltwise_relu`).
    public func relu(_ input: Tensor) throws(DNNLError) -> Tensor {
        try eltwise(.relu, input)
    }

    /// The gradient of `relu` at `input`: `outputGradient` where `input` > 0, else 0 (also at 0, as PyTorch).
    /// Runs oneDNN's eltwise backward.
    public func reluBackward(_ outputGradient: Tensor, input: Tensor) throws(DNNLError) -> Tensor {
        precondition(
            outputGradient.shape == input.shape,
            "The gradient \(outputGradient.shape) and the input \(input.shape) of ReLU must have the same shape.")
        return try eltwiseBackward(.relu, outputGradient, data: input)
    }

    /// The logistic function 1 / (1 + e⁻ˣ) elementwise, for a tensor of any shape. Runs oneDNN's eltwise forward
    /// (`dnnl_eltwise_logistic_use_dst_for_bwd`).
    public func sigmoid(_ input: Tensor) throws(DNNLError) -> Tensor {
        try eltwise(.sigmoid, input)
    }

    /// The gradient of `sigmoid` from its `output` y: `outputGradient · y · (1 − y)`. Runs oneDNN's eltwise backward.
    public func sigmoidBackward(_ outputGradient: Tensor, output: Tensor) throws(DNNLError) -> Tensor {
        precondition(
            outputGradient.shape == output.shape,
            "The gradient \(outputGradient.shape) and the output \(output.shape) of sigmoid must have the same shape.")
        return try eltwiseBackward(.sigmoid, outputGradient, data: output)
    }

    /// An elementwise forward pass in the input's layout; a row-major tensor runs as one flat vector.
    private func eltwise(_ algorithm: EltwiseKey.Algorithm, _ input: Tensor) throws(DNNLError) -> Tensor {
        guard input.count > 0 else { return Tensor(uninitializedShape: input.shape) }
        let data = Self.eltwiseData(input)
        let key = EltwiseKey(algorithm: algorithm, backward: false, shape: data.shape, layout: data.layout)
        return try run(.eltwise(key), [data])[0].reshapedLayoutFree(to: input.shape)
    }

    /// An elementwise backward pass in the layout of `data` (the forward input or output).
    private func eltwiseBackward(
        _ algorithm: EltwiseKey.Algorithm, _ outputGradient: Tensor, data: Tensor
    ) throws(DNNLError) -> Tensor {
        guard data.count > 0 else { return Tensor(uninitializedShape: data.shape) }
        let flat = Self.eltwiseData(data)
        let gradient = data.layout.isRowMajor ? outputGradient.reshaped(to: flat.shape) : outputGradient
        let key = EltwiseKey(algorithm: algorithm, backward: true, shape: flat.shape, layout: flat.layout)
        return try run(.eltwise(key), [flat, gradient])[0].reshapedLayoutFree(to: data.shape)
    }

    /// A row-major tensor viewed as one flat vector (one plan serves every shape of that size); others as they are.
    private static func eltwiseData(_ tensor: Tensor) -> Tensor {
        tensor.layout.isRowMajor ? tensor.reshaped(to: [tensor.count]) : tensor
    }
}

extension Tensor {
    /// A row-major tensor viewed with `newShape`; a blocked tensor of that shape already is returned as it is.
    func reshapedLayoutFree(to newShape: [Int]) -> Tensor {
        shape == newShape ? self : reshaped(to: newShape)
    }
}
