import CGDAL

/// An open GDAL raster (or vector) dataset. Owns its `GDALDatasetH`; not for concurrent use from several threads.
public final class Dataset: @unchecked Sendable {
    private(set) var handle: GDALDatasetH?
    /// The path or connection string it was opened or created with.
    public let path: String

    init(handle: GDALDatasetH, path: String) {
        self.handle = handle
        self.path = path
    }

    deinit { if let handle { GDALClose(handle) } }

    /// How to open a dataset.
    public enum Access: Sendable { case readOnly, update }

    /// Opens a raster (`GDALOpenEx` with `GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR`).
    public static func open(_ path: String, access: Access = .readOnly, drivers: [String] = [], options: [String] = [])
        throws -> Dataset
    {
        try open(path, flags: UInt32(GDAL_OF_RASTER), access: access, drivers: drivers, options: options)
    }

    /// Opens a vector dataset such as a GeoPackage (`GDALOpenEx` with `GDAL_OF_VECTOR`).
    public static func openVector(_ path: String, access: Access = .readOnly) throws -> Dataset {
        try open(path, flags: UInt32(GDAL_OF_VECTOR), access: access, drivers: [], options: [])
    }

    private static func open(_ path: String, flags: UInt32, access: Access, drivers: [String], options: [String]) throws
        -> Dataset
    {
        var openFlags = flags | UInt32(GDAL_OF_VERBOSE_ERROR)
        if access == .update { openFlags |= UInt32(GDAL_OF_UPDATE) }
        let driverList = StringList(drivers)
        let optionList = StringList(options)
        let handle = try withGDALErrors("GDALOpenEx") {
            GDALOpenEx(path, openFlags, drivers.isEmpty ? nil : driverList.constPointer, optionList.constPointer, nil)
        }
        return Dataset(handle: handle, path: path)
    }

    /// Creates a dataset with a driver that supports `Create` (GTiff, MEM, …) (`GDALCreate`).
    public static func create(
        _ path: String, driver: String = "GTiff", width: Int, height: Int, bands: Int, type: PixelType,
        options: [String] = []
    ) throws -> Dataset {
        GDAL.initialize()
        guard let driverHandle = GDALGetDriverByName(driver) else {
            throw GDALError(code: 0, message: "GDAL driver \(driver) is not available", call: "GDALGetDriverByName")
        }
        let optionList = StringList(options)
        let handle = try withGDALErrors("GDALCreate") {
            GDALCreate(driverHandle, path, Int32(width), Int32(height), Int32(bands), type.gdal, optionList.pointer)
        }
        return Dataset(handle: handle, path: path)
    }

    /// Creates an in-memory raster on `grid` (driver MEM).
    public static func createInMemory(grid: RasterGrid, bands: Int, type: PixelType) throws -> Dataset {
        let dataset = try create("", driver: "MEM", width: grid.width, height: grid.height, bands: bands, type: type)
        try dataset.setGeoTransform(grid.geoTransform)
        if !grid.crsWKT.isEmpty { try dataset.setCRS(CRS(grid.crsWKT)) }
        return dataset
    }

    /// Closes the dataset, flushing pending writes; GDAL reports write errors here (`GDALClose`).
    public func close() throws {
        guard let handle else { return }
        self.handle = nil
        try withGDALErrors("GDALClose(\(path))") { GDALClose(handle) }
    }

    var liveHandle: GDALDatasetH {
        guard let handle else { preconditionFailure("Dataset \(path) was used after close().") }
        return handle
    }

    /// Columns.
    public var width: Int { Int(GDALGetRasterXSize(liveHandle)) }
    /// Rows.
    public var height: Int { Int(GDALGetRasterYSize(liveHandle)) }
    /// Number of raster bands.
    public var bandCount: Int { Int(GDALGetRasterCount(liveHandle)) }
    /// Short name of the driver, for example "GTiff" or "SENTINEL2".
    public var driverName: String {
        guard let driver = GDALGetDatasetDriver(liveHandle) else { return "" }
        return String(cString: GDALGetDriverShortName(driver))
    }

    /// Band `index`, 1-based as in GDAL.
    public func band(_ index: Int) -> RasterBand {
        precondition(index >= 1 && index <= bandCount, "Band \(index) is outside 1...\(bandCount) of \(path).")
        return RasterBand(handle: GDALGetRasterBand(liveHandle, Int32(index))!, dataset: self, index: index)
    }

    /// All bands in order.
    public var bands: [RasterBand] { bandCount == 0 ? [] : (1...bandCount).map(band) }

    /// The geotransform, or nil when the dataset has none (`GDALGetGeoTransform`).
    public var geoTransform: GeoTransform? {
        var coefficients = [Double](repeating: 0, count: 6)
        guard GDALGetGeoTransform(liveHandle, &coefficients) == CE_None else { return nil }
        return GeoTransform(coefficients: coefficients)
    }

    /// Sets the geotransform (`GDALSetGeoTransform`).
    public func setGeoTransform(_ transform: GeoTransform) throws {
        var coefficients = transform.coefficients
        try checkCPLErr("GDALSetGeoTransform") { GDALSetGeoTransform(liveHandle, &coefficients) }
    }

    /// The CRS, or nil when the dataset has none (`GDALGetSpatialRef`).
    public var crs: CRS? {
        guard let reference = GDALGetSpatialRef(liveHandle) else { return nil }
        return CRS(cloning: reference)
    }

    /// Sets the CRS (`GDALSetSpatialRef`).
    public func setCRS(_ crs: CRS) throws {
        try checkCPLErr("GDALSetSpatialRef") { GDALSetSpatialRef(liveHandle, crs.handle) }
    }

    /// The pixel grid, when the dataset is georeferenced.
    public var grid: RasterGrid? {
        guard let geoTransform, let crs else { return nil }
        return RasterGrid(crsWKT: crs.wkt, geoTransform: geoTransform, width: width, height: height)
    }

    /// Metadata items of a domain as a dictionary (`GDALGetMetadata`); nil domain = default.
    public func metadata(domain: String? = nil) -> [String: String] {
        StringList.dictionary(from: GDALGetMetadata(liveHandle, domain))
    }

    /// Raw metadata strings of a domain, for `xml:` domains whose single item is a document.
    public func metadataStrings(domain: String) -> [String] {
        StringList.strings(from: GDALGetMetadata(liveHandle, domain))
    }

    /// One metadata item (`GDALGetMetadataItem`).
    public func metadataItem(_ key: String, domain: String? = nil) -> String? {
        GDALGetMetadataItem(liveHandle, key, domain).map { String(cString: $0) }
    }

    /// Sets one metadata item (`GDALSetMetadataItem`).
    public func setMetadataItem(_ key: String, _ value: String, domain: String? = nil) throws {
        try checkCPLErr("GDALSetMetadataItem") { GDALSetMetadataItem(liveHandle, key, value, domain) }
    }

    /// Subdataset (name, description) pairs, in order (domain "SUBDATASETS").
    public var subdatasets: [(name: String, description: String)] {
        let items = metadata(domain: "SUBDATASETS")
        var result: [(String, String)] = []
        var index = 1
        while let name = items["SUBDATASET_\(index)_NAME"] {
            result.append((name, items["SUBDATASET_\(index)_DESC"] ?? ""))
            index += 1
        }
        return result
    }

    /// The files making up the dataset (`GDALGetFileList`).
    public var fileList: [String] {
        guard let list = GDALGetFileList(liveHandle) else { return [] }
        defer { CSLDestroy(list) }
        return StringList.strings(from: list)
    }

    /// Builds overviews (`GDALBuildOverviews`), for example resampling "MODE" with factors [2, 4, 8].
    public func buildOverviews(resampling: String, factors: [Int]) throws {
        var levels = factors.map { Int32($0) }
        try checkCPLErr("GDALBuildOverviews") {
            GDALBuildOverviews(liveHandle, resampling, Int32(levels.count), &levels, 0, nil, nil, nil)
        }
    }

    /// Flushes pending writes (`GDALFlushCache`).
    public func flush() throws {
        try withGDALErrors("GDALFlushCache(\(path))") { GDALFlushCache(liveHandle) }
    }
}
