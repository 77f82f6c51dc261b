import TensorCore

/// max(x, 0) elementwise (PyTorch's `relu`), for any shape; its gradient is 0 at 0, as in PyTorch. oneDNN eltwise.
public func relu(_ input: Variable) throws -> Variable {
    let device = CPUDevice.shared
    let x = input.value
    return Variable(try device.relu(x), inputs: [input]) { gradient, _ in
        [try device.reluBackward(gradient, input: x)]
    }
}

/// 1 / (1 + e^−x) elementwise (PyTorch's `sigmoid`), for any shape; the gradient is g·σ·(1 − σ). oneDNN eltwise.
public func sigmoid(_ input: Variable) throws -> Variable {
    let device = CPUDevice.shared
    let output = try device.sigmoid(input.value)
    return Variable(output, inputs: [input]) { gradient, _ in
        [try device.sigmoidBackward(gradient, output: output)]
    }
}
