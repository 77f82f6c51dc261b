import TensorCore

/// Layers applied in order (PyTorch's `nn.Sequential`); the children are named "0", "1", … as in PyTorch, so
/// `downsample.1.running_mean` or fastai's `head.8.weight` address them.
public final class Sequential: Module, Layer {
    /// The layers, first applied first.
    public let layers: [any Layer]

    /// A container applying `layers` in order.
    public init(_ layers: [any Layer]) {
        self.layers = layers
    }

    public override var namedChildren: [(name: String, module: Module)] {
        layers.enumerated().map { (String($0.offset), $0.element as Module) }
    }

    /// `input` through every layer in turn; a convolution followed by a batch norm (and a ReLU) runs as
    /// `convolutionBatchNorm`, and a batch norm followed by a ReLU as one fused pass.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        var value = input
        var index = 0
        while index < layers.count {
            if let convolution = layers[index] as? Conv2d, index + 1 < layers.count,
                let norm = layers[index + 1] as? BatchNorm2d
            {
                let relu = index + 2 < layers.count && layers[index + 2] is ReLU
                value = try convolutionBatchNorm(value, convolution, norm, relu: relu)
                index += relu ? 3 : 2
            } else if let norm = layers[index] as? BatchNorm, index + 1 < layers.count, layers[index + 1] is ReLU {
                value = try norm(value, fusingReLU: true)
                index += 2
            } else {
                value = try layers[index](value)
                index += 1
            }
        }
        return value
    }
}

/// max(x, 0) elementwise (PyTorch's `nn.ReLU`); any shape.
public final class ReLU: Module, Layer {
    /// The activation.
    public override init() {}

    /// max(`input`, 0).
    public func callAsFunction(_ input: Variable) throws -> Variable {
        try relu(input)
    }
}

/// `[batch, …]` to `[batch, features]` (PyTorch's `nn.Flatten`).
public final class Flatten: Module, Layer {
    /// The reshape.
    public override init() {}

    /// `input` flattened after the batch dimension.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        input.flattened()
    }
}

/// Inverted dropout (PyTorch's `nn.Dropout`) in training mode and the identity in inference; any shape.
///
/// The layer owns its generator, so a model seeded once draws the same masks on every run.
public final class Dropout: Module, Layer {
    /// The probability of zeroing an element.
    public let probability: Double
    /// The source of the masks.
    public var generator: SeededGenerator

    /// A dropout layer drawing its masks from a generator seeded by `generator`.
    public init(probability: Double, using generator: inout some RandomNumberGenerator) {
        precondition((0...1).contains(probability), "A dropout probability lies in [0, 1], not \(probability).")
        self.probability = probability
        self.generator = SeededGenerator(seed: generator.next())
    }

    /// `input` with elements dropped and rescaled while training; `input` itself in inference.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        guard isTraining && probability > 0 else { return input }
        return dropout(input, probability: probability, using: &generator)
    }
}
