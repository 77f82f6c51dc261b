extension SyntheticLandscape {
    /// Smooth 2-D value noise in [-1, 1]: hashed random values on a square lattice of `cell` pixels, blended with
    /// a quintic fade. Only additions and multiplications, so the field is bit-identical on every platform.
    struct ValueNoise: Sendable {
        private let seed: UInt64
        private let inverseCell: Double

        /// A field whose features are about `cell` pixels across.
        init(seed: UInt64, cell: Double) {
            precondition(cell > 0, "The noise cell must be positive.")
            self.seed = seed
            inverseCell = 1 / cell
        }

        /// The field at pixel coordinates `(x, y)`.
        func callAsFunction(_ x: Double, _ y: Double) -> Double {
            let u = x * inverseCell
            let v = y * inverseCell
            let column = u.rounded(.down)
            let row = v.rounded(.down)
            let i = Int(column)
            let j = Int(row)
            let s = Self.fade(u - column)
            let t = Self.fade(v - row)
            let top = lerp(lattice(i, j), lattice(i + 1, j), s)
            let bottom = lerp(lattice(i, j + 1), lattice(i + 1, j + 1), s)
            return lerp(top, bottom, t)
        }

        private func lattice(_ i: Int, _ j: Int) -> Double {
            2 * SeededGenerator.unit(SeededGenerator.hash(seed, i, j)) - 1
        }

        /// 6t⁵ − 15t⁴ + 10t³ (Perlin 2002): zero first and second derivatives at the lattice, so no visible grid.
        private static func fade(_ t: Double) -> Double {
            t * t * t * (t * (t * 6 - 15) + 10)
        }
    }

    /// A normalised sum of `ValueNoise` octaves, each half the cell and `persistence` times the weight of the last;
    /// stays in [-1, 1].
    struct FractalNoise: Sendable {
        private let octaves: [ValueNoise]
        private let weights: [Double]

        /// A fractal field whose largest features are about `cell` pixels across.
        init(generator: inout SeededGenerator, cell: Double, octaves count: Int, persistence: Double = 0.5) {
            precondition(count > 0, "Fractal noise needs at least one octave.")
            var octaves: [ValueNoise] = []
            var weights: [Double] = []
            var weight = 1.0
            for octave in 0..<count {
                octaves.append(ValueNoise(seed: generator.next(), cell: cell / Double(1 << octave)))
                weights.append(weight)
                weight *= persistence
            }
            let total = weights.reduce(0, +)
            self.octaves = octaves
            self.weights = weights.map { $0 / total }
        }

        /// The field at pixel coordinates `(x, y)`.
        func callAsFunction(_ x: Double, _ y: Double) -> Double {
            var sum = 0.0
            for (octave, weight) in zip(octaves, weights) {
                sum += weight * octave(x, y)
            }
            return sum
        }
    }

    /// A smooth field sampled every `step` pixels over a `size`² scene and interpolated bilinearly between the
    /// samples: `step`² times fewer evaluations, for fields whose features are several steps across.
    struct SampledField: Sendable {
        private let step: Double
        private let columns: Int
        private let samples: [Double]

        /// Samples `field` at pixel coordinates `(i * step, j * step)` covering the whole scene.
        init(size: Int, step: Int, _ field: (Double, Double) -> Double) {
            precondition(step > 0, "The sampling step must be positive.")
            let columns = (size + step - 1) / step + 1
            var samples: [Double] = []
            samples.reserveCapacity(columns * columns)
            for j in 0..<columns {
                for i in 0..<columns {
                    samples.append(field(Double(i * step), Double(j * step)))
                }
            }
            self.step = Double(step)
            self.columns = columns
            self.samples = samples
        }

        /// The field at the centre of pixel `(x, y)`.
        func callAsFunction(x: Int, y: Int) -> Double {
            let u = (Double(x) + 0.5) / step
            let v = (Double(y) + 0.5) / step
            let column = u.rounded(.down)
            let row = v.rounded(.down)
            let s = u - column
            let t = v - row
            let index = Int(row) * columns + Int(column)
            let top = lerp(samples[index], samples[index + 1], s)
            let bottom = lerp(samples[index + columns], samples[index + columns + 1], s)
            return lerp(top, bottom, t)
        }
    }
}

/// `a` when `t` is 0, `b` when `t` is 1.
@inline(__always)
private func lerp(_ a: Double, _ b: Double, _ t: Double) -> Double {
    a + (b - a) * t
}
