import TensorCore

/// 2-D max pooling (PyTorch's `max_pool2d`, floor mode, −∞ padding) of `input` `[batch, channels, height, width]`
/// with a `kernel`² window moved by `stride`, giving `[batch, channels, outHeight, outWidth]`; the gradient goes to
/// each window's maximum. oneDNN both ways.
public func maxPool2d(_ input: Variable, kernel: Int, stride: Int, padding: Int = 0) throws -> Variable {
    let device = CPUDevice.shared
    let inputShape = input.shape
    let (output, indices) = try device.maxPool2D(input.value, kernel: kernel, stride: stride, padding: padding)
    return Variable(output, inputs: [input]) { gradient, _ in
        [try device.maxPool2DBackward(gradient, indices: indices, inputShape: inputShape)]
    }
}

/// 2-D average pooling (PyTorch's `avg_pool2d`, floor mode, zero padding) of `input` `[batch, channels, height,
/// width]`, dividing by kernel² when `countIncludePadding` (PyTorch's default), else by the pixels inside the input.
public func avgPool2d(
    _ input: Variable, kernel: Int, stride: Int, padding: Int = 0, countIncludePadding: Bool = true
) throws -> Variable {
    let device = CPUDevice.shared
    let inputShape = input.shape
    let output = try device.averagePool2D(
        input.value, kernel: kernel, stride: stride, padding: padding, countIncludePadding: countIncludePadding)
    return Variable(output, inputs: [input]) { gradient, _ in
        [
            try device.averagePool2DBackward(
                gradient, inputShape: inputShape, kernel: kernel, stride: stride, padding: padding,
                countIncludePadding: countIncludePadding)
        ]
    }
}

/// The mean of each channel (PyTorch's `adaptive_avg_pool2d(_, 1)`): `[batch, channels, height, width]` →
/// `[batch, channels, 1, 1]`.
public func globalAveragePool(_ input: Variable) -> Variable {
    let device = CPUDevice.shared
    let inputShape = input.shape
    let output = OperationProfile.measure("global average pool") { device.globalAveragePool(input.value) }
    return Variable(output, inputs: [input]) { gradient, _ in
        [
            OperationProfile.measure("global average pool backward") {
                device.globalAveragePoolBackward(gradient, inputShape: inputShape)
            }
        ]
    }
}

/// The maximum of each channel (PyTorch's `adaptive_max_pool2d(_, 1)`): `[batch, channels, height, width]` →
/// `[batch, channels, 1, 1]`; the gradient goes to the (first) maximum.
public func globalMaxPool(_ input: Variable) -> Variable {
    let device = CPUDevice.shared
    let inputShape = input.shape
    let (output, argmax) = device.globalMaxPool(input.value)
    return Variable(output, inputs: [input]) { gradient, _ in
        [device.globalMaxPoolBackward(gradient, argmax: argmax, inputShape: inputShape)]
    }
}

/// fastai's `AdaptiveConcatPool2d` at size 1: the channel maxima, then the channel means, `[batch, channels,
/// height, width]` → `[batch, 2·channels, 1, 1]` (`torch.cat([max, avg], 1)`, max first).
public func adaptiveConcatPool(_ input: Variable) -> Variable {
    concatenateChannels([globalMaxPool(input), globalAveragePool(input)])
}
