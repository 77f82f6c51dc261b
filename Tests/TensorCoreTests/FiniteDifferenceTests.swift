import Testing
import TestSupport

@testable import TensorCore

/// The reference backward passes against central differences of the reference forward passes.
///
/// Convolution and linear layers are linear in each argument and ReLU is piecewise linear, so a central difference
/// is exact up to rounding for any step that does not cross ReLU's kink. A large step (0.5) therefore keeps the
/// Float rounding of the forward pass (~1e-7 relative) far below the tolerance while still testing every element.
@Suite struct FiniteDifferenceTests {
    static let convolutionCases: [ConvolutionCase] = [
        ConvolutionCase(2, 3, size: 5, kernel: 3, stride: 1, padding: 1, bias: true),
        ConvolutionCase(2, 3, size: 5, kernel: 3, stride: 2, padding: 0, bias: true),
        ConvolutionCase(2, 2, size: 6, kernel: 2, stride: 2, padding: 1, bias: true, batch: 1),
    ]

    @Test(arguments: convolutionCases) func convolutionGradients(_ c: ConvolutionCase) {
        let (input, weight, bias, outputGradient) = c.tensors(seed: 21)
        func loss(_ input: Tensor, _ weight: Tensor, _ bias: Tensor?) -> Double {
            weightedSum(Reference.convolution2D(input, weight: weight, bias: bias, options: c.options), outputGradient)
        }
        let inputGradient = Reference.convolution2DBackwardData(
            outputGradient, weight: weight, inputShape: c.inputShape, options: c.options)
        let parameterGradients = Reference.convolution2DBackwardWeights(
            outputGradient, input: input, weightShape: c.weightShape, options: c.options)

        expectClose(
            inputGradient, numericalGradient(of: { loss($0, weight, bias) }, at: input, epsilon: 0.5),
            rtol: 1e-4, atol: 1e-5)
        expectClose(
            parameterGradients.weight, numericalGradient(of: { loss(input, $0, bias) }, at: weight, epsilon: 0.5),
            rtol: 1e-4, atol: 1e-5)
        if let bias {
            expectClose(
                parameterGradients.bias, numericalGradient(of: { loss(input, weight, $0) }, at: bias, epsilon: 0.5),
                rtol: 1e-4, atol: 1e-5)
        }
    }

    @Test func linearGradients() {
        var generator = TestGenerator(seed: 22)
        let input = Tensor.randomUniform([3, 5], in: -1..<1, using: &generator)
        let weight = Tensor.randomUniform([4, 5], in: -1..<1, using: &generator)
        let bias = Tensor.randomUniform([4], in: -1..<1, using: &generator)
        let outputGradient = Tensor.randomUniform([3, 4], in: -1..<1, using: &generator)
        func loss(_ input: Tensor, _ weight: Tensor, _ bias: Tensor) -> Double {
            weightedSum(Reference.linear(input, weight: weight, bias: bias), outputGradient)
        }
        let parameterGradients = Reference.linearBackwardWeights(outputGradient, input: input)

        expectClose(
            Reference.linearBackwardData(outputGradient, weight: weight),
            numericalGradient(of: { loss($0, weight, bias) }, at: input, epsilon: 0.5), rtol: 1e-4, atol: 1e-5)
        expectClose(
            parameterGradients.weight, numericalGradient(of: { loss(input, $0, bias) }, at: weight, epsilon: 0.5),
            rtol: 1e-4, atol: 1e-5)
        expectClose(
            parameterGradients.bias, numericalGradient(of: { loss(input, weight, $0) }, at: bias, epsilon: 0.5),
            rtol: 1e-4, atol: 1e-5)
    }

    @Test func reluGradient() {
        // Keep every input at least 0.25 from the kink so a step of 0.125 never crosses it.
        var generator = TestGenerator(seed: 23)
        let input = Tensor.randomUniform([2, 3, 4, 4], in: -1..<1, using: &generator).mapped {
            $0 < 0 ? $0 - 0.25 : $0 + 0.25
        }
        let outputGradient = Tensor.randomUniform(input.shape, in: -1..<1, using: &generator)
        let numerical = numericalGradient(
            of: { weightedSum(Reference.relu($0), outputGradient) }, at: input, epsilon: 0.125)
        expectClose(Reference.reluBackward(outputGradient, input: input), numerical, rtol: 1e-4, atol: 1e-5)
    }
}
