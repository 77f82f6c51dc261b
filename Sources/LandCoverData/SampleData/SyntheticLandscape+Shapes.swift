extension SyntheticLandscape {
    /// A roundish region (lake, town) whose edge is bent by fractal noise into a smooth, irregular outline.
    struct Blob: Sendable {
        let centreX: Double
        let centreY: Double
        let radius: Double
        private let outline: FractalNoise
        private let roughness: Double

        /// A blob of `radius` pixels at `(centreX, centreY)` whose edge wanders by up to `roughness` radii.
        init(centreX: Double, centreY: Double, radius: Double, roughness: Double, generator: inout SeededGenerator) {
            self.centreX = centreX
            self.centreY = centreY
            self.radius = radius
            self.roughness = roughness
            outline = FractalNoise(generator: &generator, cell: radius * 0.6, octaves: 3)
        }

        /// Distance from the centre in radii, ignoring the outline.
        func radialDistance(_ x: Double, _ y: Double) -> Double {
            let dx = x - centreX
            let dy = y - centreY
            return (dx * dx + dy * dy).squareRoot() / radius
        }

        /// Distance in radii with the outline applied: below 1 inside. Exact up to `farDistance`; beyond it only
        /// "far" is meaningful (the noise is skipped there, which keeps the whole scene cheap).
        func outlineDistance(_ x: Double, _ y: Double) -> Double {
            let radial = radialDistance(x, y)
            if radial - roughness > Self.farDistance { return radial }
            return radial + roughness * outline(x, y)
        }

        /// Beyond this many radii `outlineDistance` returns the plain radial distance.
        static let farDistance = 1.5
    }

    /// A meandering river crossing the scene from one edge to the opposite one.
    struct River: Sendable {
        private let flowsEastward: Bool
        /// Across-stream position of the centre line for each along-stream pixel index.
        private let centreLine: [Double]
        /// Half the width measured across the scene axis (widened where the river runs obliquely).
        private let axisHalfWidth: [Double]

        /// A river of 30–130 m width across a `size`² scene.
        init(size: Int, generator: inout SeededGenerator) {
            flowsEastward = generator.nextUnit() < 0.5
            let start = Double(size) * generator.nextUnit(in: 0.25...0.75)
            let drift = generator.nextUnit(in: -0.25...0.25)
            let meander = FractalNoise(generator: &generator, cell: max(40, Double(size) * 0.3), octaves: 3)
            let meanderAmplitude = Double(size) * 0.1
            let width = ValueNoise(seed: generator.next(), cell: 90)
            let centre = (0...size).map { along in
                start + drift * Double(along) + meanderAmplitude * meander(Double(along), 0)
            }
            centreLine = centre
            axisHalfWidth = (0..<size).map { along in
                let halfWidth = 4 + 2.5 * width(Double(along), 0)
                let slope = centre[along + 1] - centre[along]
                return halfWidth * (1 + slope * slope).squareRoot()
            }
        }

        /// Whether the pixel `(x, y)` is water.
        func contains(x: Int, y: Int) -> Bool {
            let (along, across) = flowsEastward ? (x, y) : (y, x)
            return abs(Double(across) + 0.5 - centreLine[along]) < axisHalfWidth[along]
        }
    }

    /// Rectangular parcels tiling the scene: columns of random width, each cut into rows of random height, so
    /// parcel edges are straight but staggered from column to column (fields, or town blocks between streets).
    struct ParcelGrid: Sendable {
        /// One parcel's pixel bounds (half-open).
        struct Parcel: Sendable {
            let minX: Int, minY: Int, maxX: Int, maxY: Int
            /// The parcel's centre in pixel coordinates.
            var centre: (x: Double, y: Double) { (Double(minX + maxX) / 2, Double(minY + maxY) / 2) }
        }

        /// All parcels, column by column.
        let parcels: [Parcel]
        private let size: Int
        private let columnOfX: [Int32]
        /// `parcelIndex[column * size + y]`.
        private let parcelIndex: [Int32]

        /// Parcels `widths` by `heights` pixels covering a `size`² scene (the last in each direction is cut).
        init(size: Int, widths: ClosedRange<Int>, heights: ClosedRange<Int>, generator: inout SeededGenerator) {
            var parcels: [Parcel] = []
            var columnOfX: [Int32] = []
            var parcelIndex: [Int32] = []
            columnOfX.reserveCapacity(size)
            var minX = 0
            var column: Int32 = 0
            while minX < size {
                let maxX = min(size, minX + generator.nextInt(in: widths))
                columnOfX += repeatElement(column, count: maxX - minX)
                var minY = 0
                while minY < size {
                    let maxY = min(size, minY + generator.nextInt(in: heights))
                    parcelIndex += repeatElement(Int32(parcels.count), count: maxY - minY)
                    parcels.append(Parcel(minX: minX, minY: minY, maxX: maxX, maxY: maxY))
                    minY = maxY
                }
                minX = maxX
                column += 1
            }
            self.parcels = parcels
            self.size = size
            self.columnOfX = columnOfX
            self.parcelIndex = parcelIndex
        }

        /// The parcel holding pixel `(x, y)`, and whether the pixel is on its top or left edge (a track or street).
        func parcel(x: Int, y: Int) -> (index: Int, isEdge: Bool) {
            let index = Int(parcelIndex[Int(columnOfX[x]) * size + y])
            let parcel = parcels[index]
            return (index, x == parcel.minX || y == parcel.minY)
        }
    }
}
