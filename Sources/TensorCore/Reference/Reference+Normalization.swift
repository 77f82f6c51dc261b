extension Reference {
    /// Batch normalisation in training mode of `input` `[batch, channels, height, width]` or `[batch, channels]`:
    /// `output = (input − mean) / √(variance + epsilon) · scale + shift` with the batch mean and biased batch
    /// variance `[channels]` over batch and pixels, which it also returns.
    public static func batchNormTraining(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) -> (output: Tensor, mean: Tensor, variance: Tensor) {
        let layout = ChannelLayout(input.shape)
        let x = input.scalars
        var sums = [Double](repeating: 0, count: layout.channels)
        layout.forEach { index, channel in sums[channel] += Double(x[index]) }
        let mean = sums.map { $0 / Double(layout.perChannel) }
        var squares = [Double](repeating: 0, count: layout.channels)
        layout.forEach { index, channel in
            let deviation = Double(x[index]) - mean[channel]
            squares[channel] += deviation * deviation
        }
        let variance = squares.map { $0 / Double(layout.perChannel) }
        let output = normalized(input, layout, scale: scale, shift: shift, mean: mean, variance: variance, epsilon)
        return (
            output, Tensor(shape: [layout.channels], scalars: mean.map { Float($0) }),
            Tensor(shape: [layout.channels], scalars: variance.map { Float($0) })
        )
    }

    /// Batch normalisation in inference mode: `output = (input − mean) / √(variance + epsilon) · scale + shift`
    /// with given `mean` and `variance` `[channels]`.
    public static func batchNormInference(
        _ input: Tensor, scale: Tensor, shift: Tensor, mean: Tensor, variance: Tensor, epsilon: Float
    ) -> Tensor {
        normalized(
            input, ChannelLayout(input.shape), scale: scale, shift: shift, mean: mean.scalars.map { Double($0) },
            variance: variance.scalars.map { Double($0) }, epsilon)
    }

    /// The gradients of `batchNormTraining` with respect to its input, `scale` and `shift`. With x̂ the normalised
    /// input, σ = √(variance + epsilon) and m values per channel: `shift` gets Σ g, `scale` gets Σ g · x̂, and the
    /// input gets `scale / σ · (g − Σ g / m − x̂ · Σ g · x̂ / m)`, or `scale / σ · g` when `usesRunningStatistics`.
    public static func batchNormBackward(
        _ outputGradient: Tensor, input: Tensor, scale: Tensor, mean: Tensor, variance: Tensor, epsilon: Float,
        usesRunningStatistics: Bool = false
    ) -> (input: Tensor, scale: Tensor, shift: Tensor) {
        precondition(outputGradient.shape == input.shape, "The gradient and the input must have one shape.")
        let layout = ChannelLayout(input.shape)
        let (x, g, gamma) = (input.scalars, outputGradient.scalars, scale.scalars)
        let mu = mean.scalars.map { Double($0) }
        let sigma = variance.scalars.map { (Double($0) + Double(epsilon)).squareRoot() }
        func normalizedInput(_ index: Int, _ channel: Int) -> Double {
            (Double(x[index]) - mu[channel]) / sigma[channel]
        }
        var shiftGradient = [Double](repeating: 0, count: layout.channels)
        var scaleGradient = [Double](repeating: 0, count: layout.channels)
        layout.forEach { index, channel in
            shiftGradient[channel] += Double(g[index])
            scaleGradient[channel] += Double(g[index]) * normalizedInput(index, channel)
        }
        var inputGradient = [Float](repeating: 0, count: input.count)
        let m = Double(layout.perChannel)
        layout.forEach { index, channel in
            var centred = Double(g[index])
            if !usesRunningStatistics {
                centred -= shiftGradient[channel] / m + normalizedInput(index, channel) * scaleGradient[channel] / m
            }
            inputGradient[index] = Float(Double(gamma[channel]) / sigma[channel] * centred)
        }
        return (
            Tensor(shape: input.shape, scalars: inputGradient),
            Tensor(shape: [layout.channels], scalars: scaleGradient.map { Float($0) }),
            Tensor(shape: [layout.channels], scalars: shiftGradient.map { Float($0) })
        )
    }

    private static func normalized(
        _ input: Tensor, _ layout: ChannelLayout, scale: Tensor, shift: Tensor, mean: [Double], variance: [Double],
        _ epsilon: Float
    ) -> Tensor {
        let (x, gamma, beta) = (input.scalars, scale.scalars, shift.scalars)
        precondition(
            [gamma.count, beta.count, mean.count, variance.count].allSatisfy { $0 == layout.channels },
            "Batch normalisation parameters are [channels] = [\(layout.channels)].")
        var output = [Float](repeating: 0, count: x.count)
        layout.forEach { index, channel in
            let normalized = (Double(x[index]) - mean[channel]) / (variance[channel] + Double(epsilon)).squareRoot()
            output[index] = Float(normalized * Double(gamma[channel]) + Double(beta[channel]))
        }
        return Tensor(shape: input.shape, scalars: output)
    }

    /// Which channel each element of a `[batch, channels, …]` tensor belongs to.
    private struct ChannelLayout {
        let batch: Int
        let channels: Int
        /// Elements per channel and sample (height · width).
        let pixels: Int

        init(_ shape: [Int]) {
            precondition(shape.count >= 2, "Batch normalisation takes [batch, channels, …], not \(shape).")
            (batch, channels, pixels) = (shape[0], shape[1], shape[2...].reduce(1, *))
        }

        /// Values per channel: batch · pixels.
        var perChannel: Int { batch * pixels }

        /// Calls `body(index, channel)` for every element in row-major order.
        func forEach(_ body: (Int, Int) -> Void) {
            var index = 0
            for _ in 0..<batch {
                for channel in 0..<channels {
                    for _ in 0..<pixels {
                        body(index, channel)
                        index += 1
                    }
                }
            }
        }
    }
}
