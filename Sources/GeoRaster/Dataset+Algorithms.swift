import CGDAL

extension RasterBand {
    /// Overview `index` (0 = the largest), a band of reduced resolution (`GDALGetOverview`).
    public func overview(_ index: Int) -> RasterBand {
        precondition(index >= 0 && index < overviewCount, "Overview \(index) is outside 0..<\(overviewCount).")
        return RasterBand(handle: GDALGetOverview(handle, Int32(index))!, dataset: dataset, index: self.index)
    }

    /// The band's mask (`GDALGetMaskBand`): non-zero where the band holds data (from no-data, alpha or a mask).
    public var maskBand: RasterBand {
        RasterBand(handle: GDALGetMaskBand(handle), dataset: dataset, index: index)
    }

    /// Removes raster polygons smaller than `threshold` pixels, merging each into its largest neighbour, writing
    /// the result to `destination` (may be this band). Pixels where `mask` is 0 take no part.
    ///
    /// The corresponding C function is `GDALSieveFilter`; `connectivity` is 4 or 8.
    public func sieveFilter(mask: RasterBand?, destination: RasterBand, threshold: Int, connectivity: Int) throws {
        precondition(connectivity == 4 || connectivity == 8, "Connectivity is 4 or 8, got \(connectivity).")
        try checkCPLErr("GDALSieveFilter(\(dataset.path))") {
            GDALSieveFilter(
                handle, mask?.handle, destination.handle, Int32(threshold), Int32(connectivity), nil, nil, nil)
        }
    }
}

/// Field types of vector layers.
public enum VectorFieldType: Sendable {
    /// 32-bit integer (`OFTInteger`).
    case integer
    /// Double (`OFTReal`).
    case real
    /// String (`OFTString`).
    case string

    var ogr: OGRFieldType {
        switch self {
        case .integer: OFTInteger
        case .real: OFTReal
        case .string: OFTString
        }
    }
}

/// A value written into a vector feature's field.
public enum VectorFieldValue: Sendable, Hashable {
    /// An integer.
    case integer(Int)
    /// A floating-point number.
    case real(Double)
    /// A string.
    case string(String)
    /// SQL NULL.
    case null
}

/// One layer of a vector dataset (`OGRLayerH`); keeps its dataset alive. Not for concurrent use.
public final class VectorLayer: @unchecked Sendable {
    let handle: OGRLayerH
    /// The dataset owning this layer.
    public let dataset: Dataset

    init(handle: OGRLayerH, dataset: Dataset) {
        self.handle = handle
        self.dataset = dataset
    }

    /// Layer name.
    public var name: String { String(cString: OGR_L_GetName(handle)) }

    /// Number of features (`OGR_L_GetFeatureCount`, forcing a count).
    public var featureCount: Int { Int(OGR_L_GetFeatureCount(handle, 1)) }

    /// Index of a field by name, or nil (`OGR_FD_GetFieldIndex`).
    public func fieldIndex(_ name: String) -> Int? {
        let index = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(handle), name)
        return index < 0 ? nil : Int(index)
    }

    /// Adds an attribute field (`OGR_L_CreateField`).
    public func createField(_ name: String, type: VectorFieldType, width: Int = 0) throws {
        let definition = OGR_Fld_Create(name, type.ogr)!
        defer { OGR_Fld_Destroy(definition) }
        if width > 0 { OGR_Fld_SetWidth(definition, Int32(width)) }
        try withGDALErrors("OGR_L_CreateField(\(name))") {
            OGR_L_CreateField(handle, definition, 1) == OGRERR_NONE ? () : nil
        }
    }

    /// Turns connected regions of equal value of `band` into polygons, writing each value to field `fieldIndex`;
    /// pixels where `mask` is 0 are skipped (`GDALPolygonize`; `connectivity` 4 or 8).
    public func polygonize(band: RasterBand, mask: RasterBand?, fieldIndex: Int, connectivity: Int) throws {
        precondition(connectivity == 4 || connectivity == 8, "Connectivity is 4 or 8, got \(connectivity).")
        let options = StringList(connectivity == 8 ? ["8CONNECTED=8"] : [])
        try checkCPLErr("GDALPolygonize(\(band.dataset.path))") {
            GDALPolygonize(band.handle, mask?.handle, handle, Int32(fieldIndex), options.pointer, nil, nil)
        }
    }

    /// Sets fields of every feature from the integer value of `keyField`: `values[key]` maps field names to values
    /// (`OGR_L_GetNextFeature`, `OGR_F_SetField*`, `OGR_L_SetFeature`, in one transaction where supported).
    public func updateFields(keyedBy keyField: String, values: [Int: [String: VectorFieldValue]]) throws {
        guard let key = fieldIndex(keyField) else {
            throw GDALError(code: 0, message: "layer \(name) has no field \(keyField)", call: "OGR_FD_GetFieldIndex")
        }
        let names = Set(values.values.flatMap(\.keys))
        var indices: [String: Int32] = [:]
        for fieldName in names {
            guard let index = fieldIndex(fieldName) else {
                throw GDALError(
                    code: 0, message: "layer \(name) has no field \(fieldName)", call: "OGR_FD_GetFieldIndex")
            }
            indices[fieldName] = Int32(index)
        }
        OGR_L_ResetReading(handle)
        try withTransaction {
            while let feature = OGR_L_GetNextFeature(handle) {
                defer { OGR_F_Destroy(feature) }
                let value = Int(OGR_F_GetFieldAsInteger(feature, Int32(key)))
                guard let fields = values[value] else { continue }
                for (fieldName, fieldValue) in fields { Self.set(fieldValue, on: feature, index: indices[fieldName]!) }
                try withGDALErrors("OGR_L_SetFeature") { OGR_L_SetFeature(handle, feature) == OGRERR_NONE ? () : nil }
            }
        }
    }

    /// Every feature's fields as text (nil for unset/NULL) plus its geometry's area (`OGR_G_Area`), in reading order.
    public func features() -> [(fields: [String: String?], area: Double)] {
        let definition = OGR_L_GetLayerDefn(handle)
        let names = (0..<OGR_FD_GetFieldCount(definition)).map {
            String(cString: OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(definition, $0)))
        }
        var result: [(fields: [String: String?], area: Double)] = []
        OGR_L_ResetReading(handle)
        while let feature = OGR_L_GetNextFeature(handle) {
            defer { OGR_F_Destroy(feature) }
            var fields: [String: String?] = [:]
            for (i, fieldName) in names.enumerated() {
                fields[fieldName] =
                    OGR_F_IsFieldSetAndNotNull(feature, Int32(i)) != 0
                    ? String(cString: OGR_F_GetFieldAsString(feature, Int32(i))) : nil
            }
            let area = OGR_F_GetGeometryRef(feature).map { OGR_G_Area($0) } ?? 0
            result.append((fields, area))
        }
        return result
    }
}

extension Dataset {
    /// Creates an empty vector dataset, for example a GeoPackage (`GDALCreate` with no bands, driver "GPKG").
    public static func createVector(_ path: String, driver: String = "GPKG", options: [String] = []) throws -> Dataset {
        GDAL.initialize()
        guard let driverHandle = GDALGetDriverByName(driver) else {
            throw GDALError(code: 0, message: "GDAL driver \(driver) is not available", call: "GDALGetDriverByName")
        }
        let optionList = StringList(options)
        let handle = try withGDALErrors("GDALCreate(\(path))") {
            GDALCreate(driverHandle, path, 0, 0, 0, GDT_Unknown, optionList.pointer)
        }
        return Dataset(handle: handle, path: path)
    }

    /// Creates a polygon layer (`GDALDatasetCreateLayer` with `wkbPolygon`, or `wkbMultiPolygon` when `multi`).
    public func createLayer(_ name: String, crs: CRS?, multi: Bool = false, options: [String] = []) throws
        -> VectorLayer
    {
        let optionList = StringList(options)
        let layer = try withGDALErrors("GDALDatasetCreateLayer(\(name))") {
            GDALDatasetCreateLayer(
                liveHandle, name, crs?.handle, multi ? wkbMultiPolygon : wkbPolygon, optionList.pointer)
        }
        return VectorLayer(handle: layer, dataset: self)
    }

    /// The layer called `name`, or nil (`GDALDatasetGetLayerByName`).
    public func layer(named name: String) -> VectorLayer? {
        GDALDatasetGetLayerByName(liveHandle, name).map { VectorLayer(handle: $0, dataset: self) }
    }
}
