extension Tensor {
    /// The elementwise sum of two tensors of the same shape.
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
        lhs.combined(with: rhs, "add") { $0 + $1 }
    }

    /// The elementwise difference of two tensors of the same shape.
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
        lhs.combined(with: rhs, "subtract") { $0 - $1 }
    }

    /// The elementwise (Hadamard) product of two tensors of the same shape.
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
        lhs.combined(with: rhs, "multiply") { $0 * $1 }
    }

    /// Every element multiplied by `scale`.
    public static func * (scale: Float, tensor: Tensor) -> Tensor {
        tensor.mapped { scale * $0 }
    }

    /// Every element multiplied by `scale`.
    public static func * (tensor: Tensor, scale: Float) -> Tensor {
        tensor.mapped { $0 * scale }
    }

    /// Every element negated.
    public static prefix func - (tensor: Tensor) -> Tensor {
        tensor.mapped { -$0 }
    }

    /// Adds `rhs` elementwise in place.
    public static func += (lhs: inout Tensor, rhs: Tensor) {
        precondition(lhs.shape == rhs.shape, "Cannot add \(rhs.shape) to \(lhs.shape) in place.")
        if let blocked = lhs.layout.blocked, lhs.layout == rhs.layout {
            // The same blocked layout: add storage to storage, padding (zeros) included.
            if !isKnownUniquelyReferenced(&lhs.storage) { lhs.storage = lhs.storage.copy() }
            lhs.storage.version &+= 1
            Parallel.add(lhs.storage.base, rhs.storage.base, into: lhs.storage.base, count: blocked.scalarCount)
            withExtendedLifetime(rhs) {}
            return
        }
        rhs.withUnsafeBufferPointer { source in
            lhs.withUnsafeMutableBufferPointer { target in
                for index in target.indices { target[index] += source[index] }
            }
        }
    }

    /// The sum of all elements, accumulated in Double.
    public func sum() -> Float {
        withUnsafeBufferPointer { Float($0.reduce(0.0) { $0 + Double($1) }) }
    }

    /// The largest absolute difference between two tensors of the same shape (0 for empty tensors).
    public func maxAbsoluteDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "Cannot compare \(shape) with \(other.shape).")
        return withUnsafeBufferPointer { a in
            other.withUnsafeBufferPointer { b in zip(a, b).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) } }
        }
    }

    /// A tensor of the same shape with `transform` applied to every element.
    public func mapped(_ transform: (Float) -> Float) -> Tensor {
        let result = Tensor(uninitializedShape: shape)
        withUnsafeBufferPointer { source in
            for index in source.indices { result.storage.base[index] = transform(source[index]) }
        }
        return result
    }

    /// Two tensors of the same shape combined element by element.
    private func combined(with other: Tensor, _ operation: String, _ combine: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "Cannot \(operation) tensors of shapes \(shape) and \(other.shape).")
        if layout.blocked != nil && layout == other.layout && operation == "add" {
            return CPUDevice.shared.add(self, other)
        }
        let result = Tensor(uninitializedShape: shape)
        withUnsafeBufferPointer { a in
            other.withUnsafeBufferPointer { b in
                for index in a.indices { result.storage.base[index] = combine(a[index], b[index]) }
            }
        }
        return result
    }
}
