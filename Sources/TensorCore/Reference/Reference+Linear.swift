extension Reference {
    /// The matrix product of `a` `[m, k]` and `b` `[k, n]`, giving `[m, n]`; a transposed operand is given as
    /// `[k, m]` or `[n, k]`.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul multiplies matrices, not \(a.shape) and \(b.shape).")
        let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (bRows, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        precondition(
            k == bRows, "Cannot multiply \(a.shape) by \(b.shape) (transposed: \(transposeA), \(transposeB)).")
        let (x, y) = (a.scalars, b.scalars)
        var product = [Float](repeating: 0, count: m * n)
        for row in 0..<m {
            for column in 0..<n {
                var sum = 0.0
                for inner in 0..<k {
                    let left = transposeA ? x[inner * m + row] : x[row * k + inner]
                    let right = transposeB ? y[column * k + inner] : y[inner * n + column]
                    sum += Double(left) * Double(right)
                }
                product[row * n + column] = Float(sum)
            }
        }
        return Tensor(shape: [m, n], scalars: product)
    }

    /// A linear layer: `input` `[batch, inFeatures]` · `weight`ᵀ (`weight` is `[outFeatures, inFeatures]`)
    /// + `bias` `[outFeatures]`, giving `[batch, outFeatures]`.
    public static func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let product = matmul(input, weight, transposeB: true)
        guard let bias else { return product }
        precondition(bias.shape == [weight.shape[0]], "A linear bias is [outFeatures], not \(bias.shape).")
        let b = bias.scalars
        var scalars = product.scalars
        for index in scalars.indices { scalars[index] += b[index % b.count] }
        return Tensor(shape: product.shape, scalars: scalars)
    }

    /// The gradient of `linear` with respect to its input: `outputGradient` `[batch, outFeatures]` · `weight`
    /// `[outFeatures, inFeatures]`, giving `[batch, inFeatures]`.
    public static func linearBackwardData(_ outputGradient: Tensor, weight: Tensor) -> Tensor {
        matmul(outputGradient, weight)
    }

    /// The gradients of `linear` with respect to its weight, `outputGradient`ᵀ · `input` `[outFeatures, inFeatures]`,
    /// and its bias, the sum of `outputGradient` over the batch `[outFeatures]`.
    public static func linearBackwardWeights(
        _ outputGradient: Tensor, input: Tensor
    ) -> (weight: Tensor, bias: Tensor) {
        let (batch, outFeatures) = (outputGradient.shape[0], outputGradient.shape[1])
        let g = outputGradient.scalars
        let bias = (0..<outFeatures).map { feature in
            Float((0..<batch).reduce(0.0) { $0 + Double(g[$1 * outFeatures + feature]) })
        }
        return (matmul(outputGradient, input, transposeA: true), Tensor(shape: [outFeatures], scalars: bias))
    }
}
