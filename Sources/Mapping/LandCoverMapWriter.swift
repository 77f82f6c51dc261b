import Foundation
import GeoRaster
import LandCoverData

/// A problem writing or reading a map product, described in one line naming the file.
public struct MappingError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file concerned.
    public let path: String
    /// What went wrong.
    public let problem: String

    /// Creates an error.
    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}

/// The files of one written map: the COG and the sidecars written beside it.
public struct MapFiles: Sendable, Codable, Equatable {
    /// The class COG, for example `map.tif`.
    public var map: String
    /// GDAL's PAM sidecar with the category names, `map.tif.aux.xml`.
    public var auxiliary: String
    /// The QGIS default style, `map.qml`.
    public var style: String
    /// The confidence COG `map.confidence.tif` (band 1 confidence, band 2 margin), when written.
    public var confidence: String?

    /// The sidecar paths for a map path.
    public init(map: String, confidence: Bool) {
        self.map = map
        auxiliary = map + ".aux.xml"
        let base = URL(fileURLWithPath: map).deletingPathExtension().path
        style = base + ".qml"
        self.confidence = confidence ? base + ".confidence.tif" : nil
    }

    /// Every path, the class COG last.
    public var all: [String] { [auxiliary, style] + (confidence.map { [$0] } ?? []) + [map] }
}

/// Writes class rasters as QGIS-ready Cloud-Optimized GeoTIFFs.
///
/// **Stored values.** Band 1 is Byte and holds the legend's pixel values; for a nomenclature these are its class
/// indices (0 = no data, 1...count; at CORINE level 3 the index is the grid code 1...44, so 23 = 311
/// "Broad-leaved forest"), never the 3-digit CLC code. The CLC code is in the category names, the `.qml` labels and
/// the `CLASSES` metadata item. NoData is 0 and palette entry 0 is transparent.
///
/// **Confidence.** An optional separate COG `<name>.confidence.tif`: band 1 = top-1 probability in whole percent
/// (0...100), band 2 (optional) = margin top-1 minus top-2 probability in percent; 255 = no data.
///
/// **Files.** Everything is written inside a hidden temporary folder beside the output and renamed into place at
/// the end, sidecars first and the class COG last; an existing output is refused unless `overwrite`.
public struct LandCoverMapWriter: Sendable {
    /// Compression of the COG.
    public enum Compression: String, Sendable, Codable {
        /// DEFLATE with the horizontal predictor (readable by every GDAL and QGIS).
        case deflate = "DEFLATE"
        /// ZSTD with the horizontal predictor (smaller and faster; GDAL ≥ 2.3).
        case zstd = "ZSTD"
    }

    /// Layout and behaviour options.
    public struct Options: Sendable {
        /// COG compression.
        public var compression: Compression = .deflate
        /// COG tile size (multiple of 16, at least 128); overviews are built until they fit one tile.
        public var blockSize: Int = 512
        /// Overview resampling for the class band (MODE keeps the majority class).
        public var overviewResampling: String = "MODE"
        /// Number of overview levels, or nil for GDAL's automatic count.
        public var overviewCount: Int?
        /// GDAL worker threads for compression.
        public var threads: Int = 1
        /// Whether an existing output may be replaced.
        public var overwrite: Bool = false

        /// Creates options.
        public init(
            compression: Compression = .deflate, blockSize: Int = 512, overviewCount: Int? = nil, threads: Int = 1,
            overwrite: Bool = false
        ) {
            self.compression = compression
            self.blockSize = blockSize
            self.overviewCount = overviewCount
            self.threads = threads
            self.overwrite = overwrite
        }
    }

    /// The classes written.
    public let legend: MapLegend
    /// The options.
    public var options: Options

    /// A writer for a nomenclature's class indices (CORINE palette, "code name" labels).
    public init(nomenclature: Nomenclature, options: Options = Options()) {
        self.init(legend: .nomenclature(nomenclature), options: options)
    }

    /// A writer for any legend, for example `.agreement`.
    public init(legend: MapLegend, options: Options = Options()) {
        self.legend = legend
        self.options = options
    }

    /// No-data value of the confidence COG.
    public static let confidenceNoData: UInt8 = 255

    /// A probability (0...1) as the stored confidence percent 0...100 (rounded); NaN gives the no-data value 255.
    public static func confidencePercent(_ probability: Float) -> UInt8 {
        probability.isNaN ? confidenceNoData : UInt8((min(max(probability, 0), 1) * 100).rounded())
    }

    /// Writes a whole class raster (`[grid.height * grid.width]` values, 0 = no data) with optional confidence and
    /// margin percent rasters; `provenance` becomes dataset metadata (MODEL, INPUT_PRODUCT, DATE, LANDCOVER_VERSION…).
    @discardableResult
    public func write(
        classes: [UInt8], grid: RasterGrid, to path: String, provenance: [String: String] = [:],
        confidence: [UInt8]? = nil, margin: [UInt8]? = nil
    ) throws -> MapFiles {
        let pixels = grid.width * grid.height
        guard classes.count == pixels, confidence.map({ $0.count == pixels }) ?? true,
            margin.map({ $0.count == pixels }) ?? true
        else {
            throw MappingError(path: path, problem: "raster sizes do not match the \(grid.width)×\(grid.height) grid")
        }
        let stream = try begin(
            path: path, grid: grid, provenance: provenance, confidence: confidence != nil, margin: margin != nil)
        let stripHeight = max(1, options.blockSize)
        var row = 0
        while row < grid.height {
            let rows = row..<min(grid.height, row + stripHeight)
            let range = rows.lowerBound * grid.width..<rows.upperBound * grid.width
            try stream.write(
                rows: rows, classes: Array(classes[range]), confidence: confidence.map { Array($0[range]) },
                margin: margin.map { Array($0[range]) })
            row = rows.upperBound
        }
        return try stream.finish()
    }

    /// Starts a streamed map: row strips go into a temporary tiled GTiff, `finish()` converts it to the COG.
    public func begin(
        path: String, grid: RasterGrid, provenance: [String: String] = [:], confidence: Bool = false,
        margin: Bool = false
    ) throws -> LandCoverMapStream {
        try LandCoverMapStream(
            writer: self, path: path, grid: grid, provenance: provenance, confidence: confidence || margin,
            margin: margin)
    }

    /// Dataset metadata items: the provenance (keys upper-cased) plus NOMENCLATURE, CLASSES, CLASS_VALUES,
    /// CREATED and the baseline TIFF tags SOFTWARE and IMAGEDESCRIPTION.
    func metadata(provenance: [String: String]) throws -> [String: String] {
        var items: [String: String] = [:]
        for (key, value) in provenance {
            let name = key.uppercased()
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw MappingError(path: key, problem: "a provenance key may hold only letters, digits and _")
            }
            items[name] = value
        }
        items["NOMENCLATURE"] = legend.id
        items["CLASSES"] = legend.entries.map { "\($0.value)=\($0.label)" }.joined(separator: ";")
        items["CLASS_VALUES"] = "pixel value = class index of \(legend.id) (see CLASSES); 0 = no data"
        items["CREATED"] = items["CREATED"] ?? ISO8601DateFormatter().string(from: Date())
        items["TIFFTAG_SOFTWARE"] = "landcover " + (items["LANDCOVER_VERSION"] ?? "")
        items["TIFFTAG_IMAGEDESCRIPTION"] = "Land-cover classes (\(legend.id)); 0 = no data"
        return items
    }

    /// `gdal_translate` arguments of the COG.
    func cogArguments(resampling: String) -> [String] {
        var arguments = [
            "-of", "COG", "-co", "COMPRESS=\(options.compression.rawValue)", "-co", "PREDICTOR=YES",
            "-co", "BLOCKSIZE=\(options.blockSize)", "-co", "OVERVIEW_RESAMPLING=\(resampling)",
            "-co", "NUM_THREADS=\(max(1, options.threads))", "-co", "BIGTIFF=IF_SAFER",
        ]
        if let count = options.overviewCount { arguments += ["-co", "OVERVIEW_COUNT=\(count)"] }
        return arguments
    }
}

/// A map being written strip by strip (`LandCoverMapWriter.begin`); call `finish()` once all rows are written.
/// Abandoning it (or a thrown error) leaves no output behind. Not for concurrent use.
public final class LandCoverMapStream {
    /// The writer's legend and options.
    public let writer: LandCoverMapWriter
    /// The grid.
    public let grid: RasterGrid
    /// Final paths.
    public let files: MapFiles
    private let provenance: [String: String]
    private let temporaryFolder: URL
    private var classes: Dataset?
    private var confidence: Dataset?
    private let hasMargin: Bool
    private var finished = false

    init(
        writer: LandCoverMapWriter, path: String, grid: RasterGrid, provenance: [String: String], confidence: Bool,
        margin: Bool
    ) throws {
        self.writer = writer
        self.grid = grid
        self.provenance = provenance
        self.hasMargin = margin
        files = MapFiles(map: path, confidence: confidence)
        let fileManager = FileManager.default
        if !writer.options.overwrite, let existing = files.all.first(where: { fileManager.fileExists(atPath: $0) }) {
            throw MappingError(path: existing, problem: "exists; pass overwrite to replace it")
        }
        let target = URL(fileURLWithPath: path)
        temporaryFolder = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).partial-\(UUID().uuidString)")
        do {
            try fileManager.createDirectory(at: temporaryFolder, withIntermediateDirectories: false)
        } catch {
            throw MappingError(path: path, problem: "cannot create a temporary folder beside it: \(error)")
        }
        do {
            let metadata = try writer.metadata(provenance: provenance)
            let classes = try Self.createStrip(
                temporaryFolder.appendingPathComponent("classes.tif").path, grid: grid, bands: 1)
            let band = classes.band(1)
            try band.setNoDataValue(0)
            try band.setColorTable(writer.legend.colorTable)
            band.bandDescription = "Land cover class index (\(writer.legend.id); 0 = no data)"
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { try classes.setMetadataItem(key, value) }
            self.classes = classes
            if confidence {
                let dataset = try Self.createStrip(
                    temporaryFolder.appendingPathComponent("confidence.tif").path, grid: grid, bands: margin ? 2 : 1)
                let descriptions = ["Top-1 probability (percent; 255 = no data)", "Margin top-1 − top-2 (percent)"]
                for band in dataset.bands {
                    try band.setNoDataValue(Double(LandCoverMapWriter.confidenceNoData))
                    band.bandDescription = descriptions[band.index - 1]
                }
                for (key, value) in provenance.sorted(by: { $0.key < $1.key }) {
                    try dataset.setMetadataItem(key.uppercased(), value)
                }
                try dataset.setMetadataItem("CLASS_MAP", URL(fileURLWithPath: path).lastPathComponent)
                self.confidence = dataset
            }
        } catch {
            cleanUp()
            throw error
        }
    }

    deinit { if !finished { cleanUp() } }

    private static func createStrip(_ path: String, grid: RasterGrid, bands: Int) throws -> Dataset {
        let dataset = try Dataset.create(
            path, driver: "GTiff", width: grid.width, height: grid.height, bands: bands, type: .byte,
            options: [
                "TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "COMPRESS=ZSTD", "ZSTD_LEVEL=1", "BIGTIFF=IF_SAFER",
                "INTERLEAVE=BAND",
            ])
        try dataset.setGeoTransform(grid.geoTransform)
        if !grid.crsWKT.isEmpty { try dataset.setCRS(CRS(grid.crsWKT)) }
        return dataset
    }

    /// Writes full-width rows `rows` (`rows.count * grid.width` values each, row-major); confidence and margin in
    /// percent (255 = no data) when the stream was begun with them.
    public func write(rows: Range<Int>, classes values: [UInt8], confidence: [UInt8]? = nil, margin: [UInt8]? = nil)
        throws
    {
        guard let classes, !finished else { throw MappingError(path: files.map, problem: "stream already finished") }
        precondition(rows.lowerBound >= 0 && rows.upperBound <= grid.height, "Rows \(rows) are outside the grid.")
        let window = PixelWindow(column: 0, row: rows.lowerBound, width: grid.width, height: rows.count)
        guard values.count == window.pixelCount else {
            throw MappingError(path: files.map, problem: "expected \(window.pixelCount) values, got \(values.count)")
        }
        let maximum = UInt8(writer.legend.maximumValue)
        if let bad = values.first(where: { $0 > maximum }) {
            throw MappingError(path: files.map, problem: "value \(bad) is not a class of \(writer.legend.id)")
        }
        try classes.band(1).write(values, window: window)
        if let dataset = self.confidence {
            let confidenceValues =
                confidence ?? [UInt8](repeating: LandCoverMapWriter.confidenceNoData, count: window.pixelCount)
            try dataset.band(1).write(confidenceValues, window: window)
            if hasMargin {
                let marginValues =
                    margin ?? [UInt8](repeating: LandCoverMapWriter.confidenceNoData, count: window.pixelCount)
                try dataset.band(2).write(marginValues, window: window)
            }
        }
    }

    /// Converts the strips to COGs, writes the `.aux.xml` and `.qml`, and renames everything into place.
    @discardableResult
    public func finish() throws -> MapFiles {
        guard let classes, !finished else { throw MappingError(path: files.map, problem: "stream already finished") }
        defer {
            finished = true
            cleanUp()
        }
        let staged = MapFiles(
            map: temporaryFolder.appendingPathComponent(URL(fileURLWithPath: files.map).lastPathComponent).path,
            confidence: files.confidence != nil)
        try convert(classes, to: staged.map, resampling: writer.options.overviewResampling)
        self.classes = nil
        // GDAL keeps category names only in the PAM sidecar: set them on the finished COG (read-only) so the
        // `.aux.xml` is written beside it on close without touching the TIFF.
        let map = try Dataset.open(staged.map)
        try map.band(1).setCategoryNames(writer.legend.categoryNames)
        try map.close()
        guard FileManager.default.fileExists(atPath: staged.auxiliary) else {
            throw MappingError(path: staged.auxiliary, problem: "GDAL wrote no .aux.xml with the category names")
        }
        try Data(writer.legend.qgisStyle().utf8).write(to: URL(fileURLWithPath: staged.style))
        if let confidence, let stagedConfidence = staged.confidence {
            try convert(confidence, to: stagedConfidence, resampling: "AVERAGE")
            self.confidence = nil
        }
        for (source, destination) in zip(staged.all, files.all) {
            try moveIntoPlace(source, destination)
        }
        return files
    }

    private func convert(_ dataset: Dataset, to path: String, resampling: String) throws {
        try dataset.close()
        let source = try Dataset.open(dataset.path)
        let result = try source.translate(to: path, arguments: writer.cogArguments(resampling: resampling))
        try result.close()
    }

    private func moveIntoPlace(_ source: String, _ destination: String) throws {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: destination) {
            guard writer.options.overwrite else {
                throw MappingError(path: destination, problem: "appeared while writing; pass overwrite to replace it")
            }
        }
        // rename(2) replaces an existing file atomically.
        guard rename(source, destination) == 0 else {
            throw MappingError(
                path: destination, problem: "cannot move into place: \(String(cString: strerror(errno)))")
        }
    }

    private func cleanUp() {
        classes = nil
        confidence = nil
        try? FileManager.default.removeItem(at: temporaryFolder)
    }
}
