import ArgumentParser
import Foundation
import GeoRaster
import LandCoverData

/// `landcover info`: describe a Sentinel-2 product, a raster (CORINE detected) or a chip store.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Describe a Sentinel-2 product, a raster or vector layer, or a chip store.")

    @Argument(help: "A .SAFE directory, MTD_MSI*.xml or .zip; a raster or GeoPackage; or a chip store directory.")
    var path: String

    func run() throws {
        print(try InfoReport.describe(path))
    }
}

/// Text descriptions of the inputs and outputs `info` knows.
enum InfoReport {
    static func describe(_ path: String) throws -> String {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("\(path): file not found")
        }
        if FileManager.default.fileExists(atPath: url.appendingPathComponent(ChipStore.FileName.manifest).path) {
            return try describe(store: ChipStore(url))
        }
        let name = url.lastPathComponent
        if name.hasSuffix(".SAFE") || name.hasSuffix(".zip") || name.hasPrefix("MTD_MSI") || name.contains("_MTD_SAF") {
            return try describe(product: Sentinel2Product.open(path))
        }
        return try describe(corine: CorineSource.open(path))
    }

    static func describe(product: Sentinel2Product) -> String {
        let grid = product.grid
        let t = grid.geoTransform
        return [
            "Sentinel-2 \(product.level.rawValue) product \(product.productName)",
            "  tile:                \(product.tileID ?? "unknown")",
            "  sensing time:        \(product.sensingTime)",
            "  processing baseline: \(product.processingBaseline)",
            "  quantification:      \(Int(product.quantificationValue)); offset B04 \(Int(product.radiometricOffset(.b04)))",
            "  CRS:                 EPSG:\(product.epsg)",
            "  10 m grid:           \(grid.width)×\(grid.height), origin (\(t.originX), \(t.originY)), pixel \(t.pixelWidth)",
            "  bands:               \(product.availableBands.map(\.name).joined(separator: " "))",
            "  scene classification: \(product.hasSceneClassification ? "yes (SCL)" : "no")",
        ].joined(separator: "\n")
    }

    static func describe(corine source: CorineSource) throws -> String {
        var lines = ["CORINE Land Cover layer \(source.path)", "  CRS: \(source.crs)"]
        switch source.kind {
        case .raster(let encoding):
            let dataset = try Dataset.open(source.path)
            lines.append("  raster \(dataset.width)×\(dataset.height), \(encoding.rawValue)s")
            if let t = dataset.geoTransform {
                lines.append("  origin (\(t.originX), \(t.originY)), pixel \(t.pixelWidth)")
            }
        case .vector(let layer, let field):
            lines.append("  vector layer \(layer), class field \(field)")
        }
        return lines.joined(separator: "\n")
    }

    static func describe(store: ChipStore) -> String {
        let m = store.manifest
        var lines = [
            "Chip store \(store.url.path)\(store.isComplete ? "" : " (incomplete)") — format v\(m.version), \(m.createdBy)",
            "  chips:    \(m.chipCount) of \(m.chipSize)×\(m.chipSize) px, stride \(m.stride) (\(m.trainCount) train, \(m.validationCount) validation, \(m.rejectedCount) rejected)",
            "  bands:    \(m.bands.joined(separator: ",")) (reflectance × \(Int(1 / m.imageScale)))",
            "  CRS:      \(m.epsg.map { "EPSG:\($0)" } ?? "custom"), pixel \(m.pixelSize)",
            "  split:    \(m.split)",
            "  products: \(m.products.map(\.name).joined(separator: ", "))",
            "  CORINE:   \(m.corine)",
        ]
        for stats in m.bandStatistics {
            lines.append(
                String(
                    format: "  %@ mean %.1f std %.1f min %.0f max %.0f", stats.band, stats.mean, stats.std, stats.min,
                    stats.max))
        }
        return lines.joined(separator: "\n")
    }
}
