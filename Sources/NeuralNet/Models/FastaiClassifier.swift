import TensorCore

/// The paper's multi-label classifier, fastai v1's `cnn_learner`: a ResNet body without pooling and `fc`, then
/// fastai's head: AdaptiveConcatPool2d → Flatten → BatchNorm1d → Dropout(0.25) → Linear(→ hidden) → ReLU →
/// BatchNorm1d → Dropout(0.5) → Linear(→ classes). `[batch, bands, height, width]` → logits `[batch, classes]`.
///
/// Keys are `body.<torchvision key>` and `head.<index>.<name>` with fastai's Sequential indices (`head.2` is the
/// first BatchNorm1d, `head.4` the first Linear, `head.6` and `head.8` the second pair). fastai's own checkpoint
/// names the same tensors `0.*` (body: conv1 `0.0`, bn1 `0.1`, layer1…4 `0.4`…`0.7`) and `1.*` (head).
public final class FastaiClassifier: Module, Layer {
    /// The ResNet body (`classes` nil).
    public let body: ResNet
    /// fastai's head; dropout layers at indices 3 and 7.
    public let head: Sequential

    /// A classifier on a `body` configuration (its `classes` are ignored), with a head of `hidden` units (fastai:
    /// 512) and `classes` outputs. The head's linear layers are initialised as fastai does, N(0, 2/fan_in) with zero
    /// bias; `generator` also seeds the dropout masks.
    public init(
        body configuration: ResNetConfiguration, hidden: Int = 512, classes: Int,
        dropout: (Double, Double) = (0.25, 0.5),
        using generator: inout some RandomNumberGenerator
    ) {
        var bodyConfiguration = configuration
        bodyConfiguration.classes = nil
        body = ResNet(bodyConfiguration, using: &generator)
        let features = 2 * bodyConfiguration.featureChannels
        let first = Linear(inFeatures: features, outFeatures: hidden, using: &generator)
        let last = Linear(inFeatures: hidden, outFeatures: classes, using: &generator)
        for layer in [first, last] {
            let fanIn = Float(layer.weight.shape[1])
            layer.weight.value = .randomNormal(
                layer.weight.shape, standardDeviation: (2 / fanIn).squareRoot(), using: &generator)
            layer.bias?.value = .zeros(layer.bias!.shape)
        }
        head = Sequential([
            AdaptiveConcatPool2d(), Flatten(), BatchNorm1d(features),
            Dropout(probability: dropout.0, using: &generator), first, ReLU(), BatchNorm1d(hidden),
            Dropout(probability: dropout.1, using: &generator), last,
        ])
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("body", body), ("head", head)]
    }

    /// The logits `[batch, classes]` for `input` `[batch, bands, height, width]`.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        try head(body.features(input))
    }

    /// fastai v1's three layer groups for discriminative learning rates (its ResNet split `m[0][6]`, `m[1]`): the
    /// stem with `layer1` and `layer2`; `layer3` and `layer4`; the head.
    public var layerGroups: [[Variable]] {
        let stages = body.stages
        return [
            body.conv1.parameters + body.bn1.parameters + stages[0].parameters + stages[1].parameters,
            stages[2].parameters + stages[3].parameters,
            head.parameters,
        ]
    }

    /// The key fastai v1 gives the tensor this model calls `key`: its model is `Sequential(body, head)`, so
    /// `body.conv1` is `0.0`, `body.bn1` `0.1`, `body.layer1`…`layer4` `0.4`…`0.7` (ReLU and max pooling, `0.2`
    /// and `0.3`, hold nothing), and `head.<i>` is `1.<i>`. Nil for a key outside the model.
    public static func fastaiKey(for key: String) -> String? {
        var parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        switch (parts[0], parts[1]) {
        case ("head", _): parts[0] = "1"
        case ("body", "conv1"): parts[0...1] = ["0", "0"]
        case ("body", "bn1"): parts[0...1] = ["0", "1"]
        case ("body", let stage) where stage.hasPrefix("layer"):
            guard let index = Int(stage.dropFirst(5)), (1...4).contains(index) else { return nil }
            parts[0...1] = ["0", String(index + 3)]
        default: return nil
        }
        return parts.joined(separator: ".")
    }

    /// Loads a `state_dict` saved by fastai v1 (`learn.save`, keys `0.*` and `1.*`), renaming its keys with
    /// `fastaiKey(for:)`.
    public func load(fastaiStateDict stateDict: [String: Tensor], strict: Bool = true) throws {
        let names = Dictionary(
            uniqueKeysWithValues: namedStateEntries().compactMap { entry in
                Self.fastaiKey(for: entry.name).map { ($0, entry.name) }
            })
        if strict, let unexpected = stateDict.keys.sorted().first(where: { names[$0] == nil }) {
            throw StateDictError(key: unexpected, problem: .unexpected)
        }
        var renamed: [String: Tensor] = [:]
        for (fastaiName, value) in stateDict {
            if let name = names[fastaiName] { renamed[name] = value }
        }
        try load(stateDict: renamed, strict: strict)
    }
}
