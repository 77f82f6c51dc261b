import Foundation
import GeoRaster
import LandCoverData

/// What `landcover map` does with a segmenter: predict a granule and write the map products.
public struct GranuleMapping {
    /// The segmenter checkpoint.
    public var model: URL
    /// The Sentinel-2 product (`.SAFE`, its XML or `.zip`).
    public var product: String
    /// UTM zone of a multi-zone product (default: the first).
    public var epsg: Int?
    /// The map of the deepest requested level; coarser levels go beside it as `<name>.level<n>.tif`.
    public var output: String
    /// Levels to map (nil: every level the model gives).
    public var levels: [CorineLevel]?
    /// Window, overlap, batch and confidence (its `levels` are replaced by `levels`).
    public var options: PredictionOptions
    /// COG options (compression, tile size, overwrite).
    public var writer: LandCoverMapWriter.Options
    /// When set, the deepest map is also generalised to this minimum mapping unit (hectares) with GDAL's sieve
    /// filter, as `<name>.generalized.tif`.
    public var minimumMappingUnit: Double?
    /// When set, the (generalised) deepest map is written as polygons to this GeoPackage.
    public var polygons: String?

    /// A mapping job with the default options.
    public init(model: URL, product: String, output: String) {
        self.model = model
        self.product = product
        self.output = output
        options = PredictionOptions(levels: [])
        writer = LandCoverMapWriter.Options(compression: .deflate, blockSize: 512)
    }

    /// The written products.
    public struct Outputs: Sendable {
        /// The map files per level.
        public var maps: [(level: CorineLevel, files: MapFiles)]
        /// The STAC items, one per map.
        public var stacItems: [String]
        /// The generalised map, if requested.
        public var generalized: MapFiles?
        /// The polygon GeoPackage and its feature count, if requested.
        public var polygons: (path: String, count: Int)?
        /// The prediction run.
        public var prediction: GranulePredictor.Result
        /// Seconds writing the COGs, sidecars and STAC items (after prediction).
        public var writeSeconds: Double
        /// The product's grid.
        public var grid: RasterGrid
    }

    /// The map path of `level` when `deepest` is the deepest level mapped.
    public func mapPath(_ level: CorineLevel, deepest: CorineLevel) -> String {
        level == deepest ? output : Self.sibling(of: output, suffix: ".level\(level.rawValue).tif")
    }

    /// `map.tif` → `map<suffix>` in the same folder.
    static func sibling(of path: String, suffix: String) -> String {
        URL(fileURLWithPath: path).deletingPathExtension().path + suffix
    }

    /// The levels this job maps with a model of `hierarchy`, coarsest first; a level deeper than the model's is an
    /// error.
    public func mappedLevels(_ hierarchy: ClassHierarchy) throws -> [CorineLevel] {
        let levels = (levels ?? hierarchy.levels).sorted { $0.rawValue < $1.rawValue }
        if let deeper = levels.first(where: { $0.rawValue > hierarchy.modelLevel.rawValue }) {
            throw MappingError(
                path: model.path,
                problem:
                    "maps CORINE level \(hierarchy.modelLevel.rawValue) only; level \(deeper.rawValue) was asked for")
        }
        return levels
    }

    /// The map files of each of `levels` (coarsest first; the last is the deepest, written at `output`).
    public func plannedMapFiles(levels: [CorineLevel]) -> [(level: CorineLevel, files: MapFiles)] {
        levels.map {
            (level: $0, files: MapFiles(map: mapPath($0, deepest: levels.last!), confidence: options.confidence))
        }
    }

    /// The files of the generalised map, when a minimum mapping unit is set.
    var generalizedMapFiles: MapFiles? {
        minimumMappingUnit.map { _ in
            MapFiles(map: Self.sibling(of: output, suffix: ".generalized.tif"), confidence: false)
        }
    }

    /// Every file a finished run over `levels` leaves: maps with their sidecars and STAC items, the generalised map
    /// and the polygons when asked for.
    public func outputFiles(levels: [CorineLevel]) -> [String] {
        var files = plannedMapFiles(levels: levels).flatMap {
            $0.files.all + [Self.stacItemPath(of: $0.files.map)]
        }
        files += generalizedMapFiles?.all ?? []
        if let polygons { files.append(polygons) }
        return files
    }

    /// The STAC item written beside a map: `map.tif` → `map.stac.json`.
    public static func stacItemPath(of map: String) -> String { sibling(of: map, suffix: ".stac.json") }

    /// The resumable work directory, `<output>.partial`.
    public var workDirectory: URL { URL(fileURLWithPath: output + ".partial") }

    /// Runs the job: checks outputs first (an existing one is refused unless `writer.overwrite`), predicts (resuming
    /// finished bands from `<output>.partial`), writes the maps, STAC items and optional generalisation and polygons,
    /// then removes the work directory.
    public func run(
        codeVersion: String, progress: @escaping (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) throws -> Outputs {
        let mapModel = try MapModel(url: model)
        let segmenter = try mapModel.segmenter()
        let hierarchy = try mapModel.hierarchy()
        let levels = try mappedLevels(hierarchy)
        var options = self.options
        options.levels = levels
        var plannedMaps = plannedMapFiles(levels: levels)
        let generalizedFiles = generalizedMapFiles
        let planned = outputFiles(levels: levels)
        if !writer.overwrite, let existing = planned.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            throw MappingError(path: existing, problem: "exists; pass --overwrite to replace it")
        }

        let product = try Sentinel2Product.open(URL(fileURLWithPath: self.product).standardizedFileURL.path, epsg: epsg)
        let source = try Sentinel2PredictionSource(
            product: product, bands: mapModel.bands, mean: mapModel.metadata.normalization?.mean,
            std: mapModel.metadata.normalization?.std, modelPath: model.lastPathComponent)
        let predictor = GranulePredictor(model: segmenter, source: source, hierarchy: hierarchy, options: options)
        let modelAttributes = try FileManager.default.attributesOfItem(atPath: model.path)
        let runKey = [
            model.standardizedFileURL.path, "\(modelAttributes[.size] ?? 0)",
            "\((modelAttributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)", product.metadataPath,
            "EPSG:\(product.epsg)",
        ].joined(separator: "|")
        let prediction = try predictor.run(work: workDirectory, runKey: runKey, progress: progress)

        let started = ContinuousClock.now
        let grid = product.grid
        let date = Self.date(product.sensingTime)
        var provenance = [
            "MODEL": model.lastPathComponent, "MODEL_ARCHITECTURE": mapModel.metadata.architecture.name,
            "MODEL_LEVEL": String(hierarchy.modelLevel.rawValue),
            "MODEL_CLASSES": hierarchy.outputCodes.map(String.init).joined(separator: ","),
            "MODEL_CREATED": ISO8601DateFormatter().string(from: mapModel.metadata.created),
            "BANDS": mapModel.bands.map(\.name).joined(separator: ","), "INPUT_PRODUCT": product.productName,
            "INPUT_LEVEL": product.level.rawValue, "SENSING_TIME": product.sensingTime,
            "DATE": String(product.sensingTime.prefix(10)), "LANDCOVER_VERSION": codeVersion,
            "WINDOW": String(options.window), "OVERLAP": String(options.overlap),
            "NODATA_RULE": source.masksClouds
                ? "DN 0 in any band, or SCL no data/defective/shadow/cloud/cirrus/snow" : "DN 0 in any band",
        ]
        if let tile = product.tileID { provenance["TILE"] = tile }
        for index in plannedMaps.indices {
            let level = plannedMaps[index].level
            var items = provenance
            items["LEVEL"] = String(level.rawValue)
            let writer = LandCoverMapWriter(nomenclature: .corine(level), options: self.writer)
            let stream = try writer.begin(
                path: plannedMaps[index].files.map, grid: grid, provenance: items, confidence: options.confidence,
                margin: options.confidence)
            for band in prediction.bands {
                let values = try predictor.read(band, level: level, width: grid.width)
                try stream.write(
                    rows: band.rows, classes: values.classes, confidence: values.confidence, margin: values.margin)
            }
            let files = try stream.finish()
            plannedMaps[index].files = files
            let item = try writer.stacItem(
                id: "\(product.productName)-landcover-l\(level.rawValue)", files: files, grid: grid, datetime: date,
                provenance: items)
            let stacPath = Self.stacItemPath(of: files.map)
            try item.write(to: URL(fileURLWithPath: stacPath), options: .atomic)
        }
        let deepestMap = plannedMaps.last!.files.map
        var generalized: MapFiles?
        if let minimumMappingUnit, let generalizedFiles {
            generalized = try Generalization.generalize(
                mapPath: deepestMap, to: generalizedFiles.map, minimumAreaHectares: minimumMappingUnit,
                options: writer)
        }
        var polygonResult: (String, Int)?
        if let polygons {
            let count = try Generalization.polygonize(
                mapPath: generalized?.map ?? deepestMap, to: polygons, overwrite: writer.overwrite)
            polygonResult = (polygons, count)
        }
        try? FileManager.default.removeItem(at: workDirectory)
        return Outputs(
            maps: plannedMaps, stacItems: plannedMaps.map { Self.stacItemPath(of: $0.files.map) },
            generalized: generalized, polygons: polygonResult, prediction: prediction,
            writeSeconds: (ContinuousClock.now - started).seconds, grid: grid)
    }

    /// The sensing time as a date (now when the product has none).
    static func date(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text) ?? Date()
    }
}
