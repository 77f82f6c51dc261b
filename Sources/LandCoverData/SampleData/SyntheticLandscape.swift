/// A deterministic synthetic Sentinel-2-like scene with its land-cover truth and a CORINE-like label layer, for
/// `landcover sample-data` and tests. Pure Swift: writing it to JP2/SAFE/GeoTIFF is left to the caller.
///
/// The scene holds a lake with a reed belt, a meandering river, a town with a street grid, rectangular fields
/// (arable and pasture) around it, and coniferous, mixed and broad-leaved forest with peat bogs elsewhere.
/// Reflectance follows the L1C (top-of-atmosphere) means in `DOMAIN.md` with stand, crown and field texture.
/// The CORINE layer is the truth aggregated to 100 m, generalised to a 25 ha minimum mapping unit and made
/// noisy at class borders, so it disagrees with the image where real CORINE does.
public struct SyntheticLandscape: Sendable {
    /// What to generate.
    public struct Configuration: Sendable {
        /// Scene width and height in 10 m pixels; a multiple of 10 (one 100 m CORINE cell).
        public var size: Int
        /// Seed of the generator; equal seeds give bit-identical scenes on every platform.
        public var seed: UInt64
        /// Share of 100 m CORINE cells relabelled after generalisation (0…1).
        public var labelNoise: Double

        /// A configuration; the defaults give a 12 km scene with 5 % label noise.
        public init(size: Int = 1200, seed: UInt64 = 2018, labelNoise: Double = 0.05) {
            self.size = size
            self.seed = seed
            self.labelNoise = labelNoise
        }
    }

    /// Names of the bands in `reflectance`: the 10 m bands and B11 (20 m, generated at 10 m).
    public static let bandNames = ["B02", "B03", "B04", "B08", "B11"]
    /// Pixels of 10 m per side of a 100 m CORINE cell.
    public static let corineCellPixels = 10

    /// Width and height of the scene in 10 m pixels.
    public let size: Int
    /// True land cover at 10 m, as CORINE grid codes (1...44), row-major [size*size].
    public let truth: [UInt8]
    /// Top-of-atmosphere reflectance × 10000 (no offset) per band name, at 10 m, row-major [size*size], values
    /// in 1...20000. B11 is a 20 m band generated at 10 m; the writer downsamples it.
    public let reflectance: [String: [UInt16]]
    /// CORINE-like label at 100 m, row-major [(size/10)*(size/10)] grid codes: the truth's block majority,
    /// generalised to a 25 ha minimum mapping unit, then `labelNoise` of the cells relabelled.
    public let corine100m: [UInt8]

    /// Generates the scene for `configuration`: about 0.3 s for the default 1200² in a release build.
    public init(_ configuration: Configuration) {
        let size = configuration.size
        precondition(
            size > 0 && size % Self.corineCellPixels == 0,
            "The landscape size must be a positive multiple of 10 pixels (one 100 m CORINE cell).")
        precondition((0...1).contains(configuration.labelNoise), "The label-noise share must lie in 0...1.")
        var generator = SeededGenerator(seed: configuration.seed)
        let layout = Layout(size: size, generator: &generator)
        let model = ReflectanceModel(generator: &generator)

        let pixelCount = size * size
        let bandCount = Self.bandNames.count
        var truth = [UInt8](repeating: 0, count: pixelCount)
        // Band-sequential planes in one buffer: band b holds pixels b * pixelCount ..< (b + 1) * pixelCount.
        var planes = [UInt16](repeating: 0, count: bandCount * pixelCount)
        truth.withUnsafeMutableBufferPointer { truth in
            planes.withUnsafeMutableBufferPointer { planes in
                for y in 0..<size {
                    for x in 0..<size {
                        let pixel = y * size + x
                        let surface = layout.surface(x: x, y: y)
                        truth[pixel] = surface.gridCode
                        let scaled = model.spectrum(of: surface, x: x, y: y).bands * 10_000
                        for band in 0..<bandCount {
                            planes[band * pixelCount + pixel] = UInt16(min(max(scaled[band].rounded(), 1), 20_000))
                        }
                    }
                }
            }
        }

        let corineWidth = size / Self.corineCellPixels
        let modal = Self.majority(of: truth, size: size, blockSize: Self.corineCellPixels)
        let generalised = Self.generalised(modal, width: corineWidth)
        self.size = size
        self.truth = truth
        reflectance = Dictionary(
            uniqueKeysWithValues: Self.bandNames.enumerated().map { band, name in
                (name, Array(planes[band * pixelCount..<(band + 1) * pixelCount]))
            })
        corine100m = Self.withLabelNoise(
            generalised, width: corineWidth, share: configuration.labelNoise, using: &generator)
    }
}
