import Testing
import TensorCore

/// Expects `actual` to have `expected`'s shape and every element within `atol + rtol · |expected|`; on failure it
/// reports how many elements miss and the worst one.
func expectClose(
    _ actual: Tensor, _ expected: Tensor, rtol: Float, atol: Float,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.shape == expected.shape else {
        Issue.record("Shape \(actual.shape) differs from \(expected.shape).", sourceLocation: sourceLocation)
        return
    }
    let (a, e) = (actual.scalars, expected.scalars)
    var misses = 0
    var worst: (index: Int, excess: Float)?
    for index in a.indices {
        let error = abs(a[index] - e[index])
        let tolerance = atol + rtol * abs(e[index])
        // `!(error <= tolerance)` also catches NaN.
        if !(error <= tolerance) {
            misses += 1
            let excess = error.isNaN ? .infinity : error / tolerance
            if worst.map({ excess > $0.excess }) ?? true { worst = (index, excess) }
        }
    }
    if let worst {
        Issue.record(
            """
            \(misses) of \(a.count) elements outside atol \(atol) + rtol \(rtol); worst at \(worst.index): \
            \(a[worst.index]) vs \(e[worst.index]).
            """, sourceLocation: sourceLocation)
    }
}

/// The Double sum of `tensor ⊙ weights`: a scalar "loss" whose gradient with respect to `tensor` is `weights`.
func weightedSum(_ tensor: Tensor, _ weights: Tensor) -> Double {
    zip(tensor.scalars, weights.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}

/// The central-difference gradient of `function` at `point`, one element at a time:
/// (f(x + ε·eᵢ) − f(x − ε·eᵢ)) / 2ε.
func numericalGradient(of function: (Tensor) -> Double, at point: Tensor, epsilon: Float) -> Tensor {
    var gradient = [Float](repeating: 0, count: point.count)
    let base = point.scalars
    for index in base.indices {
        var plus = base
        var minus = base
        plus[index] += epsilon
        minus[index] -= epsilon
        // Divide by the step actually taken: x ± ε is rounded to Float.
        let step = Double(plus[index]) - Double(minus[index])
        gradient[index] = Float(
            (function(Tensor(shape: point.shape, scalars: plus)) - function(Tensor(shape: point.shape, scalars: minus)))
                / step)
    }
    return Tensor(shape: point.shape, scalars: gradient)
}

/// SplitMix64 (Steele, Lea & Flood 2014): a seeded generator so every test sees the same numbers.
struct TestGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
