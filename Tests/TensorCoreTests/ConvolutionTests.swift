import Testing
import TestSupport

@testable import TensorCore

/// One convolution configuration: `[batch, inChannels, size, size]` input, square kernel, stride, padding.
struct ConvolutionCase: Sendable, CustomTestStringConvertible {
    let batch: Int
    let inChannels: Int
    let outChannels: Int
    let size: Int
    let kernel: Int
    let stride: Int
    let padding: Int
    let bias: Bool

    init(
        _ inChannels: Int, _ outChannels: Int, size: Int, kernel: Int, stride: Int, padding: Int, bias: Bool,
        batch: Int = 2
    ) {
        (self.inChannels, self.outChannels, self.size, self.kernel) = (inChannels, outChannels, size, kernel)
        (self.stride, self.padding, self.bias, self.batch) = (stride, padding, bias, batch)
    }

    var inputShape: [Int] { [batch, inChannels, size, size] }
    var weightShape: [Int] { [outChannels, inChannels, kernel, kernel] }
    var options: ConvolutionOptions { ConvolutionOptions(stride: stride, padding: padding) }
    var outputShape: [Int] { options.outputShape(input: inputShape, weight: weightShape) }

    var testDescription: String {
        "\(inChannels)→\(outChannels) \(size)×\(size) k\(kernel) s\(stride) p\(padding)\(bias ? " +bias" : "")"
    }

    /// Input in [−1, 1), weights N(0, 1/fan-in) as in He-style initialisation, output gradient in [−1, 1).
    func tensors(seed: UInt64) -> (input: Tensor, weight: Tensor, bias: Tensor?, outputGradient: Tensor) {
        var generator = TestGenerator(seed: seed)
        let fanIn = Float(inChannels * kernel * kernel)
        return (
            Tensor.randomUniform(inputShape, in: -1..<1, using: &generator),
            Tensor.randomNormal(weightShape, standardDeviation: 1 / fanIn.squareRoot(), using: &generator),
            bias ? Tensor.randomUniform([outChannels], in: -1..<1, using: &generator) : nil,
            Tensor.randomUniform(outputShape, in: -1..<1, using: &generator)
        )
    }
}

@Suite struct ConvolutionTests {
    static let cases: [ConvolutionCase] = [
        // ResNet's stem on a small odd image, and the same kernel at stride 1.
        ConvolutionCase(3, 8, size: 15, kernel: 7, stride: 2, padding: 3, bias: true),
        ConvolutionCase(3, 8, size: 8, kernel: 7, stride: 1, padding: 3, bias: false),
        ConvolutionCase(3, 8, size: 15, kernel: 3, stride: 1, padding: 1, bias: true),
        // Basic-block 3×3 convolutions, with and without downsampling; 15 → 8 as in a 120-pixel U-Net encoder.
        ConvolutionCase(16, 32, size: 8, kernel: 3, stride: 1, padding: 1, bias: false),
        ConvolutionCase(16, 32, size: 15, kernel: 3, stride: 2, padding: 1, bias: true),
        ConvolutionCase(16, 32, size: 15, kernel: 3, stride: 2, padding: 0, bias: true),
        // 1×1 projections; at stride 2 on 8 pixels oneDNN's right padding is −1.
        ConvolutionCase(16, 32, size: 8, kernel: 1, stride: 2, padding: 0, bias: false),
        ConvolutionCase(16, 32, size: 15, kernel: 1, stride: 2, padding: 0, bias: true),
        ConvolutionCase(16, 32, size: 15, kernel: 1, stride: 1, padding: 0, bias: true),
    ]

    @Test(arguments: cases) func forwardMatchesReference(_ c: ConvolutionCase) throws {
        let (input, weight, bias, _) = c.tensors(seed: 11)
        let output = try CPUDevice.shared.convolution2D(input, weight: weight, bias: bias, options: c.options)
        let expected = Reference.convolution2D(input, weight: weight, bias: bias, options: c.options)
        expectClose(output, expected, rtol: 1e-4, atol: 1e-5)
    }

    /// The ReLU post-op (inference): max(convolution, 0) from the same primitive.
    @Test(arguments: cases) func fusedReLUMatchesReference(_ c: ConvolutionCase) throws {
        let (input, weight, bias, _) = c.tensors(seed: 14)
        let output = try CPUDevice.shared.convolution2D(
            input, weight: weight, bias: bias, options: c.options, fusingReLU: true)
        let expected = Reference.convolution2D(input, weight: weight, bias: bias, options: c.options)
        #expect(expected.scalars.contains { $0 < 0 }, "the case must have negative outputs to clip")
        expectClose(output, expected.mapped { max($0, 0) }, rtol: 1e-4, atol: 1e-5)
    }

    @Test(arguments: cases) func backwardDataMatchesReference(_ c: ConvolutionCase) throws {
        let (_, weight, _, outputGradient) = c.tensors(seed: 12)
        let gradient = try CPUDevice.shared.convolution2DBackwardData(
            outputGradient, weight: weight, inputShape: c.inputShape, options: c.options)
        let expected = Reference.convolution2DBackwardData(
            outputGradient, weight: weight, inputShape: c.inputShape, options: c.options)
        expectClose(gradient, expected, rtol: 1e-4, atol: 1e-5)
    }

    @Test(arguments: cases) func backwardWeightsMatchesReference(_ c: ConvolutionCase) throws {
        let (input, _, _, outputGradient) = c.tensors(seed: 13)
        let gradients = try CPUDevice.shared.convolution2DBackwardWeights(
            outputGradient, input: input, weightShape: c.weightShape, options: c.options, withBias: c.bias)
        let expected = Reference.convolution2DBackwardWeights(
            outputGradient, input: input, weightShape: c.weightShape, options: c.options)
        expectClose(gradients.weight, expected.weight, rtol: 1e-4, atol: 1e-5)
        if c.bias {
            let bias = try #require(gradients.bias)
            expectClose(bias, expected.bias, rtol: 1e-4, atol: 1e-5)
        } else {
            #expect(gradients.bias == nil)
        }
    }

    @Test func referenceForwardMatchesHandComputedValues() {
        // 3×3 input 1…9, 2×2 kernel [[1, 2], [3, 4]]: the top-left output is 1·1 + 2·2 + 3·4 + 4·5 = 37.
        let input = Tensor(shape: [1, 1, 3, 3], scalars: (1...9).map(Float.init))
        let weight = Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4])
        let bias = Tensor(shape: [1], scalars: [0.5])
        #expect(Reference.convolution2D(input, weight: weight, bias: bias).scalars == [37.5, 47.5, 67.5, 77.5])
        // Padding 1, stride 2: windows centred on the corners see only the kernel taps inside the image.
        let padded = Reference.convolution2D(input, weight: weight, options: ConvolutionOptions(stride: 2, padding: 1))
        #expect(padded.shape == [1, 1, 2, 2])
        let expected: [Float] = [4 * 1, 3 * 2 + 4 * 3, 2 * 4 + 4 * 7, 1 * 5 + 2 * 6 + 3 * 8 + 4 * 9]
        #expect(padded.scalars == expected)
    }

    @Test func outputShapeRoundsDownAsPyTorch() {
        let stem = ConvolutionOptions(stride: 2, padding: 3)
        #expect(stem.outputShape(input: [1, 3, 120, 120], weight: [64, 3, 7, 7]) == [1, 64, 60, 60])
        #expect(ConvolutionOptions(stride: 2, padding: 1).outputExtent(input: 15, kernel: 3) == 8)
        #expect(ConvolutionOptions(stride: 2).outputExtent(input: 8, kernel: 1) == 4)
    }
}
