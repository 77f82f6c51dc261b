import CGDAL

/// A coordinate reference system, owned PROJ/OGR handle (`OGRSpatialReferenceH`), in x=easting/longitude axis order.
public final class CRS: @unchecked Sendable, CustomStringConvertible {
    let handle: OGRSpatialReferenceH

    private init(handle: OGRSpatialReferenceH) {
        self.handle = handle
        OSRSetAxisMappingStrategy(handle, OAMS_TRADITIONAL_GIS_ORDER)
    }

    deinit { OSRRelease(handle) }

    /// A CRS from an EPSG code (the corresponding C function is `OSRImportFromEPSG`).
    public convenience init(epsg: Int) throws {
        GDAL.initialize()
        let handle = OSRNewSpatialReference(nil)!
        do {
            try withGDALErrors("OSRImportFromEPSG(\(epsg))") {
                OSRImportFromEPSG(handle, Int32(epsg)) == OGRERR_NONE ? () : nil
            }
        } catch {
            OSRRelease(handle)
            throw error
        }
        self.init(handle: handle)
    }

    /// A CRS from any definition GDAL accepts: WKT, PROJ string, "EPSG:3035" (`OSRSetFromUserInput`).
    public convenience init(_ definition: String) throws {
        GDAL.initialize()
        let handle = OSRNewSpatialReference(nil)!
        do {
            try withGDALErrors("OSRSetFromUserInput") {
                OSRSetFromUserInput(handle, definition) == OGRERR_NONE ? () : nil
            }
        } catch {
            OSRRelease(handle)
            throw GDALError(
                code: 0, message: "not a coordinate reference system: \(definition.prefix(60))",
                call: "OSRSetFromUserInput")
        }
        self.init(handle: handle)
    }

    /// Wraps a clone of a borrowed handle.
    convenience init(cloning borrowed: OGRSpatialReferenceH) {
        self.init(handle: OSRClone(borrowed))
    }

    /// WKT2 (2019) text.
    public var wkt: String {
        var text: UnsafeMutablePointer<CChar>?
        let options = StringList(["FORMAT=WKT2_2019"])
        OSRExportToWktEx(handle, &text, options.constPointer)
        defer { VSIFree(text) }
        return text.map { String(cString: $0) } ?? ""
    }

    /// The EPSG code, where the CRS is identified as one.
    public var epsg: Int? {
        if let code = OSRGetAuthorityCode(handle, nil), let name = OSRGetAuthorityName(handle, nil),
            String(cString: name) == "EPSG"
        {
            return Int(String(cString: code))
        }
        // Try to identify a CRS built from WKT without an authority node.
        let clone = OSRClone(handle)!
        defer { OSRRelease(clone) }
        guard OSRAutoIdentifyEPSG(clone) == OGRERR_NONE, let code = OSRGetAuthorityCode(clone, nil) else { return nil }
        return Int(String(cString: code))
    }

    /// The CRS name, for example "WGS 84 / UTM zone 35N".
    public var name: String { OSRGetName(handle).map { String(cString: $0) } ?? "unnamed" }

    /// Whether both describe the same CRS (`OSRIsSame`).
    public func isSame(as other: CRS) -> Bool { OSRIsSame(handle, other.handle) != 0 }

    /// Whether the CRS is projected (metres, feet) rather than geographic.
    public var isProjected: Bool { OSRIsProjected(handle) != 0 }

    public var description: String { epsg.map { "EPSG:\($0)" } ?? name }

    /// Transforms points from this CRS to `target` (`OCTTransform`), x = easting/longitude.
    public func transform(_ points: [(x: Double, y: Double)], to target: CRS) throws -> [(x: Double, y: Double)] {
        guard let transformation = OCTNewCoordinateTransformation(handle, target.handle) else {
            throw GDALError(
                code: 0, message: "no transformation from \(self) to \(target)", call: "OCTNewCoordinateTransformation")
        }
        defer { OCTDestroyCoordinateTransformation(transformation) }
        var xs = points.map(\.x)
        var ys = points.map(\.y)
        var zs = [Double](repeating: 0, count: points.count)
        try withGDALErrors("OCTTransform") {
            OCTTransform(transformation, Int32(points.count), &xs, &ys, &zs) != 0 ? () : nil
        }
        return zip(xs, ys).map { ($0, $1) }
    }
}
