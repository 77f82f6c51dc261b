import Foundation

extension Reference {
    /// max(x, 0) elementwise.
    public static func relu(_ input: Tensor) -> Tensor {
        input.mapped { $0 > 0 ? $0 : 0 }
    }

    /// The gradient of `relu` at `input`: `outputGradient` where `input` > 0, else 0.
    public static func reluBackward(_ outputGradient: Tensor, input: Tensor) -> Tensor {
        precondition(outputGradient.shape == input.shape, "The gradient and the input of ReLU must have one shape.")
        let x = input.scalars
        let g = outputGradient.scalars
        return Tensor(shape: input.shape, scalars: zip(x, g).map { $0 > 0 ? $1 : 0 })
    }

    /// The logistic function 1 / (1 + e⁻ˣ) elementwise, evaluated in Double.
    public static func sigmoid(_ input: Tensor) -> Tensor {
        input.mapped { Float(1 / (1 + exp(-Double($0)))) }
    }

    /// The gradient of `sigmoid` from its `output` y: `outputGradient · y · (1 − y)`.
    public static func sigmoidBackward(_ outputGradient: Tensor, output: Tensor) -> Tensor {
        precondition(
            outputGradient.shape == output.shape, "The gradient and the output of sigmoid must have one shape.")
        let y = output.scalars
        let g = outputGradient.scalars
        return Tensor(
            shape: output.shape, scalars: zip(y, g).map { Float(Double($1) * Double($0) * (1 - Double($0))) })
    }
}
