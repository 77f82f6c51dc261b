import TensorCore

/// A fully connected layer (PyTorch's `F.linear`): `input` `[batch, inFeatures]` · `weight`ᵀ (`weight` is
/// `[outFeatures, inFeatures]`) + `bias` `[outFeatures]`, giving `[batch, outFeatures]`. OpenBLAS sgemm both ways.
public func linear(_ input: Variable, weight: Variable, bias: Variable? = nil) -> Variable {
    let device = CPUDevice.shared
    let (x, w) = (input.value, weight.value)
    let output = device.linear(x, weight: w, bias: bias?.value)
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Variable(output, inputs: inputs) { gradient, needed in
        let inputGradient = needed[0] ? device.linearBackwardData(gradient, weight: w) : nil
        var parameterGradients: [Tensor?] = [nil, nil]
        if needed.dropFirst().contains(true) {
            let (weightGradient, biasGradient) = device.linearBackwardWeights(gradient, input: x)
            parameterGradients = [weightGradient, biasGradient]
        }
        return [inputGradient] + parameterGradients.prefix(inputs.count - 1)
    }
}
