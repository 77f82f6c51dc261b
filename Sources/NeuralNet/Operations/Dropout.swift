import TensorCore

/// Inverted dropout: each element kept with probability 1 − `probability` and scaled by 1 / (1 − `probability`),
/// else zeroed, so the expected value is unchanged and inference needs no rescaling. The mask is drawn from
/// `generator` in row-major order (one 64-bit draw per element); the gradient passes through the same mask.
public func dropout(
    _ input: Variable, probability: Double, using generator: inout some RandomNumberGenerator
) -> Variable {
    precondition((0...1).contains(probability), "A dropout probability lies in [0, 1], not \(probability).")
    let scale = probability < 1 ? Float(1 / (1 - probability)) : 0
    let mask = Tensor.filled(input.shape) { mask in
        for index in mask.indices {
            // The top 53 bits as a uniform number in [0, 1).
            let uniform = Double(generator.next() >> 11) * 0x1p-53
            mask[index] = uniform >= probability ? scale : 0
        }
    }
    return Variable(input.value * mask, inputs: [input]) { gradient, _ in [gradient * mask] }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, seedable generator, so that a seed (the CLI's `--seed`)
/// reproduces every random choice: initial weights, dropout masks, shuffling.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    /// The generator's whole state: `SeededGenerator(seed: state)` continues the sequence from here.
    public private(set) var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
