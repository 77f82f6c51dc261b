extension Reference {
    /// Nearest-neighbour resizing of `input` `[batch, channels, inHeight, inWidth]` to `[batch, channels, height,
    /// width]`, PyTorch's legacy `nearest`: output (y, x) copies input (⌊y · scaleY⌋, ⌊x · scaleX⌋), clamped, with
    /// scale = in/out rounded to Float.
    public static func resizeNearest(_ input: Tensor, height: Int, width: Int) -> Tensor {
        let taps = resizeTaps(input.shape, height: height, width: width, nearestIndex)
        return gathered(input, taps, outputShape: [input.shape[0], input.shape[1], height, width])
    }

    /// The gradient of `resizeNearest`: each output gradient added to the input pixel it copied.
    public static func resizeNearestBackward(_ outputGradient: Tensor, inputShape: [Int]) -> Tensor {
        let taps = resizeTaps(inputShape, height: outputGradient.shape[2], width: outputGradient.shape[3], nearestIndex)
        return scattered(outputGradient, taps, inputShape: inputShape)
    }

    /// Bilinear resizing with `align_corners=False`: output y samples source row s = max((y + ½) · in/out − ½, 0)
    /// as (1 − λ) · row ⌊s⌋ + λ · row min(⌊s⌋ + 1, in − 1) with λ = s − ⌊s⌋, and likewise for columns.
    public static func resizeBilinear(_ input: Tensor, height: Int, width: Int) -> Tensor {
        let taps = resizeTaps(input.shape, height: height, width: width, bilinearTaps)
        return gathered(input, taps, outputShape: [input.shape[0], input.shape[1], height, width])
    }

    /// The gradient of `resizeBilinear`: each output gradient added to its four source pixels with their weights.
    public static func resizeBilinearBackward(_ outputGradient: Tensor, inputShape: [Int]) -> Tensor {
        let taps = resizeTaps(inputShape, height: outputGradient.shape[2], width: outputGradient.shape[3], bilinearTaps)
        return scattered(outputGradient, taps, inputShape: inputShape)
    }

    /// One axis's taps (source index and weight) for each output index.
    private typealias AxisTaps = (_ output: Int, _ input: Int, _ outputIndex: Int) -> [(index: Int, weight: Double)]

    private static func nearestIndex(output: Int, input: Int, outputIndex: Int) -> [(index: Int, weight: Double)] {
        let scale = Float(input) / Float(output)
        return [(min(Int((Float(outputIndex) * scale).rounded(.down)), input - 1), 1)]
    }

    private static func bilinearTaps(output: Int, input: Int, outputIndex: Int) -> [(index: Int, weight: Double)] {
        let source = max((Double(outputIndex) + 0.5) * Double(input) / Double(output) - 0.5, 0)
        let lower = Int(source.rounded(.down))
        let fraction = source - Double(lower)
        return [(lower, 1 - fraction), (min(lower + 1, input - 1), fraction)]
    }

    /// For every output element in row-major order, the input offsets and weights it combines.
    private static func resizeTaps(
        _ inputShape: [Int], height: Int, width: Int, _ axisTaps: AxisTaps
    ) -> [[(index: Int, weight: Double)]] {
        precondition(inputShape.count == 4, "Resizing takes [batch, channels, height, width], not \(inputShape).")
        let (planes, inHeight, inWidth) = (inputShape[0] * inputShape[1], inputShape[2], inputShape[3])
        var taps: [[(index: Int, weight: Double)]] = []
        for plane in 0..<planes {
            for y in 0..<height {
                for x in 0..<width {
                    var element: [(index: Int, weight: Double)] = []
                    for row in axisTaps(height, inHeight, y) {
                        for column in axisTaps(width, inWidth, x) {
                            element.append(
                                ((plane * inHeight + row.index) * inWidth + column.index, row.weight * column.weight))
                        }
                    }
                    taps.append(element)
                }
            }
        }
        return taps
    }

    private static func gathered(_ input: Tensor, _ taps: [[(index: Int, weight: Double)]], outputShape: [Int])
        -> Tensor
    {
        let x = input.scalars
        let output = taps.map { element in Float(element.reduce(0.0) { $0 + $1.weight * Double(x[$1.index]) }) }
        return Tensor(shape: outputShape, scalars: output)
    }

    private static func scattered(
        _ outputGradient: Tensor, _ taps: [[(index: Int, weight: Double)]], inputShape: [Int]
    ) -> Tensor {
        precondition(outputGradient.count == taps.count, "The gradient must have the resized shape.")
        let g = outputGradient.scalars
        var inputGradient = [Double](repeating: 0, count: Tensor.elementCount(inputShape))
        for (outputIndex, element) in taps.enumerated() {
            for tap in element { inputGradient[tap.index] += tap.weight * Double(g[outputIndex]) }
        }
        return Tensor(shape: inputShape, scalars: inputGradient.map { Float($0) })
    }
}
