import Foundation
import GeoRaster
import LandCoverData

extension ChangeAnalysis {
    /// Compares the map COG at `mapPath` with the CORINE layer at `corinePath` (raster or GeoPackage, warped or
    /// rasterised onto the map's grid and aggregated to the map's level). With a `confidenceThreshold` (percent),
    /// pixels below it in the map's `.confidence.tif` are left out; the confidence file must then exist.
    public static func compare(
        mapPath: String, corinePath: String, confidenceThreshold: UInt8? = nil, hotspotCellSize: Double = 1000
    ) throws -> ChangeAnalysis {
        let map = try ClassMap.read(mapPath)
        let corine = try CorineSource.open(corinePath)
        guard try corine.overlaps(map.grid) else {
            throw MappingError(path: corinePath, problem: "does not overlap the map \(mapPath)")
        }
        let lookup = map.nomenclature.level3LookupTable
        let reference = try corine.labels(on: map.grid).map { lookup[Int($0)] }
        return try compare(
            map: map.classes, reference: reference, grid: map.grid, nomenclature: map.nomenclature,
            confidence: confidenceThreshold == nil ? nil : try confidence(of: mapPath, grid: map.grid),
            confidenceThreshold: confidenceThreshold, hotspotCellSize: hotspotCellSize)
    }

    /// Compares two map COGs of the same grid and nomenclature, `earlierPath` (rows of the transition matrix) and
    /// `laterPath`; with a `confidenceThreshold`, a pixel below it in either map's confidence is left out.
    public static func compare(
        earlierPath: String, laterPath: String, confidenceThreshold: UInt8? = nil, hotspotCellSize: Double = 1000
    ) throws -> ChangeAnalysis {
        let earlier = try ClassMap.read(earlierPath)
        let later = try ClassMap.read(laterPath)
        guard earlier.nomenclature == later.nomenclature else {
            throw MappingError(
                path: laterPath,
                problem: "is a \(later.nomenclature.id) map but \(earlierPath) is \(earlier.nomenclature.id)")
        }
        let sameCRS = try CRS(earlier.grid.crsWKT).isSame(as: CRS(later.grid.crsWKT))
        guard sameCRS, earlier.grid.geoTransform == later.grid.geoTransform,
            earlier.grid.width == later.grid.width, earlier.grid.height == later.grid.height
        else {
            throw MappingError(path: laterPath, problem: "is not on the grid of \(earlierPath) (CRS, origin or size)")
        }
        let threshold = confidenceThreshold
        return try compare(
            earlier: earlier.classes, later: later.classes, grid: later.grid, nomenclature: later.nomenclature,
            earlierConfidence: threshold == nil ? nil : try confidence(of: earlierPath, grid: earlier.grid),
            laterConfidence: threshold == nil ? nil : try confidence(of: laterPath, grid: later.grid),
            confidenceThreshold: threshold, hotspotCellSize: hotspotCellSize)
    }

    /// Band 1 (top-1 probability in percent) of the map's `.confidence.tif`.
    static func confidence(of mapPath: String, grid: RasterGrid) throws -> [UInt8] {
        guard let path = MapFiles(map: mapPath, confidence: true).confidence,
            FileManager.default.fileExists(atPath: path)
        else {
            throw MappingError(
                path: mapPath, problem: "has no confidence file beside it; map with --confidence to use a threshold")
        }
        let dataset = try Dataset.open(path)
        guard dataset.width == grid.width && dataset.height == grid.height else {
            throw MappingError(path: path, problem: "does not match the map's \(grid.width)×\(grid.height) grid")
        }
        return try dataset.band(1).read(grid.fullWindow)
    }

    /// Writes the raster (`<out>.tif` COG), the summary JSON (`<out>.json`) and Markdown (`<out>.md`) for an output
    /// path `<out>.tif`; an existing file is refused unless `options.overwrite`.
    @discardableResult
    public func writeProducts(
        to path: String, provenance: [String: String] = [:],
        options: LandCoverMapWriter.Options = LandCoverMapWriter.Options()
    ) throws -> [String] {
        let base = URL(fileURLWithPath: path).deletingPathExtension().path
        let json = base + ".json"
        let markdown = base + ".md"
        if !options.overwrite,
            let existing = [json, markdown].first(where: { FileManager.default.fileExists(atPath: $0) })
        {
            throw MappingError(path: existing, problem: "exists; pass --overwrite to replace it")
        }
        let files = try writeRaster(to: path, provenance: provenance, options: options)
        try summary.json().write(to: URL(fileURLWithPath: json), options: .atomic)
        try Data(summary.markdown().utf8).write(to: URL(fileURLWithPath: markdown), options: .atomic)
        return files.all + [json, markdown]
    }
}
