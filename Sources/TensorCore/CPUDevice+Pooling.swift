/// What `maxPool2DBackward` needs from `maxPool2D`: where each window's maximum was, kept as oneDNN's opaque
/// workspace (one byte per output element for small kernels) with the pooling geometry. Only `CPUDevice` reads it.
public struct PoolingIndices: Sendable {
    /// The forward pooling that made the workspace.
    let key: PoolingKey
    /// oneDNN's workspace bytes, held in Float storage for its 64-byte alignment and copy-on-write.
    let workspace: Tensor

    /// The pooled input's shape `[batch, channels, height, width]`.
    public var inputShape: [Int] { key.inputShape }

    /// The pooled output's shape `[batch, channels, outHeight, outWidth]`.
    public var outputShape: [Int] { key.outputShape }
}

extension CPUDevice {
    /// 2-D max pooling (PyTorch's `max_pool2d`, floor mode) of `input` `[batch, channels, height, width]` with a
    /// `kernel`×`kernel` window moved by `stride`, over an input padded with −∞ by `padding` on every side, giving
    /// `[batch, channels, outHeight, outWidth]` with each extent ⌊(extent + 2·padding − kernel) / stride⌋ + 1,
    /// and the indices its backward pass needs. Runs oneDNN's pooling forward (`dnnl_pooling_max`).
    public func maxPool2D(
        _ input: Tensor, kernel: Int, stride: Int, padding: Int
    ) throws(DNNLError) -> (output: Tensor, indices: PoolingIndices) {
        let key = Self.poolingKey(
            .max, backward: false, input.shape, layout: input.layout, kernel: kernel, stride: stride,
            padding: padding)
        let outputs = try run(.pooling(key), [input])
        return (outputs[0], PoolingIndices(key: key, workspace: outputs[1]))
    }

    /// The gradient of `maxPool2D` with respect to its input `[batch, channels, height, width]`: each output
    /// gradient `[batch, channels, outHeight, outWidth]` routed to its window's maximum. Runs oneDNN's pooling
    /// backward with the forward pass's workspace.
    public func maxPool2DBackward(
        _ outputGradient: Tensor, indices: PoolingIndices, inputShape: [Int]
    ) throws(DNNLError) -> Tensor {
        precondition(
            inputShape == indices.inputShape,
            "The pooling indices are for an input \(indices.inputShape), not \(inputShape).")
        precondition(
            outputGradient.shape == indices.outputShape,
            "The output gradient is \(outputGradient.shape) but the pooling gave \(indices.outputShape).")
        let forward = indices.key
        let key = PoolingKey(
            algorithm: .max, backward: true, inputShape: inputShape, layout: forward.layout, kernel: forward.kernel,
            stride: forward.stride, padding: forward.padding)
        let byteCount = try workspaceByteCount(of: .pooling(key))
        precondition(
            byteCount <= indices.workspace.count * MemoryLayout<Float>.stride,
            "The pooling indices hold less workspace than oneDNN's backward pass reads.")
        return try run(.pooling(key), [outputGradient, indices.workspace])[0]
    }

    /// 2-D average pooling (PyTorch's `avg_pool2d`, floor mode) of `input` `[batch, channels, height, width]` with
    /// a `kernel`×`kernel` window moved by `stride` over an input zero-padded by `padding`, giving
    /// `[batch, channels, outHeight, outWidth]` as in `maxPool2D`. Each window sum is divided by kernel² when
    /// `countIncludePadding` (PyTorch's default), else by the number of its pixels inside the input.
    /// Runs oneDNN's pooling forward (`dnnl_pooling_avg_include_padding` or `_exclude_padding`).
    public func averagePool2D(
        _ input: Tensor, kernel: Int, stride: Int, padding: Int, countIncludePadding: Bool = true
    ) throws(DNNLError) -> Tensor {
        let key = Self.poolingKey(
            countIncludePadding ? .averageIncludingPadding : .averageExcludingPadding, backward: false, input.shape,
            layout: input.layout, kernel: kernel, stride: stride, padding: padding)
        return try run(.pooling(key), [input])[0]
    }

    /// The gradient of `averagePool2D` with respect to its input `inputShape` `[batch, channels, height, width]`:
    /// each output gradient spread evenly (with the forward pass's divisor) over its window. Runs oneDNN's pooling
    /// backward.
    public func averagePool2DBackward(
        _ outputGradient: Tensor, inputShape: [Int], kernel: Int, stride: Int, padding: Int,
        countIncludePadding: Bool = true
    ) throws(DNNLError) -> Tensor {
        let key = Self.poolingKey(
            countIncludePadding ? .averageIncludingPadding : .averageExcludingPadding, backward: true, inputShape,
            layout: .rowMajor, kernel: kernel, stride: stride, padding: padding)
        precondition(
            outputGradient.shape == key.outputShape,
            "The output gradient is \(outputGradient.shape) but the pooling gives \(key.outputShape).")
        return try run(.pooling(key), [outputGradient])[0]
    }

    /// The mean of each channel's plane (PyTorch's `adaptive_avg_pool2d(input, 1)`): `input`
    /// `[batch, channels, height, width]` → `[batch, channels, 1, 1]`. A Swift loop (the reduction is memory-bound).
    public func globalAveragePool(_ input: Tensor) -> Tensor {
        let (planes, planeSize) = Self.globalPoolingPlanes(input.shape)
        let output = Tensor(uninitializedShape: [input.shape[0], input.shape[1], 1, 1])
        input.withUnsafeBufferPointer { source in
            for plane in 0..<planes {
                var sum: Float = 0
                for offset in (plane * planeSize)..<((plane + 1) * planeSize) { sum += source[offset] }
                output.storage.base[plane] = sum / Float(planeSize)
            }
        }
        return output
    }

    /// The gradient of `globalAveragePool` with respect to its input `inputShape` `[batch, channels, height, width]`:
    /// each output gradient `[batch, channels, 1, 1]` divided evenly over its plane.
    public func globalAveragePoolBackward(_ outputGradient: Tensor, inputShape: [Int]) -> Tensor {
        let (planes, planeSize) = Self.globalPoolingPlanes(inputShape)
        Self.requireGlobalPoolingGradient(outputGradient, inputShape: inputShape)
        let inputGradient = Tensor(uninitializedShape: inputShape)
        outputGradient.withUnsafeBufferPointer { gradient in
            for plane in 0..<planes {
                (inputGradient.storage.base + plane * planeSize)
                    .initialize(repeating: gradient[plane] / Float(planeSize), count: planeSize)
            }
        }
        return inputGradient
    }

    /// The maximum of each channel's plane (PyTorch's `adaptive_max_pool2d(input, 1)`): `input`
    /// `[batch, channels, height, width]` → `[batch, channels, 1, 1]`, with `argmax` `[batch · channels]` giving
    /// each maximum's offset `y · width + x` in its plane (the first on ties; NaN wins, as in PyTorch). A Swift loop.
    public func globalMaxPool(_ input: Tensor) -> (output: Tensor, argmax: [Int32]) {
        let (planes, planeSize) = Self.globalPoolingPlanes(input.shape)
        precondition(planeSize <= Int(Int32.max), "A plane of \(planeSize) pixels is too large for Int32 indices.")
        let output = Tensor(uninitializedShape: [input.shape[0], input.shape[1], 1, 1])
        var argmax = [Int32](repeating: 0, count: planes)
        input.withUnsafeBufferPointer { source in
            for plane in 0..<planes {
                let start = plane * planeSize
                var (best, bestValue) = (0, source[start])
                for offset in 1..<planeSize where !bestValue.isNaN {
                    let value = source[start + offset]
                    if value > bestValue || value.isNaN { (best, bestValue) = (offset, value) }
                }
                output.storage.base[plane] = bestValue
                argmax[plane] = Int32(best)
            }
        }
        return (output, argmax)
    }

    /// The gradient of `globalMaxPool` with respect to its input `inputShape` `[batch, channels, height, width]`:
    /// each output gradient `[batch, channels, 1, 1]` at its plane's `argmax`, zeros elsewhere.
    public func globalMaxPoolBackward(_ outputGradient: Tensor, argmax: [Int32], inputShape: [Int]) -> Tensor {
        let (planes, planeSize) = Self.globalPoolingPlanes(inputShape)
        Self.requireGlobalPoolingGradient(outputGradient, inputShape: inputShape)
        precondition(argmax.count == planes, "There are \(argmax.count) argmax indices for \(planes) planes.")
        var inputGradient = Tensor.zeros(inputShape)
        outputGradient.withUnsafeBufferPointer { gradient in
            inputGradient.withUnsafeMutableBufferPointer { target in
                for plane in 0..<planes {
                    let offset = Int(argmax[plane])
                    precondition(0 <= offset && offset < planeSize, "An argmax \(offset) lies outside its plane.")
                    target[plane * planeSize + offset] = gradient[plane]
                }
            }
        }
        return inputGradient
    }

    /// The key of a pooling pass, after checking the geometry as PyTorch does.
    private static func poolingKey(
        _ algorithm: PoolingKey.Algorithm, backward: Bool, _ inputShape: [Int], layout: TensorLayout, kernel: Int,
        stride: Int, padding: Int
    ) -> PoolingKey {
        precondition(
            inputShape.count == 4, "Pooling takes [batch, channels, height, width], not \(inputShape).")
        precondition(inputShape.allSatisfy { $0 > 0 }, "oneDNN pooling needs a non-empty input, not \(inputShape).")
        precondition(kernel >= 1 && stride >= 1, "A pooling kernel and stride must be at least 1.")
        // PyTorch's rule; it also keeps every window overlapping the input, so no output is −∞ or 0 / 0.
        precondition(
            0 <= padding && 2 * padding <= kernel,
            "Pooling padding must lie between 0 and half the kernel (\(kernel)), not \(padding).")
        precondition(
            inputShape[2] + 2 * padding >= kernel && inputShape[3] + 2 * padding >= kernel,
            "A pooling kernel of \(kernel) does not fit the input \(inputShape) with padding \(padding).")
        return PoolingKey(
            algorithm: algorithm, backward: backward, inputShape: inputShape, layout: layout, kernel: kernel,
            stride: stride, padding: padding)
    }

    /// The number of `[height, width]` planes in a `[batch, channels, height, width]` shape, and their size.
    private static func globalPoolingPlanes(_ shape: [Int]) -> (planes: Int, planeSize: Int) {
        precondition(shape.count == 4, "Global pooling takes [batch, channels, height, width], not \(shape).")
        precondition(shape[2] > 0 && shape[3] > 0, "Global pooling needs at least one pixel, not \(shape).")
        return (shape[0] * shape[1], shape[2] * shape[3])
    }

    private static func requireGlobalPoolingGradient(_ outputGradient: Tensor, inputShape: [Int]) {
        precondition(
            outputGradient.shape == [inputShape[0], inputShape[1], 1, 1],
            "A global pooling gradient is [batch, channels, 1, 1] for \(inputShape), not \(outputGradient.shape).")
    }
}
