import Foundation
import GeoRaster
import LandCoverData

/// Products agencies edit: a class map generalised to a minimum mapping unit, and as polygons.
public enum Generalization {
    /// The sieve threshold in pixels for a minimum area: patches of fewer pixels are merged away, so patches of at
    /// least `minimumAreaHectares` survive (`ceil(area / pixel area)`).
    public static func threshold(minimumAreaHectares: Double, grid: RasterGrid) -> Int {
        let pixelArea = abs(grid.geoTransform.pixelWidth * grid.geoTransform.pixelHeight)
        return max(1, Int((minimumAreaHectares * 10_000 / pixelArea - 1e-9).rounded(.up)))
    }

    /// Merges patches smaller than `minimumAreaHectares` into their largest neighbour (`GDALSieveFilter`,
    /// `connectivity` 4 or 8); no-data pixels (0) are neither sieved nor used as neighbours.
    public static func generalize(
        classes: [UInt8], grid: RasterGrid, minimumAreaHectares: Double = 25, connectivity: Int = 4
    ) throws -> [UInt8] {
        precondition(classes.count == grid.width * grid.height, "The class raster does not match the grid.")
        let dataset = try classDataset(classes, grid: grid)
        let band = dataset.band(1)
        try band.sieveFilter(
            mask: band.maskBand, destination: band,
            threshold: threshold(minimumAreaHectares: minimumAreaHectares, grid: grid), connectivity: connectivity)
        return try band.read(grid.fullWindow)
    }

    /// Generalises the map COG at `mapPath` into a new map at `outputPath` with the same legend and provenance
    /// (plus `MINIMUM_MAPPING_UNIT_HA` and `SIEVE_CONNECTIVITY`).
    @discardableResult
    public static func generalize(
        mapPath: String, to outputPath: String, minimumAreaHectares: Double = 25, connectivity: Int = 4,
        options: LandCoverMapWriter.Options = LandCoverMapWriter.Options()
    ) throws -> MapFiles {
        let map = try ClassMap.read(mapPath)
        let generalized = try generalize(
            classes: map.classes, grid: map.grid, minimumAreaHectares: minimumAreaHectares,
            connectivity: connectivity)
        var provenance = map.provenance
        provenance["MINIMUM_MAPPING_UNIT_HA"] = String(minimumAreaHectares)
        provenance["SIEVE_CONNECTIVITY"] = String(connectivity)
        provenance["GENERALIZED_FROM"] = URL(fileURLWithPath: mapPath).lastPathComponent
        return try LandCoverMapWriter(nomenclature: map.nomenclature, options: options)
            .write(classes: generalized, grid: map.grid, to: outputPath, provenance: provenance)
    }

    /// Attribute fields of the polygon layer.
    public static let polygonFields = ["class_index", "clc_code", "level1", "level2", "level3"]

    /// Writes the class raster as polygons (`GDALPolygonize`) to a new GeoPackage layer with fields `class_index`
    /// (the pixel value), `clc_code` (CLC code at the deepest level its CORINE members share) and the `level1`,
    /// `level2`, `level3` names (NULL where the class spans several); no-data pixels give no polygon. Written to a
    /// temporary name and renamed; returns the number of polygons.
    @discardableResult
    public static func polygonize(
        classes: [UInt8], grid: RasterGrid, nomenclature: Nomenclature, to path: String,
        layerName: String = "landcover",
        connectivity: Int = 4, overwrite: Bool = false
    ) throws -> Int {
        precondition(classes.count == grid.width * grid.height, "The class raster does not match the grid.")
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: path) && !overwrite {
            throw MappingError(path: path, problem: "exists; pass overwrite to replace it")
        }
        let target = URL(fileURLWithPath: path)
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).partial-\(UUID().uuidString).gpkg").path
        defer {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? fileManager.removeItem(atPath: temporary + suffix) }
        }
        let raster = try classDataset(classes, grid: grid)
        let count: Int
        do {
            let vector = try Dataset.createVector(temporary, driver: "GPKG")
            let layer = try vector.createLayer(
                layerName, crs: grid.crsWKT.isEmpty ? nil : try CRS(grid.crsWKT), options: ["GEOMETRY_NAME=geom"])
            try layer.createField("class_index", type: .integer)
            try layer.createField("clc_code", type: .integer)
            for level in ["level1", "level2", "level3"] { try layer.createField(level, type: .string) }
            let band = raster.band(1)
            try layer.polygonize(band: band, mask: band.maskBand, fieldIndex: 0, connectivity: connectivity)
            try layer.updateFields(keyedBy: "class_index", values: attributes(of: nomenclature))
            count = layer.featureCount
            try vector.close()
        }
        guard rename(temporary, path) == 0 else {
            throw MappingError(path: path, problem: "cannot move into place: \(String(cString: strerror(errno)))")
        }
        return count
    }

    /// Polygonises the map COG at `mapPath` (its nomenclature from the `NOMENCLATURE` metadata item).
    @discardableResult
    public static func polygonize(
        mapPath: String, to path: String, layerName: String = "landcover", connectivity: Int = 4,
        overwrite: Bool = false
    ) throws -> Int {
        let map = try ClassMap.read(mapPath)
        return try polygonize(
            classes: map.classes, grid: map.grid, nomenclature: map.nomenclature, to: path, layerName: layerName,
            connectivity: connectivity, overwrite: overwrite)
    }

    /// Field values per class index: CLC code and names at the levels all the class's CORINE members share.
    static func attributes(of nomenclature: Nomenclature) -> [Int: [String: VectorFieldValue]] {
        var result: [Int: [String: VectorFieldValue]] = [:]
        for index in 1...nomenclature.count {
            let members = (1...44).filter { Int(nomenclature.level3LookupTable[$0]) == index }
                .compactMap(Corine.byGridCode)
            var fields: [String: VectorFieldValue] = ["clc_code": .null]
            for level in CorineLevel.allCases {
                let codes = Set(members.map { $0.code(at: level) })
                let key = "level\(level.rawValue)"
                if codes.count == 1, let first = members.first {
                    fields[key] = .string(first.name(at: level))
                    fields["clc_code"] = .integer(first.code(at: level))
                } else {
                    fields[key] = .null
                }
            }
            result[index] = fields
        }
        return result
    }

    static func classDataset(_ classes: [UInt8], grid: RasterGrid) throws -> Dataset {
        let dataset = try Dataset.createInMemory(grid: grid, bands: 1, type: .byte)
        let band = dataset.band(1)
        try band.setNoDataValue(0)
        try band.write(classes, window: grid.fullWindow)
        return dataset
    }
}

/// A class map read back from a COG written by `LandCoverMapWriter`.
public struct ClassMap: Sendable {
    /// Class indices, row-major; 0 = no data.
    public var classes: [UInt8]
    /// The grid.
    public var grid: RasterGrid
    /// The nomenclature named by the `NOMENCLATURE` metadata item.
    public var nomenclature: Nomenclature
    /// Dataset metadata other than the items the writer derives itself.
    public var provenance: [String: String]

    /// Reads a map written by `LandCoverMapWriter` (whole band 1 into memory, one byte per pixel).
    public static func read(_ path: String) throws -> ClassMap {
        let dataset = try Dataset.open(path)
        guard let grid = dataset.grid else { throw MappingError(path: path, problem: "has no georeference") }
        let metadata = dataset.metadata()
        guard let id = metadata["NOMENCLATURE"], let nomenclature = Nomenclature.named(id) else {
            throw MappingError(path: path, problem: "names no known NOMENCLATURE in its metadata")
        }
        let derived: Set<String> = [
            "NOMENCLATURE", "CLASSES", "CLASS_VALUES", "CREATED", "TIFFTAG_SOFTWARE", "TIFFTAG_IMAGEDESCRIPTION",
            "AREA_OR_POINT",
        ]
        return ClassMap(
            classes: try dataset.band(1).read(grid.fullWindow), grid: grid, nomenclature: nomenclature,
            provenance: metadata.filter { !derived.contains($0.key) })
    }
}
