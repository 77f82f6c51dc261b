extension CPUDevice {
    /// The elementwise sum of two tensors of one shape (a residual connection); its gradient with respect to each
    /// is the output gradient. The sum takes `a`'s layout (`b` is reordered to it if needed); a Swift loop the
    /// compiler vectorises, split over the threads.
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "Residual addition needs one shape, not \(a.shape) and \(b.shape).")
        let b = b.layout == a.layout ? b : reorderedOrFatal(b, to: a.layout)
        let sum = Tensor(uninitializedShape: a.shape, layout: a.layout)
        OperationProfile.measure("add (Swift)") {
            withExtendedLifetime((a, b)) {
                Parallel.add(a.storage.base, b.storage.base, into: sum.storage.base, count: sum.storage.count)
            }
        }
        return sum
    }

    /// max(`a` + `b`, 0) elementwise (a residual connection and its ReLU in one pass), in `a`'s layout (`b` is
    /// reordered to it if needed). A Swift loop split over the threads.
    public func addReLU(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "Residual addition needs one shape, not \(a.shape) and \(b.shape).")
        let b = b.layout == a.layout ? b : reorderedOrFatal(b, to: a.layout)
        let sum = Tensor(uninitializedShape: a.shape, layout: a.layout)
        OperationProfile.measure("add+ReLU (Swift)") {
            withExtendedLifetime((a, b)) {
                nonisolated(unsafe) let (left, right, target) = (a.storage.base, b.storage.base, sum.storage.base)
                Parallel.forEachChunk(count: sum.storage.count) { range in
                    for index in range { target[index] = Swift.max(left[index] + right[index], 0) }
                }
            }
        }
        return sum
    }

    /// The gradient of a ReLU from its `output`: `outputGradient` where `output` > 0, else 0, in `output`'s layout.
    /// A Swift loop split over the threads.
    public func reluBackward(_ outputGradient: Tensor, output: Tensor) -> Tensor {
        precondition(
            outputGradient.shape == output.shape,
            "The gradient \(outputGradient.shape) and the output \(output.shape) of ReLU must have the same shape.")
        let gradient =
            outputGradient.layout == output.layout
            ? outputGradient : reorderedOrFatal(outputGradient, to: output.layout)
        let inputGradient = Tensor(uninitializedShape: output.shape, layout: output.layout)
        OperationProfile.measure("ReLU backward (Swift)") {
            withExtendedLifetime((gradient, output)) {
                nonisolated(unsafe) let (g, y, target) = (
                    gradient.storage.base, output.storage.base, inputGradient.storage.base
                )
                Parallel.forEachChunk(count: inputGradient.storage.count) { range in
                    for index in range { target[index] = y[index] > 0 ? g[index] : 0 }
                }
            }
        }
        return inputGradient
    }

    /// `tensor` reordered to `layout`; a failing reorder is fatal (oneDNN ran out of memory).
    func reorderedOrFatal(_ tensor: Tensor, to layout: TensorLayout) -> Tensor {
        do {
            return try reordered(tensor, to: layout)
        } catch {
            fatalError("Reordering a \(tensor.shape) tensor failed: \(error)")
        }
    }

    /// `tensors` `[batch, channelsᵢ, height, width]` joined along the channels (PyTorch's `torch.cat(_, dim=1)`),
    /// giving `[batch, Σ channelsᵢ, height, width]`; any rank ≥ 2 works the same way. Swift block copies.
    public func concatenateChannels(_ tensors: [Tensor]) -> Tensor {
        precondition(!tensors.isEmpty, "Concatenation needs at least one tensor.")
        let first = tensors[0].shape
        precondition(first.count >= 2, "Concatenation joins [batch, channels, …] tensors, not \(first).")
        for tensor in tensors {
            precondition(
                tensor.rank == first.count && tensor.shape[0] == first[0] && tensor.shape[2...] == first[2...],
                "Tensors \(first) and \(tensor.shape) can only be joined if all but the channels agree.")
        }
        var shape = first
        shape[1] = tensors.reduce(0) { $0 + $1.shape[1] }
        if tensors.allSatisfy({ $0.shape[1] % 8 == 0 && $0.layout.isChannelBlocks8($0.shape) }),
            let layout = try? TensorLayout.channelBlocks8(shape)
        {
            // Each image's channel blocks are contiguous, as its channels are in row-major order: the same copies.
            return joinImages(tensors, into: Tensor(uninitializedShape: shape, layout: layout))
        }
        return joinImages(tensors.map(\.rowMajor), into: Tensor(uninitializedShape: shape))
    }

    /// Copies each image of `tensors` after the previous tensor's, into `output`, in the storage order they share.
    private func joinImages(_ tensors: [Tensor], into output: Tensor) -> Tensor {
        let first = output.shape
        let outputSample = output.storage.count / Swift.max(first[0], 1)
        var offset = 0
        for tensor in tensors {
            let sample = tensor.storage.count / Swift.max(first[0], 1)
            withExtendedLifetime(tensor) {
                nonisolated(unsafe) let (source, target) = (tensor.storage.base, output.storage.base + offset)
                Parallel.forEachIndex(count: first[0]) { batch in
                    (target + batch * outputSample).initialize(from: source + batch * sample, count: sample)
                }
            }
            offset += sample
        }
        return output
    }

    /// The gradient of `concatenateChannels`: `gradient` `[batch, Σ sizes, height, width]` cut along the channels
    /// into `[batch, sizesᵢ, height, width]` tensors (PyTorch's `torch.split(_, sizes, dim=1)`). Swift block copies.
    public func splitChannels(_ gradient: Tensor, sizes: [Int]) -> [Tensor] {
        precondition(gradient.rank >= 2, "Splitting cuts [batch, channels, …] tensors, not \(gradient.shape).")
        precondition(
            sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == gradient.shape[1],
            "Channel sizes \(sizes) do not add up to the \(gradient.shape[1]) channels of \(gradient.shape).")
        let blocked = sizes.allSatisfy { $0 % 8 == 0 } && gradient.layout.isChannelBlocks8(gradient.shape)
        // Each image's channel blocks are contiguous, as its channels are in row-major order: the same copies.
        let gradient = blocked ? gradient : gradient.rowMajor
        let batch = gradient.shape[0]
        let pixels = gradient.shape[2...].reduce(1, *)
        let inputSample = gradient.shape[1] * pixels
        var offset = 0
        return withExtendedLifetime(gradient) {
            sizes.map { channels in
                var shape = gradient.shape
                shape[1] = channels
                let layout = blocked ? (try? TensorLayout.channelBlocks8(shape)) ?? .rowMajor : .rowMajor
                let part = Tensor(uninitializedShape: shape, layout: layout)
                let sample = channels * pixels
                nonisolated(unsafe) let (source, target) = (gradient.storage.base + offset, part.storage.base)
                Parallel.forEachIndex(count: batch) { sampleIndex in
                    (target + sampleIndex * sample).initialize(from: source + sampleIndex * inputSample, count: sample)
                }
                offset += sample
                return part
            }
        }
    }

    /// Sub-pixel upsampling (PyTorch's `pixel_shuffle`, Shi et al. 2016): `input` `[batch, channels · factor²,
    /// height, width]` → `[batch, channels, height · factor, width · factor]` with
    /// `output[n, c, y · factor + i, x · factor + j] = input[n, c · factor² + i · factor + j, y, x]`. A Swift loop.
    public func pixelShuffle(_ input: Tensor, factor: Int) -> Tensor {
        let geometry = PixelShuffleGeometry(inputShape: input.shape, factor: factor)
        let output = Tensor(uninitializedShape: geometry.outputShape)
        input.withUnsafeBufferPointer { source in
            geometry.forEachPair { inputIndex, outputIndex in
                output.storage.base[outputIndex] = source[inputIndex]
            }
        }
        return output
    }

    /// The gradient of `pixelShuffle`, its inverse (PyTorch's `pixel_unshuffle`): `outputGradient`
    /// `[batch, channels, height · factor, width · factor]` → `[batch, channels · factor², height, width]`.
    public func pixelShuffleBackward(_ outputGradient: Tensor, factor: Int) -> Tensor {
        let shape = outputGradient.shape
        precondition(
            shape.count == 4 && factor >= 1 && shape[2] % factor == 0 && shape[3] % factor == 0,
            "A pixel shuffle gradient is [batch, channels, height · \(factor), width · \(factor)], not \(shape).")
        let geometry = PixelShuffleGeometry(
            inputShape: [shape[0], shape[1] * factor * factor, shape[2] / factor, shape[3] / factor], factor: factor)
        let inputGradient = Tensor(uninitializedShape: geometry.inputShape)
        outputGradient.withUnsafeBufferPointer { gradient in
            geometry.forEachPair { inputIndex, outputIndex in
                inputGradient.storage.base[inputIndex] = gradient[outputIndex]
            }
        }
        return inputGradient
    }
}

/// The index correspondence of a pixel shuffle.
private struct PixelShuffleGeometry {
    let inputShape: [Int]
    let outputShape: [Int]
    let factor: Int

    init(inputShape: [Int], factor: Int) {
        precondition(factor >= 1, "A pixel shuffle factor must be at least 1, not \(factor).")
        precondition(
            inputShape.count == 4 && inputShape[1] % (factor * factor) == 0,
            "A pixel shuffle input is [batch, channels · \(factor * factor), height, width], not \(inputShape).")
        self.inputShape = inputShape
        self.factor = factor
        outputShape = [
            inputShape[0], inputShape[1] / (factor * factor), inputShape[2] * factor, inputShape[3] * factor,
        ]
    }

    /// Calls `body(inputIndex, outputIndex)` for every element, in output order.
    func forEachPair(_ body: (Int, Int) -> Void) {
        let (height, width) = (inputShape[2], inputShape[3])
        var outputIndex = 0
        for n in 0..<outputShape[0] {
            for c in 0..<outputShape[1] {
                for y in 0..<height {
                    for i in 0..<factor {
                        for x in 0..<width {
                            for j in 0..<factor {
                                let channel = (n * inputShape[1] + c * factor * factor + i * factor + j)
                                body((channel * height + y) * width + x, outputIndex)
                                outputIndex += 1
                            }
                        }
                    }
                }
            }
        }
    }
}
