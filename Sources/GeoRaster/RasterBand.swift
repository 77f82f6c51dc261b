import CGDAL

/// One band of a dataset (1-based index). Keeps its dataset alive.
public final class RasterBand: @unchecked Sendable {
    let handle: GDALRasterBandH
    /// The dataset owning this band.
    public let dataset: Dataset
    /// 1-based band index.
    public let index: Int

    init(handle: GDALRasterBandH, dataset: Dataset, index: Int) {
        self.handle = handle
        self.dataset = dataset
        self.index = index
    }

    /// Pixel type.
    public var pixelType: PixelType? { PixelType(gdal: GDALGetRasterDataType(handle)) }

    /// Natural block size (`GDALGetBlockSize`).
    public var blockSize: (width: Int, height: Int) {
        var width: Int32 = 0
        var height: Int32 = 0
        GDALGetBlockSize(handle, &width, &height)
        return (Int(width), Int(height))
    }

    /// Band description (`GDALGetDescription`).
    public var bandDescription: String {
        get { String(cString: GDALGetDescription(handle)) }
        set { GDALSetDescription(handle, newValue) }
    }

    /// The declared no-data value, or nil (`GDALGetRasterNoDataValue`).
    public var noDataValue: Double? {
        var present: Int32 = 0
        let value = GDALGetRasterNoDataValue(handle, &present)
        return present != 0 ? value : nil
    }

    /// Whether the band's validity is at most its no-data value: no mask band, alpha band or per-dataset mask
    /// (`GDALGetMaskFlags` is `GMF_ALL_VALID` or `GMF_NODATA`).
    public var isMaskedByNoDataAlone: Bool {
        let flags = GDALGetMaskFlags(handle)
        return flags == GMF_ALL_VALID || flags == GMF_NODATA
    }

    /// Sets the no-data value (`GDALSetRasterNoDataValue`).
    public func setNoDataValue(_ value: Double) throws {
        try checkCPLErr("GDALSetRasterNoDataValue") { GDALSetRasterNoDataValue(handle, value) }
    }

    /// Scale and offset declared on the band (GDAL defaults 1 and 0).
    public var scaleAndOffset: (scale: Double, offset: Double) {
        (GDALGetRasterScale(handle, nil), GDALGetRasterOffset(handle, nil))
    }

    /// Metadata of a domain (`GDALGetMetadata` on the band).
    public func metadata(domain: String? = nil) -> [String: String] {
        StringList.dictionary(from: GDALGetMetadata(handle, domain))
    }

    /// One metadata item.
    public func metadataItem(_ key: String, domain: String? = nil) -> String? {
        GDALGetMetadataItem(handle, key, domain).map { String(cString: $0) }
    }

    /// Sets one metadata item.
    public func setMetadataItem(_ key: String, _ value: String, domain: String? = nil) throws {
        try checkCPLErr("GDALSetMetadataItem") { GDALSetMetadataItem(handle, key, value, domain) }
    }

    /// Reads a window into a new array, row-major `[window.height * window.width]` (`GDALRasterIO`).
    public func read<T: RasterScalar>(_ window: PixelWindow, as type: T.Type = T.self) throws -> [T] {
        try [T](unsafeUninitializedCapacity: window.pixelCount) { buffer, count in
            try read(window, into: buffer)
            count = window.pixelCount
        }
    }

    /// Reads a window into a caller-owned buffer of at least `window.pixelCount` elements, resampling when
    /// `outputWidth`/`outputHeight` differ from the window (nearest neighbour unless `resampling` names another).
    public func read<T: RasterScalar>(
        _ window: PixelWindow, into buffer: UnsafeMutableBufferPointer<T>, outputWidth: Int? = nil,
        outputHeight: Int? = nil, lineStride: Int? = nil, resampling: Resampling = .nearest
    ) throws {
        let width = outputWidth ?? window.width
        let height = outputHeight ?? window.height
        let stride = lineStride ?? width
        precondition(
            buffer.count >= (height - 1) * stride + width,
            "Buffer of \(buffer.count) is too small for \(width)×\(height).")
        var extra = GDALRasterIOExtraArg()
        extra.nVersion = 1
        extra.eResampleAlg = resampling.ioAlgorithm
        extra.pfnProgress = nil
        extra.pProgressData = nil
        extra.bFloatingPointWindowValidity = 0
        try checkCPLErr("GDALRasterIO(\(dataset.path), band \(index), \(window))") {
            GDALRasterIOEx(
                handle, GF_Read, Int32(window.column), Int32(window.row), Int32(window.width), Int32(window.height),
                buffer.baseAddress, Int32(width), Int32(height), T.gdalType.gdal, GSpacing(T.gdalType.size),
                GSpacing(stride * T.gdalType.size), &extra)
        }
    }

    /// Writes a row-major window (`GDALRasterIO`).
    public func write<T: RasterScalar>(_ values: [T], window: PixelWindow) throws {
        precondition(values.count == window.pixelCount, "Expected \(window.pixelCount) values, got \(values.count).")
        var copy = values
        try checkCPLErr("GDALRasterIO write (\(dataset.path), band \(index), \(window))") {
            GDALRasterIO(
                handle, GF_Write, Int32(window.column), Int32(window.row), Int32(window.width), Int32(window.height),
                &copy, Int32(window.width), Int32(window.height), T.gdalType.gdal, 0, 0)
        }
    }

    /// The colour table, or nil (`GDALGetRasterColorTable`).
    public var colorTable: [ColorEntry]? {
        guard let table = GDALGetRasterColorTable(handle) else { return nil }
        return (0..<GDALGetColorEntryCount(table)).map { i in
            let e = GDALGetColorEntry(table, i)!.pointee
            return ColorEntry(
                red: UInt8(clamping: e.c1), green: UInt8(clamping: e.c2), blue: UInt8(clamping: e.c3),
                alpha: UInt8(clamping: e.c4))
        }
    }

    /// Sets a palette and marks the band as palette-indexed (`GDALSetRasterColorTable`).
    public func setColorTable(_ entries: [ColorEntry]) throws {
        let table = GDALCreateColorTable(GPI_RGB)!
        defer { GDALDestroyColorTable(table) }
        for (i, entry) in entries.enumerated() {
            var color = GDALColorEntry(
                c1: Int16(entry.red), c2: Int16(entry.green), c3: Int16(entry.blue), c4: Int16(entry.alpha))
            GDALSetColorEntry(table, Int32(i), &color)
        }
        try checkCPLErr("GDALSetRasterColorTable") { GDALSetRasterColorTable(handle, table) }
        try checkCPLErr("GDALSetRasterColorInterpretation") {
            GDALSetRasterColorInterpretation(handle, GCI_PaletteIndex)
        }
    }

    /// Category names, index = pixel value (`GDALGetRasterCategoryNames`).
    public var categoryNames: [String] {
        // GDAL 3.6 loads the .aux.xml (where GTiff keeps category names) lazily, on the first georeference or
        // metadata query of the dataset: ask for one first so a freshly opened COG reports its names.
        _ = dataset.geoTransform
        return StringList.strings(from: GDALGetRasterCategoryNames(handle))
    }

    /// Sets category names, index = pixel value (`GDALSetRasterCategoryNames`); GTiff keeps them in `.aux.xml`.
    public func setCategoryNames(_ names: [String]) throws {
        let list = StringList(names)
        try checkCPLErr("GDALSetRasterCategoryNames") { GDALSetRasterCategoryNames(handle, list.pointer) }
    }

    /// Number of overviews.
    public var overviewCount: Int { Int(GDALGetOverviewCount(handle)) }
}

/// Resampling algorithms for windowed reads and warping.
public enum Resampling: String, Sendable, Codable, CaseIterable {
    case nearest = "near"
    case bilinear, cubic, average, mode

    var ioAlgorithm: GDALRIOResampleAlg {
        switch self {
        case .nearest: GRIORA_NearestNeighbour
        case .bilinear: GRIORA_Bilinear
        case .cubic: GRIORA_Cubic
        case .average: GRIORA_Average
        case .mode: GRIORA_Mode
        }
    }
}
