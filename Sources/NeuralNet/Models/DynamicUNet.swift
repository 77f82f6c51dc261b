import TensorCore

/// The paper's segmenter: fastai v1's `DynamicUnet` (`unet_learner` defaults: no blur, no self-attention,
/// `last_cross`, no `bottle`, no norm in the decoder convolutions) on a ResNet encoder: `[batch, bands, height,
/// width]` → logits `[batch, classes, height, width]`.
///
/// Layers, in fastai's order (its `layers` `ModuleList`; parameter-free layers hold no keys):
/// - `layers.0`: the encoder, fastai's `create_body` (`layers.0.0` conv1, `.1` bn1, `.4`…`.7` layer1…4, each with
///   torchvision's names inside: `layers.0.4.0.conv1.weight`).
/// - `layers.1`: BatchNorm (γ 1, β 1e-3) on the encoder output; `layers.2` ReLU.
/// - `layers.3`: the middle convolutions, `layers.3.0.0` (C → 2C) and `layers.3.1.0` (2C → C), 3×3 with bias,
///   each followed by ReLU.
/// - `layers.4`…`layers.7`: one `DynamicUNetBlock` per skip (`layer3`, `layer2`, `layer1`, stem ReLU), deepest
///   first, keys `shuf.conv.0.{weight,bias}`, `bn.*`, `conv1.0.{weight,bias}`, `conv2.0.{weight,bias}`.
/// - `layers.8`: `PixelShuffleICNR` to the input resolution (`layers.8.conv.0.*`); for an odd built size fastai
///   inserts a parameter-free nearest resize at `layers.9`, which shifts the next indices by one.
/// - `layers.9`: MergeLayer (dense): the raw input concatenated after the decoded map (+bands channels).
/// - `layers.10`: fastai v1's `res_block`, `layers.10.layers.0.0.*` and `layers.10.layers.1.0.*` (conv 3×3 with
///   bias → ReLU, twice), output x + f(x).
/// - `layers.11`: the 1×1 convolution to classes, `layers.11.0.{weight,bias}`.
///
/// Feature sizes at 120 px: 60, 30, 15, 8, 4. Each block upsamples ×2 with PixelShuffle and resizes (nearest) to
/// its skip's size when they differ (16 → 15), as fastai does; the final map is resized to the input size if the
/// shuffle misses it (odd sizes), so any input size works.
public final class DynamicUNet: Module, ResNetSegmenter {
    /// The ResNet encoder (no `fc`).
    public let encoder: ResNet
    /// Batch norm on the encoder output (`layers.1`).
    public let encoderNorm: BatchNorm2d
    /// conv(C → 2C) → ReLU → conv(2C → C) → ReLU (`layers.3`).
    public let middleConv: Sequential
    /// The blocks, deepest first (`layers.4`…`layers.7`).
    public let blocks: [DynamicUNetBlock]
    /// The final ×2 upsampling to the input resolution (`layers.8`).
    public let finalShuffle: PixelShuffleICNR
    /// The residual block after the input is concatenated (fastai's `last_cross`), if any.
    public let residualBlock: FastaiResidualBlock?
    /// The 1×1 convolution to class logits.
    public let head: Sequential
    /// The number of classes.
    public let classes: Int
    private let layerList: IndexedModules

    /// A DynamicUnet on an `encoder` configuration (its `classes` are ignored). `imageSize` is the size fastai
    /// would build it for; it only decides whether the (parameter-free) resize layer shifts the indices of the last
    /// layers (odd sizes). Initialised as fastai v1: convolutions Kaiming normal (fan-in) with zero bias, the
    /// shuffle convolutions ICNR, batch norm γ 1 and β 1e-3.
    public init(
        encoder configuration: ResNetConfiguration, classes: Int, lastCross: Bool = true, bottle: Bool = false,
        imageSize: (height: Int, width: Int) = (120, 120), using generator: inout some RandomNumberGenerator
    ) {
        precondition(classes >= 1, "A U-Net needs at least one class.")
        var encoderConfiguration = configuration
        encoderConfiguration.classes = nil
        encoder = ResNet(encoderConfiguration, using: &generator)
        let channels = encoderConfiguration.pyramidChannels
        let bottom = channels[4]
        encoderNorm = fastaiBatchNorm(bottom)
        middleConv = Sequential([
            fastaiConv(bottom, 2 * bottom, kernel: 3, using: &generator),
            fastaiConv(2 * bottom, bottom, kernel: 3, using: &generator),
        ])
        var upChannels = bottom
        var blocks: [DynamicUNetBlock] = []
        for index in 0..<4 {
            let block = DynamicUNetBlock(
                upChannels: upChannels, skipChannels: channels[3 - index], finalDivision: index < 3,
                using: &generator)
            blocks.append(block)
            upChannels = block.outChannels
        }
        self.blocks = blocks
        finalShuffle = PixelShuffleICNR(upChannels, upChannels, using: &generator)
        var headChannels = upChannels
        if lastCross {
            headChannels += encoderConfiguration.inputChannels
            residualBlock = FastaiResidualBlock(headChannels, bottle: bottle, using: &generator)
        } else {
            residualBlock = nil
        }
        head = Sequential([fastaiConvolution(headChannels, classes, kernel: 1, using: &generator)])
        self.classes = classes

        let resizes = imageSize.height % 2 == 1 || imageSize.width % 2 == 1
        var next = resizes ? 10 : 9
        var named: [(String, Module)] = [("0", FastaiBody(encoder)), ("1", encoderNorm), ("3", middleConv)]
        named += blocks.enumerated().map { (String($0.offset + 4), $0.element) }
        named.append(("8", finalShuffle))
        if let residualBlock {
            named.append((String(next + 1), residualBlock))
            next += 2
        }
        named.append((String(next), head))
        layerList = IndexedModules(named: named)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("layers", layerList)]
    }

    /// The logits `[batch, classes, height, width]` for `input` `[batch, bands, height, width]`.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        let features = try encoder.featurePyramid(input)
        var value = try middleConv(try relu(try encoderNorm(features[4])))
        for (index, block) in blocks.enumerated() {
            value = try block(value, skip: features[3 - index])
        }
        value = try finalShuffle(value)
        let (height, width) = (input.shape[2], input.shape[3])
        if value.shape[2] != height || value.shape[3] != width {
            value = try resizeNearest(value, height: height, width: width)
        }
        if let residualBlock {
            value = try residualBlock(concatenateChannels([value, input]))
        }
        return try head(value)
    }

    /// The number of parameters (weights and biases, not batch-norm buffers) of a DynamicUnet on `configuration`
    /// with `classes` outputs, without building it (fastai's ResNet-50 at 3 bands: ≈ 340 M).
    public static func parameterCount(
        encoder configuration: ResNetConfiguration, classes: Int, lastCross: Bool = true, bottle: Bool = false
    ) -> Int {
        func conv(_ inChannels: Int, _ outChannels: Int, _ kernel: Int) -> Int {
            outChannels * inChannels * kernel * kernel + outChannels
        }
        let channels = configuration.pyramidChannels
        let width = configuration.widths
        let expansion = configuration.block.expansion
        var encoder = configuration.inputChannels * width[0] * 49 + 2 * width[0]
        var inChannels = width[0]
        for (stage, blocks) in configuration.layers.enumerated() {
            let planes = width[stage]
            let out = planes * expansion
            for index in 0..<blocks {
                encoder +=
                    configuration.block == .basic
                    ? inChannels * planes * 9 + planes * planes * 9 + 4 * planes
                    : inChannels * planes + planes * planes * 9 + planes * out + 4 * planes + 2 * out
                if index == 0 && (stage > 0 || inChannels != out) { encoder += inChannels * out + 2 * out }
                inChannels = out
            }
        }
        let bottom = channels[4]
        var count = encoder + 2 * bottom + conv(bottom, 2 * bottom, 3) + conv(2 * bottom, bottom, 3)
        var up = bottom
        for index in 0..<4 {
            let skip = channels[3 - index]
            let joined = up / 2 + skip
            let out = index < 3 ? joined : joined / 2
            count += conv(up, up / 2 * 4, 1) + 2 * skip + conv(joined, out, 3) + conv(out, out, 3)
            up = out
        }
        count += conv(up, up * 4, 1)
        if lastCross {
            up += configuration.inputChannels
            let inner = bottle ? up / 2 : up
            count += conv(up, inner, 3) + conv(inner, up, 3)
        }
        return count + conv(up, classes, 1)
    }
}

/// fastai v1's `UnetBlock`: `shuf` (PixelShuffleICNR, up → up/2), nearest resize to the skip's size if it
/// differs, ReLU(cat([up, `bn`(skip)])), then `conv1` and `conv2` (conv 3×3 with bias → ReLU). The output has
/// up/2 + skip channels, halved in the last block (`final_div` false).
public final class DynamicUNetBlock: Module {
    /// The ×2 upsampling of the deeper map.
    public let shuf: PixelShuffleICNR
    /// Batch norm on the skip (γ 1, β 1e-3).
    public let bn: BatchNorm2d
    /// conv 3×3 (up/2 + skip → out) → ReLU.
    public let conv1: Sequential
    /// conv 3×3 (out → out) → ReLU.
    public let conv2: Sequential

    /// A block taking `upChannels` from below and a skip of `skipChannels`.
    public init(
        upChannels: Int, skipChannels: Int, finalDivision: Bool, using generator: inout some RandomNumberGenerator
    ) {
        shuf = PixelShuffleICNR(upChannels, upChannels / 2, using: &generator)
        bn = fastaiBatchNorm(skipChannels)
        let joined = upChannels / 2 + skipChannels
        let out = finalDivision ? joined : joined / 2
        conv1 = fastaiConv(joined, out, kernel: 3, using: &generator)
        conv2 = fastaiConv(out, out, kernel: 3, using: &generator)
        outChannels = out
    }

    /// The number of output channels.
    public let outChannels: Int

    public override var namedChildren: [(name: String, module: Module)] {
        [("shuf", shuf), ("bn", bn), ("conv1", conv1), ("conv2", conv2)]
    }

    /// The block's output for the deeper map `input` and the encoder feature `skip`.
    public func callAsFunction(_ input: Variable, skip: Variable) throws -> Variable {
        var up = try shuf(input)
        let (height, width) = (skip.shape[2], skip.shape[3])
        if up.shape[2] != height || up.shape[3] != width {
            up = try resizeNearest(up, height: height, width: width)
        }
        let joined = try relu(concatenateChannels([up, try bn(skip)]))
        return try conv2(try conv1(joined))
    }
}

/// fastai v1's `PixelShuffle_ICNR` without blur or weight norm: conv 1×1 (in → 4·out, bias, ICNR init) → ReLU →
/// PixelShuffle(2). Key `conv.0.{weight,bias}`.
public final class PixelShuffleICNR: Module, Layer {
    /// The 1×1 convolution (`conv.0`).
    public let conv: Sequential

    /// An upsampling from `inChannels` to `outChannels` at twice the size.
    public init(_ inChannels: Int, _ outChannels: Int, using generator: inout some RandomNumberGenerator) {
        conv = Sequential([
            Conv2d(
                weight: Self.icnr(outChannels: outChannels * 4, inChannels: inChannels, using: &generator),
                bias: .zeros([outChannels * 4]))
        ])
    }

    /// ICNR (Aitken et al. 2017): a Kaiming-normal 1×1 kernel for `outChannels`/4 channels, each repeated for
    /// the 4 sub-pixel positions (output channels 4c…4c+3 equal kernel c), so that at initialisation the shuffle
    /// is nearest-neighbour upsampling of one convolution and makes no checkerboard.
    public static func icnr(
        outChannels: Int, inChannels: Int, using generator: inout some RandomNumberGenerator
    ) -> Tensor {
        precondition(outChannels % 4 == 0, "ICNR needs 4·k output channels, not \(outChannels).")
        let base = Tensor.randomNormal(
            [outChannels / 4, inChannels], standardDeviation: (2 / Float(inChannels)).squareRoot(), using: &generator
        ).scalars
        var scalars: [Float] = []
        scalars.reserveCapacity(outChannels * inChannels)
        for out in 0..<outChannels {
            let start = out / 4 * inChannels
            scalars += base[start..<(start + inChannels)]
        }
        return Tensor(shape: [outChannels, inChannels, 1, 1], scalars: scalars)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("conv", conv)]
    }

    /// `input` `[batch, in, h, w]` → `[batch, out, 2h, 2w]`.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        pixelShuffle(try relu(try conv(input)), factor: 2)
    }
}

/// fastai v1's `res_block(nf, bottle)` with the U-Net's norm-free convolutions: x + ReLU(conv(ReLU(conv(x)))),
/// keys `layers.0.0.*` and `layers.1.0.*` (fastai's `SequentialEx`; its `MergeLayer` is `layers.2`).
public final class FastaiResidualBlock: Module, Layer {
    /// conv 3×3 (C → inner) → ReLU, then conv 3×3 (inner → C) → ReLU.
    public let convolutions: [Sequential]
    private let layerList: IndexedModules

    /// A block on `channels` channels; `bottle` halves the inner width.
    public init(_ channels: Int, bottle: Bool = false, using generator: inout some RandomNumberGenerator) {
        let inner = bottle ? channels / 2 : channels
        convolutions = [
            fastaiConv(channels, inner, kernel: 3, using: &generator),
            fastaiConv(inner, channels, kernel: 3, using: &generator),
        ]
        layerList = IndexedModules(convolutions)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("layers", layerList)]
    }

    /// `input` + f(`input`).
    public func callAsFunction(_ input: Variable) throws -> Variable {
        input + (try convolutions[1](try convolutions[0](input)))
    }
}

/// fastai's `create_body` naming of a ResNet: `0` conv1, `1` bn1, `4`…`7` layer1…4 (2 ReLU and 3 max pooling hold
/// nothing).
final class FastaiBody: Module {
    let resNet: ResNet

    init(_ resNet: ResNet) {
        self.resNet = resNet
    }

    override var namedChildren: [(name: String, module: Module)] {
        [("0", resNet.conv1), ("1", resNet.bn1)]
            + resNet.stages.enumerated().map { (String($0.offset + 4), $0.element) }
    }
}

/// fastai v1's `batchnorm_2d`: γ 1, β 1e-3.
private func fastaiBatchNorm(_ features: Int) -> BatchNorm2d {
    let norm = BatchNorm2d(features)
    norm.bias.value = Tensor(shape: [features], repeating: 1e-3)
    return norm
}

/// A convolution with bias initialised as fastai v1's `conv_layer`: Kaiming normal (fan-in), zero bias; padded to
/// keep the size.
private func fastaiConvolution(
    _ inChannels: Int, _ outChannels: Int, kernel: Int, using generator: inout some RandomNumberGenerator
) -> Conv2d {
    let fanIn = Float(inChannels * kernel * kernel)
    let weight = Tensor.randomNormal(
        [outChannels, inChannels, kernel, kernel], standardDeviation: (2 / fanIn).squareRoot(), using: &generator)
    return Conv2d(weight: weight, bias: .zeros([outChannels]), padding: kernel / 2)
}

/// fastai v1's `conv_layer` without norm: [conv (bias), ReLU].
private func fastaiConv(
    _ inChannels: Int, _ outChannels: Int, kernel: Int, using generator: inout some RandomNumberGenerator
) -> Sequential {
    Sequential([fastaiConvolution(inChannels, outChannels, kernel: kernel, using: &generator), ReLU()])
}
