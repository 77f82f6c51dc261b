import Foundation
import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

/// Names, state dicts, freezing, band adaptation and the model configurations.
@Suite struct ModuleTests {
    static func tinyResNet(inputChannels: Int = 3, classes: Int? = 5) -> ResNet {
        var generator = SeededGenerator(seed: 9)
        return ResNet(
            ResNetConfiguration(
                block: .basic, layers: [1, 1, 1, 1], widths: [2, 4, 4, 8], inputChannels: inputChannels,
                classes: classes),
            using: &generator)
    }

    @Test func stateDictUsesTorchvisionNamesInOrder() {
        let keys = Self.tinyResNet().namedStateEntries().map(\.name)
        #expect(
            Array(keys.prefix(7)) == [
                "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                "bn1.num_batches_tracked", "layer1.0.conv1.weight",
            ])
        #expect(keys.contains("layer2.0.downsample.0.weight"))
        #expect(keys.contains("layer2.0.downsample.1.running_var"))
        #expect(!keys.contains("layer1.0.downsample.0.weight"))
        #expect(Array(keys.suffix(2)) == ["fc.weight", "fc.bias"])
    }

    @Test func loadRejectsMissingUnexpectedAndMisshapenKeysNamingThem() throws {
        let model = Self.tinyResNet()
        let original = model.stateDict()
        var missing = original
        missing["layer3.0.bn2.running_var"] = nil
        #expect(throws: StateDictError(key: "layer3.0.bn2.running_var", problem: .missing)) {
            try model.load(stateDict: missing)
        }
        var unexpected = original
        unexpected["fc.extra"] = .zeros([1])
        #expect(throws: StateDictError(key: "fc.extra", problem: .unexpected)) { try model.load(stateDict: unexpected) }
        var misshapen = original
        misshapen["fc.weight"] = .zeros([6, 8])
        let error = #expect(throws: StateDictError.self) { try model.load(stateDict: misshapen, strict: false) }
        #expect(
            error?.description == "shape mismatch for fc.weight: the checkpoint has [6, 8] but the model expects [5, 8]"
        )
        #expect(!(error?.description.contains("\n") ?? true))

        // A failed load changes nothing; a partial load without `strict` fills what it has.
        misshapen["conv1.weight"] = .zeros(original["conv1.weight"]!.shape)
        _ = try? model.load(stateDict: misshapen, strict: false)
        #expect(model.conv1.weight.value == original["conv1.weight"])
        try model.load(stateDict: ["bn1.bias": Tensor(shape: [2], scalars: [1, 2])], strict: false)
        #expect(model.bn1.bias.value.scalars == [1, 2])
    }

    @Test func stateDictRoundTripsThroughSafetensorsWithIntegerCounters() throws {
        let model = Self.tinyResNet()
        model.bn1.batchesTracked.value = Tensor(shape: [], scalars: [7])
        let file = SafetensorsFile(stateDict: model.stateDict(), metadata: ["architecture": "resnet"])
        #expect(file.tensors["bn1.num_batches_tracked"]?.dtype == .int64)
        let read = try SafetensorsFile(data: try file.serialized())
        let copy = Self.tinyResNet()
        try copy.load(stateDict: read.stateDict())
        #expect(copy.stateDict() == model.stateDict())
    }

    @Test func freezingKeepsBatchNormTrainable() throws {
        var generator = SeededGenerator(seed: 4)
        let model = FastaiClassifier(
            body: ResNetConfiguration(block: .basic, layers: [1, 1, 1, 1], widths: [2, 4, 4, 8]), hidden: 6,
            classes: 3, using: &generator)
        model.body.freeze()
        for (name, parameter) in model.namedParameters() {
            let trainable = !name.hasPrefix("body.") || name.contains("bn") || name.contains("downsample.1")
            #expect(parameter.requiresGrad == trainable, "\(name)")
        }
        // A frozen body gets no weight gradients, its batch norm does, and the optimizer leaves frozen weights alone.
        let input = Variable(.randomNormal([4, 3, 32, 32], using: &generator))
        let loss = binaryCrossEntropyWithLogits(try model(input), targets: .zeros([4, 3]))
        try loss.backward()
        #expect(model.body.conv1.weight.grad == nil)
        #expect(model.body.bn1.weight.grad != nil)
        let before = model.body.conv1.weight.value
        let optimizer = AdamW(model.layerGroups.map { ParameterGroup($0, learningRate: 1e-3, weightDecay: 0.01) })
        optimizer.step()
        #expect(model.body.conv1.weight.value == before)
        #expect(optimizer.state(of: model.body.bn1.weight) != nil)

        model.body.freeze(trainBatchNorm: false)
        #expect(!model.body.bn1.weight.requiresGrad)
        model.unfreeze()
        #expect(model.parameters.allSatisfy { $0.requiresGrad })
    }

    @Test func layerGroupsCoverEveryParameterOnce() {
        var generator = SeededGenerator(seed: 4)
        let model = FastaiClassifier(
            body: ResNetConfiguration(block: .bottleneck, layers: [1, 1, 1, 1], widths: [2, 4, 4, 8]), hidden: 6,
            classes: 3, using: &generator)
        let grouped = model.layerGroups.flatMap { $0 }.map(ObjectIdentifier.init)
        #expect(grouped.count == Set(grouped).count)
        #expect(Set(grouped) == Set(model.parameters.map(ObjectIdentifier.init)))
        #expect(model.layerGroups[2].count == model.head.parameters.count)
        #expect(model.namedStateEntries().contains { $0.name == "head.8.weight" })
        #expect(model.namedStateEntries().contains { $0.name == "head.6.num_batches_tracked" })
    }

    @Test func fastaiKeysMapToTheReadableNames() throws {
        #expect(FastaiClassifier.fastaiKey(for: "body.conv1.weight") == "0.0.weight")
        #expect(FastaiClassifier.fastaiKey(for: "body.bn1.running_var") == "0.1.running_var")
        #expect(FastaiClassifier.fastaiKey(for: "body.layer1.0.conv1.weight") == "0.4.0.conv1.weight")
        #expect(FastaiClassifier.fastaiKey(for: "body.layer4.0.downsample.1.bias") == "0.7.0.downsample.1.bias")
        #expect(FastaiClassifier.fastaiKey(for: "head.8.weight") == "1.8.weight")
        #expect(FastaiClassifier.fastaiKey(for: "body.fc.weight") == nil)

        var generator = SeededGenerator(seed: 8)
        let configuration = ResNetConfiguration(block: .basic, layers: [1, 1, 1, 1], widths: [2, 4, 4, 8])
        let source = FastaiClassifier(body: configuration, hidden: 6, classes: 3, using: &generator)
        let target = FastaiClassifier(body: configuration, hidden: 6, classes: 3, using: &generator)
        let fastai = Dictionary(
            uniqueKeysWithValues: source.stateDict().map { (FastaiClassifier.fastaiKey(for: $0.key)!, $0.value) })
        try target.load(fastaiStateDict: fastai)
        #expect(target.stateDict() == source.stateDict())
        var extra = fastai
        extra["2.weight"] = .zeros([1])
        #expect(throws: StateDictError(key: "2.weight", problem: .unexpected)) {
            try target.load(fastaiStateDict: extra)
        }
    }

    @Test func rgbStemWidensToMoreBandsKeepingRGB() throws {
        let rgb = Self.tinyResNet()
        let multispectral = Self.tinyResNet(inputChannels: 5)
        try multispectral.load(pretrained: rgb.stateDict())
        let (source, widened) = (rgb.conv1.weight.value, multispectral.conv1.weight.value)
        #expect(widened.shape == [2, 5, 7, 7])
        for out in 0..<2 {
            for y in 0..<7 {
                for x in 0..<7 {
                    let channels = (0..<3).map { source[out, $0, y, x] }
                    for band in 0..<3 { #expect(widened[out, band, y, x] == channels[band]) }
                    let mean = (channels[0] + channels[1] + channels[2]) / 3
                    for band in 3..<5 { #expect(widened[out, band, y, x] == mean) }
                }
            }
        }
        #expect(multispectral.bn1.weight.value == rgb.bn1.weight.value)
        let output = try withoutGradients { try multispectral(Variable(.zeros([1, 5, 40, 40]))) }
        #expect(output.shape == [1, 5])
    }

    /// torchvision's `state_dict` key counts for ResNet-18/34/50; they do not depend on the widths, so the check runs
    /// at width 2. (The golden tests compare parameter counts at reduced widths.)
    @Test(arguments: [
        (ResNetConfiguration.resnet18(), 122), (ResNetConfiguration.resnet34(), 218),
        (ResNetConfiguration.resnet50(), 320),
    ])
    func configurationsHaveTorchvisionKeys(_ configuration: ResNetConfiguration, keys: Int) {
        var narrow = configuration
        narrow.widths = [2, 2, 2, 2]
        narrow.classes = 3
        var generator = SeededGenerator(seed: 1)
        #expect(ResNet(narrow, using: &generator).stateDict().count == keys)
    }

    @Test func resNet34HasTorchvisionStages() {
        let configuration = ResNetConfiguration.resnet34(inputChannels: 4, classes: 10)
        #expect(configuration.layers == [3, 4, 6, 3] && configuration.block == .basic)
        #expect(configuration.featureChannels == 512)
        #expect(ResNetConfiguration.resnet50().featureChannels == 2048)
    }

    @Test func anyInputSizeIncluding120() throws {
        let model = Self.tinyResNet(classes: nil)
        model.eval()
        let features = try withoutGradients { try model(Variable(.zeros([1, 3, 120, 120]))) }
        #expect(features.shape == [1, 8, 4, 4])
    }
}
