import Foundation
import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

/// `BatchNorm2d` and `BatchNorm1d` against PyTorch: outputs, gradients, and the running statistics after the step
/// (unbiased variance, momentum 0.1, `num_batches_tracked` 3 → 4 in training and unchanged in inference).
@Suite(.enabled(if: Golden.available, "golden fixtures absent"))
struct NormalizationGoldenTests {
    @Test(arguments: ["bn2d_train", "bn2d_eval", "bn2d_train_c32", "bn1d_train", "bn1d_eval"])
    func batchNormMatchesPyTorch(_ name: String) throws {
        let golden = try Golden("batch_norm")
        let config = golden.caseConfig(name)
        let training = try #require(config["training"] as? Bool)
        let features = try #require(config["num_features"] as? Int)
        let layer: BatchNorm = name.hasPrefix("bn2d") ? BatchNorm2d(features) : BatchNorm1d(features)
        let keys = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
        try layer.load(
            stateDict: Dictionary(uniqueKeysWithValues: keys.map { ($0, try golden.tensor("\(name).\($0)")) }))
        layer.train(training)

        let input = Variable(try golden.tensor("\(name).input"), requiresGrad: true)
        let output = try layer(input)
        try output.backward(seed: golden.tensor("\(name).grad_output"))

        let label = "batch_norm.\(name)"
        expectClose(output.value, try golden.tensor("\(name).output"), rtol: forwardTolerance, "\(label).output")
        expectClose(
            try #require(input.grad), try golden.tensor("\(name).grad_input"), rtol: backwardTolerance,
            "\(label).grad_input")
        expectClose(
            try #require(layer.weight.grad), try golden.tensor("\(name).grad_weight"), rtol: backwardTolerance,
            "\(label).grad_weight")
        expectClose(
            try #require(layer.bias.grad), try golden.tensor("\(name).grad_bias"), rtol: backwardTolerance,
            "\(label).grad_bias")
        expectClose(
            layer.runningMean.value, try golden.tensor("\(name).running_mean_after"), rtol: forwardTolerance,
            "\(label).running_mean_after")
        expectClose(
            layer.runningVariance.value, try golden.tensor("\(name).running_var_after"), rtol: forwardTolerance,
            "\(label).running_var_after")
        #expect(layer.batchesTracked.value == (try golden.tensor("\(name).num_batches_tracked_after")))
        #expect(layer.batchesTracked.value.scalars == [training ? 4 : 3])

        if training {
            let (_, mean, variance) = try batchNormTraining(
                input.detached(), scale: layer.weight, shift: layer.bias, epsilon: layer.epsilon)
            expectClose(mean, try golden.tensor("\(name).batch_mean"), rtol: forwardTolerance, "\(label).batch_mean")
            expectClose(
                variance, try golden.tensor("\(name).batch_var_biased"), rtol: forwardTolerance,
                "\(label).batch_var_biased")
        }
    }

    @Test func inferenceLeavesTheRunningStatisticsAlone() throws {
        let layer = BatchNorm2d(3)
        layer.eval()
        var generator = SeededGenerator(seed: 5)
        _ = try layer(Variable(.randomNormal([2, 3, 4, 4], using: &generator)))
        #expect(layer.runningMean.value == .zeros([3]))
        #expect(layer.batchesTracked.value.scalars == [0])
    }
}
