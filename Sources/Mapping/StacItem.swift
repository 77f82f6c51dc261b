import Foundation
import GeoRaster
import LandCoverData

extension LandCoverMapWriter {
    /// STAC extensions the item declares.
    public static let stacExtensions = [
        "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        "https://stac-extensions.github.io/classification/v1.1.0/schema.json",
    ]

    /// A STAC 1.0 Item (JSON) for written map files: bbox and footprint in EPSG:4326, `datetime` = the input
    /// product's sensing time, `proj:*` of the grid, assets with roles data/metadata, and the classes of the map
    /// asset under `classification:classes` (value, name, description "code name", color_hint).
    public func stacItem(
        id: String, files: MapFiles, grid: RasterGrid, datetime: Date, provenance: [String: String] = [:]
    ) throws -> Data {
        let source = try CRS(grid.crsWKT)
        let wgs84 = try CRS(epsg: 4326)
        // Densified edges, so the bbox holds the whole footprint after reprojection.
        var edge: [(x: Double, y: Double)] = []
        let steps = 16
        for step in 0...steps {
            let t = Double(step) / Double(steps)
            edge.append(grid.geoTransform.map(column: t * Double(grid.width), row: 0))
            edge.append(grid.geoTransform.map(column: t * Double(grid.width), row: Double(grid.height)))
            edge.append(grid.geoTransform.map(column: 0, row: t * Double(grid.height)))
            edge.append(grid.geoTransform.map(column: Double(grid.width), row: t * Double(grid.height)))
        }
        let lonLat = try source.transform(edge, to: wgs84)
        let bbox = [
            lonLat.map(\.x).min()!, lonLat.map(\.y).min()!, lonLat.map(\.x).max()!, lonLat.map(\.y).max()!,
        ]
        let corners = try source.transform(
            [(0, 0), (0, grid.height), (grid.width, grid.height), (grid.width, 0), (0, 0)].map {
                grid.geoTransform.map(column: Double($0.0), row: Double($0.1))
            }, to: wgs84)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let t = grid.geoTransform
        var properties: [String: Any] = [
            "datetime": formatter.string(from: datetime),
            "created": formatter.string(from: Date()),
            "proj:shape": [grid.height, grid.width],
            "proj:transform": [t.pixelWidth, t.rowRotation, t.originX, t.columnRotation, t.pixelHeight, t.originY],
            "title": "Land cover (\(legend.id)) \(id)",
        ]
        if let epsg = source.epsg {
            properties["proj:epsg"] = epsg
        } else {
            properties["proj:epsg"] = NSNull()
            properties["proj:wkt2"] = grid.crsWKT
        }
        for (key, value) in provenance { properties["landcover:\(key.lowercased())"] = value }
        var classes: [[String: Any]] = [["value": 0, "name": "no_data", "description": "No data", "nodata": true]]
        for entry in legend.entries {
            let name = (entry.code.isEmpty ? "" : "clc_\(entry.code)_") + entry.name
            classes.append([
                "value": entry.value,
                "name": String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }),
                "description": entry.label,
                "color_hint": String(entry.color.hex.dropFirst()).uppercased(),
            ])
        }
        func href(_ path: String) -> String { URL(fileURLWithPath: path).lastPathComponent }
        var assets: [String: Any] = [
            "data": [
                "href": href(files.map), "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "title": "Land-cover classes (\(legend.id))", "roles": ["data"],
                "classification:classes": classes, "nodata": 0,
            ] as [String: Any],
            "aux": [
                "href": href(files.auxiliary), "type": "application/xml", "title": "GDAL PAM (category names)",
                "roles": ["metadata"],
            ],
            "style": [
                "href": href(files.style), "type": "application/xml", "title": "QGIS style", "roles": ["metadata"],
            ],
        ]
        if let confidence = files.confidence {
            assets["confidence"] = [
                "href": href(confidence), "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "title": "Top-1 probability and margin (percent; 255 = no data)", "roles": ["data", "quality"],
            ]
        }
        let item: [String: Any] = [
            "type": "Feature",
            "stac_version": "1.0.0",
            "stac_extensions": Self.stacExtensions,
            "id": id,
            "bbox": bbox,
            "geometry": ["type": "Polygon", "coordinates": [corners.map { [$0.x, $0.y] }]],
            "properties": properties,
            "links": [] as [Any],
            "assets": assets,
        ]
        return try JSONSerialization.data(withJSONObject: item, options: [.prettyPrinted, .sortedKeys])
    }
}
