import Testing
import TestSupport

@testable import TensorCore

@Suite struct LinearTests {
    // Small, and large enough to cross OpenBLAS's register-block sizes with ragged edges.
    static let shapes: [(batch: Int, inFeatures: Int, outFeatures: Int)] = [(3, 5, 4), (33, 70, 17), (1, 1, 1)]

    @Test(arguments: shapes) func forwardAndGradientsMatchReference(
        _ shape: (batch: Int, inFeatures: Int, outFeatures: Int)
    ) {
        var generator = TestGenerator(seed: 41)
        let input = Tensor.randomUniform([shape.batch, shape.inFeatures], in: -1..<1, using: &generator)
        let weight = Tensor.randomUniform([shape.outFeatures, shape.inFeatures], in: -1..<1, using: &generator)
        let bias = Tensor.randomUniform([shape.outFeatures], in: -1..<1, using: &generator)
        let outputGradient = Tensor.randomUniform([shape.batch, shape.outFeatures], in: -1..<1, using: &generator)
        let device = CPUDevice.shared

        expectClose(
            device.linear(input, weight: weight, bias: bias), Reference.linear(input, weight: weight, bias: bias),
            rtol: 1e-4, atol: 1e-5)
        expectClose(
            device.linear(input, weight: weight), Reference.linear(input, weight: weight), rtol: 1e-4, atol: 1e-5)
        expectClose(
            device.linearBackwardData(outputGradient, weight: weight),
            Reference.linearBackwardData(outputGradient, weight: weight), rtol: 1e-4, atol: 1e-5)
        let gradients = device.linearBackwardWeights(outputGradient, input: input)
        let expected = Reference.linearBackwardWeights(outputGradient, input: input)
        expectClose(gradients.weight, expected.weight, rtol: 1e-4, atol: 1e-5)
        expectClose(gradients.bias, expected.bias, rtol: 1e-4, atol: 1e-5)
    }

    @Test(arguments: [false, true], [false, true]) func matmulTransposes(_ transposeA: Bool, _ transposeB: Bool) {
        var generator = TestGenerator(seed: 42)
        let (m, k, n) = (6, 9, 5)
        let a = Tensor.randomUniform(transposeA ? [k, m] : [m, k], in: -1..<1, using: &generator)
        let b = Tensor.randomUniform(transposeB ? [n, k] : [k, n], in: -1..<1, using: &generator)
        let product = CPUDevice.shared.matmul(a, b, transposeA: transposeA, transposeB: transposeB)
        #expect(product.shape == [m, n])
        expectClose(
            product, Reference.matmul(a, b, transposeA: transposeA, transposeB: transposeB), rtol: 1e-4, atol: 1e-5)
    }

    @Test func referenceMatmulMatchesHandComputedValues() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
        #expect(Reference.matmul(a, b).scalars == [58, 64, 139, 154])
        #expect(Reference.matmul(a, a, transposeB: true).scalars == [14, 32, 32, 77])
    }
}
