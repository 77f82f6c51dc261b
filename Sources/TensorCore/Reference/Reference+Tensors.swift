extension Reference {
    /// The elementwise sum of two tensors of one shape.
    public static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "Addition needs one shape, not \(a.shape) and \(b.shape).")
        return Tensor(shape: a.shape, scalars: zip(a.scalars, b.scalars).map { $0 + $1 })
    }

    /// `tensors` `[batch, channelsᵢ, …]` joined along the channels: `[batch, Σ channelsᵢ, …]`, element by element.
    public static func concatenateChannels(_ tensors: [Tensor]) -> Tensor {
        var shape = tensors[0].shape
        shape[1] = tensors.reduce(0) { $0 + $1.shape[1] }
        var output = [Float](repeating: 0, count: Tensor.elementCount(shape))
        var channelOffset = 0
        for tensor in tensors {
            let x = tensor.scalars
            forEachIndex(tensor.shape) { index in
                var target = index
                target[1] += channelOffset
                output[offset(target, shape)] = x[offset(index, tensor.shape)]
            }
            channelOffset += tensor.shape[1]
        }
        return Tensor(shape: shape, scalars: output)
    }

    /// `gradient` `[batch, Σ sizes, …]` cut along the channels into `[batch, sizesᵢ, …]` tensors.
    public static func splitChannels(_ gradient: Tensor, sizes: [Int]) -> [Tensor] {
        let g = gradient.scalars
        var channelOffset = 0
        return sizes.map { channels in
            var shape = gradient.shape
            shape[1] = channels
            var part = [Float](repeating: 0, count: Tensor.elementCount(shape))
            forEachIndex(shape) { index in
                var source = index
                source[1] += channelOffset
                part[offset(index, shape)] = g[offset(source, gradient.shape)]
            }
            channelOffset += channels
            return Tensor(shape: shape, scalars: part)
        }
    }

    /// `output[n, c, y · factor + i, x · factor + j] = input[n, c · factor² + i · factor + j, y, x]`, PyTorch's
    /// `pixel_shuffle`: `[batch, channels · factor², height, width]` → `[batch, channels, height · factor,
    /// width · factor]`.
    public static func pixelShuffle(_ input: Tensor, factor: Int) -> Tensor {
        let s = input.shape
        let outputShape = [s[0], s[1] / (factor * factor), s[2] * factor, s[3] * factor]
        let x = input.scalars
        var output = [Float](repeating: 0, count: x.count)
        forEachIndex(s) { index in
            output[offset(shuffled(index, factor), outputShape)] = x[offset(index, s)]
        }
        return Tensor(shape: outputShape, scalars: output)
    }

    /// The gradient of `pixelShuffle`: the inverse permutation of `outputGradient`.
    public static func pixelShuffleBackward(_ outputGradient: Tensor, factor: Int) -> Tensor {
        let s = outputGradient.shape
        let inputShape = [s[0], s[1] * factor * factor, s[2] / factor, s[3] / factor]
        let g = outputGradient.scalars
        var inputGradient = [Float](repeating: 0, count: g.count)
        forEachIndex(inputShape) { index in
            inputGradient[offset(index, inputShape)] = g[offset(shuffled(index, factor), s)]
        }
        return Tensor(shape: inputShape, scalars: inputGradient)
    }

    /// Where pixel shuffle moves input element `[n, c · factor² + i · factor + j, y, x]`.
    private static func shuffled(_ index: [Int], _ factor: Int) -> [Int] {
        let channel = index[1]
        let (c, i, j) = (channel / (factor * factor), channel / factor % factor, channel % factor)
        return [index[0], c, index[2] * factor + i, index[3] * factor + j]
    }

    /// The row-major offset of a full index into `shape`.
    private static func offset(_ index: [Int], _ shape: [Int]) -> Int {
        zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
    }

    /// Calls `body` with every full index of `shape` in row-major order.
    private static func forEachIndex(_ shape: [Int], _ body: ([Int]) -> Void) {
        guard shape.allSatisfy({ $0 > 0 }) else { return }
        var index = [Int](repeating: 0, count: shape.count)
        while true {
            body(index)
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
            if axis < 0 { return }
        }
    }
}
