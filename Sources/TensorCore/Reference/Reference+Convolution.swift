extension Reference {
    /// 2-D convolution of `input` `[batch, inChannels, height, width]` with `weight`
    /// `[outChannels, inChannels, kernelHeight, kernelWidth]` plus `bias` `[outChannels]`, giving
    /// `[batch, outChannels, outHeight, outWidth]`:
    /// `output[n, o, y, x] = bias[o] + Σ input[n, c, y·stride − padding + i, x·stride − padding + j] · weight[o, c, i, j]`
    /// over channels c and kernel offsets i, j, with zeros outside the input.
    public static func convolution2D(
        _ input: Tensor, weight: Tensor, bias: Tensor? = nil, options: ConvolutionOptions = ConvolutionOptions()
    ) -> Tensor {
        let geometry = Geometry(input: input.shape, weight: weight.shape, options: options)
        if let bias {
            precondition(
                bias.shape == [geometry.outChannels], "A convolution bias is [outChannels], not \(bias.shape).")
        }
        let x = input.scalars
        let w = weight.scalars
        let b = bias?.scalars
        var output = [Float](repeating: 0, count: Tensor.elementCount(geometry.outputShape))
        geometry.forEachOutput { n, o, y, xOut, outputIndex in
            var sum = Double(b?[o] ?? 0)
            geometry.forEachTap(y, xOut) { c, i, j, inputY, inputX in
                let pixel = Double(x[geometry.inputIndex(n, c, inputY, inputX)])
                sum += pixel * Double(w[geometry.weightIndex(o, c, i, j)])
            }
            output[outputIndex] = Float(sum)
        }
        return Tensor(shape: geometry.outputShape, scalars: output)
    }

    /// The gradient of `convolution2D` with respect to its input `[batch, inChannels, height, width]`:
    /// each output gradient spread back over the input pixels its kernel window touched.
    public static func convolution2DBackwardData(
        _ outputGradient: Tensor, weight: Tensor, inputShape: [Int], options: ConvolutionOptions = ConvolutionOptions()
    ) -> Tensor {
        let geometry = Geometry(input: inputShape, weight: weight.shape, options: options)
        precondition(
            outputGradient.shape == geometry.outputShape,
            "The output gradient is \(outputGradient.shape) but the convolution gives \(geometry.outputShape).")
        let g = outputGradient.scalars
        let w = weight.scalars
        var inputGradient = [Double](repeating: 0, count: Tensor.elementCount(inputShape))
        geometry.forEachOutput { n, o, y, xOut, outputIndex in
            geometry.forEachTap(y, xOut) { c, i, j, inputY, inputX in
                inputGradient[geometry.inputIndex(n, c, inputY, inputX)] +=
                    Double(g[outputIndex]) * Double(w[geometry.weightIndex(o, c, i, j)])
            }
        }
        return Tensor(shape: inputShape, scalars: inputGradient.map { Float($0) })
    }

    /// The gradients of `convolution2D` with respect to its weight `[outChannels, inChannels, kernelHeight,
    /// kernelWidth]` (output gradients times the input pixels they saw) and its bias `[outChannels]` (their sum).
    public static func convolution2DBackwardWeights(
        _ outputGradient: Tensor, input: Tensor, weightShape: [Int], options: ConvolutionOptions = ConvolutionOptions()
    ) -> (weight: Tensor, bias: Tensor) {
        let geometry = Geometry(input: input.shape, weight: weightShape, options: options)
        precondition(
            outputGradient.shape == geometry.outputShape,
            "The output gradient is \(outputGradient.shape) but the convolution gives \(geometry.outputShape).")
        let g = outputGradient.scalars
        let x = input.scalars
        var weightGradient = [Double](repeating: 0, count: Tensor.elementCount(weightShape))
        var biasGradient = [Double](repeating: 0, count: geometry.outChannels)
        geometry.forEachOutput { n, o, y, xOut, outputIndex in
            biasGradient[o] += Double(g[outputIndex])
            geometry.forEachTap(y, xOut) { c, i, j, inputY, inputX in
                weightGradient[geometry.weightIndex(o, c, i, j)] +=
                    Double(g[outputIndex]) * Double(x[geometry.inputIndex(n, c, inputY, inputX)])
            }
        }
        return (
            Tensor(shape: weightShape, scalars: weightGradient.map { Float($0) }),
            Tensor(shape: [geometry.outChannels], scalars: biasGradient.map { Float($0) })
        )
    }

    /// Shapes and index arithmetic shared by the three convolution passes.
    private struct Geometry {
        let batch: Int
        let inChannels: Int
        let height: Int
        let width: Int
        let outChannels: Int
        let kernelHeight: Int
        let kernelWidth: Int
        let outputShape: [Int]
        let options: ConvolutionOptions

        init(input: [Int], weight: [Int], options: ConvolutionOptions) {
            outputShape = options.outputShape(input: input, weight: weight)
            (batch, inChannels, height, width) = (input[0], input[1], input[2], input[3])
            (outChannels, kernelHeight, kernelWidth) = (weight[0], weight[2], weight[3])
            self.options = options
        }

        func inputIndex(_ n: Int, _ c: Int, _ y: Int, _ x: Int) -> Int {
            ((n * inChannels + c) * height + y) * width + x
        }

        func weightIndex(_ o: Int, _ c: Int, _ i: Int, _ j: Int) -> Int {
            ((o * inChannels + c) * kernelHeight + i) * kernelWidth + j
        }

        /// Calls `body(n, o, y, x, outputIndex)` for every output element in row-major order.
        func forEachOutput(_ body: (Int, Int, Int, Int, Int) -> Void) {
            var outputIndex = 0
            for n in 0..<batch {
                for o in 0..<outChannels {
                    for y in 0..<outputShape[2] {
                        for x in 0..<outputShape[3] {
                            body(n, o, y, x, outputIndex)
                            outputIndex += 1
                        }
                    }
                }
            }
        }

        /// Calls `body(c, i, j, inputY, inputX)` for every kernel tap of output pixel (y, x) that lands inside
        /// the input; taps on the zero padding contribute nothing and are skipped.
        func forEachTap(_ y: Int, _ x: Int, _ body: (Int, Int, Int, Int, Int) -> Void) {
            for c in 0..<inChannels {
                for i in 0..<kernelHeight {
                    let inputY = y * options.stride - options.padding + i
                    guard 0 <= inputY && inputY < height else { continue }
                    for j in 0..<kernelWidth {
                        let inputX = x * options.stride - options.padding + j
                        guard 0 <= inputX && inputX < width else { continue }
                        body(c, i, j, inputY, inputX)
                    }
                }
            }
        }
    }
}
