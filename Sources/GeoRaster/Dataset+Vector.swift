import CGDAL

/// A vector layer's name, CRS, feature count and extent.
public struct VectorLayerInfo: Sendable {
    /// Layer name.
    public let name: String
    /// Number of features (may be -1 when unknown without a scan).
    public let featureCount: Int
    /// Field names.
    public let fields: [String]
    /// Layer CRS as WKT, if any.
    public let crsWKT: String?
    /// (minX, minY, maxX, maxY) in the layer CRS.
    public let extent: (minX: Double, minY: Double, maxX: Double, maxY: Double)?
}

extension Dataset {
    /// The vector layers of this dataset (`GDALDatasetGetLayer`).
    public var vectorLayers: [VectorLayerInfo] {
        (0..<Int(GDALDatasetGetLayerCount(liveHandle))).compactMap { i in
            guard let layer = GDALDatasetGetLayer(liveHandle, Int32(i)) else { return nil }
            let definition = OGR_L_GetLayerDefn(layer)
            let fields = (0..<Int(OGR_FD_GetFieldCount(definition))).map { f in
                String(cString: OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(definition, Int32(f))))
            }
            var envelope = OGREnvelope()
            let hasExtent = OGR_L_GetExtent(layer, &envelope, 1) == OGRERR_NONE
            return VectorLayerInfo(
                name: String(cString: OGR_L_GetName(layer)),
                featureCount: Int(OGR_L_GetFeatureCount(layer, 1)),
                fields: fields,
                crsWKT: OGR_L_GetSpatialRef(layer).map { CRS(cloning: $0).wkt },
                extent: hasExtent ? (envelope.MinX, envelope.MinY, envelope.MaxX, envelope.MaxY) : nil)
        }
    }
}
