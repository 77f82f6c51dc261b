extension CPUDevice {
    /// The matrix product of `a` `[m, k]` and `b` `[k, n]`, giving `[m, n]`; a transposed operand is given as
    /// `[k, m]` or `[n, k]` and read transposed without a copy. Runs OpenBLAS's `cblas_sgemm`.
    public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul multiplies matrices, not \(a.shape) and \(b.shape).")
        let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (bRows, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        precondition(
            k == bRows, "Cannot multiply \(a.shape) by \(b.shape) (transposed: \(transposeA), \(transposeB)).")
        let product = Tensor(uninitializedShape: [m, n])
        gemm(a, b, into: product, transposeA: transposeA, transposeB: transposeB, accumulate: false)
        return product
    }

    /// A linear layer (PyTorch's `nn.Linear`): `input` `[batch, inFeatures]` · `weight`ᵀ (`weight` is
    /// `[outFeatures, inFeatures]`) + `bias` `[outFeatures]`, giving `[batch, outFeatures]`. OpenBLAS sgemm.
    public func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        precondition(input.rank == 2, "A linear input is [batch, inFeatures], not \(input.shape).")
        precondition(weight.rank == 2, "A linear weight is [outFeatures, inFeatures], not \(weight.shape).")
        precondition(
            input.shape[1] == weight.shape[1],
            "The input has \(input.shape[1]) features but the weight expects \(weight.shape[1]).")
        let (batch, outFeatures) = (input.shape[0], weight.shape[0])
        guard let bias else { return matmul(input, weight, transposeB: true) }
        precondition(bias.shape == [outFeatures], "A linear bias is [outFeatures], not \(bias.shape).")
        // Start from the bias broadcast over the batch, then accumulate the product onto it.
        let output = Tensor(uninitializedShape: [batch, outFeatures])
        bias.withUnsafeBufferPointer { row in
            for sample in 0..<batch {
                (output.storage.base + sample * outFeatures).initialize(from: row.baseAddress!, count: outFeatures)
            }
        }
        gemm(input, weight, into: output, transposeA: false, transposeB: true, accumulate: true)
        return output
    }

    /// The gradient of `linear` with respect to its input: `outputGradient` `[batch, outFeatures]` · `weight`
    /// `[outFeatures, inFeatures]`, giving `[batch, inFeatures]`. OpenBLAS sgemm.
    public func linearBackwardData(_ outputGradient: Tensor, weight: Tensor) -> Tensor {
        matmul(outputGradient, weight)
    }

    /// The gradients of `linear` with respect to its weight, `outputGradient`ᵀ · `input` `[outFeatures, inFeatures]`,
    /// and its bias, the sum of `outputGradient` `[batch, outFeatures]` over the batch `[outFeatures]`. OpenBLAS sgemm.
    public func linearBackwardWeights(_ outputGradient: Tensor, input: Tensor) -> (weight: Tensor, bias: Tensor) {
        precondition(
            outputGradient.rank == 2 && input.rank == 2 && outputGradient.shape[0] == input.shape[0],
            "The output gradient \(outputGradient.shape) and the input \(input.shape) must share the batch.")
        let weightGradient = matmul(outputGradient, input, transposeA: true)
        let (batch, outFeatures) = (outputGradient.shape[0], outputGradient.shape[1])
        var biasGradient = Tensor.zeros([outFeatures])
        outputGradient.withUnsafeBufferPointer { gradient in
            biasGradient.withUnsafeMutableBufferPointer { sum in
                for sample in 0..<batch {
                    for feature in 0..<outFeatures { sum[feature] += gradient[sample * outFeatures + feature] }
                }
            }
        }
        return (weightGradient, biasGradient)
    }

    /// `c = op(a) · op(b)` (+ `c` when `accumulate`), with row-major leading dimensions taken from the shapes.
    private func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool, transposeB: Bool, accumulate: Bool) {
        let (a, b) = (a.rowMajor, b.rowMajor)
        let (m, n) = (c.shape[0], c.shape[1])
        let k = transposeA ? a.shape[0] : a.shape[1]
        OperationProfile.measure("sgemm") {
            withOpenBLAS {
                withExtendedLifetime((a, b, c)) {
                    cblasSgemm(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                        a: a.storage.base, lda: max(a.shape[1], 1), b: b.storage.base, ldb: max(b.shape[1], 1),
                        beta: accumulate ? 1 : 0, c: c.storage.base, ldc: max(n, 1))
                }
            }
        }
    }
}
