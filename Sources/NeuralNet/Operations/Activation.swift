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

/// max(`lhs` + `rhs`, 0) elementwise (a residual connection and its ReLU, in one pass); both inputs receive the
/// output gradient where the output is positive. Swift loops over the threads, in the layout of `lhs`.
public func addReLU(_ lhs: Variable, _ rhs: Variable) -> Variable {
    precondition(lhs.shape == rhs.shape, "Cannot add values of shapes \(lhs.shape) and \(rhs.shape).")
    let device = CPUDevice.shared
    let output = device.addReLU(lhs.value, rhs.value)
    return Variable(output, inputs: [lhs, rhs]) { gradient, _ in
        let inputGradient = device.reluBackward(gradient, output: output)
        return [inputGradient, inputGradient]
    }
}
