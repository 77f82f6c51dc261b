/// Seeded, platform-independent pseudo-random generator (SplitMix64), so one seed gives the same data everywhere.
///
/// SplitMix64 (Steele, Lea & Flood 2014) passes BigCrush and needs one word of state. The helpers in this folder
/// turn its bits into numbers themselves rather than through the standard library's `random(in:using:)`, whose
/// algorithm is not promised to stay the same across Swift releases.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// Returns the next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.scramble(state)
    }

    /// SplitMix64's finaliser: a bijective bit mixer, also used to hash lattice coordinates.
    static func scramble(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 64 well-mixed bits for the grid coordinates `(a, b)` under `seed`: stateless randomness for grids.
    /// Coordinates are taken modulo 2³², far beyond any scene.
    static func hash(_ seed: UInt64, _ a: Int, _ b: Int) -> UInt64 {
        let packed = UInt64(UInt32(truncatingIfNeeded: a)) << 32 | UInt64(UInt32(truncatingIfNeeded: b))
        return scramble(seed ^ packed &* 0x9E37_79B9_7F4A_7C15)
    }

    /// `bits` mapped to [0, 1) through their top 53 bits.
    static func unit(_ bits: UInt64) -> Double {
        Double(bits >> 11) * 0x1p-53
    }

    /// A uniform value in [0, 1) from the top 53 bits of `next()`.
    mutating func nextUnit() -> Double {
        Self.unit(next())
    }

    /// A uniform value in `range`.
    mutating func nextUnit(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * nextUnit()
    }

    /// A uniform integer in `0..<bound` (multiply-high; the bias is below 2⁻⁴⁰ for the bounds used here).
    mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "The bound of a random index must be positive.")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform integer in `range`.
    mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextIndex(below: range.count)
    }

    /// Moves a uniform random choice of `count` distinct elements to the front of `elements` (a partial
    /// Fisher–Yates shuffle) and returns them.
    mutating func partiallyShuffled<Element>(_ elements: inout [Element], first count: Int) -> ArraySlice<Element> {
        for index in 0..<count {
            elements.swapAt(index, index + nextIndex(below: elements.count - index))
        }
        return elements[..<count]
    }
}
