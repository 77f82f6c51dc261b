extension CPUDevice {
    /// Nearest-neighbour resizing as PyTorch's `F.interpolate(mode="nearest")` with a `size`: `input`
    /// `[batch, channels, inHeight, inWidth]` → `[batch, channels, height, width]`, where output row y copies input
    /// row min(⌊y · inHeight/height⌋, inHeight − 1) (the scale rounded to Float first, as PyTorch does), and
    /// likewise for columns.
    ///
    /// A Swift loop: oneDNN's nearest mode rounds half-pixel centres, PyTorch's `nearest-exact`, which picks other
    /// pixels (8 → 15: output 7 reads input 4, not 3). Copying is memory-bound, so oneDNN would gain little.
    public func resizeNearest(_ input: Tensor, height: Int, width: Int) throws(DNNLError) -> Tensor {
        let geometry = NearestGeometry(inputShape: input.shape, height: height, width: width)
        if input.layout.isChannelBlocks8(input.shape) {
            // Whole pixels of 8 channels move together, so the blocked layout is kept.
            let output = Tensor(
                uninitializedShape: geometry.outputShape, layout: try .channelBlocks8(geometry.outputShape))
            let planes = input.shape[0] * ((input.shape[1] + 7) / 8)
            let outputPlaneSize = height * width * 8
            withExtendedLifetime(input) {
                nonisolated(unsafe) let (source, target) = (input.storage.base, output.storage.base)
                Parallel.forEachIndex(count: planes) { plane in
                    var destination = target + plane * outputPlaneSize
                    for row in geometry.rows {
                        let rowStart = source + (plane * geometry.inputPlaneSize + row * geometry.inputWidth) * 8
                        for column in geometry.columns {
                            destination.initialize(from: rowStart + column * 8, count: 8)
                            destination += 8
                        }
                    }
                }
            }
            return output
        }
        let output = Tensor(uninitializedShape: geometry.outputShape)
        input.withUnsafeBufferPointer { source in
            var target = output.storage.base
            for plane in 0..<geometry.planes {
                let planeStart = plane * geometry.inputPlaneSize
                for row in geometry.rows {
                    let rowStart = planeStart + row * geometry.inputWidth
                    for column in geometry.columns {
                        target.initialize(to: source[rowStart + column])
                        target += 1
                    }
                }
            }
        }
        return output
    }

    /// The gradient of `resizeNearest` with respect to its input `inputShape` `[batch, channels, inHeight,
    /// inWidth]`: each input pixel gets the sum of the output gradients `[batch, channels, height, width]` that
    /// copied it. A Swift loop.
    public func resizeNearestBackward(_ outputGradient: Tensor, inputShape: [Int]) throws(DNNLError) -> Tensor {
        precondition(
            outputGradient.rank == 4,
            "A resize gradient is [batch, channels, height, width], not \(outputGradient.shape).")
        let geometry = NearestGeometry(
            inputShape: inputShape, height: outputGradient.shape[2], width: outputGradient.shape[3])
        precondition(
            outputGradient.shape == geometry.outputShape,
            "The output gradient \(outputGradient.shape) does not match the input \(inputShape).")
        if outputGradient.layout.isChannelBlocks8(outputGradient.shape) {
            let inputGradient = Tensor(uninitializedShape: inputShape, layout: try .channelBlocks8(inputShape))
            inputGradient.storage.base.initialize(repeating: 0, count: inputGradient.storage.count)
            let planes = inputShape[0] * ((inputShape[1] + 7) / 8)
            let outputPlaneSize = geometry.outputShape[2] * geometry.outputShape[3] * 8
            withExtendedLifetime(outputGradient) {
                nonisolated(unsafe) let (gradient, target) = (outputGradient.storage.base, inputGradient.storage.base)
                Parallel.forEachIndex(count: planes) { plane in
                    var position = gradient + plane * outputPlaneSize
                    for row in geometry.rows {
                        let rowStart = target + (plane * geometry.inputPlaneSize + row * geometry.inputWidth) * 8
                        for column in geometry.columns {
                            let pixel = rowStart + column * 8
                            for channel in 0..<8 { pixel[channel] += position[channel] }
                            position += 8
                        }
                    }
                }
            }
            return inputGradient
        }
        var inputGradient = Tensor.zeros(inputShape)
        outputGradient.withUnsafeBufferPointer { gradient in
            inputGradient.withUnsafeMutableBufferPointer { target in
                var position = 0
                for plane in 0..<geometry.planes {
                    let planeStart = plane * geometry.inputPlaneSize
                    for row in geometry.rows {
                        let rowStart = planeStart + row * geometry.inputWidth
                        for column in geometry.columns {
                            target[rowStart + column] += gradient[position]
                            position += 1
                        }
                    }
                }
            }
        }
        return inputGradient
    }

    /// Bilinear resizing as PyTorch's `F.interpolate(mode="bilinear", align_corners=False)` with a `size`: `input`
    /// `[batch, channels, inHeight, inWidth]` → `[batch, channels, height, width]`, sampling each output pixel at
    /// source coordinate max((y + ½) · inHeight/height − ½, 0) (likewise x) between its two nearest input pixels
    /// per axis. Runs oneDNN's resampling forward (`dnnl_resampling_linear`).
    public func resizeBilinear(_ input: Tensor, height: Int, width: Int) throws(DNNLError) -> Tensor {
        let key = Self.bilinearKey(backward: false, inputShape: input.shape, height: height, width: width)
        return try run(.resampling(key), [input])[0]
    }

    /// The gradient of `resizeBilinear` with respect to its input `inputShape` `[batch, channels, inHeight,
    /// inWidth]`: each output gradient `[batch, channels, height, width]` shared among its source pixels with the
    /// forward pass's weights. Runs oneDNN's resampling backward.
    public func resizeBilinearBackward(_ outputGradient: Tensor, inputShape: [Int]) throws(DNNLError) -> Tensor {
        precondition(
            outputGradient.rank == 4 && inputShape.count == 4 && outputGradient.shape[0..<2] == inputShape[0..<2],
            "The output gradient \(outputGradient.shape) does not match the input \(inputShape).")
        let key = Self.bilinearKey(
            backward: true, inputShape: inputShape, height: outputGradient.shape[2], width: outputGradient.shape[3])
        return try run(.resampling(key), [outputGradient])[0]
    }

    private static func bilinearKey(backward: Bool, inputShape: [Int], height: Int, width: Int) -> ResamplingKey {
        precondition(inputShape.count == 4, "Resizing takes [batch, channels, height, width], not \(inputShape).")
        precondition(
            inputShape.allSatisfy { $0 > 0 } && height > 0 && width > 0,
            "oneDNN resizes non-empty tensors only: \(inputShape) to \(height)×\(width).")
        return ResamplingKey(
            backward: backward, inputShape: inputShape,
            outputShape: [inputShape[0], inputShape[1], height, width])
    }
}

/// Shapes and source rows and columns of a nearest-neighbour resize.
private struct NearestGeometry: Sendable {
    let outputShape: [Int]
    let planes: Int
    let inputWidth: Int
    let inputPlaneSize: Int
    /// The input row each output row copies.
    let rows: [Int]
    /// The input column each output column copies.
    let columns: [Int]

    init(inputShape: [Int], height: Int, width: Int) {
        precondition(inputShape.count == 4, "Resizing takes [batch, channels, height, width], not \(inputShape).")
        precondition(height >= 0 && width >= 0, "A resized extent cannot be negative: \(height)×\(width).")
        precondition(
            (inputShape[2] > 0 || height == 0) && (inputShape[3] > 0 || width == 0),
            "An empty input \(inputShape) cannot be resized to \(height)×\(width).")
        outputShape = [inputShape[0], inputShape[1], height, width]
        planes = inputShape[0] * inputShape[1]
        inputWidth = inputShape[3]
        inputPlaneSize = inputShape[2] * inputShape[3]
        rows = Self.sources(input: inputShape[2], output: height)
        columns = Self.sources(input: inputShape[3], output: width)
    }

    /// PyTorch's `nearest_idx`: min(⌊dst · scale⌋, input − 1) with scale = input / output computed in Float.
    private static func sources(input: Int, output: Int) -> [Int] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { Swift.min(Int((Float($0) * scale).rounded(.down)), input - 1) }
    }
}
