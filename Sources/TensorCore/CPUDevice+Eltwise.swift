extension CPUDevice {
    /// max(x, 0) elementwise, for a tensor of any shape. Runs oneDNN's eltwise forward (`dnnl_eltwise_relu`).
    public func relu(_ input: Tensor) throws(DNNLError) -> Tensor {
        let output = Tensor(uninitializedShape: input.shape)
        guard input.count > 0 else { return output }
        let key = EltwiseKey(algorithm: .relu, backward: false, shape: [input.count])
        try run(.eltwise(key), [input, output])
        return output
    }

    /// The gradient of `relu` at `input`: `outputGradient` where `input` > 0, else 0 (also at 0, as PyTorch).
    /// Runs oneDNN's eltwise backward.
    public func reluBackward(_ outputGradient: Tensor, input: Tensor) throws(DNNLError) -> Tensor {
        precondition(
            outputGradient.shape == input.shape,
            "The gradient \(outputGradient.shape) and the input \(input.shape) of ReLU must have the same shape.")
        let inputGradient = Tensor(uninitializedShape: input.shape)
        guard input.count > 0 else { return inputGradient }
        let key = EltwiseKey(algorithm: .relu, backward: true, shape: [input.count])
        try run(.eltwise(key), [input, outputGradient, inputGradient])
        return inputGradient
    }

    /// The logistic function 1 / (1 + e⁻ˣ) elementwise, for a tensor of any shape. Runs oneDNN's eltwise forward
    /// (`dnnl_eltwise_logistic_use_dst_for_bwd`).
    public func sigmoid(_ input: Tensor) throws(DNNLError) -> Tensor {
        let output = Tensor(uninitializedShape: input.shape)
        guard input.count > 0 else { return output }
        let key = EltwiseKey(algorithm: .sigmoid, backward: false, shape: [input.count])
        try run(.eltwise(key), [input, output])
        return output
    }

    /// The gradient of `sigmoid` from its `output` y: `outputGradient · y · (1 − y)`. Runs oneDNN's eltwise backward.
    public func sigmoidBackward(_ outputGradient: Tensor, output: Tensor) throws(DNNLError) -> Tensor {
        precondition(
            outputGradient.shape == output.shape,
            "The gradient \(outputGradient.shape) and the output \(output.shape) of sigmoid must have the same shape.")
        let inputGradient = Tensor(uninitializedShape: output.shape)
        guard output.count > 0 else { return inputGradient }
        let key = EltwiseKey(algorithm: .sigmoid, backward: true, shape: [output.count])
        try run(.eltwise(key), [output, outputGradient, inputGradient])
        return inputGradient
    }
}
