import Foundation

extension Tensor {
    /// A tensor of `shape` filled with zeros.
    public static func zeros(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, repeating: 0)
    }

    /// Zeros with the shape and layout of `other` (padding of a blocked layout included).
    public static func zeros(like other: Tensor) -> Tensor {
        let tensor = Tensor(uninitializedShape: other.shape, layout: other.layout)
        tensor.storage.base.initialize(repeating: 0, count: tensor.storage.count)
        return tensor
    }

    /// A tensor of `shape` with independent uniform samples from `range`, drawn from `generator` in row-major order.
    ///
    /// The bits are mapped to numbers here rather than by `Float.random(in:using:)`, whose algorithm the standard
    /// library does not promise to keep, so one seed gives the same tensor on every platform and release.
    public static func randomUniform(
        _ shape: [Int], in range: Range<Float> = 0..<1, using generator: inout some RandomNumberGenerator
    ) -> Tensor {
        let tensor = Tensor(uninitializedShape: shape)
        let lower = Double(range.lowerBound)
        let width = Double(range.upperBound) - lower
        for index in 0..<tensor.count {
            let sample = Float(lower + width * unitInterval(generator.next()))
            // Rounding to Float can reach the excluded upper bound; keep the range half-open.
            tensor.storage.base[index] = sample < range.upperBound ? sample : range.lowerBound
        }
        return tensor
    }

    /// A tensor of `shape` with independent normal samples N(`mean`, `standardDeviation`²), drawn from `generator`.
    ///
    /// Box–Muller (Box & Muller 1958) in Double: each pair of uniforms gives two samples, used in row-major order.
    public static func randomNormal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
        using generator: inout some RandomNumberGenerator
    ) -> Tensor {
        precondition(standardDeviation >= 0, "A standard deviation cannot be negative.")
        let tensor = Tensor(uninitializedShape: shape)
        var index = 0
        while index < tensor.count {
            // 1 − u lies in (0, 1], so the logarithm is finite.
            let radius = (-2 * log(1 - unitInterval(generator.next()))).squareRoot()
            let angle = 2 * Double.pi * unitInterval(generator.next())
            for value in [radius * cos(angle), radius * sin(angle)] where index < tensor.count {
                tensor.storage.base[index] = mean + standardDeviation * Float(value)
                index += 1
            }
        }
        return tensor
    }

    /// `bits` mapped to [0, 1) through their top 53 bits.
    private static func unitInterval(_ bits: UInt64) -> Double {
        Double(bits >> 11) * 0x1p-53
    }
}
