extension Reference {
    /// 2-D max pooling of `input` `[batch, channels, height, width]`: each output pixel is the largest input pixel
    /// of its `kernel`×`kernel` window at `y · stride − padding`, `x · stride − padding`, padding never counting
    /// (PyTorch pads with −∞); the output is `[batch, channels, outHeight, outWidth]`, extents rounded down.
    public static func maxPool2D(_ input: Tensor, kernel: Int, stride: Int, padding: Int) -> Tensor {
        let geometry = PoolingGeometry(input.shape, kernel: kernel, stride: stride, padding: padding)
        let x = input.scalars
        let output = geometry.outputs.map { window in window.taps.map { x[$0] }.max()! }
        return Tensor(shape: geometry.outputShape, scalars: output)
    }

    /// The gradient of `maxPool2D` with respect to `input`: each output gradient added to the input pixel that
    /// won its window (the first on ties, as `max(by:)` keeps it).
    public static func maxPool2DBackward(
        _ outputGradient: Tensor, input: Tensor, kernel: Int, stride: Int, padding: Int
    ) -> Tensor {
        let geometry = PoolingGeometry(input.shape, kernel: kernel, stride: stride, padding: padding)
        precondition(outputGradient.shape == geometry.outputShape, "The gradient must have the pooled shape.")
        let (x, g) = (input.scalars, outputGradient.scalars)
        var inputGradient = [Double](repeating: 0, count: input.count)
        for (outputIndex, window) in geometry.outputs.enumerated() {
            let winner = window.taps.max { x[$0] < x[$1] }!
            inputGradient[winner] += Double(g[outputIndex])
        }
        return Tensor(shape: input.shape, scalars: inputGradient.map { Float($0) })
    }

    /// 2-D average pooling of `input` `[batch, channels, height, width]`: each window's sum over the input pixels
    /// it covers, divided by kernel² when `countIncludePadding` (zero padding counts), else by their number.
    public static func averagePool2D(
        _ input: Tensor, kernel: Int, stride: Int, padding: Int, countIncludePadding: Bool = true
    ) -> Tensor {
        let geometry = PoolingGeometry(input.shape, kernel: kernel, stride: stride, padding: padding)
        let x = input.scalars
        let output = geometry.outputs.map { window in
            let sum = window.taps.reduce(0.0) { $0 + Double(x[$1]) }
            return Float(sum / Double(countIncludePadding ? kernel * kernel : window.taps.count))
        }
        return Tensor(shape: geometry.outputShape, scalars: output)
    }

    /// The gradient of `averagePool2D` with respect to its input `inputShape`: each output gradient divided as in
    /// the forward pass and added to every input pixel of its window.
    public static func averagePool2DBackward(
        _ outputGradient: Tensor, inputShape: [Int], kernel: Int, stride: Int, padding: Int,
        countIncludePadding: Bool = true
    ) -> Tensor {
        let geometry = PoolingGeometry(inputShape, kernel: kernel, stride: stride, padding: padding)
        precondition(outputGradient.shape == geometry.outputShape, "The gradient must have the pooled shape.")
        let g = outputGradient.scalars
        var inputGradient = [Double](repeating: 0, count: Tensor.elementCount(inputShape))
        for (outputIndex, window) in geometry.outputs.enumerated() {
            let share = Double(g[outputIndex]) / Double(countIncludePadding ? kernel * kernel : window.taps.count)
            for tap in window.taps { inputGradient[tap] += share }
        }
        return Tensor(shape: inputShape, scalars: inputGradient.map { Float($0) })
    }

    /// The mean of each `[height, width]` plane: `[batch, channels, height, width]` → `[batch, channels, 1, 1]`.
    public static func globalAveragePool(_ input: Tensor) -> Tensor {
        let planeSize = input.shape[2] * input.shape[3]
        let x = input.scalars
        let means = (0..<(input.shape[0] * input.shape[1])).map { plane in
            Float(
                x[(plane * planeSize)..<((plane + 1) * planeSize)].reduce(0.0) { $0 + Double($1) } / Double(planeSize))
        }
        return Tensor(shape: [input.shape[0], input.shape[1], 1, 1], scalars: means)
    }

    /// The gradient of `globalAveragePool`: each output gradient divided evenly over its plane.
    public static func globalAveragePoolBackward(_ outputGradient: Tensor, inputShape: [Int]) -> Tensor {
        let planeSize = inputShape[2] * inputShape[3]
        let g = outputGradient.scalars
        let scalars = (0..<Tensor.elementCount(inputShape)).map { g[$0 / planeSize] / Float(planeSize) }
        return Tensor(shape: inputShape, scalars: scalars)
    }

    /// The maximum of each `[height, width]` plane, `[batch, channels, 1, 1]`, and its offset `y · width + x`
    /// in the plane (the first on ties).
    public static func globalMaxPool(_ input: Tensor) -> (output: Tensor, argmax: [Int32]) {
        let planeSize = input.shape[2] * input.shape[3]
        let x = input.scalars
        let winners = (0..<(input.shape[0] * input.shape[1])).map { plane in
            (0..<planeSize).max { x[plane * planeSize + $0] < x[plane * planeSize + $1] }!
        }
        let output = winners.enumerated().map { plane, offset in x[plane * planeSize + offset] }
        return (Tensor(shape: [input.shape[0], input.shape[1], 1, 1], scalars: output), winners.map { Int32($0) })
    }

    /// The gradient of `globalMaxPool`: each output gradient at its plane's `argmax`, zeros elsewhere.
    public static func globalMaxPoolBackward(_ outputGradient: Tensor, argmax: [Int32], inputShape: [Int]) -> Tensor {
        let planeSize = inputShape[2] * inputShape[3]
        var scalars = [Float](repeating: 0, count: Tensor.elementCount(inputShape))
        for (plane, gradient) in outputGradient.scalars.enumerated() {
            scalars[plane * planeSize + Int(argmax[plane])] = gradient
        }
        return Tensor(shape: inputShape, scalars: scalars)
    }

    /// The input pixels each pooling window covers.
    private struct PoolingGeometry {
        struct Window {
            /// Row-major input offsets inside the input, in window order.
            let taps: [Int]
        }

        let outputShape: [Int]
        /// Every output pixel's window, in row-major output order.
        let outputs: [Window]

        init(_ inputShape: [Int], kernel: Int, stride: Int, padding: Int) {
            precondition(inputShape.count == 4, "Pooling takes [batch, channels, height, width], not \(inputShape).")
            precondition(kernel >= 1 && stride >= 1 && 0 <= padding && 2 * padding <= kernel, "Bad pooling geometry.")
            let (planes, height, width) = (inputShape[0] * inputShape[1], inputShape[2], inputShape[3])
            let outHeight = (height + 2 * padding - kernel) / stride + 1
            let outWidth = (width + 2 * padding - kernel) / stride + 1
            outputShape = [inputShape[0], inputShape[1], outHeight, outWidth]
            var outputs: [Window] = []
            for plane in 0..<planes {
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        var taps: [Int] = []
                        for i in 0..<kernel {
                            let inputY = y * stride - padding + i
                            guard 0 <= inputY && inputY < height else { continue }
                            for j in 0..<kernel {
                                let inputX = x * stride - padding + j
                                guard 0 <= inputX && inputX < width else { continue }
                                taps.append((plane * height + inputY) * width + inputX)
                            }
                        }
                        outputs.append(Window(taps: taps))
                    }
                }
            }
            self.outputs = outputs
        }
    }
}
