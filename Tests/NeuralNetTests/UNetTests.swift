import Foundation
import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

/// The compact (smp) U-Net against `smp.Unet` at 120 px, and encoder weight transfer.
@Suite struct UNetTests {
    /// The fixture's reduced encoder: Bottleneck, [1, 1, 1, 1], widths (4, 8, 16, 32).
    static let reducedEncoder = ResNetConfiguration(
        block: .bottleneck, layers: [1, 1, 1, 1], widths: [4, 8, 16, 32], classes: nil)

    /// smp keys load strictly; the train-mode output, the cross-entropy (ignore 0), every parameter gradient and
    /// the running statistics after the step match PyTorch.
    @Test(.enabled(if: Golden.available, "golden fixtures absent")) func compactUNetMatchesSMP() throws {
        let golden = try Golden("unet_smp")
        var generator = SeededGenerator(seed: 3)
        let model = UNet(
            encoder: Self.reducedEncoder, classes: 3, decoderChannels: [16, 8, 8, 4, 4], using: &generator)
        let parameters = golden.stateDict(prefix: "param.")
        #expect(model.parameters.reduce(0) { $0 + $1.value.count } == golden.config["param_count"] as? Int)
        try model.load(stateDict: parameters, strict: true)

        model.train()
        let output = try model(Variable(try golden.tensor("input")))
        let loss = crossEntropy(output, targets: try golden.integers("target"), ignoreIndex: 0)
        try loss.backward()
        expectClose(output.value, try golden.tensor("output"), rtol: forwardTolerance, "unet_smp.output")
        expectClose(loss.value, try golden.tensor("loss"), rtol: forwardTolerance, "unet_smp.loss")
        for (key, parameter) in model.namedParameters() {
            expectClose(
                try #require(parameter.grad, "no gradient for \(key)"), try golden.tensor("grad.\(key)"),
                rtol: backwardTolerance, "unet_smp.grad.\(key)")
        }
        for (key, buffer) in model.namedBuffers() {
            guard let expected = golden.optionalTensor("state_after.\(key)") else { continue }
            if key.hasSuffix("num_batches_tracked") {
                #expect(buffer.value == expected, "\(key)")
            } else {
                expectClose(buffer.value, expected, rtol: forwardTolerance, "unet_smp.state_after.\(key)")
            }
        }
    }

    /// Any input size: logits at the input size, also for odd and non-square inputs.
    @Test(arguments: [(33, 47), (64, 64)]) func compactUNetKeepsTheInputSize(_ size: (Int, Int)) throws {
        var generator = SeededGenerator(seed: 4)
        let model = UNet(
            encoder: ResNetConfiguration(
                block: .basic, layers: [1, 1, 1, 1], widths: [4, 4, 8, 8], inputChannels: 5, classes: 10),
            classes: 2, decoderChannels: [8, 8, 4, 4, 4], using: &generator)
        let input = Tensor.randomNormal([2, 5, size.0, size.1], using: &generator)
        let output = try withoutGradients { try model(Variable(input)) }
        #expect(output.shape == [2, 2, size.0, size.1])
        #expect(model.stateDict().keys.contains("decoder.blocks.4.conv2.1.running_var"))
        #expect(!model.stateDict().keys.contains { $0.hasPrefix("encoder.fc") })
    }

    /// After transfer the encoder holds exactly the classifier's weights and statistics, from a ResNet, from a
    /// `FastaiClassifier` state dict (`body.`) and from fastai's own keys (`0.`); `fc` and the head are ignored.
    @Test func encoderTransferCopiesTheClassifierWeights() throws {
        var generator = SeededGenerator(seed: 5)
        var configuration = Self.reducedEncoder
        configuration.classes = 7
        let classifier = ResNet(configuration, using: &generator)
        for (_, variable) in classifier.namedStateEntries() {
            variable.value = .randomNormal(variable.shape, using: &generator)
        }
        let fastai = FastaiClassifier(body: configuration, hidden: 8, classes: 7, using: &generator)
        try fastai.body.load(stateDict: classifier.stateDict(), strict: false)
        let fastaiNames = Dictionary(
            uniqueKeysWithValues: fastai.stateDict().map { (FastaiClassifier.fastaiKey(for: $0.key)!, $0.value) })

        let sources: [(String, (UNet) throws -> Void)] = [
            ("ResNet", { try $0.transferEncoder(from: classifier) }),
            ("body.", { try $0.transferEncoder(from: fastai.stateDict()) }),
            ("fastai 0.", { try $0.transferEncoder(from: fastaiNames) }),
        ]
        for (label, transfer) in sources {
            let unet = UNet(
                encoder: Self.reducedEncoder, classes: 3, decoderChannels: [8, 8, 4, 4, 4], using: &generator)
            let decoderBefore = unet.decoder.stateDict()
            try transfer(unet)
            let expected = classifier.stateDict()
            for (key, value) in unet.encoder.stateDict() {
                #expect(value == expected[key], "\(label): \(key)")
            }
            #expect(unet.decoder.stateDict() == decoderBefore, "\(label): the decoder changed")
        }

        // A missing encoder key is an error naming it.
        let unet = UNet(encoder: Self.reducedEncoder, classes: 3, decoderChannels: [8, 8, 4, 4, 4], using: &generator)
        var partial = classifier.stateDict()
        partial["layer4.0.bn3.running_var"] = nil
        #expect(throws: StateDictError(key: "layer4.0.bn3.running_var", problem: .missing)) {
            try unet.transferEncoder(from: partial)
        }
    }
}

/// fastai's DynamicUnet (no golden exists): names, shapes at 120 px, parameter count, ICNR, gradients.
@Suite struct DynamicUNetTests {
    /// A tiny basic-block encoder (pyramid channels 4, 4, 4, 8, 8).
    static let tinyEncoder = ResNetConfiguration(
        block: .basic, layers: [1, 1, 1, 1], widths: [4, 4, 8, 8], classes: nil)

    @Test func shapesNamesAndParameterCountAt120() throws {
        var generator = SeededGenerator(seed: 6)
        let model = DynamicUNet(encoder: UNetTests.reducedEncoder, classes: 3, using: &generator)
        let input = Tensor.randomNormal([1, 3, 120, 120], using: &generator)
        let output = try withoutGradients { try model(Variable(input)) }
        #expect(output.shape == [1, 3, 120, 120])

        // Block widths from the fastai formula: up/2 + skip, halved in the last block.
        #expect(model.blocks.map(\.outChannels) == [64 + 64, 64 + 32, 48 + 16, (32 + 4) / 2])
        let keys = Set(model.stateDict().keys)
        for key in [
            "layers.0.0.weight", "layers.0.1.running_var", "layers.0.4.0.conv3.weight",
            "layers.0.7.0.downsample.1.weight", "layers.1.bias", "layers.3.0.0.weight", "layers.3.1.0.bias",
            "layers.4.shuf.conv.0.weight", "layers.4.bn.running_mean", "layers.5.conv1.0.weight",
            "layers.7.conv2.0.bias", "layers.8.conv.0.weight", "layers.10.layers.0.0.weight",
            "layers.10.layers.1.0.bias", "layers.11.0.weight", "layers.11.0.bias",
        ] {
            #expect(keys.contains(key), "\(key)")
        }
        #expect(model.head.parameters[0].shape == [3, 18 + 3, 1, 1])
        let count = model.parameters.reduce(0) { $0 + $1.value.count }
        #expect(count == DynamicUNet.parameterCount(encoder: UNetTests.reducedEncoder, classes: 3))
        #expect(model.blocks[0].bn.bias.value.scalars.allSatisfy { $0 == 1e-3 })

        // An odd built size inserts fastai's resize layer at 9: the residual block and head move up by one.
        let odd = DynamicUNet(
            encoder: Self.tinyEncoder, classes: 2, imageSize: (121, 120), using: &generator)
        #expect(odd.stateDict().keys.contains("layers.11.layers.0.0.weight"))
        #expect(odd.stateDict().keys.contains("layers.12.0.weight"))

        // ResNet-50 at 3 bands: ≈ 340 M parameters, the encoder 23.5 M of them (ml-anchors §1.7).
        let resnet50 = DynamicUNet.parameterCount(encoder: .resnet50(classes: nil), classes: 5)
        #expect((330_000_000...350_000_000).contains(resnet50))
        let middle = 2 * (2048 * 4096 * 9) + 4096 + 2048 + 2 * 2048
        #expect(resnet50 - middle > 23_500_000 + 150_000_000)
    }

    /// ICNR: output channels 4c…4c+3 start equal, so at initialisation the shuffle is nearest upsampling.
    @Test func icnrInitialisationIsNearestUpsampling() throws {
        var generator = SeededGenerator(seed: 7)
        let shuffle = PixelShuffleICNR(6, 5, using: &generator)
        let weight = shuffle.conv.parameters[0].value.scalars
        for out in 0..<20 {
            let group = out / 4 * 4
            #expect(weight[(out * 6)..<(out * 6 + 6)] == weight[(group * 6)..<(group * 6 + 6)], "channel \(out)")
        }
        let input = Tensor.randomNormal([1, 6, 3, 4], using: &generator)
        let output = try withoutGradients { try shuffle(Variable(input)) }
        #expect(output.shape == [1, 5, 6, 8])
        let scalars = output.value.scalars
        var mismatches = 0
        for channel in 0..<5 {
            for y in 0..<6 {
                for x in 0..<8 {
                    let source = (channel * 6 + y / 2 * 2) * 8 + x / 2 * 2
                    if scalars[(channel * 6 + y) * 8 + x] != scalars[source] { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0)
    }

    /// A train-mode forward and backward pass (batch 2, odd size) gives finite gradients for every parameter.
    @Test func trainingStepRuns() throws {
        var generator = SeededGenerator(seed: 8)
        let model = DynamicUNet(encoder: Self.tinyEncoder, classes: 3, imageSize: (27, 34), using: &generator)
        let output = try model(Variable(.randomNormal([2, 3, 27, 34], using: &generator)))
        #expect(output.shape == [2, 3, 27, 34])
        try crossEntropy(output, targets: (0..<(2 * 27 * 34)).map { $0 % 3 }, ignoreIndex: 0).backward()
        for (key, parameter) in model.namedParameters() {
            let gradient = try #require(parameter.grad, "no gradient for \(key)")
            #expect(gradient.scalars.allSatisfy { $0.isFinite }, "\(key)")
        }
        #expect(model.encoderNorm.batchesTracked.value.scalars == [1])
    }

    /// Central differences on parameters of each kind (encoder, skip batch norm, shuffle, decoder conv, residual
    /// block, head) against the analytic gradient, in inference mode (batch norm with running statistics; the
    /// training-mode ops are covered by the smp golden) on small inputs, odd (resized) and even, so few ReLU kinks
    /// lie within the step.
    @Test(arguments: [(15, 20), (16, 18)]) func gradientsMatchFiniteDifferences(_ size: (Int, Int)) throws {
        let (height, width) = size
        var generator = SeededGenerator(seed: 8)
        let model = DynamicUNet(
            encoder: Self.tinyEncoder, classes: 2, imageSize: (height, width), using: &generator)
        let input = Tensor.randomNormal([1, 3, height, width], using: &generator)
        let seed = Tensor.randomNormal([1, 2, height, width], using: &generator)
        // fastai's zero biases put every ReLU fed by a dead map exactly at its kink (where the gradient is 0 by
        // convention but a central difference gives half the slope); random biases move them off it.
        for (key, parameter) in model.namedParameters() where key.hasSuffix("bias") {
            parameter.value = .randomNormal(parameter.shape, standardDeviation: 0.1, using: &generator)
        }
        model.eval()
        func objective() throws -> Double {
            let output = try withoutGradients { try model(Variable(input)) }
            return zip(output.value.scalars, seed.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        try model(Variable(input)).backward(seed: seed)
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters())
        let shift = height % 2  // fastai's resize layer for odd sizes
        let checked = [
            ("layers.0.0.weight", 5), ("layers.0.6.0.bn2.weight", 1), ("layers.5.bn.bias", 2),
            ("layers.4.shuf.conv.0.weight", 7), ("layers.6.conv1.0.weight", 11), ("layers.8.conv.0.bias", 3),
            ("layers.\(10 + shift).layers.0.0.weight", 13), ("layers.\(11 + shift).0.weight", 4),
        ]
        let epsilon: Float = 1e-3
        for (key, index) in checked {
            let parameter = try #require(parameters[key], "\(key)")
            let analytic = Double(try #require(parameter.grad).scalars[index])
            let original = parameter.value
            var scalars = original.scalars
            scalars[index] = original.scalars[index] + epsilon
            parameter.value = Tensor(shape: original.shape, scalars: scalars)
            let plus = try objective()
            scalars[index] = original.scalars[index] - epsilon
            parameter.value = Tensor(shape: original.shape, scalars: scalars)
            let minus = try objective()
            parameter.value = original
            let numeric = (plus - minus) / Double(2 * epsilon)
            #expect(
                abs(numeric - analytic) <= 2e-2 * max(abs(analytic), 0.5),
                "\(size) \(key)[\(index)]: \(numeric) vs \(analytic)")
        }
    }

    /// The encoder holds the classifier's weights after transfer; the decoder is untouched.
    @Test func encoderTransfer() throws {
        var generator = SeededGenerator(seed: 9)
        var configuration = Self.tinyEncoder
        configuration.classes = 4
        let classifier = ResNet(configuration, using: &generator)
        for (_, variable) in classifier.namedStateEntries() {
            variable.value = .randomNormal(variable.shape, using: &generator)
        }
        let model = DynamicUNet(encoder: Self.tinyEncoder, classes: 2, using: &generator)
        let headBefore = model.head.stateDict()
        try model.transferEncoder(from: classifier)
        let expected = classifier.stateDict()
        for (key, value) in model.encoder.stateDict() {
            #expect(value == expected[key], "\(key)")
        }
        #expect(model.stateDict()["layers.0.4.0.conv1.weight"] == expected["layer1.0.conv1.weight"])
        #expect(model.head.stateDict() == headBefore)
    }
}
