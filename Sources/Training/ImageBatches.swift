import LandCoverData
import NeuralNet
import TensorCore

/// One of the eight symmetries of a square (the dihedral group D4): a rotation by `quarterTurns` × 90°
/// counter-clockwise after an optional horizontal flip. Land cover has no preferred orientation, so training images
/// are augmented with a random one (fastai's `dihedral`, the paper's flips and 90° rotations).
public struct Dihedral: Sendable, Equatable, Hashable {
    /// Mirror left–right first.
    public var flipped: Bool
    /// Then rotate by this many quarter turns counter-clockwise (0…3).
    public var quarterTurns: Int

    /// The symmetry that changes nothing.
    public static let identity = Dihedral(flipped: false, quarterTurns: 0)

    /// All eight symmetries.
    public static let all: [Dihedral] = [false, true].flatMap { flip in
        (0..<4).map { Dihedral(flipped: flip, quarterTurns: $0) }
    }

    /// Creates a symmetry.
    public init(flipped: Bool, quarterTurns: Int) {
        precondition((0..<4).contains(quarterTurns), "A square has four rotations, not \(quarterTurns).")
        self.flipped = flipped
        self.quarterTurns = quarterTurns
    }

    /// A uniformly random symmetry.
    public static func random(using generator: inout some RandomNumberGenerator) -> Dihedral {
        all[Int(generator.next() % 8)]
    }

    /// The source position `(y, x)` whose value lands at `(y, x)` of the transformed `size`×`size` image.
    @inline(__always)
    func source(y: Int, x: Int, size: Int) -> (y: Int, x: Int) {
        let last = size - 1
        // Undo the rotation: a counter-clockwise quarter turn maps (y, x) → (last − x, y).
        var (sy, sx) = (y, x)
        for _ in 0..<quarterTurns { (sy, sx) = (sx, last - sy) }
        return (sy, flipped ? last - sx : sx)
    }

    /// Applies the symmetry to each `size`×`size` plane of `planes` (`[planes, size, size]`), writing `output`.
    public func apply<T>(
        _ planes: UnsafeBufferPointer<T>, size: Int, into output: UnsafeMutableBufferPointer<T>
    ) {
        let area = size * size
        precondition(planes.count % area == 0 && output.count == planes.count, "Planes must be [n, size, size].")
        if self == .identity {
            _ = output.initialize(from: planes)
            return
        }
        for y in 0..<size {
            for x in 0..<size {
                let (sy, sx) = source(y: y, x: x, size: size)
                let from = sy * size + sx
                let to = y * size + x
                var base = 0
                while base < planes.count {
                    output[base + to] = planes[base + from]
                    base += area
                }
            }
        }
    }
}

/// Assembles normalised `[batch, bands, size, size]` inputs and multi-hot `[batch, classes]` targets from a
/// multi-label source.
public final class ImageBatches {
    /// The source.
    public let source: any MultiLabelSource
    /// Per-band normalisation applied to every image.
    public let normalization: ChannelStatistics

    private var image: [Float]

    /// Batches of `source`'s images normalised with `normalization` (one mean and std per band).
    public init(source: any MultiLabelSource, normalization: ChannelStatistics) {
        precondition(
            normalization.mean.count == source.bands.count,
            "Normalisation for \(normalization.mean.count) bands, source with \(source.bands.count).")
        self.source = source
        self.normalization = normalization
        image = [Float](repeating: 0, count: source.imageElementCount)
    }

    /// The images `indices`, each transformed by the matching element of `symmetries` (identity when empty), and
    /// their label vectors.
    public func batch(_ indices: [Int], symmetries: [Dihedral] = []) throws -> (input: Tensor, targets: Tensor) {
        precondition(symmetries.isEmpty || symmetries.count == indices.count, "One symmetry per image.")
        let elements = source.imageElementCount
        let classes = source.nomenclature.count
        var input = Tensor.zeros([indices.count, source.bands.count, source.size, source.size])
        var targets = [Float](repeating: 0, count: indices.count * classes)
        for (position, index) in indices.enumerated() {
            try image.withUnsafeMutableBufferPointer { image in
                try source.readImage(at: index, into: image)
                normalization.normalize(image)
            }
            let symmetry = symmetries.isEmpty ? .identity : symmetries[position]
            input.withUnsafeMutableBufferPointer { batch in
                let slot = UnsafeMutableBufferPointer(
                    rebasing: batch[(position * elements)..<((position + 1) * elements)])
                image.withUnsafeBufferPointer { symmetry.apply($0, size: source.size, into: slot) }
            }
            for label in source.labels(at: index) { targets[position * classes + label - 1] = 1 }
        }
        return (input, Tensor(shape: [indices.count, classes], scalars: targets))
    }

    /// `indices` cut into consecutive batches of at most `batchSize`; with `dropLast` a short final batch is left out
    /// (batch norm needs more than one image per batch to train).
    public static func partition(_ indices: [Int], batchSize: Int, dropLast: Bool) -> [[Int]] {
        precondition(batchSize >= 1, "A batch holds at least one image.")
        var batches = stride(from: 0, to: indices.count, by: batchSize).map {
            Array(indices[$0..<min($0 + batchSize, indices.count)])
        }
        if dropLast, let last = batches.last, last.count < batchSize, batches.count > 1 || last.count < 2 {
            batches.removeLast()
        }
        return batches
    }
}
