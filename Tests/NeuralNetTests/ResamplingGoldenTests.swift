import Foundation
import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

/// Pooling, activations, add/concat, resizing and pixel shuffle against PyTorch, forward and backward.
@Suite(.enabled(if: Golden.available, "golden fixtures absent"))
struct ResamplingGoldenTests {
    /// Runs `operation` on the case's `input`, back-propagates its `grad_output`, and compares with the fixture.
    func check(_ fixture: String, _ name: String, _ operation: (Variable) throws -> Variable) throws {
        let golden = try Golden(fixture)
        let input = Variable(try golden.tensor("\(name).input"), requiresGrad: true)
        let output = try operation(input)
        try output.backward(seed: golden.tensor("\(name).grad_output"))
        expectClose(
            output.value, try golden.tensor("\(name).output"), rtol: forwardTolerance, "\(fixture).\(name).output")
        expectClose(
            try #require(input.grad), try golden.tensor("\(name).grad_input"), rtol: backwardTolerance,
            "\(fixture).\(name).grad_input")
    }

    @Test(arguments: [
        "max_k3s2p1", "max_k3s2p1_15", "max_k2s2p0", "avg_k2s2p0", "avg_k3s2p1", "avg_k3s2p1_excl", "avg_k2s1p0",
    ])
    func poolingMatchesPyTorch(_ name: String) throws {
        let config = try Golden("pooling").caseConfig(name)
        let kernel = try #require(config["kernel_size"] as? Int)
        let stride = try #require(config["stride"] as? Int)
        let padding = try #require(config["padding"] as? Int)
        try check("pooling", name) { input in
            name.hasPrefix("max")
                ? try maxPool2d(input, kernel: kernel, stride: stride, padding: padding)
                : try avgPool2d(
                    input, kernel: kernel, stride: stride, padding: padding,
                    countIncludePadding: config["count_include_pad"] as? Bool ?? true)
        }
    }

    @Test func adaptivePoolingMatchesPyTorch() throws {
        try check("pooling", "adaptive_avg_1") { globalAveragePool($0) }
        try check("pooling", "adaptive_max_1") { globalMaxPool($0) }
        try check("pooling", "adaptive_concat_1") { try AdaptiveConcatPool2d()($0) }
    }

    @Test func activationsMatchPyTorch() throws {
        try check("activation", "relu") { try relu($0) }
        try check("activation", "sigmoid") { try sigmoid($0) }
    }

    @Test(arguments: ["add", "concat"]) func addAndConcatMatchPyTorch(_ name: String) throws {
        let golden = try Golden("add_concat")
        let a = Variable(try golden.tensor("\(name).a"), requiresGrad: true)
        let b = Variable(try golden.tensor("\(name).b"), requiresGrad: true)
        let output = name == "add" ? a + b : concatenateChannels([a, b])
        try output.backward(seed: golden.tensor("\(name).grad_output"))
        expectClose(
            output.value, try golden.tensor("\(name).output"), rtol: forwardTolerance, "add_concat.\(name).output")
        expectClose(
            try #require(a.grad), try golden.tensor("\(name).grad_a"), rtol: backwardTolerance,
            "add_concat.\(name).grad_a")
        expectClose(
            try #require(b.grad), try golden.tensor("\(name).grad_b"), rtol: backwardTolerance,
            "add_concat.\(name).grad_b")
    }

    @Test(arguments: [
        "nearest_x2", "nearest_8_to_15", "nearest_16_to_15", "nearest_8x6_to_15x11", "bilinear_8_to_15",
        "bilinear_x2", "bilinear_8x6_to_15x11",
    ])
    func resizeMatchesPyTorch(_ name: String) throws {
        let outputShape = try #require(try Golden("resize").caseConfig(name)["output_shape"] as? [Int])
        try check("resize", name) { input in
            name.hasPrefix("nearest")
                ? try resizeNearest(input, height: outputShape[2], width: outputShape[3])
                : try resizeBilinear(input, height: outputShape[2], width: outputShape[3])
        }
    }

    @Test func pixelShuffleMatchesPyTorch() throws {
        try check("pixel_shuffle", "r2") { pixelShuffle($0, factor: 2) }
    }
}
