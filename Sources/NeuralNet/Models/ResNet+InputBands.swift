import TensorCore

extension ResNet {
    /// Loads a torchvision `state_dict` whose stem was trained on another number of bands (ImageNet RGB weights
    /// into a multispectral model), widening or narrowing `conv1.weight` with `adaptingInputBands` first.
    public func load(pretrained stateDict: [String: Tensor], strict: Bool = true) throws {
        var adapted = stateDict
        if let stem = stateDict["conv1.weight"] {
            adapted["conv1.weight"] = Self.adaptingInputBands(stem, to: configuration.inputChannels)
        }
        try load(stateDict: adapted, strict: strict)
    }

    /// A stem kernel `[out, 3, k, k]` trained on RGB adapted to `bands` input bands.
    ///
    /// With more bands the RGB kernels stay, for the first three bands (so an RGB-first band order keeps what
    /// ImageNet taught), and every further band gets the mean of the three RGB kernels: a fresh band starts as an
    /// average colour channel rather than noise, and training specialises it. With fewer bands each band gets the
    /// mean RGB kernel × 3/bands, so a grey image gives the activations its RGB version would. A kernel that already
    /// has `bands` input channels is returned unchanged.
    public static func adaptingInputBands(_ kernel: Tensor, to bands: Int) -> Tensor {
        precondition(kernel.rank == 4, "A stem kernel is [out, bands, k, k], not \(kernel.shape).")
        precondition(bands >= 1, "A stem needs at least one input band.")
        let (outChannels, sourceBands) = (kernel.shape[0], kernel.shape[1])
        guard sourceBands != bands else { return kernel }
        precondition(sourceBands == 3, "Only RGB stems can be adapted, not \(sourceBands) bands.")
        let taps = kernel.shape[2] * kernel.shape[3]
        let source = kernel.scalars
        var result = [Float](repeating: 0, count: outChannels * bands * taps)
        for out in 0..<outChannels {
            for tap in 0..<taps {
                let rgb = (0..<3).map { source[(out * 3 + $0) * taps + tap] }
                let mean = (rgb[0] + rgb[1] + rgb[2]) / 3
                for band in 0..<bands {
                    result[(out * bands + band) * taps + tap] =
                        bands > 3 ? (band < 3 ? rgb[band] : mean) : mean * 3 / Float(bands)
                }
            }
        }
        return Tensor(shape: [outChannels, bands, kernel.shape[2], kernel.shape[3]], scalars: result)
    }
}
