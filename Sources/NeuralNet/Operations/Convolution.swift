import TensorCore

/// 2-D convolution (PyTorch's `F.conv2d`, groups 1, dilation 1) of `input` `[batch, inChannels, height, width]`
/// with `weight` `[outChannels, inChannels, kernel, kernel]` and an optional `bias` `[outChannels]`, giving
/// `[batch, outChannels, outHeight, outWidth]`. The backward pass runs oneDNN's backward-data and backward-weights
/// primitives, each only when some input needs its result.
public func conv2d(
    _ input: Variable, weight: Variable, bias: Variable? = nil, options: ConvolutionOptions = ConvolutionOptions()
) throws -> Variable {
    let device = CPUDevice.shared
    if weight.isLeaf && weight.requiresGrad && GradientMode.isEnabled && weight.value.layout.isRowMajor {
        // A trained weight is kept in the convolution's own layout: no reorder for the forward pass, none for its
        // gradient, and the optimizer updates it in that layout.
        weight.value = try device.convolutionWeightsInPreferredLayout(
            weight.value, inputShape: input.shape, options: options, hasBias: bias != nil)
    }
    let (x, w) = (input.value, weight.value)
    let output = try device.convolution2D(x, weight: w, bias: bias?.value, options: options)
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Variable(output, inputs: inputs) { gradient, needed in
        let inputGradient =
            needed[0]
            ? try device.convolution2DBackwardData(gradient, weight: w, inputShape: x.shape, options: options) : nil
        var weightGradient: Tensor?
        var biasGradient: Tensor?
        if needed[1] || needed.count > 2 && needed[2] {
            (weightGradient, biasGradient) = try device.convolution2DBackwardWeights(
                gradient, input: x, weightShape: w.shape, options: options, withBias: needed.count > 2,
                weightLayout: w.layout)
        }
        return [inputGradient, weightGradient] + (needed.count > 2 ? [biasGradient] : [])
    }
}
