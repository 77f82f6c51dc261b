import CGDAL

/// A feature to add to a vector layer: a geometry as WKT in the layer's CRS and field values by name.
public struct VectorFeature: Sendable {
    /// The geometry as WKT, for example `POLYGON ((0 0,10 0,10 10,0 10,0 0))`.
    public var wkt: String
    /// Field values by field name.
    public var fields: [String: VectorFieldValue]

    /// A feature.
    public init(wkt: String, fields: [String: VectorFieldValue]) {
        self.wkt = wkt
        self.fields = fields
    }
}

extension VectorLayer {
    /// Adds `features` in one transaction where the driver offers one (`OGR_G_CreateFromWkt`, `OGR_F_Create`,
    /// `OGR_F_SetField*`, `OGR_L_CreateFeature`). Every field named must exist.
    public func addFeatures(_ features: [VectorFeature]) throws {
        let definition = OGR_L_GetLayerDefn(handle)
        var indices: [String: Int32] = [:]
        for name in Set(features.flatMap(\.fields.keys)) {
            guard let index = fieldIndex(name) else {
                throw GDALError(
                    code: 0, message: "layer \(self.name) has no field \(name)", call: "OGR_FD_GetFieldIndex")
            }
            indices[name] = Int32(index)
        }
        try withTransaction {
            for item in features {
                guard let feature = OGR_F_Create(definition) else {
                    throw GDALError(code: 0, message: "cannot create a feature", call: "OGR_F_Create")
                }
                defer { OGR_F_Destroy(feature) }
                var geometry: OGRGeometryH?
                var text: UnsafeMutablePointer<CChar>? = strdup(item.wkt)
                let start = text
                let status = OGR_G_CreateFromWkt(&text, nil, &geometry)
                free(start)
                guard status == OGRERR_NONE, let geometry else {
                    throw GDALError(
                        code: Int32(status), message: "invalid WKT \(item.wkt.prefix(60))", call: "OGR_G_CreateFromWkt")
                }
                OGR_F_SetGeometryDirectly(feature, geometry)
                for (name, value) in item.fields { Self.set(value, on: feature, index: indices[name]!) }
                try withGDALErrors("OGR_L_CreateFeature") {
                    OGR_L_CreateFeature(handle, feature) == OGRERR_NONE ? () : nil
                }
            }
        }
    }
}

extension VectorLayer {
    /// Runs `body` inside a dataset transaction where the driver offers one, rolled back when it throws
    /// (`GDALDatasetStartTransaction`, `GDALDatasetCommitTransaction`).
    func withTransaction(_ body: () throws -> Void) throws {
        let transaction = GDALDatasetStartTransaction(dataset.liveHandle, 0) == OGRERR_NONE
        do {
            try body()
        } catch {
            if transaction { GDALDatasetRollbackTransaction(dataset.liveHandle) }
            throw error
        }
        if transaction {
            try withGDALErrors("GDALDatasetCommitTransaction") {
                GDALDatasetCommitTransaction(dataset.liveHandle) == OGRERR_NONE ? () : nil
            }
        }
    }

    /// Sets field `index` of `feature` (`OGR_F_SetField*`, `OGR_F_SetFieldNull`).
    static func set(_ value: VectorFieldValue, on feature: OGRFeatureH, index: Int32) {
        switch value {
        case .integer(let number): OGR_F_SetFieldInteger(feature, index, Int32(number))
        case .real(let number): OGR_F_SetFieldDouble(feature, index, number)
        case .string(let text): OGR_F_SetFieldString(feature, index, text)
        case .null: OGR_F_SetFieldNull(feature, index)
        }
    }
}
