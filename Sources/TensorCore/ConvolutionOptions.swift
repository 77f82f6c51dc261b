/// The geometry of a 2-D convolution besides its shapes: the same stride and zero padding on both spatial axes.
public struct ConvolutionOptions: Hashable, Sendable {
    /// The step between kernel positions, in input pixels (PyTorch's `stride`).
    public var stride: Int
    /// Zero rows and columns added on every side of the input (PyTorch's `padding`).
    public var padding: Int

    /// Creates options; stride 1 and no padding by default.
    public init(stride: Int = 1, padding: Int = 0) {
        precondition(stride >= 1, "A convolution stride must be at least 1.")
        precondition(padding >= 0, "Convolution padding cannot be negative.")
        self.stride = stride
        self.padding = padding
    }

    /// The output extent along one axis, rounding down as PyTorch does: ⌊(input + 2·padding − kernel) / stride⌋ + 1.
    public func outputExtent(input: Int, kernel: Int) -> Int {
        precondition(
            input + 2 * padding >= kernel,
            "A kernel of \(kernel) does not fit an input of \(input) with padding \(padding).")
        return (input + 2 * padding - kernel) / stride + 1
    }

    /// The output shape `[batch, outChannels, outHeight, outWidth]` for an input `[batch, inChannels, height, width]`
    /// and a weight `[outChannels, inChannels, kernelHeight, kernelWidth]`.
    public func outputShape(input: [Int], weight: [Int]) -> [Int] {
        precondition(input.count == 4, "A convolution input is [batch, channels, height, width], not \(input).")
        precondition(
            weight.count == 4,
            "A convolution weight is [outChannels, inChannels, kernelHeight, kernelWidth], not \(weight).")
        precondition(
            input[1] == weight[1], "The input has \(input[1]) channels but the weight expects \(weight[1]).")
        return [
            input[0], weight[0], outputExtent(input: input[2], kernel: weight[2]),
            outputExtent(input: input[3], kernel: weight[3]),
        ]
    }
}
