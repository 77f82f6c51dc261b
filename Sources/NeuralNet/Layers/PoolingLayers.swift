import TensorCore

/// 2-D max pooling (PyTorch's `nn.MaxPool2d`, floor mode): `[batch, channels, height, width]` →
/// `[batch, channels, outHeight, outWidth]`.
public final class MaxPool2d: Module, Layer {
    /// The window size.
    public let kernel: Int
    /// The window step.
    public let stride: Int
    /// The −∞ padding on every side.
    public let padding: Int

    /// A pooling layer (the ResNet stem's is kernel 3, stride 2, padding 1).
    public init(kernel: Int, stride: Int, padding: Int = 0) {
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
    }

    /// The window maxima of `input`.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        try maxPool2d(input, kernel: kernel, stride: stride, padding: padding)
    }
}

/// fastai's `AdaptiveConcatPool2d(1)`: `[batch, channels, height, width]` → `[batch, 2·channels, 1, 1]`, the
/// channel maxima followed by the channel means.
public final class AdaptiveConcatPool2d: Module, Layer {
    /// The pooling.
    public override init() {}

    /// cat([max, mean], channels) of `input`.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        adaptiveConcatPool(input)
    }
}

/// The mean of each channel (PyTorch's `nn.AdaptiveAvgPool2d(1)`): `[batch, channels, height, width]` →
/// `[batch, channels, 1, 1]`.
public final class AdaptiveAvgPool2d: Module, Layer {
    /// The pooling.
    public override init() {}

    /// The channel means of `input`.
    public func callAsFunction(_ input: Variable) throws -> Variable {
        globalAveragePool(input)
    }
}
