import Foundation
import GeoRaster

/// Writes reflectance arrays as a small Sentinel-2 Level-1C product in the SAFE "compact" layout, readable by
/// GDAL's SENTINEL2 driver like a product downloaded from ESA:
///
/// ```
/// S2B_MSIL1C_20180510T094029_N0500_R036_T35VMF_20230104T000000.SAFE/
///   MTD_MSIL1C.xml  manifest.safe
///   GRANULE/L1C_T35VMF_A006199_20180510T094029/
///     MTD_TL.xml
///     IMG_DATA/T35VMF_20180510T094029_B02.jp2 …   (lossless JPEG-2000, UInt16, georeferenced)
/// ```
///
/// The granule is a `size`×`size` pixel window of the tile at 10 m; bands of 20 m and 60 m are block means of the
/// 10 m input. Digital numbers follow processing baseline ≥ 04.00: `DN = reflectance × 10000 + 1000`, so that
/// `reflectance = (DN + RADIO_ADD_OFFSET) / QUANTIFICATION_VALUE` with offset −1000; DN 0 is reserved for no data
/// and 65535 for saturation. Only the bands given are written and listed in the metadata, so GDAL exposes exactly
/// those (for example a 20 m subdataset holding only B11).
///
/// Every output byte is a function of the inputs and these properties: no clock, no random file content.
public struct Sentinel2ProductWriter: Sendable {
    /// A UTC instant with millisecond precision, formatted the ways SAFE products need.
    public struct Timestamp: Sendable, Hashable {
        public var year, month, day, hour, minute, second, millisecond: Int

        /// Creates a timestamp from its UTC components.
        public init(
            year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, millisecond: Int = 0
        ) {
            self.year = year
            self.month = month
            self.day = day
            self.hour = hour
            self.minute = minute
            self.second = second
            self.millisecond = millisecond
        }

        /// The compact form of SAFE names, e.g. "20180510T094029".
        public var compact: String {
            String(format: "%04d%02d%02dT%02d%02d%02d", year, month, day, hour, minute, second)
        }

        /// ISO 8601 with milliseconds, e.g. "2018-05-10T09:40:29.024Z".
        public var iso8601: String {
            String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month, day, hour, minute, second, millisecond)
        }

        /// Day of the year, 1...366.
        var dayOfYear: Int {
            let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return cumulative[month - 1] + day + (leap && month > 2 ? 1 : 0)
        }
    }

    /// Platform: "S2A", "S2B" or "S2C".
    public var spacecraft = "S2B"
    /// Start of sensing (the first timestamp of the product name).
    public var sensingTime = Timestamp(year: 2018, month: 5, day: 10, hour: 9, minute: 40, second: 29, millisecond: 24)
    /// Processing time, the product discriminator (last timestamp of the name).
    public var generationTime = Timestamp(year: 2023, month: 1, day: 4)
    /// Processing baseline "xx.yy"; from "04.00" on, products carry the radiometric offset of −1000.
    public var processingBaseline = "05.00"
    /// Relative orbit number, 1...143.
    public var relativeOrbit = 36
    /// Absolute orbit number (granule folder `A0xxxxx`).
    public var absoluteOrbit = 6199
    /// MGRS tile identifier without the leading "T": UTM zone, latitude band, 100 km square.
    public var tile = "35VMF"
    /// EPSG code of the tile's UTM zone (326zz north, 327zz south).
    public var epsg = 32635
    /// Upper-left corner of the full 109.8 km tile in the UTM CRS. The default is the MGRS square 35VMF
    /// (easting 400–500 km, northing 6500–6600 km) with the 40 m western shift Sentinel-2 tiles commonly have.
    public var tileOrigin = (x: 399_960.0, y: 6_600_000.0)
    /// Position of the written window in the tile, in 10 m pixels; multiples of 6 keep the 20 m and 60 m grids
    /// aligned with the tile's. The default puts the window in the tile's centre-west (central Estonia).
    public var windowOffset = (column: 4020, row: 4980)

    /// Pixels of a full tile at 10 m.
    public static let tilePixels = 10_980
    /// `QUANTIFICATION_VALUE`: reflectance × 10000.
    public static let quantificationValue = 10_000
    /// DN reserved for no data.
    public static let noDataValue: UInt16 = 0
    /// DN reserved for saturated pixels.
    public static let saturatedValue: UInt16 = 65_535

    /// Creates a writer with the defaults above (S2B, 2018-05-10, baseline 05.00, tile 35VMF).
    public init() {}

    // MARK: Names

    /// Processing level and product type part of the name.
    private static let productLevel = "MSIL1C"

    /// The processing baseline as in names: "05.00" → "N0500".
    var baselineTag: String { "N" + processingBaseline.replacingOccurrences(of: ".", with: "") }

    /// The product name without extension, e.g. "S2B_MSIL1C_20180510T094029_N0500_R036_T35VMF_20230104T000000".
    public var productName: String {
        [
            spacecraft, Self.productLevel, sensingTime.compact, baselineTag, String(format: "R%03d", relativeOrbit),
            "T" + tile, generationTime.compact,
        ].joined(separator: "_")
    }

    /// The product folder name, "<productName>.SAFE".
    public var safeName: String { productName + ".SAFE" }

    /// The granule folder name, e.g. "L1C_T35VMF_A006199_20180510T094029".
    public var granuleName: String {
        "L1C_T\(tile)_" + String(format: "A%06d", absoluteOrbit) + "_\(sensingTime.compact)"
    }

    /// The file name (without ".jp2") of a band image, e.g. "T35VMF_20180510T094029_B02".
    public func imageName(_ band: SpectralBand) -> String { "T\(tile)_\(sensingTime.compact)_\(band.name)" }

    /// The radiometric offset added to DNs to get reflectance × 10000: −1000 from baseline 04.00, else 0.
    public var radiometricOffset: Int {
        let number = Double(processingBaseline) ?? 0
        return number >= 4 ? -1000 : 0
    }

    /// The main metadata file inside a product folder, the path GDAL opens.
    public static func metadataURL(inProduct safe: URL) -> URL { safe.appendingPathComponent("MTD_MSIL1C.xml") }

    /// GDAL's subdataset name of one resolution (10, 20, 60) of a product written by this writer.
    public func subdatasetName(product safe: URL, resolution: Int) -> String {
        "SENTINEL2_L1C:\(Self.metadataURL(inProduct: safe).path):\(resolution)m:EPSG_\(epsg)"
    }

    /// The 10 m grid of a `size`×`size` window: UTM, origin at the window's upper-left corner.
    public func grid(size: Int, resolution: Int = 10) throws -> RasterGrid {
        let origin = windowOrigin
        let crs = try CRS(epsg: epsg)
        let factor = resolution / 10
        return RasterGrid(
            crsWKT: crs.wkt,
            geoTransform: GeoTransform(
                originX: origin.x, originY: origin.y, pixelWidth: Double(resolution), pixelHeight: -Double(resolution)),
            width: size / factor, height: size / factor)
    }

    /// Map coordinates of the window's upper-left corner.
    var windowOrigin: (x: Double, y: Double) {
        (tileOrigin.x + Double(windowOffset.column * 10), tileOrigin.y - Double(windowOffset.row * 10))
    }

    // MARK: Writing

    /// Writes the product into `directory` and returns the URL of its `.SAFE` folder.
    ///
    /// - Parameters:
    ///   - reflectance: top-of-atmosphere reflectance × 10000 (no offset) per band, all at 10 m, row-major
    ///     `size * size`; bands whose native resolution is 20 m or 60 m are written as 2×2 or 6×6 block means.
    ///   - size: width and height of the window in 10 m pixels, a multiple of 6.
    ///   - directory: parent folder, created if missing.
    ///   - overwrite: replace an existing product of the same name; otherwise an existing one is an error.
    /// The product is assembled under a temporary name in `directory` and renamed into place when complete.
    @discardableResult
    public func write(
        reflectance: [SpectralBand: [UInt16]], size: Int, into directory: URL, overwrite: Bool = false
    ) throws -> URL {
        try validate(reflectance: reflectance, size: size)
        return try assemble(bands: Array(reflectance.keys), size: size, into: directory, overwrite: overwrite) {
            band, path in
            let resolution = band.nativeResolution
            let values = digitalNumbers(Self.blockMean(reflectance[band]!, size: size, factor: resolution / 10))
            try Self.writeJPEG2000(values, grid: grid(size: size, resolution: resolution), to: path.path)
        }
    }

    /// Lays out the product folder around the band images `placeImage` puts at the paths it is given (the `.jp2`
    /// under `IMG_DATA`), writes the metadata, and renames the folder into place; returns its URL.
    func assemble(
        bands: [SpectralBand], size: Int, into directory: URL, overwrite: Bool,
        placeImage: (SpectralBand, URL) throws -> Void
    ) throws -> URL {
        let destination = directory.appendingPathComponent(safeName)
        let files = FileManager.default
        if !overwrite && files.fileExists(atPath: destination.path) {
            throw SampleDataError.alreadyExists(path: destination.path)
        }
        try files.createDirectory(at: directory, withIntermediateDirectories: true)
        let staging = directory.appendingPathComponent(".\(safeName).partial-\(UUID().uuidString)")
        defer { try? files.removeItem(at: staging) }

        let bands = bands.sorted()
        let granule = staging.appendingPathComponent("GRANULE").appendingPathComponent(granuleName)
        let images = granule.appendingPathComponent("IMG_DATA")
        try files.createDirectory(at: images, withIntermediateDirectories: true)
        for band in bands {
            try placeImage(band, images.appendingPathComponent(imageName(band) + ".jp2"))
        }
        try tileMetadata(size: size).write(
            to: granule.appendingPathComponent("MTD_TL.xml"), atomically: false, encoding: .utf8)
        try productMetadata(bands: bands, size: size).write(
            to: Self.metadataURL(inProduct: staging), atomically: false, encoding: .utf8)
        try manifest(product: staging, bands: bands, size: size).write(
            to: staging.appendingPathComponent("manifest.safe"), atomically: false, encoding: .utf8)

        try installAtomically(staging, at: destination, overwrite: overwrite)
        return destination
    }

    private func validate(reflectance: [SpectralBand: [UInt16]], size: Int) throws {
        try validateWindow(size: size)
        guard !reflectance.isEmpty else { throw SampleDataError.missingData("no band to write") }
        for (band, values) in reflectance where values.count != size * size {
            throw SampleDataError.missingData(
                "band \(band.name) has \(values.count) values, expected \(size * size) (\(size)×\(size))")
        }
    }

    /// Checks that a `size`-pixel window at `windowOffset` fits the tile on the 60 m grid.
    func validateWindow(size: Int) throws {
        guard size > 0, size % 6 == 0 else {
            throw SampleDataError.invalidSize(size, reason: "the window must be a positive multiple of 6 pixels")
        }
        guard windowOffset.column % 6 == 0, windowOffset.row % 6 == 0, windowOffset.column >= 0,
            windowOffset.row >= 0, windowOffset.column + size <= Self.tilePixels,
            windowOffset.row + size <= Self.tilePixels
        else {
            throw SampleDataError.invalidSize(
                size,
                reason: "the window at \(windowOffset) must lie inside the \(Self.tilePixels)-pixel tile "
                    + "at offsets that are multiples of 6")
        }
    }

    /// Reflectance × 10000 to DN: adds the baseline's offset back and keeps 0 and 65535 for no data and saturation.
    func digitalNumbers(_ reflectance: [UInt16]) -> [UInt16] {
        let offset = -radiometricOffset
        return reflectance.map { UInt16(min(max(Int($0) + offset, 1), Int(Self.saturatedValue) - 1)) }
    }

    /// Means of `factor`×`factor` blocks, rounded half up; `factor` 1 returns the input.
    static func blockMean(_ values: [UInt16], size: Int, factor: Int) -> [UInt16] {
        guard factor > 1 else { return values }
        let coarse = size / factor
        let count = factor * factor
        var result = [UInt16](repeating: 0, count: coarse * coarse)
        for row in 0..<coarse {
            for column in 0..<coarse {
                var sum = 0
                for y in row * factor..<(row + 1) * factor {
                    for x in column * factor..<(column + 1) * factor { sum += Int(values[y * size + x]) }
                }
                result[row * coarse + column] = UInt16((sum + count / 2) / count)
            }
        }
        return result
    }

    /// Writes one band as lossless JPEG-2000 in 1024² tiles (the JP2OpenJPEG driver is CreateCopy-only: MEM first).
    static func writeJPEG2000(_ values: [UInt16], grid: RasterGrid, to path: String) throws {
        let memory = try Dataset.createInMemory(grid: grid, bands: 1, type: .uint16)
        try memory.band(1).write(values, window: grid.fullWindow)
        let jp2 = try memory.translate(
            to: path,
            arguments: [
                "-of", "JP2OpenJPEG", "-co", "QUALITY=100", "-co", "REVERSIBLE=YES", "-co", "BLOCKXSIZE=1024",
                "-co", "BLOCKYSIZE=1024",
            ])
        try jp2.close()
    }

    // MARK: Metadata documents

    /// Corners of the window in WGS 84 as (latitude, longitude), clockwise from the upper left, ring closed.
    private func footprint(size: Int) throws -> [(latitude: Double, longitude: Double)] {
        let origin = windowOrigin
        let extent = Double(size * 10)
        let corners = [
            (x: origin.x, y: origin.y), (x: origin.x + extent, y: origin.y),
            (x: origin.x + extent, y: origin.y - extent), (x: origin.x, y: origin.y - extent),
        ]
        let geographic = try CRS(epsg: epsg).transform(corners, to: CRS(epsg: 4326))
        let ring = geographic.map { (latitude: $0.y, longitude: $0.x) }
        return ring + [ring[0]]
    }

    /// Earth–Sun distance correction `U` of the sensing day (ESA's formula for the L1C `Reflectance_Conversion`).
    private var sunDistanceCorrection: Double {
        let angle = 0.0172 * Double(sensingTime.dayOfYear - 4)
        return 1 / pow(1 - 0.01673 * cos(angle), 2)
    }

    private var datatakeIdentifier: String {
        "G\(spacecraft)_\(sensingTime.compact)_" + String(format: "%06d", absoluteOrbit) + "_N\(processingBaseline)"
    }

    private var datastripIdentifier: String {
        "\(spacecraft)_OPER_MSI_L1C_DS_SYNT_\(generationTime.compact)_S\(sensingTime.compact)_N\(processingBaseline)"
    }

    private var tileIdentifier: String {
        "\(spacecraft)_OPER_MSI_L1C_TL_SYNT_\(generationTime.compact)_" + String(format: "A%06d", absoluteOrbit)
            + "_T\(tile)_N\(processingBaseline)"
    }

    private static let syntheticNote =
        "Synthetic sample product written by `landcover sample-data`: generated data, not an ESA product."

    /// `MTD_MSIL1C.xml`, the product metadata GDAL opens.
    func productMetadata(bands: [SpectralBand], size: Int) throws -> String {
        let schema = "https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-1C.xsd"
        let ring = try footprint(size: size)
        var xml = XMLDocumentText()
        xml.comment(Self.syntheticNote)
        xml.element(
            "n1:Level-1C_User_Product",
            [
                "xmlns:n1": schema, "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                "xsi:schemaLocation": schema,
            ]
        ) { xml in
            xml.element("n1:General_Info") { xml in
                xml.element("Product_Info") { xml in
                    xml.leaf("PRODUCT_START_TIME", sensingTime.iso8601)
                    xml.leaf("PRODUCT_STOP_TIME", sensingTime.iso8601)
                    xml.leaf("PRODUCT_URI", safeName)
                    xml.leaf("PROCESSING_LEVEL", "Level-1C")
                    xml.leaf("PRODUCT_TYPE", "S2MSI1C")
                    xml.leaf("PROCESSING_BASELINE", processingBaseline)
                    xml.leaf("GENERATION_TIME", generationTime.iso8601)
                    xml.leaf("PREVIEW_IMAGE_URL", "Not applicable")
                    xml.leaf("PREVIEW_GEO_INFO", "Not applicable")
                    xml.element("Datatake", ["datatakeIdentifier": datatakeIdentifier]) { xml in
                        xml.leaf("SPACECRAFT_NAME", "Sentinel-" + spacecraft.dropFirst())
                        xml.leaf("DATATAKE_TYPE", "INS-NOBS")
                        xml.leaf("DATATAKE_SENSING_START", sensingTime.iso8601)
                        xml.leaf("SENSING_ORBIT_NUMBER", String(relativeOrbit))
                        xml.leaf("SENSING_ORBIT_DIRECTION", "DESCENDING")
                    }
                    xml.element("Query_Options", ["completeSingleTile": "false"]) { xml in
                        xml.leaf("PRODUCT_FORMAT", "SAFE_COMPACT")
                    }
                    xml.element("Product_Organisation") { xml in
                        xml.element("Granule_List") { xml in
                            xml.element(
                                "Granule",
                                [
                                    "datastripIdentifier": datastripIdentifier, "granuleIdentifier": tileIdentifier,
                                    "imageFormat": "JPEG2000",
                                ]
                            ) { xml in
                                for band in bands {
                                    xml.leaf("IMAGE_FILE", "GRANULE/\(granuleName)/IMG_DATA/\(imageName(band))")
                                }
                            }
                        }
                    }
                }
                xml.element("Product_Image_Characteristics") { xml in
                    for (text, value) in [("NODATA", Self.noDataValue), ("SATURATED", Self.saturatedValue)] {
                        xml.element("Special_Values") { xml in
                            xml.leaf("SPECIAL_VALUE_TEXT", text)
                            xml.leaf("SPECIAL_VALUE_INDEX", String(value))
                        }
                    }
                    xml.element("Image_Display_Order") { xml in
                        xml.leaf("RED_CHANNEL", "3")
                        xml.leaf("GREEN_CHANNEL", "2")
                        xml.leaf("BLUE_CHANNEL", "1")
                    }
                    xml.leaf("QUANTIFICATION_VALUE", String(Self.quantificationValue), ["unit": "none"])
                    if radiometricOffset != 0 {
                        xml.element("Radiometric_Offset_List") { xml in
                            for band in SpectralBand.allCases {
                                xml.leaf(
                                    "RADIO_ADD_OFFSET", String(radiometricOffset),
                                    ["band_id": String(band.xmlBandID)])
                            }
                        }
                    }
                    xml.element("Reflectance_Conversion") { xml in
                        xml.leaf("U", String(format: "%.14f", sunDistanceCorrection))
                        xml.element("Solar_Irradiance_List") { xml in
                            for band in SpectralBand.allCases {
                                xml.leaf(
                                    "SOLAR_IRRADIANCE", decimal(Self.spectra[band.xmlBandID].solarIrradiance),
                                    ["bandId": String(band.xmlBandID), "unit": "W/m²/µm"])
                            }
                        }
                    }
                    xml.element("Spectral_Information_List") { xml in
                        for band in SpectralBand.allCases {
                            let spectrum = Self.spectra[band.xmlBandID]
                            xml.element(
                                "Spectral_Information",
                                ["bandId": String(band.xmlBandID), "physicalBand": band.gdalBandName]
                            ) { xml in
                                xml.leaf("RESOLUTION", String(band.nativeResolution))
                                xml.element("Wavelength") { xml in
                                    xml.leaf("MIN", decimal(spectrum.minimum), ["unit": "nm"])
                                    xml.leaf("MAX", decimal(spectrum.maximum), ["unit": "nm"])
                                    xml.leaf("CENTRAL", decimal(spectrum.central), ["unit": "nm"])
                                }
                            }
                        }
                    }
                }
            }
            xml.element("n1:Geometric_Info") { xml in
                xml.element("Product_Footprint") { xml in
                    xml.element("Product_Footprint") { xml in
                        xml.element("Global_Footprint") { xml in
                            let positions = ring.map {
                                String(format: "%.9f %.9f", $0.latitude, $0.longitude)
                            }
                            xml.leaf("EXT_POS_LIST", positions.joined(separator: " ") + " ")
                        }
                    }
                    xml.leaf("RASTER_CS_TYPE", "POINT")
                    xml.leaf("PIXEL_ORIGIN", "1")
                }
                xml.element("Coordinate_Reference_System") { xml in
                    xml.leaf("GEO_TABLES", "EPSG", ["version": "1"])
                    xml.leaf("HORIZONTAL_CS_TYPE", "GEOGRAPHIC")
                }
            }
            xml.element("n1:Quality_Indicators_Info") { xml in
                xml.leaf("Cloud_Coverage_Assessment", "0.0")
                xml.leaf("Snow_Coverage_Assessment", "0.0")
            }
        }
        return xml.text
    }

    /// `GRANULE/<granule>/MTD_TL.xml`: the tile geocoding GDAL uses for the subdatasets' size and geotransform.
    func tileMetadata(size: Int) throws -> String {
        let schema = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-1C_Tile_Metadata.xsd"
        let origin = windowOrigin
        let crs = try CRS(epsg: epsg)
        var xml = XMLDocumentText()
        xml.comment(Self.syntheticNote)
        xml.element(
            "n1:Level-1C_Tile_ID",
            [
                "xmlns:n1": schema, "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                "xsi:schemaLocation": schema,
            ]
        ) { xml in
            xml.element("n1:General_Info") { xml in
                xml.leaf("TILE_ID", tileIdentifier, ["metadataLevel": "Brief"])
                xml.leaf("DATASTRIP_ID", datastripIdentifier, ["metadataLevel": "Standard"])
                xml.leaf("DOWNLINK_PRIORITY", "NOMINAL", ["metadataLevel": "Standard"])
                xml.leaf("SENSING_TIME", sensingTime.iso8601, ["metadataLevel": "Standard"])
            }
            xml.element("n1:Geometric_Info") { xml in
                xml.element("Tile_Geocoding", ["metadataLevel": "Brief"]) { xml in
                    xml.leaf("HORIZONTAL_CS_NAME", crs.name.replacingOccurrences(of: "WGS 84", with: "WGS84"))
                    xml.leaf("HORIZONTAL_CS_CODE", "EPSG:\(epsg)")
                    for resolution in [10, 20, 60] {
                        xml.element("Size", ["resolution": String(resolution)]) { xml in
                            xml.leaf("NROWS", String(size * 10 / resolution))
                            xml.leaf("NCOLS", String(size * 10 / resolution))
                        }
                    }
                    for resolution in [10, 20, 60] {
                        xml.element("Geoposition", ["resolution": String(resolution)]) { xml in
                            xml.leaf("ULX", decimal(origin.x))
                            xml.leaf("ULY", decimal(origin.y))
                            xml.leaf("XDIM", String(resolution))
                            xml.leaf("YDIM", String(-resolution))
                        }
                    }
                }
            }
            xml.element("n1:Quality_Indicators_Info", ["metadataLevel": "Standard"]) { xml in
                xml.element("Image_Content_QI") { xml in
                    xml.leaf("CLOUDY_PIXEL_PERCENTAGE", "0.0")
                    xml.leaf("DEGRADED_MSI_DATA_PERCENTAGE", "0.0")
                    xml.leaf("SNOW_PIXEL_PERCENTAGE", "0.0")
                }
            }
        }
        return xml.text
    }

    /// `manifest.safe`: a minimal XFDU package map listing the metadata and image files with their sizes.
    func manifest(product: URL, bands: [SpectralBand], size: Int) throws -> String {
        var objects: [(id: String, mime: String, path: String)] = [
            ("S2_Level-1C_Product_Metadata", "text/xml", "MTD_MSIL1C.xml"),
            ("S2_Level-1C_Tile1_Metadata", "text/xml", "GRANULE/\(granuleName)/MTD_TL.xml"),
        ]
        for band in bands {
            objects.append(
                (
                    "IMG_DATA_Band_\(band.nativeResolution)m_\(band.gdalBandName)_Tile1_Data",
                    "application/octet-stream", "GRANULE/\(granuleName)/IMG_DATA/\(imageName(band)).jp2"
                ))
        }
        let ring = try footprint(size: size)
        var xml = XMLDocumentText()
        xml.comment(Self.syntheticNote)
        xml.element(
            "xfdu:XFDU",
            [
                "xmlns:gml": "http://www.opengis.net/gml", "xmlns:safe": "http://www.esa.int/safe/sentinel/1.1",
                "xmlns:xfdu": "urn:ccsds:schema:xfdu:1",
                "version": "esa/safe/sentinel/1.1/sentinel-2/msi/archive_l1c_user_product",
            ]
        ) { xml in
            xml.element("informationPackageMap") { xml in
                xml.element(
                    "xfdu:contentUnit",
                    [
                        "dmdID": "acquisitionPeriod platform", "pdiID": "processing",
                        "textInfo": "SENTINEL-2 MSI Level-1C User Product", "unitType": "Product_Level-1C",
                    ]
                ) { xml in
                    for object in objects {
                        let unit = object.id.replacingOccurrences(of: "_Data", with: "_Unit")
                            .replacingOccurrences(of: "_Metadata", with: "_Metadata_Unit")
                        let kind = object.mime == "text/xml" ? "Metadata Unit" : "Measurement Data Unit"
                        xml.element("xfdu:contentUnit", ["ID": unit, "unitType": kind]) { xml in
                            xml.empty("dataObjectPointer", ["dataObjectID": object.id])
                        }
                    }
                }
            }
            xml.element("metadataSection") { xml in
                metadataObject(&xml, id: "acquisitionPeriod", text: "Acquisition Period") { xml in
                    xml.element("safe:acquisitionPeriod") { xml in
                        xml.leaf("safe:startTime", sensingTime.iso8601)
                    }
                }
                metadataObject(&xml, id: "platform", text: "Platform Description") { xml in
                    xml.element("safe:platform") { xml in
                        xml.leaf("safe:familyName", "SENTINEL")
                        xml.leaf("safe:number", String(spacecraft.dropFirst(1)))
                        xml.element("safe:instrument") { xml in
                            xml.leaf("safe:familyName", "Multi-Spectral Instrument", ["abbreviation": "MSI"])
                        }
                    }
                }
                metadataObject(&xml, id: "measurementOrbitReference", text: "Orbit Reference") { xml in
                    xml.element("safe:orbitReference") { xml in
                        xml.leaf(
                            "safe:orbitNumber", String(format: "%06d", absoluteOrbit),
                            ["groundTrackDirection": "descending", "type": "start"])
                        xml.leaf("safe:relativeOrbitNumber", String(relativeOrbit), ["type": "start"])
                    }
                }
                metadataObject(
                    &xml, id: "processing", text: "Processing", category: "PDI", classification: "PROVENANCE"
                ) { xml in
                    xml.empty(
                        "safe:processing",
                        ["name": "Generation of Level-1C User Product", "start": generationTime.iso8601])
                }
                metadataObject(&xml, id: "measurementFrameSet", text: "Frame Set") { xml in
                    xml.element("safe:frameSet") { xml in
                        xml.element("safe:footPrint", ["srsName": "http://www.opengis.net/gml/srs/epsg.xml#4326"]) {
                            xml in
                            let positions = ring.map { String(format: "%.9f %.9f", $0.latitude, $0.longitude) }
                            xml.leaf("gml:coordinates", positions.joined(separator: " "))
                        }
                    }
                }
            }
            xml.element("dataObjectSection") { xml in
                for object in objects {
                    let bytes =
                        (try? FileManager.default.attributesOfItem(
                            atPath: product.appendingPathComponent(object.path).resolvingSymlinksInPath().path)[.size]
                            as? Int) ?? 0
                    xml.element("dataObject", ["ID": object.id]) { xml in
                        xml.element("byteStream", ["mimeType": object.mime, "size": String(bytes)]) { xml in
                            xml.empty("fileLocation", ["href": "./" + object.path, "locatorType": "URL"])
                        }
                    }
                }
            }
        }
        return xml.text
    }

    private func metadataObject(
        _ xml: inout XMLDocumentText, id: String, text: String, category: String = "DMD",
        classification: String = "DESCRIPTION", content: (inout XMLDocumentText) -> Void
    ) {
        xml.element("metadataObject", ["ID": id, "category": category, "classification": classification]) { xml in
            xml.element(
                "metadataWrap", ["mimeType": "text/xml", "textInfo": text, "vocabularyName": "Sentinel-SAFE"]
            ) { xml in
                xml.element("xmlData", [:], content)
            }
        }
    }

    /// Spectral response limits (nm) and solar irradiance (W/m²/µm) of Sentinel-2B's bands, by XML band id.
    private static let spectra: [(minimum: Double, maximum: Double, central: Double, solarIrradiance: Double)] = [
        (411, 456, 442.3, 1874.3), (456, 532, 492.3, 1959.75), (536, 582, 559, 1824.93),
        (646, 685, 665, 1512.79), (694, 714, 703.8, 1425.78), (730, 748, 739.1, 1291.13),
        (766, 794, 779.7, 1175.57), (774, 907, 833, 1041.28), (848, 880, 864, 953.93),
        (930, 957, 943.2, 817.58), (1339, 1415, 1376.9, 365.41), (1538, 1679, 1610.4, 247.08),
        (2065, 2303, 2185.7, 87.75),
    ]
}

/// Shortest decimal text of a number, without a trailing ".0" for whole numbers.
private func decimal(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
}

/// Moves a finished `staged` file or folder to `destination` by renaming, replacing an existing one only when
/// `overwrite` is set (the old one is renamed aside first and deleted once the new one is in place).
func installAtomically(_ staged: URL, at destination: URL, overwrite: Bool) throws {
    let files = FileManager.default
    guard files.fileExists(atPath: destination.path) else {
        try files.moveItem(at: staged, to: destination)
        return
    }
    guard overwrite else { throw SampleDataError.alreadyExists(path: destination.path) }
    let aside = destination.deletingLastPathComponent()
        .appendingPathComponent(".\(destination.lastPathComponent).old-\(UUID().uuidString)")
    try files.moveItem(at: destination, to: aside)
    do {
        try files.moveItem(at: staged, to: destination)
    } catch {
        try? files.moveItem(at: aside, to: destination)
        throw error
    }
    try? files.removeItem(at: aside)
}

/// A pretty-printed XML document built element by element, with escaped text and attributes in the given order.
struct XMLDocumentText {
    private(set) var text = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
    private var depth = 0

    private var indent: String { String(repeating: "  ", count: depth) }

    mutating func comment(_ note: String) {
        text += "\(indent)<!-- \(note.replacingOccurrences(of: "--", with: "- -")) -->\n"
    }

    /// An element with child elements.
    mutating func element(
        _ name: String, _ attributes: KeyValuePairs<String, String> = [:],
        _ content: (inout XMLDocumentText) throws -> Void
    ) rethrows {
        text += "\(indent)<\(name)\(Self.attributes(attributes))>\n"
        depth += 1
        try content(&self)
        depth -= 1
        text += "\(indent)</\(name)>\n"
    }

    /// An element holding text.
    mutating func leaf(_ name: String, _ value: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        text += "\(indent)<\(name)\(Self.attributes(attributes))>\(Self.escape(value))</\(name)>\n"
    }

    /// An empty element.
    mutating func empty(_ name: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        text += "\(indent)<\(name)\(Self.attributes(attributes))/>\n"
    }

    private static func attributes(_ pairs: KeyValuePairs<String, String>) -> String {
        pairs.map { " \($0.key)=\"\(escape($0.value))\"" }.joined()
    }

    static func escape(_ value: String) -> String {
        var result = ""
        for character in value {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }
}
