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
}
