import TensorCore

/// A U-Net on a ResNet encoder with the compact decoder of segmentation_models_pytorch (`smp.Unet`, ≥ 0.5, batch
/// norm, nearest interpolation, no attention): `[batch, bands, height, width]` → logits `[batch, classes, height,
/// width]` for any height and width.
///
/// The encoder gives five features (`ResNet.featurePyramid`: at 120 px 60, 30, 15, 8, 4). Decoder block *i*
/// (deepest first) resizes its input with nearest interpolation to the size of the next shallower feature, or of
/// the input for the last block, exactly as smp's `F.interpolate(size=…)` (source pixel ⌊dst·in/out⌋: 4 → 8 is
/// ×2, 8 → 15 repeats every source pixel but the last), concatenates that feature as its skip (the last block has
/// none), then applies [conv 3×3 without bias → BN → ReLU] twice. The head is a 3×3 convolution with bias.
///
/// Keys are smp's: `encoder.<torchvision key>` (no `fc`), `decoder.blocks.<i>.conv1.0.weight` (conv),
/// `decoder.blocks.<i>.conv1.1.{weight,bias,running_mean,running_var,num_batches_tracked}` (BN), the same for
/// `conv2`, and `segmentation_head.0.{weight,bias}`; an `smp.Unet` `state_dict` loads as is.
public final class UNet: Module, ResNetSegmenter {
    /// The ResNet encoder (no `fc`).
    public let encoder: ResNet
    /// The decoder blocks, deepest first.
    public let decoder: UNetDecoder
    /// The 3×3 convolution to class logits (`segmentation_head.0`).
    public let segmentationHead: Sequential
    /// The number of classes.
    public let classes: Int

    /// smp's default decoder widths.
    public static let defaultDecoderChannels = [256, 128, 64, 32, 16]

    /// A U-Net on an `encoder` configuration (its `classes` are ignored) with five decoder blocks of
    /// `decoderChannels` outputs. Initialised as smp does: the encoder as torchvision, decoder convolutions He
    /// uniform (fan-in), batch norm γ 1 and β 0, the head Xavier uniform with zero bias.
    public init(
        encoder configuration: ResNetConfiguration, classes: Int,
        decoderChannels: [Int] = UNet.defaultDecoderChannels, using generator: inout some RandomNumberGenerator
    ) {
        precondition(classes >= 1, "A U-Net needs at least one class.")
        precondition(
            decoderChannels.count == 5 && decoderChannels.allSatisfy { $0 >= 1 },
            "The U-Net decoder has five blocks of positive width, not \(decoderChannels).")
        var encoderConfiguration = configuration
        encoderConfiguration.classes = nil
        encoder = ResNet(encoderConfiguration, using: &generator)
        decoder = UNetDecoder(
            encoderChannels: encoderConfiguration.pyramidChannels, decoderChannels: decoderChannels,
            using: &generator)
        let head = decoderChannels[4]
        let bound = (6 / Float((head + classes) * 9)).squareRoot()
        segmentationHead = Sequential([
            Conv2d(
                weight: .randomUniform([classes, head, 3, 3], in: -bound..<bound, using: &generator),
                bias: .zeros([classes]), padding: 1)
        ])
        self.classes = classes
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("encoder", encoder), ("decoder", decoder), ("segmentation_head", segmentationHead)]
    }

    /// The logits `[batch, classes, height, width]` for `input` `[batch, bands, height, width]`.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        let features = try encoder.featurePyramid(input)
        let sizes = ([input] + features).map { ($0.shape[2], $0.shape[3]) }
        return try segmentationHead(try decoder(features, sizes: sizes))
    }
}

/// smp's `UnetDecoder` without centre block: five `UNetDecoderBlock`s (`blocks.0` … `blocks.4`), deepest first.
public final class UNetDecoder: Module {
    /// The blocks, deepest first.
    public let blocks: [UNetDecoderBlock]
    private let blockList: IndexedModules

    /// Blocks for encoder features of `encoderChannels` (shallow to deep, five) with `decoderChannels` outputs:
    /// block *i* takes the previous block's output (the deepest feature for block 0) and, except the last, the
    /// feature `encoderChannels[3 − i]` as its skip.
    public init(encoderChannels: [Int], decoderChannels: [Int], using generator: inout some RandomNumberGenerator) {
        precondition(encoderChannels.count == 5 && decoderChannels.count == 5, "Five features and five blocks.")
        let inChannels = [encoderChannels[4]] + decoderChannels.dropLast()
        let skipChannels = encoderChannels.prefix(4).reversed() + [0]
        blocks = (0..<5).map { index in
            UNetDecoderBlock(
                inChannels: inChannels[index], skipChannels: skipChannels[index],
                outChannels: decoderChannels[index], using: &generator)
        }
        blockList = IndexedModules(blocks)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("blocks", blockList)]
    }

    /// The decoded map at the input size, given the encoder `features` (shallow to deep) and the spatial `sizes`
    /// of the input followed by each feature.
    public func callAsFunction(_ features: [Variable], sizes: [(height: Int, width: Int)]) throws -> Variable {
        precondition(features.count == 5 && sizes.count == 6, "The decoder takes five features and six sizes.")
        var value = features[4]
        for (index, block) in blocks.enumerated() {
            let size = sizes[4 - index]
            value = try block(
                value, height: size.height, width: size.width, skip: index < 4 ? features[3 - index] : nil)
        }
        return value
    }
}

/// smp's `UnetDecoderBlock` with batch norm: nearest resize → concatenate the skip → `conv1` → `conv2`, each a
/// `Sequential` [conv 3×3 (no bias), BN, ReLU] (smp's `Conv2dReLU`).
public final class UNetDecoderBlock: Module {
    /// conv 3×3 (in + skip → out) → BN → ReLU.
    public let conv1: Sequential
    /// conv 3×3 (out → out) → BN → ReLU.
    public let conv2: Sequential

    /// A block from `inChannels` plus `skipChannels` (0 for none) to `outChannels`; convolutions He uniform.
    public init(inChannels: Int, skipChannels: Int, outChannels: Int, using generator: inout some RandomNumberGenerator)
    {
        func convBNReLU(_ inChannels: Int, _ outChannels: Int, using generator: inout some RandomNumberGenerator)
            -> Sequential
        {
            let bound = (6 / Float(inChannels * 9)).squareRoot()
            let weight = Tensor.randomUniform([outChannels, inChannels, 3, 3], in: -bound..<bound, using: &generator)
            return Sequential([Conv2d(weight: weight, padding: 1), BatchNorm2d(outChannels), ReLU()])
        }
        conv1 = convBNReLU(inChannels + skipChannels, outChannels, using: &generator)
        conv2 = convBNReLU(outChannels, outChannels, using: &generator)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("conv1", conv1), ("conv2", conv2)]
    }

    /// `input` resized (nearest) to `height`×`width`, joined with `skip` (of that size) if any, then convolved.
    public func callAsFunction(_ input: Variable, height: Int, width: Int, skip: Variable?) throws -> Variable {
        var value = input
        if input.shape[2] != height || input.shape[3] != width {
            value = try resizeNearest(input, height: height, width: width)
        }
        if let skip {
            precondition(
                skip.shape[2] == height && skip.shape[3] == width,
                "The skip \(skip.shape) does not have the decoder size \(height)×\(width).")
            value = concatenateChannels([value, skip])
        }
        return try conv2(try conv1(value))
    }
}

/// Sub-modules named "0", "1", … (PyTorch's `nn.ModuleList`), for blocks that are not called in sequence; with
/// `named:`, indices may skip parameter-free entries (fastai's ReLU and merge layers).
final class IndexedModules: Module {
    let modules: [(name: String, module: Module)]

    init(_ modules: [Module]) {
        self.modules = modules.enumerated().map { (String($0.offset), $0.element) }
    }

    init(named modules: [(String, Module)]) {
        self.modules = modules.map { (name: $0.0, module: $0.1) }
    }

    override var namedChildren: [(name: String, module: Module)] {
        modules
    }
}
