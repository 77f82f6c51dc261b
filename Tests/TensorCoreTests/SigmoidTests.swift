import Testing
import TestSupport

@testable import TensorCore

@Suite struct SigmoidTests {
    @Test func forwardAndBackwardMatchReference() throws {
        var generator = TestGenerator(seed: 111)
        var input = Tensor.randomUniform([2, 3, 5, 7], in: -8..<8, using: &generator)
        // Saturated logits, where 1 − y rounds to 0 in Float and y underflows towards 0.
        input[0, 0, 0, 0] = 30
        input[0, 0, 0, 1] = -30
        input[0, 0, 0, 2] = 0
        let outputGradient = Tensor.randomUniform(input.shape, in: -1..<1, using: &generator)

        let output = try CPUDevice.shared.sigmoid(input)
        expectClose(output, Reference.sigmoid(input), rtol: 1e-5, atol: 1e-7)
        expectClose(
            try CPUDevice.shared.sigmoidBackward(outputGradient, output: output),
            Reference.sigmoidBackward(outputGradient, output: output), rtol: 1e-5, atol: 1e-7)
        #expect(try CPUDevice.shared.sigmoid(Tensor.zeros([0, 4])).shape == [0, 4])
    }

    @Test func referenceGradientMatchesFiniteDifferences() {
        // Sigmoid's third derivative is at most 1/8, so a step of 1e-2 leaves a truncation error under 3e-6.
        var generator = TestGenerator(seed: 112)
        let input = Tensor.randomUniform([3, 7], in: -5..<5, using: &generator)
        let outputGradient = Tensor.randomUniform(input.shape, in: -1..<1, using: &generator)
        let numerical = numericalGradient(
            of: { weightedSum(Reference.sigmoid($0), outputGradient) }, at: input, epsilon: 1e-2)
        let analytic = Reference.sigmoidBackward(outputGradient, output: Reference.sigmoid(input))
        expectClose(analytic, numerical, rtol: 1e-3, atol: 1e-4)
    }

    @Test func activationsMatchPyTorch() throws {
        let fixture = try GoldenFixture("activation")
        let device = CPUDevice.shared

        let output = try device.sigmoid(fixture.tensor("sigmoid.input"))
        expectGolden(output, try fixture.tensor("sigmoid.output"), .forward)
        expectGolden(
            try device.sigmoidBackward(fixture.tensor("sigmoid.grad_output"), output: output),
            try fixture.tensor("sigmoid.grad_input"), .gradient)

        let input = try fixture.tensor("relu.input")
        expectGolden(try device.relu(input), try fixture.tensor("relu.output"), .forward)
        expectGolden(
            try device.reluBackward(fixture.tensor("relu.grad_output"), input: input),
            try fixture.tensor("relu.grad_input"), .gradient)
    }
}
