import TensorCore

extension Tensor {
    /// A tensor of `shape` whose row-major scalars `body` writes (they start at zero).
    static func filled(_ shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) -> Void) -> Tensor {
        var tensor = Tensor.zeros(shape)
        tensor.withUnsafeMutableBufferPointer { body($0) }
        return tensor
    }

}
