import Testing
import TestSupport

@testable import TensorCore

@Suite struct ResizeTests {
    /// `[batch, channels, height, width]` inputs and output sizes: U-Net decoder steps (×2, 8 → 15, 16 → 15),
    /// a non-square one, a downsampling one and an identity.
    static let cases: [(input: [Int], height: Int, width: Int)] = [
        ([2, 3, 4, 4], 8, 8), ([1, 2, 8, 8], 15, 15), ([1, 2, 16, 16], 15, 15), ([2, 2, 8, 6], 15, 11),
        ([1, 3, 15, 9], 8, 4), ([1, 2, 5, 7], 5, 7), ([1, 1, 1, 3], 4, 6),
    ]

    static func tensors(_ inputShape: [Int], height: Int, width: Int, seed: UInt64) -> (Tensor, Tensor) {
        var generator = TestGenerator(seed: seed)
        return (
            Tensor.randomUniform(inputShape, in: -1..<1, using: &generator),
            Tensor.randomUniform([inputShape[0], inputShape[1], height, width], in: -1..<1, using: &generator)
        )
    }

    @Test(arguments: cases) func nearestMatchesReference(_ c: (input: [Int], height: Int, width: Int)) throws {
        let (input, outputGradient) = Self.tensors(c.input, height: c.height, width: c.width, seed: 91)
        let output = try CPUDevice.shared.resizeNearest(input, height: c.height, width: c.width)
        #expect(output == Reference.resizeNearest(input, height: c.height, width: c.width))
        expectClose(
            try CPUDevice.shared.resizeNearestBackward(outputGradient, inputShape: c.input),
            Reference.resizeNearestBackward(outputGradient, inputShape: c.input), rtol: 1e-6, atol: 1e-6)
    }

    @Test(arguments: cases) func bilinearMatchesReference(_ c: (input: [Int], height: Int, width: Int)) throws {
        let (input, outputGradient) = Self.tensors(c.input, height: c.height, width: c.width, seed: 92)
        let output = try CPUDevice.shared.resizeBilinear(input, height: c.height, width: c.width)
        expectClose(output, Reference.resizeBilinear(input, height: c.height, width: c.width), rtol: 1e-5, atol: 1e-6)
        expectClose(
            try CPUDevice.shared.resizeBilinearBackward(outputGradient, inputShape: c.input),
            Reference.resizeBilinearBackward(outputGradient, inputShape: c.input), rtol: 1e-5, atol: 1e-6)
    }

    @Test func nearestFloorsAsPyTorchNotHalfPixel() throws {
        // PyTorch's legacy nearest maps 8 → 15 with ⌊dst · 8/15⌋; oneDNN (and `nearest-exact`) would read 4 at 7.
        let input = Tensor(shape: [1, 1, 1, 8], scalars: (0..<8).map(Float.init))
        let output = try CPUDevice.shared.resizeNearest(input, height: 1, width: 15)
        #expect(output.scalars == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7])
    }

    /// Both resizes are linear in the input, so a central difference with a large step is exact up to rounding.
    @Test(arguments: cases.prefix(4)) func referenceGradientsMatchFiniteDifferences(
        _ c: (input: [Int], height: Int, width: Int)
    ) {
        let (input, outputGradient) = Self.tensors(c.input, height: c.height, width: c.width, seed: 93)
        expectClose(
            Reference.resizeNearestBackward(outputGradient, inputShape: c.input),
            numericalGradient(
                of: { weightedSum(Reference.resizeNearest($0, height: c.height, width: c.width), outputGradient) },
                at: input, epsilon: 0.5),
            rtol: 1e-4, atol: 1e-5)
        expectClose(
            Reference.resizeBilinearBackward(outputGradient, inputShape: c.input),
            numericalGradient(
                of: { weightedSum(Reference.resizeBilinear($0, height: c.height, width: c.width), outputGradient) },
                at: input, epsilon: 0.5),
            rtol: 1e-4, atol: 1e-5)
    }

    @Test(arguments: [
        "nearest_x2", "nearest_8_to_15", "nearest_16_to_15", "nearest_8x6_to_15x11", "bilinear_8_to_15", "bilinear_x2",
        "bilinear_8x6_to_15x11",
    ])
    func matchesPyTorch(_ name: String) throws {
        let fixture = try GoldenFixture("resize")
        let input = try fixture.tensor("\(name).input")
        let expected = try fixture.tensor("\(name).output")
        let outputGradient = try fixture.tensor("\(name).grad_output")
        let (height, width) = (expected.shape[2], expected.shape[3])
        let device = CPUDevice.shared
        let nearest = try #require(try fixture.caseConfig(name)["mode"] as? String) == "nearest"
        let output =
            nearest
            ? try device.resizeNearest(input, height: height, width: width)
            : try device.resizeBilinear(input, height: height, width: width)
        expectGolden(output, expected, .forward)
        let gradient =
            nearest
            ? try device.resizeNearestBackward(outputGradient, inputShape: input.shape)
            : try device.resizeBilinearBackward(outputGradient, inputShape: input.shape)
        expectGolden(gradient, try fixture.tensor("\(name).grad_input"), .gradient)
    }

    @Test func bilinearRunsOnAnOptimisedKernel() throws {
        let key = ResamplingKey(backward: true, inputShape: [1, 16, 8, 8], outputShape: [1, 16, 15, 15])
        let implementation = try CPUDevice.shared.implementation(of: .resampling(key))
        #expect(!implementation.hasPrefix("ref"), "oneDNN chose \(implementation)")
    }
}
