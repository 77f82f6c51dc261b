import Foundation
import GeoRaster

/// The Sentinel-2 product levels the pipeline reads: top-of-atmosphere (L1C) and surface (L2A) reflectance.
public enum ProcessingLevel: String, Sendable, Codable {
    /// Level-1C, top-of-atmosphere reflectance.
    case l1c = "L1C"
    /// Level-2A, bottom-of-atmosphere (surface) reflectance with scene classification.
    case l2a = "L2A"
}

/// A Sentinel-2 L1C or L2A SAFE product opened through GDAL's SENTINEL2 driver: its metadata, its 10 m grid in one
/// UTM zone, which bands it holds where, and the radiometric conversion DN → reflectance.
///
/// The product holds no open GDAL handle; `openReader` opens the handles a reader needs.
public final class Sentinel2Product: Sendable {
    /// The path as given to `open` (SAFE directory, metadata XML or zip).
    public let path: String
    /// The metadata file GDAL opened, for example `…/X.SAFE/MTD_MSIL2A.xml` or `/vsizip/…zip/X.SAFE/MTD_MSIL2A.xml`.
    public let metadataPath: String
    /// L1C or L2A.
    public let level: ProcessingLevel
    /// The product name: `PRODUCT_URI` without ".SAFE", or the name of the SAFE directory.
    public let productName: String
    /// The MGRS tile, for example "34UCF", from the product name or a single granule; nil when unknown or several.
    public let tileID: String?
    /// Sensing start, ISO 8601 (`PRODUCT_START_TIME`), for example "2023-08-23T09:55:59.024Z"; empty when absent.
    public let sensingTime: String
    /// Processing baseline, for example "05.09"; empty when absent.
    public let processingBaseline: String
    /// The DN of reflectance 1: `QUANTIFICATION_VALUE` (L1C) or `BOA_QUANTIFICATION_VALUE` (L2A), usually 10000.
    public let quantificationValue: Double
    /// The 10 m grid (CRS, geotransform, size) of the chosen UTM zone; every reader window is in its pixels.
    public let grid: RasterGrid
    /// The EPSG code of the chosen UTM zone, for example 32634.
    public let epsg: Int
    /// The EPSG codes of all UTM zones the product has subdatasets for, in GDAL's order.
    public let availableEPSGCodes: [Int]

    /// Radiometric offsets by XML band_id (0...12).
    let radiometricOffsets: [Double]
    /// The chosen zone's 10/20/60 m subdatasets, by resolution in metres.
    let subdatasets: [Int: Subdataset]

    /// One `SENTINEL2_L1C:<xml>:<res>m:EPSG_<code>` subdataset: its size and its bands by `BANDNAME`.
    struct Subdataset: Sendable {
        /// The GDAL subdataset name, openable with `Dataset.open`.
        let name: String
        /// Pixel size in metres: 10, 20 or 60.
        let resolution: Int
        /// Columns and rows at `resolution`.
        let width: Int
        let height: Int
        /// 1-based band index by `BANDNAME` item ("B4", "B8A", "SCL").
        let bandIndex: [String: Int]

        /// How many 10 m pixels one pixel of this subdataset spans in each direction.
        var factor: Int { resolution / 10 }
    }

    private init(
        path: String, metadataPath: String, level: ProcessingLevel, productName: String, tileID: String?,
        sensingTime: String, processingBaseline: String, quantificationValue: Double, grid: RasterGrid, epsg: Int,
        availableEPSGCodes: [Int], radiometricOffsets: [Double], subdatasets: [Int: Subdataset]
    ) {
        self.path = path
        self.metadataPath = metadataPath
        self.level = level
        self.productName = productName
        self.tileID = tileID
        self.sensingTime = sensingTime
        self.processingBaseline = processingBaseline
        self.quantificationValue = quantificationValue
        self.grid = grid
        self.epsg = epsg
        self.availableEPSGCodes = availableEPSGCodes
        self.radiometricOffsets = radiometricOffsets
        self.subdatasets = subdatasets
    }

    // MARK: Bands and radiometry

    /// The spectral bands present at their native resolution in the chosen zone (found by `BANDNAME`),
    /// in wavelength order.
    ///
    /// A band GDAL only exposes resampled to a coarser grid (for example B05 in a 60 m-only L2A product) is not listed.
    public var availableBands: [SpectralBand] { SpectralBand.allCases.filter { location(of: $0) != nil } }

    /// Whether the product has an L2A scene classification layer (SCL, 20 m, or 60 m when no 20 m data exists).
    public var hasSceneClassification: Bool { sceneClassificationLocation != nil }

    /// The additive offset of `band` (`RADIO_ADD_OFFSET` in L1C, `BOA_ADD_OFFSET` in L2A): −1000 from processing
    /// baseline 04.00, 0 when the product has no offset list.
    public func radiometricOffset(_ band: SpectralBand) -> Double { radiometricOffsets[band.xmlBandID] }

    /// Reflectance of a raw DN: (DN + offset) / quantification value; DN 0 (no data) gives NaN.
    @inlinable
    public func reflectance(_ dn: UInt16, band: SpectralBand) -> Float {
        dn == 0 ? .nan : Float((Double(dn) + radiometricOffset(band)) / quantificationValue)
    }

    /// Where GDAL exposes `band` at its native resolution: the subdataset and the 1-based band index in it.
    func location(of band: SpectralBand) -> (subdataset: Subdataset, index: Int)? {
        guard let subdataset = subdatasets[band.nativeResolution],
            let index = subdataset.bandIndex[band.gdalBandName]
        else { return nil }
        return (subdataset, index)
    }

    /// Where the SCL band is: the 20 m subdataset, else the 60 m one.
    var sceneClassificationLocation: (subdataset: Subdataset, index: Int)? {
        guard level == .l2a else { return nil }
        for resolution in [20, 60] {
            if let subdataset = subdatasets[resolution], let index = subdataset.bandIndex["SCL"] {
                return (subdataset, index)
            }
        }
        return nil
    }

    /// Opens a reader of `bands` (in this order) on the 10 m grid, with its own GDAL handles: use one per thread.
    ///
    /// Throws when a band is missing at its native resolution, or when `includeSceneClassification` is set and the
    /// product has no SCL.
    public func openReader(bands: [SpectralBand] = SpectralBand.rgb, includeSceneClassification: Bool = false) throws
        -> Sentinel2BandReader
    {
        try Sentinel2BandReader(product: self, bands: bands, includeSceneClassification: includeSceneClassification)
    }
}

// MARK: - Opening

extension Sentinel2Product {
    /// Opens a product from its `.SAFE` directory (or a folder holding exactly one), its main metadata XML
    /// (`MTD_MSIL1C.xml`, `MTD_MSIL2A.xml`, old `*_MTD_SAFL1C*.xml` / `*_MTD_SAFL2A*.xml`) or its `.zip`.
    ///
    /// `epsg` chooses the UTM zone of a product spanning several; the default is the zone of the first 10 m subdataset.
    public static func open(_ path: String, epsg: Int? = nil) throws -> Sentinel2Product {
        let metadataPath = try locateMetadata(path)
        let main: Dataset
        do {
            main = try Dataset.open(metadataPath, drivers: ["SENTINEL2"])
        } catch let error as GDALError {
            throw Sentinel2Error.notSentinel2(
                metadataPath, reason: "GDAL: \(error.message.isEmpty ? error.call : error.message)")
        }
        let items = main.metadata()
        let xml = main.metadataStrings(domain: "xml:SENTINEL2").first ?? ""
        let level = try processingLevel(of: main, items: items, file: metadataPath)

        // Subdatasets by zone.
        let parsed = main.subdatasets.compactMap { parseSubdatasetName($0.name) }
        var zones: [Int] = []
        for entry in parsed where !zones.contains(entry.epsg) { zones.append(entry.epsg) }
        let productName = name(items: items, level: level, metadataPath: metadataPath)
        guard !zones.isEmpty else {
            throw Sentinel2Error("\(productName): GDAL lists no 10/20/60 m subdatasets in \(metadataPath)")
        }
        let chosen: Int
        if let epsg {
            guard zones.contains(epsg) else {
                let list = zones.map { "EPSG:\($0)" }.joined(separator: ", ")
                throw Sentinel2Error("\(productName) has no data in EPSG:\(epsg) (available: \(list))")
            }
            chosen = epsg
        } else {
            chosen = parsed.first { $0.resolution == 10 }?.epsg ?? zones[0]
        }

        // Open the zone's subdatasets once to learn sizes, band names and the grid.
        var subdatasets: [Int: Subdataset] = [:]
        var grids: [Int: RasterGrid] = [:]
        for entry in parsed where entry.epsg == chosen && subdatasets[entry.resolution] == nil {
            let dataset: Dataset
            do {
                dataset = try Dataset.open(entry.name)
            } catch let error as GDALError {
                throw Sentinel2Error("\(productName): cannot open subdataset \(entry.name): \(error)")
            }
            var bandIndex: [String: Int] = [:]
            let backed = bandsWithImageFiles(dataset)
            for band in dataset.bands where backed?.contains(band.index) ?? true {
                if let name = band.metadataItem("BANDNAME"), bandIndex[name] == nil { bandIndex[name] = band.index }
            }
            subdatasets[entry.resolution] = Subdataset(
                name: entry.name, resolution: entry.resolution, width: dataset.width, height: dataset.height,
                bandIndex: bandIndex)
            grids[entry.resolution] = dataset.grid
        }
        let grid = try tenMetreGrid(from: grids, productName: productName)

        return Sentinel2Product(
            path: path, metadataPath: metadataPath, level: level, productName: productName,
            tileID: tile(productName: productName, xml: xml, epsg: chosen),
            sensingTime: firstValue(
                ["PRODUCT_START_TIME", "DATATAKE_1_DATATAKE_SENSING_START"], items: items, xml: xml)
                ?? "",
            processingBaseline: firstValue(["PROCESSING_BASELINE"], items: items, xml: xml)
                ?? baselineFromName(productName) ?? "",
            quantificationValue: quantification(level: level, items: items, xml: xml),
            grid: grid, epsg: chosen, availableEPSGCodes: zones,
            radiometricOffsets: offsets(level: level, xml: xml), subdatasets: subdatasets)
    }

    /// The level from the subdataset prefix (`SENTINEL2_L1C`, `SENTINEL2_L2A`), else from `PROCESSING_LEVEL`.
    private static func processingLevel(of main: Dataset, items: [String: String], file: String) throws
        -> ProcessingLevel
    {
        let prefixes = Set(main.subdatasets.compactMap { $0.name.split(separator: ":").first.map(String.init) })
        if prefixes.contains("SENTINEL2_L1C_TILE") {
            throw Sentinel2Error.unsupportedLevel(file, level: "a tile metadata file; open the product's main XML")
        }
        if prefixes.contains("SENTINEL2_L2A") { return .l2a }
        if prefixes.contains("SENTINEL2_L1C") { return .l1c }
        let declared = items["PROCESSING_LEVEL"] ?? items["PRODUCT_TYPE"] ?? ""
        if let short = prefixes.first?.replacingOccurrences(of: "SENTINEL2_", with: "") {
            throw Sentinel2Error.unsupportedLevel(file, level: short)
        }
        let level = declared.replacingOccurrences(of: "Level-", with: "L")
        throw Sentinel2Error.unsupportedLevel(file, level: level.isEmpty ? "no processing level" : level)
    }

    /// Splits `SENTINEL2_L1C:<xml>:10m:EPSG_32634` into resolution and EPSG; nil for TCI/PREVIEW and others.
    static func parseSubdatasetName(_ name: String) -> (name: String, resolution: Int, epsg: Int)? {
        let parts = name.split(separator: ":")
        guard parts.count >= 4, parts[parts.count - 1].hasPrefix("EPSG_"),
            let epsg = Int(parts[parts.count - 1].dropFirst(5))
        else { return nil }
        let resolution: Int
        switch parts[parts.count - 2] {
        case "10m": resolution = 10
        case "20m": resolution = 20
        case "60m": resolution = 60
        default: return nil
        }
        return (name, resolution, epsg)
    }

    /// The 10 m grid: the 10 m subdataset's, else the finest one's refined to 10 m pixels; every subdataset must
    /// share its origin.
    private static func tenMetreGrid(from grids: [Int: RasterGrid], productName: String) throws -> RasterGrid {
        guard let finest = grids.keys.min(), let source = grids[finest] else {
            throw Sentinel2Error("\(productName): no georeferenced 10/20/60 m subdataset")
        }
        let factor = Double(finest / 10)
        var transform = source.geoTransform
        transform.pixelWidth /= factor
        transform.pixelHeight /= factor
        let grid = RasterGrid(
            crsWKT: source.crsWKT, geoTransform: transform, width: source.width * (finest / 10),
            height: source.height * (finest / 10))
        for (resolution, other) in grids {
            let t = other.geoTransform
            let aligned =
                abs(t.originX - transform.originX) < 1e-6 && abs(t.originY - transform.originY) < 1e-6
                && abs(abs(t.pixelWidth) - Double(resolution)) < 1e-6
                && abs(abs(t.pixelHeight) - Double(resolution)) < 1e-6
                && t.isNorthUp
            guard aligned else {
                throw Sentinel2Error(
                    "\(productName): the \(resolution) m subdataset is not aligned with the 10 m grid "
                        + "(geotransform \(t.coefficients))")
            }
        }
        return grid
    }
}

// MARK: - Locating the metadata file

extension Sentinel2Product {
    /// The metadata XML to hand GDAL for `path`: the path itself for a file, the MTD XML inside a directory or zip.
    static func locateMetadata(_ path: String) throws -> String {
        guard !path.isEmpty, GDAL.pathExists(path) else { throw Sentinel2Error.missing(path) }
        if path.lowercased().hasSuffix(".zip") {
            let root = path.hasPrefix("/vsizip/") ? path : "/vsizip/" + path
            // Let GDAL try the zip itself when its layout is unusual (it also recognises zips by content).
            return findMetadata(inProduct: root) ?? path
        }
        guard isDirectory(path) else { return path }
        guard let found = findMetadata(inProduct: path) else { throw Sentinel2Error.noMetadata(in: path) }
        return found
    }

    /// The metadata XML in `directory`, or in its only `.SAFE` subdirectory.
    private static func findMetadata(inProduct directory: String) -> String? {
        let directory = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let entries = GDAL.listDirectory(directory)
        if let file = bestMetadataFile(entries) { return directory + "/" + file }
        let safes = entries.filter { $0.lowercased().hasSuffix(".safe") }
        guard safes.count == 1 else { return nil }
        let inner = directory + "/" + safes[0]
        return bestMetadataFile(GDAL.listDirectory(inner)).map { inner + "/" + $0 }
    }

    /// Picks the main metadata file among directory entries: L1C/L2A names first, L1B names last (so that an
    /// L1B product is reported as such rather than as "no metadata").
    static func bestMetadataFile(_ entries: [String]) -> String? {
        func rank(_ entry: String) -> Int? {
            let name = entry.uppercased()
            guard name.hasSuffix(".XML") else { return nil }
            if name == "MTD_MSIL1C.XML" || name == "MTD_MSIL2A.XML" { return 0 }
            if name.hasPrefix("S2"), name.contains("_MTD_SAFL1C") || name.contains("_MTD_SAFL2A") { return 1 }
            if name == "MTD_MSIL1B.XML"
                || (name.hasPrefix("S2") && (name.contains("_MTD_SAFL1B") || name.contains("_MTD_L1B")))
            {
                return 2
            }
            return nil
        }
        return entries.compactMap { entry in rank(entry).map { (entry, $0) } }
            .min { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }?.0
    }

    private static func isDirectory(_ path: String) -> Bool {
        if path.hasPrefix("/vsi") { return !GDAL.listDirectory(path).isEmpty }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}

/// The bands of a SENTINEL2 subdataset that have an image file behind them, from its VRT description;
/// nil when the subdataset is not a VRT. GDAL lists every band of a resolution even when its JP2 is missing.
func bandsWithImageFiles(_ dataset: Dataset) -> Set<Int>? {
    guard let vrt = dataset.metadataStrings(domain: "xml:VRT").first, vrt.contains("<VRTRasterBand") else { return nil }
    var result: Set<Int> = []
    for block in vrt.components(separatedBy: "<VRTRasterBand").dropFirst() where block.contains("<SourceFilename") {
        guard let range = block.range(of: #"band="(\d+)""#, options: .regularExpression) else { continue }
        if let index = Int(block[range].dropFirst(6).dropLast()) { result.insert(index) }
    }
    return result
}

/// The image file behind band `band` of a SENTINEL2 subdataset, from its VRT description.
func imageFile(of band: RasterBand) -> String? {
    guard let vrt = band.dataset.metadataStrings(domain: "xml:VRT").first else { return nil }
    for block in vrt.components(separatedBy: "<VRTRasterBand").dropFirst()
    where block.contains("band=\"\(band.index)\"") {
        guard let start = block.range(of: "<SourceFilename"), let open = block[start.upperBound...].firstIndex(of: ">"),
            let close = block.range(of: "</SourceFilename>")
        else { return nil }
        return String(block[block.index(after: open)..<close.lowerBound])
    }
    return nil
}
