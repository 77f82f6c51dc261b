import Testing
import TestSupport

@testable import TensorCore

/// One pooling configuration: input shape, square kernel, stride, padding.
struct PoolingCase: Sendable, CustomTestStringConvertible {
    let inputShape: [Int]
    let kernel: Int
    let stride: Int
    let padding: Int

    init(_ inputShape: [Int], kernel: Int, stride: Int, padding: Int) {
        (self.inputShape, self.kernel, self.stride, self.padding) = (inputShape, kernel, stride, padding)
    }

    var outputShape: [Int] {
        let extent = { (input: Int) in (input + 2 * padding - kernel) / stride + 1 }
        return [inputShape[0], inputShape[1], extent(inputShape[2]), extent(inputShape[3])]
    }

    var testDescription: String { "\(inputShape) k\(kernel) s\(stride) p\(padding)" }

    /// Distinct values 0.1 apart in random order, so no window has a tie and a step under 0.05 never changes a
    /// maximum; and an output gradient in [−1, 1).
    func tensors(seed: UInt64) -> (input: Tensor, outputGradient: Tensor) {
        var generator = TestGenerator(seed: seed)
        let count = inputShape.reduce(1, *)
        let values = (0..<count).map { Float($0) * 0.1 - Float(count) * 0.05 }.shuffled(using: &generator)
        return (
            Tensor(shape: inputShape, scalars: values),
            Tensor.randomUniform(outputShape, in: -1..<1, using: &generator)
        )
    }
}

@Suite struct PoolingTests {
    static let cases: [PoolingCase] = [
        // ResNet's stem pooling, on odd sizes (9 → 5, 15 → 8).
        PoolingCase([2, 3, 9, 9], kernel: 3, stride: 2, padding: 1),
        PoolingCase([1, 4, 15, 15], kernel: 3, stride: 2, padding: 1),
        // 2×2 stride 2, on an odd non-square input: oneDNN's right padding is −1.
        PoolingCase([2, 2, 9, 7], kernel: 2, stride: 2, padding: 0),
        PoolingCase([1, 16, 7, 7], kernel: 3, stride: 1, padding: 1),
        PoolingCase([1, 2, 6, 5], kernel: 2, stride: 1, padding: 0),
        PoolingCase([1, 2, 5, 6], kernel: 5, stride: 3, padding: 2),
        PoolingCase([1, 3, 8, 8], kernel: 1, stride: 2, padding: 0),
    ]

    @Test(arguments: cases) func maxPoolMatchesReference(_ c: PoolingCase) throws {
        let (input, outputGradient) = c.tensors(seed: 81)
        let (output, indices) = try CPUDevice.shared.maxPool2D(
            input, kernel: c.kernel, stride: c.stride, padding: c.padding)
        #expect(output == Reference.maxPool2D(input, kernel: c.kernel, stride: c.stride, padding: c.padding))
        #expect(indices.inputShape == c.inputShape && indices.outputShape == c.outputShape)
        let gradient = try CPUDevice.shared.maxPool2DBackward(
            outputGradient, indices: indices, inputShape: c.inputShape)
        let expected = Reference.maxPool2DBackward(
            outputGradient, input: input, kernel: c.kernel, stride: c.stride, padding: c.padding)
        expectClose(gradient, expected, rtol: 1e-6, atol: 1e-6)
    }

    @Test(arguments: cases, [true, false]) func averagePoolMatchesReference(
        _ c: PoolingCase, countIncludePadding: Bool
    ) throws {
        let (input, outputGradient) = c.tensors(seed: 82)
        let device = CPUDevice.shared
        let output = try device.averagePool2D(
            input, kernel: c.kernel, stride: c.stride, padding: c.padding, countIncludePadding: countIncludePadding)
        let expected = Reference.averagePool2D(
            input, kernel: c.kernel, stride: c.stride, padding: c.padding, countIncludePadding: countIncludePadding)
        expectClose(output, expected, rtol: 1e-5, atol: 1e-5)
        let gradient = try device.averagePool2DBackward(
            outputGradient, inputShape: c.inputShape, kernel: c.kernel, stride: c.stride, padding: c.padding,
            countIncludePadding: countIncludePadding)
        let expectedGradient = Reference.averagePool2DBackward(
            outputGradient, inputShape: c.inputShape, kernel: c.kernel, stride: c.stride, padding: c.padding,
            countIncludePadding: countIncludePadding)
        expectClose(gradient, expectedGradient, rtol: 1e-5, atol: 1e-6)
    }

    @Test(arguments: [[2, 3, 4, 5], [2, 8, 1, 1], [1, 2, 15, 15]]) func globalPoolsMatchReference(_ shape: [Int]) {
        let (input, _) = PoolingCase(shape, kernel: 1, stride: 1, padding: 0).tensors(seed: 83)
        var generator = TestGenerator(seed: 84)
        let outputGradient = Tensor.randomUniform([shape[0], shape[1], 1, 1], in: -1..<1, using: &generator)
        let device = CPUDevice.shared

        expectClose(device.globalAveragePool(input), Reference.globalAveragePool(input), rtol: 1e-5, atol: 1e-6)
        expectClose(
            device.globalAveragePoolBackward(outputGradient, inputShape: shape),
            Reference.globalAveragePoolBackward(outputGradient, inputShape: shape), rtol: 1e-6, atol: 0)
        let (maximum, argmax) = device.globalMaxPool(input)
        let expected = Reference.globalMaxPool(input)
        #expect(maximum == expected.output && argmax == expected.argmax)
        #expect(
            device.globalMaxPoolBackward(outputGradient, argmax: argmax, inputShape: shape)
                == Reference.globalMaxPoolBackward(outputGradient, argmax: expected.argmax, inputShape: shape))
    }

    @Test func globalMaxPoolTakesTheFirstOfTiesAndPropagatesNaN() {
        let input = Tensor(shape: [1, 2, 2, 2], scalars: [1, 3, 3, 2, 0, .nan, 5, 1])
        let (output, argmax) = CPUDevice.shared.globalMaxPool(input)
        #expect(argmax == [1, 1])
        #expect(output[0, 0, 0, 0] == 3 && output[0, 1, 0, 0].isNaN)
    }

    /// Pooling is piecewise linear: the 0.1-spaced inputs keep every step of 0.025 inside one linear piece.
    @Test(arguments: cases.prefix(3)) func referenceGradientsMatchFiniteDifferences(_ c: PoolingCase) {
        let (input, outputGradient) = c.tensors(seed: 85)
        let (kernel, stride, padding) = (c.kernel, c.stride, c.padding)
        expectClose(
            Reference.maxPool2DBackward(outputGradient, input: input, kernel: kernel, stride: stride, padding: padding),
            numericalGradient(
                of: {
                    weightedSum(
                        Reference.maxPool2D($0, kernel: kernel, stride: stride, padding: padding), outputGradient)
                },
                at: input, epsilon: 0.025),
            rtol: 1e-3, atol: 1e-4)
        for includePadding in [true, false] {
            let loss = { (input: Tensor) in
                weightedSum(
                    Reference.averagePool2D(
                        input, kernel: kernel, stride: stride, padding: padding, countIncludePadding: includePadding),
                    outputGradient)
            }
            expectClose(
                Reference.averagePool2DBackward(
                    outputGradient, inputShape: c.inputShape, kernel: kernel, stride: stride, padding: padding,
                    countIncludePadding: includePadding),
                numericalGradient(of: loss, at: input, epsilon: 0.025), rtol: 1e-3, atol: 1e-4)
        }
    }

    @Test func referenceGlobalGradientsMatchFiniteDifferences() {
        let shape = [2, 3, 3, 4]
        let (input, _) = PoolingCase(shape, kernel: 1, stride: 1, padding: 0).tensors(seed: 86)
        var generator = TestGenerator(seed: 87)
        let outputGradient = Tensor.randomUniform([2, 3, 1, 1], in: -1..<1, using: &generator)
        expectClose(
            Reference.globalAveragePoolBackward(outputGradient, inputShape: shape),
            numericalGradient(
                of: { weightedSum(Reference.globalAveragePool($0), outputGradient) }, at: input, epsilon: 0.025),
            rtol: 1e-3, atol: 1e-4)
        expectClose(
            Reference.globalMaxPoolBackward(
                outputGradient, argmax: Reference.globalMaxPool(input).argmax, inputShape: shape),
            numericalGradient(
                of: { weightedSum(Reference.globalMaxPool($0).output, outputGradient) }, at: input, epsilon: 0.025),
            rtol: 1e-3, atol: 1e-4)
    }

    @Test(arguments: ["max_k3s2p1", "max_k3s2p1_15", "max_k2s2p0"]) func maxPoolMatchesPyTorch(_ name: String) throws {
        let fixture = try GoldenFixture("pooling")
        let (kernel, stride, padding) = try Self.geometry(fixture, name)
        let input = try fixture.tensor("\(name).input")
        let (output, indices) = try CPUDevice.shared.maxPool2D(input, kernel: kernel, stride: stride, padding: padding)
        expectGolden(output, try fixture.tensor("\(name).output"), .forward)
        let gradient = try CPUDevice.shared.maxPool2DBackward(
            fixture.tensor("\(name).grad_output"), indices: indices, inputShape: input.shape)
        expectGolden(gradient, try fixture.tensor("\(name).grad_input"), .gradient)
    }

    @Test(arguments: ["avg_k2s2p0", "avg_k3s2p1", "avg_k3s2p1_excl", "avg_k2s1p0"])
    func averagePoolMatchesPyTorch(_ name: String) throws {
        let fixture = try GoldenFixture("pooling")
        let (kernel, stride, padding) = try Self.geometry(fixture, name)
        let config = try fixture.caseConfig(name)
        let includePadding = try #require(config["count_include_pad"] as? Bool)
        let input = try fixture.tensor("\(name).input")
        let output = try CPUDevice.shared.averagePool2D(
            input, kernel: kernel, stride: stride, padding: padding, countIncludePadding: includePadding)
        expectGolden(output, try fixture.tensor("\(name).output"), .forward)
        let gradient = try CPUDevice.shared.averagePool2DBackward(
            fixture.tensor("\(name).grad_output"), inputShape: input.shape, kernel: kernel, stride: stride,
            padding: padding, countIncludePadding: includePadding)
        expectGolden(gradient, try fixture.tensor("\(name).grad_input"), .gradient)
    }

    @Test func adaptivePoolsMatchPyTorch() throws {
        let fixture = try GoldenFixture("pooling")
        let device = CPUDevice.shared

        let averageInput = try fixture.tensor("adaptive_avg_1.input")
        expectGolden(device.globalAveragePool(averageInput), try fixture.tensor("adaptive_avg_1.output"), .forward)
        expectGolden(
            device.globalAveragePoolBackward(
                try fixture.tensor("adaptive_avg_1.grad_output"), inputShape: averageInput.shape),
            try fixture.tensor("adaptive_avg_1.grad_input"), .gradient)

        let maxInput = try fixture.tensor("adaptive_max_1.input")
        let (maximum, argmax) = device.globalMaxPool(maxInput)
        expectGolden(maximum, try fixture.tensor("adaptive_max_1.output"), .forward)
        expectGolden(
            device.globalMaxPoolBackward(
                try fixture.tensor("adaptive_max_1.grad_output"), argmax: argmax, inputShape: maxInput.shape),
            try fixture.tensor("adaptive_max_1.grad_input"), .gradient)

        // fastai's AdaptiveConcatPool2d: cat([max, avg], 1), max first.
        let input = try fixture.tensor("adaptive_concat_1.input")
        let pooledMax = device.globalMaxPool(input)
        let output = device.concatenateChannels([pooledMax.output, device.globalAveragePool(input)])
        expectGolden(output, try fixture.tensor("adaptive_concat_1.output"), .forward)
        let parts = device.splitChannels(
            try fixture.tensor("adaptive_concat_1.grad_output"), sizes: [input.shape[1], input.shape[1]])
        let gradient = device.add(
            device.globalMaxPoolBackward(parts[0], argmax: pooledMax.argmax, inputShape: input.shape),
            device.globalAveragePoolBackward(parts[1], inputShape: input.shape))
        expectGolden(gradient, try fixture.tensor("adaptive_concat_1.grad_input"), .gradient)
    }

    @Test func runsOnAnOptimisedKernel() throws {
        let key = PoolingKey(
            algorithm: .max, backward: true, inputShape: [2, 64, 60, 60], layout: .rowMajor, kernel: 3, stride: 2,
            padding: 1)
        let implementation = try CPUDevice.shared.implementation(of: .pooling(key))
        #expect(!implementation.hasPrefix("ref"), "oneDNN chose \(implementation)")
    }

    private static func geometry(_ fixture: GoldenFixture, _ name: String) throws -> (Int, Int, Int) {
        let config = try fixture.caseConfig(name)
        return (
            try #require(config["kernel_size"] as? Int), try #require(config["stride"] as? Int),
            try #require(config["padding"] as? Int)
        )
    }
}
