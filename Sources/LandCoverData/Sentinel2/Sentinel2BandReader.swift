import Foundation
import GeoRaster

/// Reads windows of the 10 m grid for a list of bands, in the requested order; 20 m bands (and SCL) upsampled to
/// 10 m by pixel replication (nearest), 60 m likewise (×6).
/// One reader = its own GDAL dataset handles: use one reader per thread.
///
/// Each read decodes only the window (plus the covering coarse pixels); no band is loaded whole.
public final class Sentinel2BandReader {
    /// The bands, in the order they appear in read buffers.
    public let bands: [SpectralBand]
    /// The 10 m grid that windows refer to (the product's grid).
    public let grid: RasterGrid

    /// A band of one open subdataset and how many 10 m pixels its pixels span.
    private struct Source {
        let band: RasterBand
        let factor: Int
        let width: Int
        let height: Int
    }

    private let productName: String
    private let sources: [Source]
    private var sceneClassification: Source?
    private let sceneClassificationLocation: (subdataset: Sentinel2Product.Subdataset, index: Int)?
    /// Open subdatasets by resolution, shared by the bands that live in them.
    private var datasets: [Int: Dataset] = [:]
    /// Reused buffer for coarse-resolution reads.
    private var scratch: [UInt16] = []

    init(product: Sentinel2Product, bands: [SpectralBand], includeSceneClassification: Bool) throws {
        precondition(!bands.isEmpty, "A Sentinel-2 reader needs at least one band.")
        self.bands = bands
        self.grid = product.grid
        self.productName = product.productName
        self.sceneClassificationLocation = product.sceneClassificationLocation

        var datasets: [Int: Dataset] = [:]
        func dataset(for subdataset: Sentinel2Product.Subdataset) throws -> Dataset {
            if let open = datasets[subdataset.resolution] { return open }
            let open = try Dataset.open(subdataset.name)
            datasets[subdataset.resolution] = open
            return open
        }
        var sources: [Source] = []
        for band in bands {
            guard let (subdataset, index) = product.location(of: band) else {
                let available = product.availableBands.map(\.name).joined(separator: ", ")
                throw Sentinel2Error(
                    "\(product.productName) has no band \(band.name) at \(band.nativeResolution) m "
                        + "(available: \(available.isEmpty ? "none" : available); \(product.metadataPath))")
            }
            sources.append(
                Source(
                    band: try dataset(for: subdataset).band(index), factor: subdataset.factor,
                    width: subdataset.width, height: subdataset.height))
        }
        if includeSceneClassification {
            guard let (subdataset, index) = product.sceneClassificationLocation else {
                throw Self.noSceneClassification(product.productName)
            }
            sceneClassification = Source(
                band: try dataset(for: subdataset).band(index), factor: subdataset.factor,
                width: subdataset.width, height: subdataset.height)
        }
        self.sources = sources
        self.datasets = datasets
        Self.reserveBlockCache(for: sources.map(\.band) + [sceneClassification?.band].compactMap { $0 })
    }

    // MARK: Block cache

    /// Bytes of GDAL's block cache reserved by the readers opened so far (the largest need).
    nonisolated(unsafe) private static var reservedCacheBytes = 0
    private static let reservationLock = NSLock()
    /// The least block cache a reader leaves GDAL, for everything else a process reads.
    static let minimumCacheBytes = 128 << 20

    /// Sizes GDAL's block cache for reading `bands` strip by strip, unless the user set `GDAL_CACHEMAX`: two rows of
    /// blocks of every image file (a strip may straddle two), plus a quarter, so that each JPEG-2000 tile is decoded
    /// once and JP2OpenJPEG decodes a row of tiles on all cores. Four 10 m bands of a full tile in 1024² tiles need
    /// ~230 MB; GDAL's default (5 % of the RAM) would let the cache grow to the whole decoded tile.
    private static func reserveBlockCache(for bands: [RasterBand]) {
        guard GDAL.configOption("GDAL_CACHEMAX") == nil else { return }
        var bytes = 0
        for band in bands {
            // The cache holds the image file's blocks; the SENTINEL2 VRT passes reads through to them.
            let image = imageFile(of: band).flatMap { try? Dataset.open($0) }
            let blockBand = image?.band(1) ?? band
            let block = blockBand.blockSize
            let blocksPerRow = (blockBand.dataset.width + block.width - 1) / max(block.width, 1)
            bytes += 2 * blocksPerRow * block.width * block.height * (blockBand.pixelType?.size ?? 2)
        }
        reservationLock.lock()
        defer { reservationLock.unlock() }
        let reserved = max(reservedCacheBytes, bytes + bytes / 4, minimumCacheBytes)
        if reserved != reservedCacheBytes {
            reservedCacheBytes = reserved
            GDAL.cacheMax = reserved
        }
    }

    private static func noSceneClassification(_ productName: String) -> Sentinel2Error {
        Sentinel2Error("\(productName) has no scene classification (SCL) band; only L2A products have one")
    }

    /// Reads raw DNs of `window` (10 m pixel window) into `buffer` band-sequential [bands.count, window.height, window.width].
    public func read(_ window: PixelWindow, into buffer: UnsafeMutableBufferPointer<UInt16>) throws {
        try validate(window)
        let plane = window.pixelCount
        precondition(
            buffer.count >= bands.count * plane,
            "Buffer of \(buffer.count) is too small for \(bands.count) bands of \(window.width)×\(window.height).")
        for (i, source) in sources.enumerated() {
            let slice = UnsafeMutableBufferPointer(rebasing: buffer[(i * plane)..<((i + 1) * plane)])
            do {
                try Self.readReplicated(source, window: window, into: slice, scratch: &scratch)
            } catch let error as GDALError {
                // OpenJPEG reports decoding errors from its worker threads, so GDAL's message is often empty here.
                let file = imageFile(of: source.band) ?? productName
                let reason = error.message.isEmpty ? "corrupt or truncated image data" : error.message
                throw Sentinel2Error("\(file): cannot read band \(bands[i].name) at \(window): \(reason)")
            }
        }
    }

    /// Reads raw DNs of `window` into a new band-sequential array [bands.count, window.height, window.width].
    public func read(_ window: PixelWindow) throws -> [UInt16] {
        let count = bands.count * max(0, window.width) * max(0, window.height)
        return try [UInt16](unsafeUninitializedCapacity: count) { buffer, initialised in
            try read(window, into: buffer)
            initialised = count
        }
    }

    /// Raw DNs of the whole grid averaged down to `width`×`height`, band-sequential [bands.count, height, width]:
    /// a preview. GDAL reads the JPEG 2000 files' reduced resolutions, so a whole tile costs seconds, not a full
    /// decode. No-data pixels (DN 0) are averaged in with their neighbours.
    public func readOverview(width: Int, height: Int) throws -> [UInt16] {
        precondition(width > 0 && height > 0, "An overview has at least one pixel.")
        var values = [UInt16](repeating: 0, count: bands.count * width * height)
        try values.withUnsafeMutableBufferPointer { buffer in
            for (i, source) in sources.enumerated() {
                let plane = UnsafeMutableBufferPointer(
                    rebasing: buffer[(i * width * height)..<((i + 1) * width * height)])
                try source.band.read(
                    PixelWindow(column: 0, row: 0, width: source.width, height: source.height), into: plane,
                    outputWidth: width, outputHeight: height, resampling: .average)
            }
        }
        return values
    }

    /// L2A SCL classes for the window at 10 m ([window.height * window.width]); throws if the product has none.
    public func readSceneClassification(_ window: PixelWindow) throws -> [UInt8] {
        try validate(window)
        let source = try sceneClassificationSource()
        var scratch: [UInt8] = []
        return try [UInt8](unsafeUninitializedCapacity: window.pixelCount) { buffer, initialised in
            try Self.readReplicated(source, window: window, into: buffer, scratch: &scratch)
            initialised = window.pixelCount
        }
    }

    /// The SCL band, opened on first use when the reader was created without `includeSceneClassification`.
    private func sceneClassificationSource() throws -> Source {
        if let sceneClassification { return sceneClassification }
        guard let (subdataset, index) = sceneClassificationLocation else {
            throw Self.noSceneClassification(productName)
        }
        let dataset = try datasets[subdataset.resolution] ?? Dataset.open(subdataset.name)
        datasets[subdataset.resolution] = dataset
        let source = Source(
            band: dataset.band(index), factor: subdataset.factor, width: subdataset.width, height: subdataset.height)
        sceneClassification = source
        return source
    }

    private func validate(_ window: PixelWindow) throws {
        guard !window.isEmpty, grid.fullWindow.contains(window) else {
            throw Sentinel2Error(
                "\(productName): window \(window) is empty or outside the 10 m grid \(grid.width)×\(grid.height)")
        }
    }

    /// Reads the pixels of `source` covering the 10 m `window` and replicates each `factor`×`factor` times into
    /// `output` (row-major, exactly `window.pixelCount`). 10 m pixels beyond the coarse raster's edge get 0 (no data).
    private static func readReplicated<T: RasterScalar>(
        _ source: Source, window: PixelWindow, into output: UnsafeMutableBufferPointer<T>, scratch: inout [T]
    ) throws {
        let factor = source.factor
        let extent = PixelWindow(column: 0, row: 0, width: source.width, height: source.height)
        if factor == 1, extent.contains(window) {
            try source.band.read(window, into: output)
            return
        }
        // Coarse pixels floor(c / f) ... floor((c + w - 1) / f), clipped to the coarse raster.
        let firstColumn = window.column / factor
        let lastColumn = (window.endColumn - 1) / factor
        let firstRow = window.row / factor
        let lastRow = (window.endRow - 1) / factor
        let covering = PixelWindow(
            column: firstColumn, row: firstRow, width: lastColumn - firstColumn + 1, height: lastRow - firstRow + 1
        ).intersection(extent)
        guard !covering.isEmpty else {
            output.initialize(repeating: .zero)
            return
        }
        if scratch.count < covering.pixelCount { scratch = [T](repeating: .zero, count: covering.pixelCount) }
        try scratch.withUnsafeMutableBufferPointer { coarse in
            try source.band.read(covering, into: coarse)
            // Source column in `coarse` of each output column; columns from `validWidth` on lie beyond the raster.
            let columnMap = (0..<window.width).map { (window.column + $0) / factor - covering.column }
            let validWidth = columnMap.firstIndex { $0 >= covering.width } ?? window.width
            var previousRow: Int?
            for y in 0..<window.height {
                let out = y * window.width
                let row = (window.row + y) / factor - covering.row
                if row >= covering.height {
                    for x in 0..<window.width { output[out + x] = .zero }
                } else if row == previousRow {
                    for x in 0..<window.width { output[out + x] = output[out - window.width + x] }
                } else {
                    let base = row * covering.width
                    for x in 0..<validWidth { output[out + x] = coarse[base + columnMap[x]] }
                    for x in validWidth..<window.width { output[out + x] = .zero }
                }
                previousRow = row < covering.height ? row : nil
            }
        }
    }
}
