import TensorCore

/// `inputs` `[batch, channelsᵢ, …]` joined along the channels (PyTorch's `torch.cat(_, dim=1)`), giving
/// `[batch, Σ channelsᵢ, …]`; each input's gradient is its slice of the output gradient.
public func concatenateChannels(_ inputs: [Variable]) -> Variable {
    let device = CPUDevice.shared
    let sizes = inputs.map { $0.shape.count >= 2 ? $0.shape[1] : 0 }
    let output = OperationProfile.measure("concatenate") { device.concatenateChannels(inputs.map(\.value)) }
    return Variable(output, inputs: inputs) { gradient, _ in
        OperationProfile.measure("split") { device.splitChannels(gradient, sizes: sizes) }
    }
}

/// Nearest-neighbour resizing (PyTorch's `F.interpolate(mode="nearest")` with a size) of `input` `[batch,
/// channels, inHeight, inWidth]` to `[batch, channels, height, width]`: source pixel ⌊y·in/out⌋.
public func resizeNearest(_ input: Variable, height: Int, width: Int) throws -> Variable {
    let device = CPUDevice.shared
    let inputShape = input.shape
    let output = try OperationProfile.measure("resize nearest") {
        try device.resizeNearest(input.value, height: height, width: width)
    }
    return Variable(output, inputs: [input]) { gradient, _ in
        [
            try OperationProfile.measure("resize nearest backward") {
                try device.resizeNearestBackward(gradient, inputShape: inputShape)
            }
        ]
    }
}

/// Bilinear resizing (PyTorch's `F.interpolate(mode="bilinear", align_corners=False)`) of `input` `[batch,
/// channels, inHeight, inWidth]` to `[batch, channels, height, width]`.
public func resizeBilinear(_ input: Variable, height: Int, width: Int) throws -> Variable {
    let device = CPUDevice.shared
    let inputShape = input.shape
    return Variable(try device.resizeBilinear(input.value, height: height, width: width), inputs: [input]) {
        gradient, _ in [try device.resizeBilinearBackward(gradient, inputShape: inputShape)]
    }
}

/// Sub-pixel upsampling (PyTorch's `pixel_shuffle`): `[batch, channels·factor², height, width]` →
/// `[batch, channels, height·factor, width·factor]`.
public func pixelShuffle(_ input: Variable, factor: Int) -> Variable {
    let device = CPUDevice.shared
    return Variable(device.pixelShuffle(input.value, factor: factor), inputs: [input]) { gradient, _ in
        [device.pixelShuffleBackward(gradient, factor: factor)]
    }
}
