import TensorCore

extension Variable {
    /// The same elements viewed with `newShape` (equal element count; no copy); the gradient is reshaped back.
    public func reshaped(to newShape: [Int]) -> Variable {
        let oldShape = shape
        return Variable(value.reshaped(to: newShape), inputs: [self]) { gradient, _ in
            [gradient.reshaped(to: oldShape)]
        }
    }

    /// `[batch, …]` flattened to `[batch, features]` (PyTorch's `nn.Flatten`, start dimension 1).
    public func flattened() -> Variable {
        precondition(!shape.isEmpty, "Flattening needs a batch dimension; the value is a scalar.")
        return reshaped(to: [shape[0], shape.dropFirst().reduce(1, *)])
    }
}

/// The elementwise sum of two values of the same shape (a residual connection); both receive the output gradient.
public func + (lhs: Variable, rhs: Variable) -> Variable {
    precondition(lhs.shape == rhs.shape, "Cannot add values of shapes \(lhs.shape) and \(rhs.shape).")
    return Variable(CPUDevice.shared.add(lhs.value, rhs.value), inputs: [lhs, rhs]) { gradient, _ in
        [gradient, gradient]
    }
}
