import TensorCore

/// The shape of a ResNet (He et al. 2016) as torchvision builds it: block type, blocks per stage, stage widths,
/// input bands and classes.
public struct ResNetConfiguration: Sendable, Equatable {
    /// The residual block.
    public enum Block: String, Sendable {
        /// Two 3×3 convolutions (ResNet-18/34); expansion 1.
        case basic
        /// 1×1 → 3×3 (with the stride, torchvision's "v1.5") → 1×1 convolutions (ResNet-50); expansion 4.
        case bottleneck

        /// The ratio of a stage's output channels to its width.
        public var expansion: Int { self == .basic ? 1 : 4 }
    }

    /// The residual block.
    public var block: Block
    /// The number of blocks in each of the four stages.
    public var layers: [Int]
    /// The width (planes) of each of the four stages; the stem has `widths[0]` channels. torchvision: 64…512.
    public var widths: [Int]
    /// The number of input bands (3 for RGB; Sentinel-2 stacks have more).
    public var inputChannels: Int
    /// The number of outputs of the final `fc` layer; nil for a body without pooling and `fc` (fastai's
    /// `create_body`, a U-Net encoder).
    public var classes: Int?

    /// A configuration; `widths` default to torchvision's 64, 128, 256, 512.
    public init(
        block: Block, layers: [Int], widths: [Int] = [64, 128, 256, 512], inputChannels: Int = 3, classes: Int? = 1000
    ) {
        precondition(layers.count == 4 && layers.allSatisfy { $0 >= 1 }, "A ResNet has four stages of ≥ 1 blocks.")
        precondition(widths.count == 4 && widths.allSatisfy { $0 >= 1 }, "A ResNet has four positive stage widths.")
        precondition(inputChannels >= 1, "A ResNet needs at least one input band.")
        self.block = block
        self.layers = layers
        self.widths = widths
        self.inputChannels = inputChannels
        self.classes = classes
    }

    /// ResNet-18: basic blocks [2, 2, 2, 2].
    public static func resnet18(inputChannels: Int = 3, classes: Int? = 1000) -> Self {
        Self(block: .basic, layers: [2, 2, 2, 2], inputChannels: inputChannels, classes: classes)
    }

    /// ResNet-34: basic blocks [3, 4, 6, 3].
    public static func resnet34(inputChannels: Int = 3, classes: Int? = 1000) -> Self {
        Self(block: .basic, layers: [3, 4, 6, 3], inputChannels: inputChannels, classes: classes)
    }

    /// ResNet-50: bottleneck blocks [3, 4, 6, 3].
    public static func resnet50(inputChannels: Int = 3, classes: Int? = 1000) -> Self {
        Self(block: .bottleneck, layers: [3, 4, 6, 3], inputChannels: inputChannels, classes: classes)
    }

    /// The channels of the last stage's output (512 for ResNet-18/34, 2048 for ResNet-50).
    public var featureChannels: Int { widths[3] * block.expansion }
}

/// A ResNet with torchvision's module names (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`), so a
/// torchvision `state_dict` loads as is: `[batch, inputChannels, height, width]` → `[batch, classes]`, or the
/// last stage's features `[batch, featureChannels, height/32, width/32]` for a body without `fc`.
///
/// Any input size works; a stride-2 stage rounds up (120 → 60 → 30 → 30 → 15 → 8 → 4).
public final class ResNet: Module, Layer {
    /// The architecture.
    public let configuration: ResNetConfiguration
    /// The 7×7 stride-2 stem convolution, without bias.
    public let conv1: Conv2d
    /// The stem's batch norm.
    public let bn1: BatchNorm2d
    /// The stem's 3×3 stride-2 max pooling.
    public let maxpool = MaxPool2d(kernel: 3, stride: 2, padding: 1)
    /// The four stages of residual blocks (`layer1` … `layer4`).
    public let stages: [Sequential]
    /// The classifier on the pooled features, if the configuration has classes.
    public let fc: Linear?

    /// A network initialised as torchvision does: convolutions N(0, 2/fan_out) (He, fan-out), batch norm γ 1 and
    /// β 0, `fc` with PyTorch's default.
    public init(_ configuration: ResNetConfiguration, using generator: inout some RandomNumberGenerator) {
        self.configuration = configuration
        let block = configuration.block
        conv1 = heConvolution(
            configuration.inputChannels, configuration.widths[0], kernel: 7, stride: 2, using: &generator)
        bn1 = BatchNorm2d(configuration.widths[0])
        var inChannels = configuration.widths[0]
        var stages: [Sequential] = []
        for (index, (blocks, width)) in zip(configuration.layers, configuration.widths).enumerated() {
            var stage: [any Layer] = []
            for blockIndex in 0..<blocks {
                let stride = index > 0 && blockIndex == 0 ? 2 : 1
                stage.append(
                    block == .basic
                        ? BasicBlock(inChannels: inChannels, width: width, stride: stride, using: &generator)
                        : Bottleneck(inChannels: inChannels, width: width, stride: stride, using: &generator))
                inChannels = width * block.expansion
            }
            stages.append(Sequential(stage))
        }
        self.stages = stages
        fc = configuration.classes.map {
            Linear(inFeatures: configuration.featureChannels, outFeatures: $0, using: &generator)
        }
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("conv1", conv1), ("bn1", bn1)] + stages.enumerated().map { ("layer\($0.offset + 1)", $0.element) }
            + (fc.map { [("fc", $0)] } ?? [])
    }

    /// The last stage's output `[batch, featureChannels, height/32, width/32]` for `input` `[batch, bands, height,
    /// width]`.
    public func features(_ input: Variable) throws -> Variable {
        precondition(
            input.shape.count == 4 && input.shape[1] == configuration.inputChannels,
            "This ResNet takes [batch, \(configuration.inputChannels), height, width], not \(input.shape).")
        let stem = try maxpool(try convolutionBatchNorm(input, conv1, bn1, relu: true))
        return try stages.reduce(stem) { value, stage in try stage(value) }
    }

    /// The logits `[batch, classes]` (global average pooling and `fc`), or the features for a body without `fc`.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        let features = try features(input)
        guard let fc else { return features }
        return try fc(globalAveragePool(features).flattened())
    }
}

/// torchvision's `BasicBlock`: conv3×3(stride) → BN → ReLU → conv3×3 → BN, plus the shortcut, then ReLU.
public final class BasicBlock: Module, Layer {
    /// The first 3×3 convolution, carrying the stride.
    public let conv1: Conv2d
    /// Its batch norm.
    public let bn1: BatchNorm2d
    /// The second 3×3 convolution.
    public let conv2: Conv2d
    /// Its batch norm.
    public let bn2: BatchNorm2d
    /// conv1×1(stride) → BN on the shortcut when the shape changes (`downsample.0`, `downsample.1`).
    public let downsample: Sequential?

    /// A block from `inChannels` to `width` channels.
    public init(inChannels: Int, width: Int, stride: Int, using generator: inout some RandomNumberGenerator) {
        conv1 = heConvolution(inChannels, width, kernel: 3, stride: stride, using: &generator)
        bn1 = BatchNorm2d(width)
        conv2 = heConvolution(width, width, kernel: 3, using: &generator)
        bn2 = BatchNorm2d(width)
        downsample = makeDownsample(from: inChannels, to: width, stride: stride, using: &generator)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)]
            + (downsample.map { [("downsample", $0)] } ?? [])
    }

    /// relu(residual(`input`) + shortcut(`input`)).
    public func callAsFunction(_ input: Variable) throws -> Variable {
        let first = try convolutionBatchNorm(input, conv1, bn1, relu: true)
        let residual = try convolutionBatchNorm(first, conv2, bn2, relu: false)
        return addReLU(residual, try downsample.map { try $0(input) } ?? input)
    }
}

/// torchvision's `Bottleneck` (v1.5, stride on the 3×3): conv1×1 → BN → ReLU → conv3×3(stride) → BN → ReLU →
/// conv1×1 (4·width) → BN, plus the shortcut, then ReLU.
public final class Bottleneck: Module, Layer {
    /// The 1×1 reduction to `width`.
    public let conv1: Conv2d
    /// Its batch norm.
    public let bn1: BatchNorm2d
    /// The 3×3 convolution, carrying the stride.
    public let conv2: Conv2d
    /// Its batch norm.
    public let bn2: BatchNorm2d
    /// The 1×1 expansion to 4·`width`.
    public let conv3: Conv2d
    /// Its batch norm.
    public let bn3: BatchNorm2d
    /// conv1×1(stride) → BN on the shortcut when the shape changes.
    public let downsample: Sequential?

    /// A block from `inChannels` to 4·`width` channels.
    public init(inChannels: Int, width: Int, stride: Int, using generator: inout some RandomNumberGenerator) {
        let outChannels = width * ResNetConfiguration.Block.bottleneck.expansion
        conv1 = heConvolution(inChannels, width, kernel: 1, using: &generator)
        bn1 = BatchNorm2d(width)
        conv2 = heConvolution(width, width, kernel: 3, stride: stride, using: &generator)
        bn2 = BatchNorm2d(width)
        conv3 = heConvolution(width, outChannels, kernel: 1, using: &generator)
        bn3 = BatchNorm2d(outChannels)
        downsample = makeDownsample(from: inChannels, to: outChannels, stride: stride, using: &generator)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2), ("conv3", conv3), ("bn3", bn3)]
            + (downsample.map { [("downsample", $0)] } ?? [])
    }

    /// relu(residual(`input`) + shortcut(`input`)).
    public func callAsFunction(_ input: Variable) throws -> Variable {
        let narrowed = try convolutionBatchNorm(input, conv1, bn1, relu: true)
        let reduced = try convolutionBatchNorm(narrowed, conv2, bn2, relu: true)
        let residual = try convolutionBatchNorm(reduced, conv3, bn3, relu: false)
        return addReLU(residual, try downsample.map { try $0(input) } ?? input)
    }
}

/// torchvision's shortcut projection, conv1×1(stride, no bias) → BN, when the stride or channel count changes.
private func makeDownsample(
    from inChannels: Int, to outChannels: Int, stride: Int, using generator: inout some RandomNumberGenerator
) -> Sequential? {
    guard stride != 1 || inChannels != outChannels else { return nil }
    return Sequential([
        heConvolution(inChannels, outChannels, kernel: 1, stride: stride, using: &generator), BatchNorm2d(outChannels),
    ])
}

/// A bias-free convolution with torchvision's ResNet initialisation, He normal in fan-out mode: N(0, 2 / (out·k²)),
/// padded to keep the size at stride 1 (k / 2).
private func heConvolution(
    _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1,
    using generator: inout some RandomNumberGenerator
) -> Conv2d {
    let fanOut = Float(outChannels * kernel * kernel)
    let weight = Tensor.randomNormal(
        [outChannels, inChannels, kernel, kernel], standardDeviation: (2 / fanOut).squareRoot(), using: &generator)
    return Conv2d(weight: weight, stride: stride, padding: kernel / 2)
}
