/// Per-channel mean and standard deviation of a source's images, for input normalisation (stored in checkpoints).
public struct ChannelStatistics: Codable, Sendable, Equatable {
    /// Mean reflectance per channel `[bands]`.
    public var mean: [Float]
    /// Population standard deviation per channel `[bands]`.
    public var std: [Float]

    /// Creates statistics from their values.
    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count, "\(mean.count) means for \(std.count) standard deviations.")
        self.mean = mean
        self.std = std
    }

    /// Mean and standard deviation of each channel over the images `indices` of `source` (typically its training
    /// split), skipping no-data pixels (value 0) when `ignoringNoData`.
    ///
    /// Each image is reduced exactly in Double (two passes), then images are merged with Chan et al.'s pairwise
    /// update, so the result does not drift over hundreds of thousands of images. A channel without any pixel
    /// gets mean 0 and std 0. Cost: one `readImage` per index.
    public static func compute(
        from source: some MultiLabelSource, indices: [Int], ignoringNoData: Bool = true
    ) throws -> ChannelStatistics {
        let channels = source.bands.count
        let pixels = source.size * source.size
        var total = [Moments](repeating: Moments(), count: channels)
        var image = [Float](repeating: 0, count: source.imageElementCount)
        for index in indices {
            try image.withUnsafeMutableBufferPointer { try source.readImage(at: index, into: $0) }
            for channel in 0..<channels {
                let values = image[(channel * pixels)..<((channel + 1) * pixels)]
                total[channel].merge(Moments(values, ignoringZeros: ignoringNoData))
            }
        }
        return ChannelStatistics(
            mean: total.map { Float($0.mean) },
            std: total.map { Float(($0.squaredDeviations / max($0.count, 1)).squareRoot()) })
    }

    /// Normalises an image `[bands, pixels]` in place: `(x - mean) / std` per channel (std 0 is taken as 1).
    ///
    /// No-data pixels (0) become 0, the channel mean, so they carry no signal.
    public func normalize(_ image: UnsafeMutableBufferPointer<Float>) {
        let channels = mean.count
        precondition(
            channels > 0 && image.count % channels == 0,
            "An image of \(image.count) values does not split into \(channels) channels.")
        let pixels = image.count / channels
        for channel in 0..<channels {
            let center = mean[channel]
            let scale = std[channel] > 0 ? 1 / std[channel] : 1
            for i in (channel * pixels)..<((channel + 1) * pixels) {
                image[i] = image[i] == 0 ? 0 : (image[i] - center) * scale
            }
        }
    }
}

/// Count, mean and sum of squared deviations of a set of values, mergeable (Chan, Golub & LeVeque 1979).
private struct Moments {
    var count = 0.0
    var mean = 0.0
    var squaredDeviations = 0.0

    init() {}

    /// The moments of `values`, in two passes; zeros skipped when `ignoringZeros`.
    init(_ values: ArraySlice<Float>, ignoringZeros: Bool) {
        var sum = 0.0
        for value in values where !(ignoringZeros && value == 0) {
            sum += Double(value)
            count += 1
        }
        guard count > 0 else { return }
        mean = sum / count
        for value in values where !(ignoringZeros && value == 0) {
            let deviation = Double(value) - mean
            squaredDeviations += deviation * deviation
        }
    }

    /// Adds another set's moments to these.
    mutating func merge(_ other: Moments) {
        guard other.count > 0 else { return }
        let combined = count + other.count
        let delta = other.mean - mean
        mean += delta * other.count / combined
        squaredDeviations += other.squaredDeviations + delta * delta * count * other.count / combined
        count = combined
    }
}
