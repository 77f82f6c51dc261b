import TensorCore

/// A 2-D convolution layer (PyTorch's `nn.Conv2d`, groups 1, dilation 1): `[batch, inChannels, height, width]` to
/// `[batch, outChannels, outHeight, outWidth]`. Parameters `weight` `[outChannels, inChannels, kernel, kernel]`
/// and, optionally, `bias` `[outChannels]`.
public final class Conv2d: Module, Layer {
    /// The kernel `[outChannels, inChannels, kernel, kernel]`.
    public let weight: Variable
    /// The per-channel bias `[outChannels]`, if the layer has one.
    public let bias: Variable?
    /// Stride and zero padding.
    public let options: ConvolutionOptions

    /// A layer with PyTorch's default initialisation: weight and bias uniform in ±1/√(inChannels·kernel²).
    public init(
        inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
        using generator: inout some RandomNumberGenerator
    ) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize > 0, "A convolution needs positive sizes.")
        let bound = 1 / Float(inChannels * kernelSize * kernelSize).squareRoot()
        weight = Variable(
            .randomUniform([outChannels, inChannels, kernelSize, kernelSize], in: -bound..<bound, using: &generator),
            requiresGrad: true)
        self.bias =
            bias
            ? Variable(.randomUniform([outChannels], in: -bound..<bound, using: &generator), requiresGrad: true) : nil
        options = ConvolutionOptions(stride: stride, padding: padding)
    }

    /// A layer with the given `weight` `[outChannels, inChannels, kernel, kernel]` and `bias` `[outChannels]`.
    public init(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) {
        precondition(
            weight.rank == 4 && weight.shape[2] == weight.shape[3],
            "A convolution weight is [outChannels, inChannels, kernel, kernel], not \(weight.shape).")
        if let bias {
            precondition(bias.shape == [weight.shape[0]], "A convolution bias is [outChannels], not \(bias.shape).")
        }
        self.weight = Variable(weight, requiresGrad: true)
        self.bias = bias.map { Variable($0, requiresGrad: true) }
        options = ConvolutionOptions(stride: stride, padding: padding)
    }

    public override var namedOwnParameters: [(name: String, parameter: Variable)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// The convolution of `input` `[batch, inChannels, height, width]`.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        try conv2d(input, weight: weight, bias: bias, options: options)
    }
}
