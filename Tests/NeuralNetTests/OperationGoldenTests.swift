import Foundation
import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

/// The differentiable operations against PyTorch (`Tests/Fixtures/golden`, see its README): forward values within
/// rtol 1e-4 and every gradient, computed by `backward(seed: grad_output)`, within rtol 1e-3.
@Suite(.enabled(if: Golden.available, "golden fixtures absent"))
struct OperationGoldenTests {
    static let convolutionCases = [
        "k1s1p0_bias", "k1s1p0_nobias", "k1s2p0_nobias", "k3s1p1_bias", "k3s1p1_nobias", "k3s1p1_c16_nobias",
        "k3s2p1_bias", "k3s2p1_nobias", "k7s2p3_bias", "k7s2p3_nobias",
    ]

    @Test(arguments: convolutionCases) func conv2dMatchesPyTorch(_ name: String) throws {
        let golden = try Golden("conv2d")
        #expect(golden.caseNames.contains(name))
        let config = golden.caseConfig(name)
        let stride = try #require((config["stride"] as? [Int])?.first)
        let padding = try #require((config["padding"] as? [Int])?.first)
        let input = Variable(try golden.tensor("\(name).input"), requiresGrad: true)
        let weight = Variable(try golden.tensor("\(name).weight"), requiresGrad: true)
        let bias = golden.optionalTensor("\(name).bias").map { Variable($0, requiresGrad: true) }
        let output = try conv2d(
            input, weight: weight, bias: bias, options: ConvolutionOptions(stride: stride, padding: padding))
        try output.backward(seed: golden.tensor("\(name).grad_output"))

        expectClose(output.value, try golden.tensor("\(name).output"), rtol: forwardTolerance, "conv2d.\(name).output")
        expectClose(
            try #require(input.grad), try golden.tensor("\(name).grad_input"), rtol: backwardTolerance,
            "conv2d.\(name).grad_input")
        expectClose(
            try #require(weight.grad), try golden.tensor("\(name).grad_weight"), rtol: backwardTolerance,
            "conv2d.\(name).grad_weight")
        if let bias {
            expectClose(
                try #require(bias.grad), try golden.tensor("\(name).grad_bias"), rtol: backwardTolerance,
                "conv2d.\(name).grad_bias")
        }
    }

    @Test(arguments: ["bias", "nobias"]) func linearMatchesPyTorch(_ name: String) throws {
        let golden = try Golden("linear")
        let input = Variable(try golden.tensor("\(name).input"), requiresGrad: true)
        let weight = Variable(try golden.tensor("\(name).weight"), requiresGrad: true)
        let bias = golden.optionalTensor("\(name).bias").map { Variable($0, requiresGrad: true) }
        #expect((bias != nil) == (name == "bias"))
        let output = linear(input, weight: weight, bias: bias)
        try output.backward(seed: golden.tensor("\(name).grad_output"))

        expectClose(output.value, try golden.tensor("\(name).output"), rtol: forwardTolerance, "linear.\(name).output")
        expectClose(
            try #require(input.grad), try golden.tensor("\(name).grad_input"), rtol: backwardTolerance,
            "linear.\(name).grad_input")
        expectClose(
            try #require(weight.grad), try golden.tensor("\(name).grad_weight"), rtol: backwardTolerance,
            "linear.\(name).grad_weight")
        if let bias {
            expectClose(
                try #require(bias.grad), try golden.tensor("\(name).grad_bias"), rtol: backwardTolerance,
                "linear.\(name).grad_bias")
        }
    }

    @Test func binaryCrossEntropyMatchesPyTorch() throws {
        let golden = try Golden("loss")
        let logits = Variable(try golden.tensor("bce_mean.input"), requiresGrad: true)
        let loss = binaryCrossEntropyWithLogits(logits, targets: try golden.tensor("bce_mean.target"))
        try loss.backward()
        expectClose(loss.value, try golden.tensor("bce_mean.loss"), rtol: forwardTolerance, "loss.bce_mean.loss")
        expectClose(
            try #require(logits.grad), try golden.tensor("bce_mean.grad_input"), rtol: backwardTolerance,
            "loss.bce_mean.grad_input")
    }

    @Test(arguments: ["ce_ignore0_weighted", "ce_ignore0", "ce_plain"])
    func crossEntropyMatchesPyTorch(_ name: String) throws {
        let golden = try Golden("loss")
        let config = golden.caseConfig(name)
        let ignoreIndex = try #require(config["ignore_index"] as? Int)
        let logits = Variable(try golden.tensor("\(name).input"), requiresGrad: true)
        let loss = crossEntropy(
            logits, targets: try golden.integers("\(name).target"), ignoreIndex: ignoreIndex,
            classWeights: golden.optionalTensor("\(name).weight"))
        try loss.backward()
        expectClose(loss.value, try golden.tensor("\(name).loss"), rtol: forwardTolerance, "loss.\(name).loss")
        expectClose(
            try #require(logits.grad), try golden.tensor("\(name).grad_input"), rtol: backwardTolerance,
            "loss.\(name).grad_input")
    }
}
