import ArgumentParser
import Cluster
import Foundation
import LandCoverData
import Mapping
import NeuralNet
import TensorCore

/// `landcover map`: predict a whole granule into QGIS-ready land-cover maps (or chip labels with a classifier).
struct MapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Predict a whole Sentinel-2 granule into Cloud-Optimized GeoTIFF land-cover maps.",
        discussion: """
            With a segmenter checkpoint (resnet*-unet, resnet*-dynamic-unet) every pixel of the granule's 10 m grid \
            is predicted in overlapping windows blended with raised-cosine weights, and written as a COG of class \
            indices (CORINE level 3: the grid code 1-44) with palette, class names, MODE overviews, a .qml style, a \
            .aux.xml and a STAC item. A level-3 model also gives levels 2 and 1 (<out>.level2.tif, <out>.level1.tif) \
            from the same run. Pixels with DN 0, or L2A scene classes no data/defective/shadow/cloud/cirrus/snow, are \
            no data (0). An interrupted run resumes from <out>.partial.

            With a classifier checkpoint the output is a GeoPackage (--out chips.gpkg) of chip footprints with their \
            multi-label predictions.

            Several granules (--safe repeated, or --safe-list) go to --out-dir, each as <out-dir>/T<tile>_<yyyymmdd>.tif \
            with the same products; then <out-dir> gets one VRT mosaic per CRS and level (mosaic-EPSG<code>.vrt), a \
            STAC collection.json and a summary.json. Under `mpirun -np N` the granules are shared out among the N \
            processes. A failed granule is reported and retried (--retries), the others go on, and the run exits \
            non-zero if one still fails. Granules whose outputs all exist are skipped (unless --overwrite).
            """)

    @Option(help: "Checkpoint (.safetensors): a segmenter, or a classifier for chip maps.")
    var model: String

    @Option(help: "Sentinel-2 product: .SAFE directory, its MTD_MSI*.xml, or the .zip (repeat it with --out-dir).")
    var safe: [String] = []

    @Option(help: "A file listing Sentinel-2 products, one a line (# comments), for --out-dir.")
    var safeList: String?

    @Option(help: "Output map (.tif), or GeoPackage (.gpkg) for a classifier.")
    var out: String?

    @Option(help: "Folder for the maps of several granules, their mosaics, STAC collection and summary.")
    var outDir: String?

    @Option(help: "Further attempts for a granule that fails, with --out-dir.")
    var retries: Int = 1

    @Option(help: "CORINE levels to map, comma-separated (default: every level the model gives).")
    var levels: String?

    @Option(help: "Window side in pixels.")
    var window: Int = 256

    @Option(help: "Pixels shared by neighbouring windows (default: 32, the encoder's output stride).")
    var overlap: Int = PredictionOptions.defaultOverlap

    @Option(help: "Windows (or chips) per forward pass.")
    var batchSize: Int = 4

    @Flag(help: "Also write <out>.confidence.tif: top-1 probability and margin (percent).")
    var confidence = false

    @Option(help: "COG compression: deflate or zstd.")
    var compression: LandCoverMapWriter.Compression = .deflate

    @Option(help: "Also write <out>.generalized.tif, sieved to this minimum mapping unit in hectares (CORINE: 25).")
    var minimumMappingUnit: Double?

    @Option(help: "Also write the (generalized) map as polygons to this GeoPackage.")
    var polygons: String?

    @Option(help: "Chip side for a classifier, in pixels.")
    var chipSize: Int = 120

    @Option(help: "Probability from which a classifier's class is a chip label.")
    var threshold: Float = 0.5

    @Option(help: "UTM zone of a multi-zone product, as an EPSG code (default: the first).")
    var epsg: Int?

    @Option(help: "Compute threads (oneDNN and OpenBLAS; default: 2, or the cores per rank under mpirun).")
    var threads: Int?

    @Flag(help: "Replace existing outputs.")
    var overwrite = false

    @Flag(help: "Report progress as JSON events even on a terminal.")
    var jsonProgress = false

    func validate() throws {
        guard window >= 32 else { throw ValidationError("--window must be at least 32 pixels.") }
        guard overlap >= 0 && overlap < window else { throw ValidationError("--overlap must be in 0..<window.") }
        guard batchSize >= 1, threads ?? 1 >= 1 else {
            throw ValidationError("--batch-size and --threads must be positive.")
        }
        guard chipSize >= 8 else { throw ValidationError("--chip-size must be at least 8 pixels.") }
        guard (0...1).contains(threshold) else { throw ValidationError("--threshold must be in 0…1.") }
        if let minimumMappingUnit, minimumMappingUnit <= 0 {
            throw ValidationError("--minimum-mapping-unit must be positive.")
        }
        _ = try parsedLevels()
        guard retries >= 0 else { throw ValidationError("--retries must be at least 0.") }
        if outDir != nil {
            guard out == nil, polygons == nil else {
                throw ValidationError("--out and --polygons name one granule's outputs: not with --out-dir.")
            }
            guard !safe.isEmpty || safeList != nil else {
                throw ValidationError("--out-dir needs granules: --safe (repeated) or --safe-list.")
            }
        } else {
            guard out != nil, safe.count == 1, safeList == nil else {
                throw ValidationError("Map one granule with --safe and --out, or several with --out-dir.")
            }
            guard !Cluster.isDistributed else {
                throw ValidationError("Under mpirun, map granules with --out-dir (every rank would write --out).")
            }
        }
    }

    func parsedLevels() throws -> [CorineLevel]? {
        try levels.map { text in
            try text.split(separator: ",").map {
                guard let value = Int($0.trimmingCharacters(in: .whitespaces)), let level = CorineLevel(rawValue: value)
                else { throw ValidationError("--levels takes 1, 2 and 3 (comma-separated), not '\(text)'.") }
                return level
            }
        }
    }

    func run() throws {
        let threadCount = setComputeThreads(threads)
        let modelURL = URL(fileURLWithPath: model)
        let (_, metadata) = try Checkpoint.load(from: modelURL)
        let isClassifier = metadata.architecture.kind == .classifier || metadata.architecture.kind == .fastaiClassifier
        if let outDir {
            if isClassifier {
                throw MappingError(path: model, problem: "is a classifier; --out-dir maps granules with a segmenter")
            }
            try runBatch(mapping(modelURL, threads: threadCount), outDir: outDir)
            return
        }
        let (safe, out) = (self.safe[0], self.out!)
        if isClassifier {
            try runChips(modelURL, safe: safe, out: out)
            return
        }
        var job = try mapping(modelURL, threads: threadCount)
        (job.product, job.output) = (safe, out)
        job.polygons = polygons
        let reporter = ProgressReporter(task: "map", unit: "bands", forceJSON: jsonProgress)
        let result = try job.run(codeVersion: "landcover \(LandCover.version)") {
            reporter.update(done: $0, total: $1)
        }
        let prediction = result.prediction
        let resumed = prediction.resumedBands > 0 ? ", resumed after \(prediction.resumedBands) bands" : ""
        for map in result.maps {
            print("\(map.files.map): CORINE level \(map.level.rawValue), \(result.grid.width)×\(result.grid.height)")
        }
        if let generalized = result.generalized { print("\(generalized.map): generalized") }
        if let polygons = result.polygons { print("\(polygons.path): \(polygons.count) polygons") }
        print(
            String(
                format: "%d of %d windows computed%@; read %.1f s, model %.1f s, blend %.1f s, write %.1f s",
                prediction.computedWindows, prediction.windows, resumed, prediction.readSeconds,
                prediction.modelSeconds, prediction.blendSeconds, result.writeSeconds))
    }

    /// The single-granule job these options describe, without product and output.
    func mapping(_ modelURL: URL, threads: Int) throws -> GranuleMapping {
        var job = GranuleMapping(model: modelURL, product: "", output: "")
        job.epsg = epsg
        job.levels = try parsedLevels()
        job.options = PredictionOptions(
            window: window, overlap: overlap, batchSize: batchSize, levels: [], confidence: confidence)
        job.writer = LandCoverMapWriter.Options(compression: compression, threads: threads, overwrite: overwrite)
        job.minimumMappingUnit = minimumMappingUnit
        return job
    }

    private func runChips(_ modelURL: URL, safe: String, out: String) throws {
        guard out.lowercased().hasSuffix(".gpkg") else {
            throw MappingError(path: out, problem: "a classifier's chip map is a GeoPackage: name it .gpkg")
        }
        var job = ChipClassification(model: modelURL, product: safe, output: out)
        job.epsg = epsg
        job.chipSize = chipSize
        job.threshold = threshold
        job.batchSize = batchSize
        job.overwrite = overwrite
        let reporter = ProgressReporter(task: "map", unit: "chip rows", forceJSON: jsonProgress)
        let count = try job.run { reporter.update(done: $0, total: $1) }
        print("\(out): \(count) chips (layer \(job.layerName))")
    }
}

extension LandCoverMapWriter.Compression: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(rawValue: argument.uppercased())
    }
}
