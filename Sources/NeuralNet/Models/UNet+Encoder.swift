import TensorCore

extension ResNet {
    /// The features a U-Net decoder skips from, shallow to deep, for `input` `[batch, bands, height, width]`: the
    /// stem after its ReLU (½ size, before max pooling), then the output of each stage (¼, ⅛, 1/16, 1/32; sizes
    /// round up). At 120 px: 60, 30, 15, 8 and 4. These are smp's `ResNetEncoder` features without the input, and
    /// fastai's DynamicUnet hooks (`relu`, `layer1`, `layer2`, `layer3`) plus its encoder output (`layer4`).
    public func featurePyramid(_ input: Variable) throws -> [Variable] {
        precondition(
            input.shape.count == 4 && input.shape[1] == configuration.inputChannels,
            "This ResNet takes [batch, \(configuration.inputChannels), height, width], not \(input.shape).")
        let stem = try convolutionBatchNorm(input, conv1, bn1, relu: true)
        var features = [stem]
        var value = try maxpool(stem)
        for stage in stages {
            value = try stage(value)
            features.append(value)
        }
        return features
    }
}

extension ResNetConfiguration {
    /// The channels of `ResNet.featurePyramid(_:)`'s five features: the stem width, then each stage's output
    /// (ResNet-50: 64, 256, 512, 1024, 2048).
    public var pyramidChannels: [Int] {
        [widths[0]] + widths.map { $0 * block.expansion }
    }
}

/// A segmentation network on a ResNet encoder, whose encoder weights can come from a trained classifier.
public protocol ResNetSegmenter: Layer {
    /// The encoder, a ResNet without `fc`.
    var encoder: ResNet { get }
}

extension ResNetSegmenter {
    /// Copies the encoder weights and batch-norm statistics of `classifier` (its `fc`, if any, is ignored). The
    /// stem is adapted to the encoder's bands when they differ (`ResNet.adaptingInputBands`); every other shape
    /// must match.
    public func transferEncoder(from classifier: ResNet) throws {
        try transferEncoder(from: classifier.stateDict())
    }

    /// Copies the encoder weights from a checkpoint's `state_dict`, whose ResNet keys are recognised as
    /// torchvision's (`conv1.weight`, `layer1.0.…`), behind `body.` (this package's `FastaiClassifier`) or
    /// `encoder.` (an smp model), or fastai v1's own `0.0.weight`… (`FastaiClassifier.fastaiKey(for:)`). Keys
    /// outside the encoder (`fc.*`, `head.*`, a decoder) are ignored; a missing encoder key or a shape mismatch
    /// is an error and changes nothing. The stem is adapted to the encoder's bands as above.
    public func transferEncoder(from stateDict: [String: Tensor]) throws {
        try encoder.load(pretrained: encoder.ownEntries(of: stateDict), strict: true)
    }
}

extension ResNet {
    /// The entries of `stateDict` that belong to this network, under its own (torchvision) keys: found as they are,
    /// behind `body.` (a `FastaiClassifier`) or `encoder.` (a segmenter), or under fastai v1's own keys (`0.0.weight`
    /// …). Other keys (`fc.*`, heads, decoders) are left out; missing ones are simply absent, so a strict load names
    /// them.
    public func ownEntries(of stateDict: [String: Tensor]) -> [String: Tensor] {
        let keys = namedStateEntries().map(\.name)
        let prefix = ["body.", "encoder."].first { prefix in stateDict.keys.contains { $0.hasPrefix(prefix) } }
        var result: [String: Tensor] = [:]
        for key in keys {
            if let prefix {
                result[key] = stateDict[prefix + key]
            } else if let value = stateDict[key] {
                result[key] = value
            } else if let fastaiKey = FastaiClassifier.fastaiKey(for: "body." + key) {
                result[key] = stateDict[fastaiKey]
            }
        }
        return result
    }
}
