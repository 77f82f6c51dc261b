import Testing
import TestSupport

@testable import TensorCore

/// Residual addition, channel concatenation and splitting, and pixel shuffle.
@Suite struct TensorOperationTests {
    @Test func addMatchesReference() {
        var generator = TestGenerator(seed: 101)
        let a = Tensor.randomUniform([2, 4, 5, 5], in: -1..<1, using: &generator)
        let b = Tensor.randomUniform([2, 4, 5, 5], in: -1..<1, using: &generator)
        #expect(CPUDevice.shared.add(a, b) == Reference.add(a, b))
        #expect(CPUDevice.shared.add(Tensor.zeros([0, 3]), Tensor.zeros([0, 3])).shape == [0, 3])
    }

    @Test(arguments: [
        [[2, 3, 4, 4], [2, 5, 4, 4]], [[3, 2, 2, 5], [3, 1, 2, 5], [3, 4, 2, 5]], [[4, 6], [4, 2]],
    ])
    func concatenationAndSplitMatchReference(_ shapes: [[Int]]) {
        var generator = TestGenerator(seed: 102)
        let parts = shapes.map { Tensor.randomUniform($0, in: -1..<1, using: &generator) }
        let joined = CPUDevice.shared.concatenateChannels(parts)
        #expect(joined == Reference.concatenateChannels(parts))
        let sizes = shapes.map { $0[1] }
        #expect(CPUDevice.shared.splitChannels(joined, sizes: sizes) == parts)
        #expect(Reference.splitChannels(joined, sizes: sizes) == parts)
    }

    @Test(arguments: [([2, 8, 3, 4], 2), ([1, 9, 2, 3], 3), ([1, 2, 2, 2], 1)]) func pixelShuffleMatchesReference(
        _ shape: [Int], factor: Int
    ) {
        var generator = TestGenerator(seed: 103)
        let input = Tensor.randomUniform(shape, in: -1..<1, using: &generator)
        let output = CPUDevice.shared.pixelShuffle(input, factor: factor)
        #expect(output == Reference.pixelShuffle(input, factor: factor))
        #expect(CPUDevice.shared.pixelShuffleBackward(output, factor: factor) == input)
        #expect(Reference.pixelShuffleBackward(output, factor: factor) == input)
    }

    @Test func pixelShuffleMovesChannelsIntoBlocks() {
        // Channel c·4 + i·2 + j of one pixel lands at offset (i, j) of its 2×2 block.
        let input = Tensor(shape: [1, 4, 1, 1], scalars: [10, 11, 12, 13])
        #expect(
            CPUDevice.shared.pixelShuffle(input, factor: 2) == Tensor(shape: [1, 1, 2, 2], scalars: [10, 11, 12, 13]))
        let wide = Tensor(shape: [1, 4, 1, 2], scalars: [0, 1, 2, 3, 4, 5, 6, 7])
        #expect(CPUDevice.shared.pixelShuffle(wide, factor: 2).scalars == [0, 2, 1, 3, 4, 6, 5, 7])
    }

    /// Concatenation and pixel shuffle are linear (permutations), so a large step is exact.
    @Test func referenceGradientsMatchFiniteDifferences() {
        var generator = TestGenerator(seed: 104)
        let a = Tensor.randomUniform([2, 3, 2, 2], in: -1..<1, using: &generator)
        let b = Tensor.randomUniform([2, 2, 2, 2], in: -1..<1, using: &generator)
        let joinedGradient = Tensor.randomUniform([2, 5, 2, 2], in: -1..<1, using: &generator)
        let split = Reference.splitChannels(joinedGradient, sizes: [3, 2])
        expectClose(
            split[0],
            numericalGradient(
                of: { weightedSum(Reference.concatenateChannels([$0, b]), joinedGradient) }, at: a, epsilon: 0.5),
            rtol: 1e-4, atol: 1e-5)
        expectClose(
            split[1],
            numericalGradient(
                of: { weightedSum(Reference.concatenateChannels([a, $0]), joinedGradient) }, at: b, epsilon: 0.5),
            rtol: 1e-4, atol: 1e-5)

        let input = Tensor.randomUniform([1, 8, 2, 3], in: -1..<1, using: &generator)
        let shuffledGradient = Tensor.randomUniform([1, 2, 4, 6], in: -1..<1, using: &generator)
        expectClose(
            Reference.pixelShuffleBackward(shuffledGradient, factor: 2),
            numericalGradient(
                of: { weightedSum(Reference.pixelShuffle($0, factor: 2), shuffledGradient) }, at: input, epsilon: 0.5),
            rtol: 1e-4, atol: 1e-5)
    }

    @Test func addAndConcatenationMatchPyTorch() throws {
        let fixture = try GoldenFixture("add_concat")
        let device = CPUDevice.shared
        let sum = device.add(try fixture.tensor("add.a"), try fixture.tensor("add.b"))
        expectGolden(sum, try fixture.tensor("add.output"), .forward)
        // The gradient of a sum reaches both summands unchanged.
        let gradient = try fixture.tensor("add.grad_output")
        expectGolden(gradient, try fixture.tensor("add.grad_a"), .gradient)
        expectGolden(gradient, try fixture.tensor("add.grad_b"), .gradient)

        let (a, b) = (try fixture.tensor("concat.a"), try fixture.tensor("concat.b"))
        expectGolden(device.concatenateChannels([a, b]), try fixture.tensor("concat.output"), .forward)
        let parts = device.splitChannels(try fixture.tensor("concat.grad_output"), sizes: [a.shape[1], b.shape[1]])
        expectGolden(parts[0], try fixture.tensor("concat.grad_a"), .gradient)
        expectGolden(parts[1], try fixture.tensor("concat.grad_b"), .gradient)
    }

    @Test func pixelShuffleMatchesPyTorch() throws {
        let fixture = try GoldenFixture("pixel_shuffle")
        let factor = try #require(try fixture.caseConfig("r2")["upscale_factor"] as? Int)
        expectGolden(
            CPUDevice.shared.pixelShuffle(try fixture.tensor("r2.input"), factor: factor),
            try fixture.tensor("r2.output"), .forward)
        expectGolden(
            CPUDevice.shared.pixelShuffleBackward(try fixture.tensor("r2.grad_output"), factor: factor),
            try fixture.tensor("r2.grad_input"), .gradient)
    }
}
