import TensorCore

/// A fully connected layer (PyTorch's `nn.Linear`): `[batch, inFeatures]` to `[batch, outFeatures]`. Parameters
/// `weight` `[outFeatures, inFeatures]` and, optionally, `bias` `[outFeatures]`.
public final class Linear: Module, Layer {
    /// The matrix `[outFeatures, inFeatures]`.
    public let weight: Variable
    /// The bias `[outFeatures]`, if the layer has one.
    public let bias: Variable?

    /// A layer with PyTorch's default initialisation: weight and bias uniform in ±1/√inFeatures.
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, using generator: inout some RandomNumberGenerator)
    {
        precondition(inFeatures > 0 && outFeatures > 0, "A linear layer needs positive sizes.")
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Variable(
            .randomUniform([outFeatures, inFeatures], in: -bound..<bound, using: &generator), requiresGrad: true)
        self.bias =
            bias
            ? Variable(.randomUniform([outFeatures], in: -bound..<bound, using: &generator), requiresGrad: true) : nil
    }

    public override var namedOwnParameters: [(name: String, parameter: Variable)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// `input` `[batch, inFeatures]` · `weight`ᵀ + `bias`.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        linear(input, weight: weight, bias: bias)
    }
}
