import Foundation
import GeoRaster
import LandCoverData
import NeuralNet
import TensorCore

/// A classifier run over a granule's chip grid, written as a GeoPackage layer of chip footprints with the
/// multi-label predictions: what `landcover map` does with a classifier checkpoint.
///
/// Chips are `chipSize` squares side by side (`WindowLayout.starts` without overlap: the last row and column are
/// shifted to end at the grid edge, so every pixel lies in a chip). Chips without any valid pixel are left out.
/// Fields: `chip_row`, `chip_column` (pixel origin on the grid), `valid_fraction`, `labels` (codes whose sigmoid
/// probability ≥ `threshold`, comma-separated), `label_names` (`; `-separated), `top_code`, `top_probability`,
/// and `probabilities` (JSON object code → probability, 3 decimals, every class).
public struct ChipClassification {
    /// The classifier checkpoint.
    public var model: URL
    /// The Sentinel-2 product.
    public var product: String
    /// UTM zone of a multi-zone product.
    public var epsg: Int?
    /// The GeoPackage to write.
    public var output: String
    /// Chip side in pixels (the training chip size).
    public var chipSize = 120
    /// Probability from which a class counts as a label.
    public var threshold: Float = 0.5
    /// Chips per forward pass.
    public var batchSize = 16
    /// Whether an existing output may be replaced.
    public var overwrite = false
    /// Layer name.
    public var layerName = "chips"

    /// A job with the defaults.
    public init(model: URL, product: String, output: String) {
        self.model = model
        self.product = product
        self.output = output
    }

    /// Fields of the layer, in order.
    public static let fields: [(String, VectorFieldType)] = [
        ("chip_row", .integer), ("chip_column", .integer), ("valid_fraction", .real), ("labels", .string),
        ("label_names", .string), ("top_code", .string), ("top_probability", .real), ("probabilities", .string),
    ]

    /// Classifies every chip and writes the layer (temporary name, then rename); returns the number of chips.
    @discardableResult
    public func run(progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> Int {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: output) && !overwrite {
            throw MappingError(path: output, problem: "exists; pass --overwrite to replace it")
        }
        let mapModel = try MapModel(url: model)
        guard let kind = mapModel.metadata.architecture.kind, kind == .classifier || kind == .fastaiClassifier else {
            throw MappingError(
                path: model.path,
                problem: "is a \(mapModel.metadata.architecture.name) checkpoint; chip maps need a classifier")
        }
        let classes = try mapModel.classes
        let product = try Sentinel2Product.open(URL(fileURLWithPath: self.product).standardizedFileURL.path, epsg: epsg)
        let source = try Sentinel2PredictionSource(
            product: product, bands: mapModel.bands, mean: mapModel.metadata.normalization?.mean,
            std: mapModel.metadata.normalization?.std, modelPath: model.lastPathComponent)
        let grid = product.grid
        let size = min(chipSize, grid.width, grid.height)
        let rows = WindowLayout.starts(extent: grid.height, window: size, overlap: 0)
        let columns = WindowLayout.starts(extent: grid.width, window: size, overlap: 0)

        let target = URL(fileURLWithPath: output)
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).partial-\(UUID().uuidString).gpkg").path
        defer {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? fileManager.removeItem(atPath: temporary + suffix) }
        }
        let vector = try Dataset.createVector(temporary, driver: "GPKG")
        let layer = try vector.createLayer(layerName, crs: try CRS(grid.crsWKT), options: ["GEOMETRY_NAME=geom"])
        for (name, type) in Self.fields { try layer.createField(name, type: type) }

        let bands = source.bandCount
        let plane = size * grid.width
        var strip = [Float](repeating: 0, count: bands * plane)
        var valid = [Bool](repeating: false, count: plane)
        var count = 0
        for (rowIndex, top) in rows.enumerated() {
            try strip.withUnsafeMutableBufferPointer { input in
                try valid.withUnsafeMutableBufferPointer { valid in
                    try source.read(rows: top..<(top + size), input: input, valid: valid)
                }
            }
            var chips: [(column: Int, validFraction: Double)] = []
            for column in columns {
                var validCount = 0
                for row in 0..<size {
                    for x in column..<(column + size) where valid[row * grid.width + x] { validCount += 1 }
                }
                if validCount > 0 { chips.append((column, Double(validCount) / Double(size * size))) }
            }
            var features: [VectorFeature] = []
            for batchStart in stride(from: 0, to: chips.count, by: max(1, batchSize)) {
                let batch = Array(chips[batchStart..<min(chips.count, batchStart + max(1, batchSize))])
                var input = [Float](repeating: 0, count: batch.count * bands * size * size)
                var index = 0
                for chip in batch {
                    for band in 0..<bands {
                        for row in 0..<size {
                            let from = band * plane + row * grid.width + chip.column
                            for x in 0..<size { input[index + x] = strip[from + x] }
                            index += size
                        }
                    }
                }
                let logits = try withoutGradients {
                    try mapModel.network(Variable(Tensor(shape: [batch.count, bands, size, size], scalars: input)))
                }.value
                precondition(logits.shape == [batch.count, classes.count], "The classifier gave \(logits.shape).")
                let values = logits.scalars
                for (k, chip) in batch.enumerated() {
                    let probabilities = (0..<classes.count).map { 1 / (1 + exp(-values[k * classes.count + $0])) }
                    features.append(
                        feature(
                            top: top, column: chip.column, size: size, grid: grid, validFraction: chip.validFraction,
                            probabilities: probabilities, classes: classes))
                }
            }
            try layer.addFeatures(features)
            count += features.count
            progress(rowIndex + 1, rows.count)
        }
        try vector.close()
        guard rename(temporary, output) == 0 else {
            throw MappingError(path: output, problem: "cannot move into place: \(String(cString: strerror(errno)))")
        }
        return count
    }

    private func feature(
        top: Int, column: Int, size: Int, grid: RasterGrid, validFraction: Double, probabilities: [Float],
        classes: [CheckpointMetadata.Nomenclature.Class]
    ) -> VectorFeature {
        let corners = [(0, 0), (size, 0), (size, size), (0, size), (0, 0)].map { dx, dy in
            grid.geoTransform.map(column: Double(column + dx), row: Double(top + dy))
        }
        let wkt = "POLYGON ((" + corners.map { "\($0.x) \($0.y)" }.joined(separator: ",") + "))"
        let labels = classes.indices.filter { probabilities[$0] >= threshold }
        let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
        let json = classes.indices.map { "\"\(classes[$0].code)\": \(String(format: "%.3f", probabilities[$0]))" }
        return VectorFeature(
            wkt: wkt,
            fields: [
                "chip_row": .integer(top), "chip_column": .integer(column), "valid_fraction": .real(validFraction),
                "labels": .string(labels.map { classes[$0].code }.joined(separator: ",")),
                "label_names": .string(labels.map { classes[$0].name }.joined(separator: "; ")),
                "top_code": .string(classes[best].code), "top_probability": .real(Double(probabilities[best])),
                "probabilities": .string("{" + json.joined(separator: ", ") + "}"),
            ])
    }
}
