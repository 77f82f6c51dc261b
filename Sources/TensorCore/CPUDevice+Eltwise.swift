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
}
