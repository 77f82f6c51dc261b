import Testing
import TestSupport

@testable import TensorCore

@Suite struct ReLUTests {
    @Test func forwardAndBackwardMatchReferenceExactly() throws {
        var generator = TestGenerator(seed: 31)
        var input = Tensor.randomUniform([2, 3, 5, 7], in: -1..<1, using: &generator)
        input[0, 0, 0, 0] = 0
        input[1, 2, 4, 6] = -0.0
        let outputGradient = Tensor.randomUniform(input.shape, in: -1..<1, using: &generator)

        let output = try CPUDevice.shared.relu(input)
        #expect(output.shape == input.shape)
        #expect(output == Reference.relu(input))
        let gradient = try CPUDevice.shared.reluBackward(outputGradient, input: input)
        #expect(gradient == Reference.reluBackward(outputGradient, input: input))
        // At exactly 0 the gradient is 0, as in PyTorch.
        #expect(gradient[0, 0, 0, 0] == 0 && gradient[1, 2, 4, 6] == 0)
    }

    @Test func handlesAnyRankAndEmptyTensors() throws {
        let vector = Tensor(shape: [4], scalars: [-2, -0.5, 0.5, 2])
        #expect(try CPUDevice.shared.relu(vector).scalars == [0, 0, 0.5, 2])
        #expect(try CPUDevice.shared.relu(Tensor(shape: [], scalars: [3])).scalars == [3])
        #expect(try CPUDevice.shared.relu(Tensor.zeros([0, 5])).shape == [0, 5])
    }
}
