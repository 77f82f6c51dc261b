extension SyntheticLandscape {
    /// CORINE grid codes (1…44) of the classes the generator draws, with their CLC codes.
    enum GridCode {
        static let discontinuousUrbanFabric: UInt8 = 2  // 112
        static let nonIrrigatedArableLand: UInt8 = 12  // 211
        static let pastures: UInt8 = 18  // 231
        static let broadLeavedForest: UInt8 = 23  // 311
        static let coniferousForest: UInt8 = 24  // 312
        static let mixedForest: UInt8 = 25  // 313
        static let inlandMarshes: UInt8 = 35  // 411
        static let peatBogs: UInt8 = 36  // 412
        static let waterCourses: UInt8 = 40  // 511
        static let waterBodies: UInt8 = 41  // 512
    }

    /// The tree species mix of a forest stand.
    enum ForestType: Sendable {
        case broadLeaved, coniferous, mixed
    }

    /// One field parcel, drawn once so the whole field shares its crop and brightness.
    struct Field: Sendable {
        /// Large-scale land-use score at the parcel's centre; the parcel is farmed where it is high.
        let farmScore: Double
        /// Grass rather than a crop.
        let isPasture: Bool
        /// Crop cover from 0 (bare soil) to 1 (closed canopy); unused for pasture.
        let greenness: Float
        /// Field-to-field brightness factor (crop variety, moisture, mowing).
        let brightness: Float
    }

    /// What a 10 m pixel inside the town shows.
    enum TownCover: Sendable {
        case street
        case roof(brightness: Float, isTiled: Bool)
        case garden
        case tree
    }

    /// What covers one 10 m pixel, with the detail the reflectance model needs.
    enum Surface: Sendable {
        case lake
        case river
        case reedBed
        case bog
        case forest(ForestType)
        case field(Field, isMargin: Bool)
        case town(TownCover)

        /// The CORINE grid code of the surface.
        var gridCode: UInt8 {
            switch self {
            case .lake: GridCode.waterBodies
            case .river: GridCode.waterCourses
            case .reedBed: GridCode.inlandMarshes
            case .bog: GridCode.peatBogs
            case .forest(.broadLeaved): GridCode.broadLeavedForest
            case .forest(.coniferous): GridCode.coniferousForest
            case .forest(.mixed): GridCode.mixedForest
            case .field(let field, _): field.isPasture ? GridCode.pastures : GridCode.nonIrrigatedArableLand
            case .town: GridCode.discontinuousUrbanFabric
            }
        }
    }

    /// The scene's geography: a lake with a reed belt, a river, a town with a street grid, fields around the town,
    /// and forest with peat bogs elsewhere. Large regions follow fractal noise so patches are 100 m to km sized.
    struct Layout: Sendable {
        private let lake: Blob
        private let town: Blob
        private let river: River
        private let fields: ParcelGrid
        private let fieldTraits: [Field]
        private let townBlocks: ParcelGrid
        private let landUse: SampledField
        private let moisture: SampledField
        private let forestMix: SampledField
        private let reedBelt: ValueNoise
        private let houseSeed: UInt64

        /// Weight of the pixel's own land-use value against its parcel's: bends forest edges off the field grid.
        private static let pixelLandUseWeight = 0.35
        /// Pixels whose farm score exceeds this are fields.
        private static let farmThreshold = 0.06
        /// Unfarmed pixels wetter than this are peat bog.
        private static let bogThreshold = 0.3
        /// Cell of the large-scale land-use noise in pixels (2.4 km): farmland and forest patches of 0.5–3 km.
        private static let regionCell = 240.0
        /// Pixels between samples of the large-scale fields.
        private static let fieldSamplingStep = 4
        /// Widest reed belt, in lake radii.
        private static let reedBeltWidth = 0.25

        /// Draws a layout for a `size`² scene of 10 m pixels.
        init(size: Int, generator: inout SeededGenerator) {
            let extent = Double(size)
            // Lake and town grow with the scene but keep at least their size in a 6 km scene, so that small
            // scenes still show them at a scale CORINE's 25 ha unit keeps.
            let featureScale = max(extent, 600)

            lake = Blob(
                centreX: extent * generator.nextUnit(in: 0.2...0.8),
                centreY: extent * generator.nextUnit(in: 0.2...0.8),
                radius: featureScale * generator.nextUnit(in: 0.07...0.11),
                roughness: 0.3, generator: &generator)
            let townRadius = featureScale * generator.nextUnit(in: 0.06...0.09)
            var townCentre = (x: 0.0, y: 0.0)
            for _ in 0..<16 {  // keep the town off the lake; the last draw stands if none is clear
                townCentre = (
                    extent * generator.nextUnit(in: 0.15...0.85), extent * generator.nextUnit(in: 0.15...0.85)
                )
                let gap = lake.radialDistance(townCentre.x, townCentre.y) * lake.radius
                if gap > 1.3 * (lake.radius + townRadius) { break }
            }
            let town = Blob(
                centreX: townCentre.x, centreY: townCentre.y, radius: townRadius, roughness: 0.35,
                generator: &generator)
            self.town = town
            river = River(size: size, generator: &generator)

            let landUse = FractalNoise(generator: &generator, cell: Self.regionCell, octaves: 3)
            let moisture = FractalNoise(generator: &generator, cell: Self.regionCell * 0.7, octaves: 3)
            let pastureTendency = FractalNoise(generator: &generator, cell: Self.regionCell * 0.5, octaves: 2)
            let forestMix = FractalNoise(generator: &generator, cell: Self.regionCell * 0.6, octaves: 2)
            reedBelt = ValueNoise(seed: generator.next(), cell: lake.radius * 0.5)

            let fields = ParcelGrid(size: size, widths: 20...55, heights: 14...40, generator: &generator)
            fieldTraits = fields.parcels.map { parcel in
                let (x, y) = parcel.centre
                // Farmland gathers around the town.
                let nearTown = max(0, 1 - town.radialDistance(x, y) / 3)
                let pastureDraw = pastureTendency(x, y) + 0.3 * moisture(x, y) + 0.2 * (generator.nextUnit() - 0.5)
                return Field(
                    farmScore: 0.65 * landUse(x, y) + 0.4 * nearTown,
                    isPasture: pastureDraw > 0.2,
                    greenness: Self.drawGreenness(&generator),
                    brightness: Float(generator.nextUnit(in: 0.92...1.08)))
            }
            self.fields = fields
            // The finest octaves are 10 px or more across, so sampling every 4 px loses nothing visible.
            self.landUse = SampledField(size: size, step: Self.fieldSamplingStep, landUse.callAsFunction)
            self.moisture = SampledField(size: size, step: Self.fieldSamplingStep, moisture.callAsFunction)
            self.forestMix = SampledField(size: size, step: Self.fieldSamplingStep, forestMix.callAsFunction)
            townBlocks = ParcelGrid(size: size, widths: 9...15, heights: 8...14, generator: &generator)
            houseSeed = generator.next()
        }

        /// The surface of pixel `(x, y)`.
        func surface(x: Int, y: Int) -> Surface {
            let px = Double(x) + 0.5
            let py = Double(y) + 0.5
            let lakeDistance = lake.outlineDistance(px, py)
            if lakeDistance < 1 { return .lake }
            if river.contains(x: x, y: y) { return .river }
            if lakeDistance < 1 + Self.reedBeltWidth && lakeDistance < 1 + Self.reedBeltWidth * reedBelt(px, py) {
                return .reedBed
            }
            if town.outlineDistance(px, py) < 1 {
                return .town(townCover(x: x, y: y, centrality: 1 - min(1, town.radialDistance(px, py))))
            }
            let (parcel, isEdge) = fields.parcel(x: x, y: y)
            let field = fieldTraits[parcel]
            if field.farmScore + Self.pixelLandUseWeight * landUse(x: x, y: y) > Self.farmThreshold {
                return .field(field, isMargin: isEdge)
            }
            if moisture(x: x, y: y) > Self.bogThreshold { return .bog }
            let mix = forestMix(x: x, y: y)
            return .forest(mix < -0.15 ? .coniferous : mix > 0.2 ? .broadLeaved : .mixed)
        }

        /// Streets on block edges; inside a block, 20 m houses on a 30 m pitch with gardens and trees between
        /// them, built up more densely towards the centre.
        private func townCover(x: Int, y: Int, centrality: Double) -> TownCover {
            let (index, isEdge) = townBlocks.parcel(x: x, y: y)
            if isEdge { return .street }
            let block = townBlocks.parcels[index]
            let column = x - block.minX - 1
            let row = y - block.minY - 1
            if column % 3 < 2 && row % 3 < 2 {
                let plotBits = SeededGenerator.hash(houseSeed ^ UInt64(index), column / 3, row / 3)
                if SeededGenerator.unit(plotBits) < 0.45 + 0.35 * centrality {
                    // The draw uses the top 53 bits, leaving the low 11 free for the roof.
                    return .roof(
                        brightness: 0.85 + 0.3 * Float(plotBits & 0x3FF) / 0x3FF, isTiled: plotBits & 0x400 != 0)
                }
            }
            return SeededGenerator.unit(SeededGenerator.hash(houseSeed, x, y)) < 0.3 ? .tree : .garden
        }

        /// June crop cover: most cereals closed, some fields emerging, a few still bare.
        private static func drawGreenness(_ generator: inout SeededGenerator) -> Float {
            let stage = generator.nextUnit()
            let range: ClosedRange<Double> = stage < 0.15 ? 0...0.15 : stage < 0.35 ? 0.3...0.6 : 0.7...1
            return Float(generator.nextUnit(in: range))
        }
    }
}
