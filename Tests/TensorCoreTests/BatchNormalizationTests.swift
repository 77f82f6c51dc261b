import Testing
import TestSupport

@testable import TensorCore

@Suite struct BatchNormalizationTests {
    // 4-D with a few channels, with 32 channels (oneDNN vectorises across channels), BatchNorm1d's [batch, channels],
    // and [batch, channels, 1, 1] as a 1-d batch norm written as 4-D.
    static let shapes: [[Int]] = [[2, 3, 4, 5], [3, 32, 3, 3], [5, 7], [4, 6, 1, 1]]
    static let epsilon: Float = 1e-5

    /// Input with a per-channel offset and spread, scale around 1, shift and output gradient in [−1, 1).
    static func tensors(_ shape: [Int], seed: UInt64) -> (input: Tensor, scale: Tensor, shift: Tensor, gradient: Tensor)
    {
        var generator = TestGenerator(seed: seed)
        let channels = [shape[1]]
        return (
            Tensor.randomNormal(shape, mean: 0.5, standardDeviation: 2, using: &generator),
            Tensor.randomUniform(channels, in: 0.5..<1.5, using: &generator),
            Tensor.randomUniform(channels, in: -1..<1, using: &generator),
            Tensor.randomUniform(shape, in: -1..<1, using: &generator)
        )
    }

    @Test(arguments: shapes) func trainingMatchesReference(_ shape: [Int]) throws {
        let (input, scale, shift, _) = Self.tensors(shape, seed: 71)
        let result = try CPUDevice.shared.batchNormTraining(input, scale: scale, shift: shift, epsilon: Self.epsilon)
        let expected = Reference.batchNormTraining(input, scale: scale, shift: shift, epsilon: Self.epsilon)
        expectClose(result.output, expected.output, rtol: 1e-4, atol: 1e-5)
        expectClose(result.mean, expected.mean, rtol: 1e-4, atol: 1e-5)
        expectClose(result.variance, expected.variance, rtol: 1e-4, atol: 1e-5)
    }

    @Test(arguments: shapes) func inferenceMatchesReference(_ shape: [Int]) throws {
        let (input, scale, shift, _) = Self.tensors(shape, seed: 72)
        var generator = TestGenerator(seed: 73)
        let mean = Tensor.randomUniform([shape[1]], in: -1..<1, using: &generator)
        let variance = Tensor.randomUniform([shape[1]], in: 0.5..<4, using: &generator)
        let output = try CPUDevice.shared.batchNormInference(
            input, scale: scale, shift: shift, mean: mean, variance: variance, epsilon: Self.epsilon)
        let expected = Reference.batchNormInference(
            input, scale: scale, shift: shift, mean: mean, variance: variance, epsilon: Self.epsilon)
        expectClose(output, expected, rtol: 1e-4, atol: 1e-5)
    }

    @Test(arguments: shapes, [false, true]) func backwardMatchesReference(_ shape: [Int], runningStatistics: Bool)
        throws
    {
        let (input, scale, shift, gradient) = Self.tensors(shape, seed: 74)
        let (_, mean, variance) = Reference.batchNormTraining(input, scale: scale, shift: shift, epsilon: Self.epsilon)
        let result = try CPUDevice.shared.batchNormBackward(
            gradient, input: input, scale: scale, mean: mean, variance: variance, epsilon: Self.epsilon,
            usesRunningStatistics: runningStatistics)
        let expected = Reference.batchNormBackward(
            gradient, input: input, scale: scale, mean: mean, variance: variance, epsilon: Self.epsilon,
            usesRunningStatistics: runningStatistics)
        expectClose(result.input, expected.input, rtol: 1e-4, atol: 1e-5)
        expectClose(result.scale, expected.scale, rtol: 1e-4, atol: 1e-5)
        expectClose(result.shift, expected.shift, rtol: 1e-4, atol: 1e-5)
    }

    /// Training-mode batch norm is not linear in its input: a small step (5e-3) keeps the truncation error
    /// (step² · f‴ / 6) and the Float rounding of the outputs (divided by the step) both below 1e-4 of the gradient.
    /// It is linear in scale and shift, and in the input once the statistics are constants, so those take 0.5.
    @Test(arguments: [[2, 3, 2, 2], [6, 2]]) func referenceGradientsMatchFiniteDifferences(_ shape: [Int]) {
        let (input, scale, shift, gradient) = Self.tensors(shape, seed: 75)
        func loss(_ input: Tensor, _ scale: Tensor, _ shift: Tensor) -> Double {
            weightedSum(
                Reference.batchNormTraining(input, scale: scale, shift: shift, epsilon: Self.epsilon).output, gradient)
        }
        let (_, mean, variance) = Reference.batchNormTraining(input, scale: scale, shift: shift, epsilon: Self.epsilon)
        let analytic = Reference.batchNormBackward(
            gradient, input: input, scale: scale, mean: mean, variance: variance, epsilon: Self.epsilon)
        expectGradient(analytic.input, numericalGradient(of: { loss($0, scale, shift) }, at: input, epsilon: 5e-3))
        expectGradient(analytic.scale, numericalGradient(of: { loss(input, $0, shift) }, at: scale, epsilon: 0.5))
        expectGradient(analytic.shift, numericalGradient(of: { loss(input, scale, $0) }, at: shift, epsilon: 0.5))

        func inferenceLoss(_ input: Tensor) -> Double {
            weightedSum(
                Reference.batchNormInference(
                    input, scale: scale, shift: shift, mean: mean, variance: variance, epsilon: Self.epsilon),
                gradient)
        }
        let frozen = Reference.batchNormBackward(
            gradient, input: input, scale: scale, mean: mean, variance: variance, epsilon: Self.epsilon,
            usesRunningStatistics: true)
        expectGradient(frozen.input, numericalGradient(of: inferenceLoss, at: input, epsilon: 0.5))
        expectClose(frozen.scale, analytic.scale, rtol: 1e-6, atol: 0)
    }

    @Test(arguments: ["bn2d_train", "bn2d_train_c32", "bn1d_train"]) func trainingMatchesPyTorch(_ name: String) throws
    {
        let fixture = try GoldenFixture("batch_norm")
        let config = try fixture.caseConfig(name)
        let epsilon = Float(try #require(config["eps"] as? Double))
        let input = try fixture.tensor("\(name).input")
        let scale = try fixture.tensor("\(name).weight")
        let forward = try CPUDevice.shared.batchNormTraining(
            input, scale: scale, shift: fixture.tensor("\(name).bias"), epsilon: epsilon)
        expectGolden(forward.output, try fixture.tensor("\(name).output"), .forward)
        expectGolden(forward.mean, try fixture.tensor("\(name).batch_mean"), .forward)
        expectGolden(forward.variance, try fixture.tensor("\(name).batch_var_biased"), .forward)

        let gradients = try CPUDevice.shared.batchNormBackward(
            fixture.tensor("\(name).grad_output"), input: input, scale: scale, mean: forward.mean,
            variance: forward.variance, epsilon: epsilon)
        expectGolden(gradients.input, try fixture.tensor("\(name).grad_input"), .gradient)
        expectGolden(gradients.scale, try fixture.tensor("\(name).grad_weight"), .gradient)
        expectGolden(gradients.shift, try fixture.tensor("\(name).grad_bias"), .gradient)

        // The buffers are I64 scalars, as in a torchvision state_dict.
        let before = try fixture.integers("\(name).num_batches_tracked")
        let after = try fixture.integers("\(name).num_batches_tracked_after")
        #expect(before.shape == [] && after.values.map { $0 - 1 } == before.values)
    }

    @Test(arguments: ["bn2d_eval", "bn1d_eval"]) func inferenceMatchesPyTorch(_ name: String) throws {
        let fixture = try GoldenFixture("batch_norm")
        let epsilon = Float(try #require(try fixture.caseConfig(name)["eps"] as? Double))
        let input = try fixture.tensor("\(name).input")
        let scale = try fixture.tensor("\(name).weight")
        let mean = try fixture.tensor("\(name).running_mean")
        let variance = try fixture.tensor("\(name).running_var")
        let output = try CPUDevice.shared.batchNormInference(
            input, scale: scale, shift: fixture.tensor("\(name).bias"), mean: mean, variance: variance,
            epsilon: epsilon)
        expectGolden(output, try fixture.tensor("\(name).output"), .forward)

        let gradients = try CPUDevice.shared.batchNormBackward(
            fixture.tensor("\(name).grad_output"), input: input, scale: scale, mean: mean, variance: variance,
            epsilon: epsilon, usesRunningStatistics: true)
        expectGolden(gradients.input, try fixture.tensor("\(name).grad_input"), .gradient)
        expectGolden(gradients.scale, try fixture.tensor("\(name).grad_weight"), .gradient)
        expectGolden(gradients.shift, try fixture.tensor("\(name).grad_bias"), .gradient)
    }

    @Test func runsOnAnOptimisedKernel() throws {
        let key = BatchNormalizationKey(
            pass: .backward, shape: [4, 32, 15, 15], layout: .rowMajor, epsilon: 1e-5)
        let implementation = try CPUDevice.shared.implementation(of: .batchNormalization(key))
        #expect(!implementation.hasPrefix("ref"), "oneDNN chose \(implementation)")
    }

    private func expectGradient(
        _ actual: Tensor, _ numerical: Tensor, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let scale = numerical.scalars.reduce(Float(0)) { max($0, abs($1)) }
        expectClose(actual, numerical, rtol: 1e-3, atol: 1e-3 * scale, sourceLocation: sourceLocation)
    }
}
