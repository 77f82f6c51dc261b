import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

/// Inference folds each batch norm into the convolution before it (`convolutionBatchNorm`); the result must equal
/// the unfolded layers, which run whenever gradients are recorded, and follow every change of the weights.
@Suite struct BatchNormFoldingTests {
    static let basic = ResNetConfiguration(block: .basic, layers: [1, 1, 1, 1], widths: [4, 8, 16, 32], classes: 5)
    static let bottleneck = ResNetConfiguration(
        block: .bottleneck, layers: [1, 2, 1, 1], widths: [4, 8, 16, 32], classes: 5)

    /// Batch norms with statistics and affine parameters far from the identity, so that folding has work to do.
    static func randomizeBatchNorms(_ model: Module, using generator: inout SeededGenerator) {
        for case let (_, norm as BatchNorm2d) in model.namedModules() {
            let features = norm.features
            norm.weight.value = .randomUniform([features], in: 0.5..<1.5, using: &generator)
            norm.bias.value = .randomUniform([features], in: -0.5..<0.5, using: &generator)
            norm.runningMean.value = .randomUniform([features], in: -0.3..<0.3, using: &generator)
            norm.runningVariance.value = .randomUniform([features], in: 0.2..<2, using: &generator)
        }
    }

    /// The folded output (inference without gradients) and the layers' own (eval mode, gradients on).
    static func outputs(_ model: any Layer, _ input: Tensor) throws -> (folded: Tensor, layers: Tensor) {
        let folded = try withoutGradients { try model(Variable(input)) }.value
        let layers = try model(Variable(input)).value
        return (folded, layers)
    }

    static func foldCount(_ model: Module) -> Int {
        model.namedModules().filter { ($0.module as? BatchNorm2d)?.fold.withLock({ $0 != nil }) == true }.count
    }

    @Test(arguments: [basic, bottleneck]) func resNetFoldedEqualsLayers(_ configuration: ResNetConfiguration) throws {
        var generator = SeededGenerator(seed: 21)
        let model = ResNet(configuration, using: &generator)
        Self.randomizeBatchNorms(model, using: &generator)
        model.eval()
        let input = Tensor.randomNormal([2, 3, 30, 30], using: &generator)
        let (folded, layers) = try Self.outputs(model, input)
        expectClose(folded, layers, rtol: 1e-4, "folded ResNet")
        let norms = model.namedModules().filter { $0.module is BatchNorm2d }.count
        #expect(Self.foldCount(model) == norms, "every batch norm follows a convolution and is folded")
    }

    @Test func uNetFoldedEqualsLayers() throws {
        var generator = SeededGenerator(seed: 22)
        let model = UNet(encoder: Self.bottleneck, classes: 3, decoderChannels: [16, 8, 8, 4, 4], using: &generator)
        Self.randomizeBatchNorms(model, using: &generator)
        model.eval()
        let input = Tensor.randomNormal([2, 3, 40, 40], using: &generator)
        let (folded, layers) = try Self.outputs(model, input)
        expectClose(folded, layers, rtol: 1e-4, "folded U-Net")
        #expect(Self.foldCount(model) > 10)
    }

    /// A fold is dropped when anything it came from is written: a new running mean, an in-place weight update (as
    /// the optimizers do), or a loaded state dict.
    @Test func foldFollowsWeightChanges() throws {
        var generator = SeededGenerator(seed: 23)
        let model = ResNet(Self.basic, using: &generator)
        Self.randomizeBatchNorms(model, using: &generator)
        model.eval()
        let input = Tensor.randomNormal([1, 3, 24, 24], using: &generator)
        let before = try Self.outputs(model, input).folded

        let block = try #require(model.stages[0].layers[0] as? BasicBlock)
        block.bn1.runningMean.value = .randomUniform([block.bn1.features], in: 1..<2, using: &generator)
        let afterMean = try Self.outputs(model, input)
        expectClose(afterMean.folded, afterMean.layers, rtol: 1e-4, "after a new running mean")
        #expect(afterMean.folded != before)

        model.conv1.weight.value.withUnsafeMutableBufferPointer { scalars in
            for index in scalars.indices { scalars[index] *= 2 }
        }
        let afterWeight = try Self.outputs(model, input)
        expectClose(afterWeight.folded, afterWeight.layers, rtol: 1e-4, "after an in-place update")
        #expect(afterWeight.folded != afterMean.folded)

        var state = model.stateDict()
        state["fc.bias"] = Tensor(shape: [5], repeating: 3)
        state["layer1.0.bn2.bias"] = Tensor(shape: [4], repeating: -1)
        try model.load(stateDict: state)
        let afterLoad = try Self.outputs(model, input)
        expectClose(afterLoad.folded, afterLoad.layers, rtol: 1e-4, "after loading a state dict")
    }
}
