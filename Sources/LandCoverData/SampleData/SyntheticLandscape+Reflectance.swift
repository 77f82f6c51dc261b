extension SyntheticLandscape {
    /// Top-of-atmosphere reflectance (0…1) in the order of `SyntheticLandscape.bandNames`.
    struct Spectrum: Sendable {
        /// Lanes 0…4 hold B02, B03, B04, B08, B11; the last three are unused padding.
        var bands: SIMD8<Float>

        /// A spectrum from its five band values.
        init(blue: Float, green: Float, red: Float, nir: Float, swir: Float) {
            bands = SIMD8(blue, green, red, nir, swir, 0, 0, 0)
        }

        /// `self` when `t` is 0, `other` when `t` is 1.
        func mixed(with other: Spectrum, _ t: Float) -> Spectrum {
            var result = self
            result.bands += (other.bands - bands) * t
            return result
        }

        /// Every band scaled by `factor` (illumination, shadow, brightness).
        static func * (spectrum: Spectrum, factor: Float) -> Spectrum {
            var result = spectrum
            result.bands *= factor
            return result
        }

        /// Every band scaled by its own factor.
        static func * (spectrum: Spectrum, factors: SIMD8<Float>) -> Spectrum {
            var result = spectrum
            result.bands *= factors
            return result
        }

        // L1C (TOA) means. Forest (mixed), grassland and artificial rows are measured (DOMAIN.md); the forest
        // types follow the L2A ordering broad-leaved > mixed > coniferous in NIR; water, bog, reeds, crops and
        // town materials are typical values with the same path radiance added (≈ +0.05 blue, +0.02 green).
        static let lake = Spectrum(blue: 0.070, green: 0.058, red: 0.038, nir: 0.012, swir: 0.006)
        static let river = Spectrum(blue: 0.074, green: 0.066, red: 0.046, nir: 0.024, swir: 0.010)
        static let broadLeaved = Spectrum(blue: 0.072, green: 0.064, red: 0.036, nir: 0.29, swir: 0.13)
        static let mixedForest = Spectrum(blue: 0.073, green: 0.062, red: 0.036, nir: 0.26, swir: 0.12)
        static let coniferous = Spectrum(blue: 0.070, green: 0.057, red: 0.032, nir: 0.22, swir: 0.10)
        static let grassland = Spectrum(blue: 0.086, green: 0.086, red: 0.063, nir: 0.32, swir: 0.21)
        static let greenCrop = Spectrum(blue: 0.080, green: 0.086, red: 0.056, nir: 0.37, swir: 0.19)
        static let bareSoil = Spectrum(blue: 0.104, green: 0.108, red: 0.118, nir: 0.20, swir: 0.30)
        static let peatBog = Spectrum(blue: 0.076, green: 0.070, red: 0.052, nir: 0.19, swir: 0.12)
        static let reeds = Spectrum(blue: 0.078, green: 0.076, red: 0.056, nir: 0.24, swir: 0.15)
        static let asphalt = Spectrum(blue: 0.098, green: 0.094, red: 0.092, nir: 0.13, swir: 0.17)
        static let greyRoof = Spectrum(blue: 0.112, green: 0.110, red: 0.112, nir: 0.19, swir: 0.23)
        static let tiledRoof = Spectrum(blue: 0.094, green: 0.088, red: 0.122, nir: 0.22, swir: 0.27)
    }

    /// Turns a surface into reflectance: the class mean, a shared texture factor (stands, crowns, hummocks,
    /// field-to-field brightness) and a little independent per-band grain.
    struct ReflectanceModel: Sendable {
        private let grainSeed: UInt64
        /// Stand-scale variation (150 m): age, density, gaps.
        private let stands: ValueNoise
        /// Crown-scale variation (20 m): crowns and the shadows between them.
        private let crowns: ValueNoise
        /// Patch-scale variation (60 m): soil moisture in fields, pools and hummocks in bogs.
        private let patches: ValueNoise

        /// Largest relative per-band grain (uniform, independent per band).
        private static let grainAmplitude: Float = 0.015

        /// Draws the texture fields.
        init(generator: inout SeededGenerator) {
            grainSeed = generator.next()
            stands = ValueNoise(seed: generator.next(), cell: 15)
            crowns = ValueNoise(seed: generator.next(), cell: 2)
            patches = ValueNoise(seed: generator.next(), cell: 6)
        }

        /// The reflectance of `surface` at pixel `(x, y)`.
        func spectrum(of surface: Surface, x: Int, y: Int) -> Spectrum {
            let px = Double(x) + 0.5
            let py = Double(y) + 0.5
            let mean: Spectrum
            let texture: Double
            switch surface {
            case .lake:
                (mean, texture) = (.lake, 0.03 * stands(px, py))
            case .river:
                (mean, texture) = (.river, 0.04 * patches(px, py))
            case .reedBed:
                (mean, texture) = (.reeds, 0.06 * patches(px, py) + 0.03 * crowns(px, py))
            case .bog:
                (mean, texture) = (.peatBog, 0.10 * patches(px, py) + 0.04 * stands(px, py))
            case .forest(let type):
                let (spectrum, crownDepth): (Spectrum, Double) =
                    switch type {
                    case .broadLeaved: (.broadLeaved, 0.07)
                    case .mixed: (.mixedForest, 0.08)
                    case .coniferous: (.coniferous, 0.10)
                    }
                (mean, texture) = (spectrum, 0.06 * stands(px, py) + crownDepth * crowns(px, py))
            case .field(let field, let isMargin):
                let crop = field.isPasture ? .grassland : Spectrum.bareSoil.mixed(with: .greenCrop, field.greenness)
                // Tracks and grass strips run along field edges.
                let cover = isMargin ? crop.mixed(with: .grassland, 0.5) : crop
                (mean, texture) = (cover * field.brightness, 0.025 * patches(px, py))
            case .town(.street):
                (mean, texture) = (.asphalt, 0.03 * crowns(px, py))
            case .town(.roof(let brightness, let isTiled)):
                // A 10 m pixel on a house still sees some garden and eaves shadow.
                let roof = (isTiled ? Spectrum.tiledRoof : .greyRoof).mixed(with: .grassland, 0.25)
                (mean, texture) = (roof * brightness, 0)
            case .town(.garden):
                (mean, texture) = (.grassland, 0.05 * patches(px, py))
            case .town(.tree):
                (mean, texture) = (.broadLeaved, 0.08 * crowns(px, py))
            }
            return mean * Float(1 + texture) * grain(x: x, y: y)
        }

        /// Independent per-band factors 1 ± `grainAmplitude`, five 12-bit draws from one hash.
        private func grain(x: Int, y: Int) -> SIMD8<Float> {
            let bits = SeededGenerator.hash(grainSeed, x, y)
            var grain = SIMD8<Float>(repeating: 1)
            for band in 0..<SyntheticLandscape.bandNames.count {
                let draw = Float((bits >> (12 * UInt64(band))) & 0xFFF) / 0xFFF
                grain[band] += Self.grainAmplitude * (2 * draw - 1)
            }
            return grain
        }
    }
}
