import Foundation
import GeoRaster
import LandCoverData

extension GranuleBatch {
    /// One VRT mosaic: the maps of one level in one CRS.
    struct Mosaic {
        /// File name in the output folder, `mosaic-EPSG32635.vrt` (deepest level) or `mosaic-EPSG32635.level2.vrt`.
        var name: String
        /// The CORINE level of its maps.
        var level: CorineLevel
        /// `EPSG:32635`, or the CRS's WKT when it has no EPSG code.
        var crs: String
        /// The map files it holds.
        var sources: [String]
    }

    /// Writes one VRT mosaic per level and CRS over the maps of `jobs` (granules in different UTM zones cannot share
    /// a VRT without warping), each with the legend's category names and, beside it, the maps' QGIS style; removes
    /// the mosaics of an earlier run that this one does not rewrite.
    func writeMosaics(_ jobs: [GranuleMapping], levels: [CorineLevel]) throws -> [Mosaic] {
        var mosaics: [Mosaic] = []
        for (levelIndex, level) in levels.enumerated() {
            var groups: [(crs: CRS, label: String, sources: [String])] = []
            for job in jobs {
                let map = job.plannedMapFiles(levels: levels)[levelIndex].files.map
                guard let crs = try Dataset.open(map).crs else {
                    throw MappingError(path: map, problem: "has no CRS; cannot place it in a mosaic")
                }
                if let group = groups.firstIndex(where: { $0.crs.isSame(as: crs) }) {
                    groups[group].sources.append(map)
                } else {
                    let label = crs.epsg.map { "EPSG\($0)" } ?? "CRS\(groups.count + 1)"
                    groups.append((crs, label, [map]))
                }
            }
            let suffix = level == levels.last! ? "" : ".level\(level.rawValue)"
            for group in groups {
                let mosaic = Mosaic(
                    name: "mosaic-\(group.label)\(suffix).vrt", level: level,
                    crs: group.crs.epsg.map { "EPSG:\($0)" } ?? group.crs.wkt, sources: group.sources)
                try writeMosaic(mosaic)
                mosaics.append(mosaic)
            }
        }
        let written = Set(mosaics.flatMap { [$0.name, Self.styleName(of: $0.name)] })
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: outputDirectory.path)) ?? []
        for name in existing where name.hasPrefix("mosaic-") && !written.contains(name) {
            if name.hasSuffix(".vrt") || name.hasSuffix(".qml") {
                try? FileManager.default.removeItem(at: outputDirectory.appendingPathComponent(name))
            }
        }
        return mosaics
    }

    /// `mosaic-EPSG32635.vrt` → `mosaic-EPSG32635.qml`.
    static func styleName(of mosaic: String) -> String {
        URL(fileURLWithPath: mosaic).deletingPathExtension().lastPathComponent + ".qml"
    }

    /// Builds the VRT under a temporary name beside its final one (so its relative source paths hold), names its
    /// categories after the first map's, and renames it and a copy of the first map's style into place.
    private func writeMosaic(_ mosaic: Mosaic) throws {
        let final = outputDirectory.appendingPathComponent(mosaic.name)
        let temporary = outputDirectory.appendingPathComponent(".\(mosaic.name).partial-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let first = try Dataset.open(mosaic.sources[0])
        let dataset = try Dataset.buildVRT(to: temporary.path, sources: mosaic.sources)
        let names = first.band(1).categoryNames
        if !names.isEmpty { try dataset.band(1).setCategoryNames(names) }
        try dataset.close()
        guard rename(temporary.path, final.path) == 0 else {
            throw MappingError(path: final.path, problem: "cannot rename the mosaic into place: \(errnoMessage())")
        }
        let style = MapFiles(map: mosaic.sources[0], confidence: false).style
        if FileManager.default.fileExists(atPath: style) {
            try Data(contentsOf: URL(fileURLWithPath: style)).write(
                to: outputDirectory.appendingPathComponent(Self.styleName(of: mosaic.name)), options: .atomic)
        }
    }

    /// Writes `collection.json`, a STAC 1.0 Collection whose `item` links are the STAC items of `jobs` (every
    /// level), with the union of their bboxes and sensing times as its extent and the mosaics as assets.
    func writeCollection(_ jobs: [GranuleMapping], levels: [CorineLevel], mosaics: [Mosaic]) throws {
        var boxes: [[Double]] = []
        var times: [String] = []
        var links: [[String: Any]] = [
            ["rel": "root", "href": "./\(Self.collectionName)", "type": "application/json"]
        ]
        for job in jobs {
            for planned in job.plannedMapFiles(levels: levels) {
                let path = GranuleMapping.stacItemPath(of: planned.files.map)
                let item = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
                guard let item = item as? [String: Any], let bbox = item["bbox"] as? [Double], bbox.count == 4,
                    let datetime = (item["properties"] as? [String: Any])?["datetime"] as? String
                else { throw MappingError(path: path, problem: "is not a STAC item with bbox and datetime") }
                boxes.append(bbox)
                times.append(datetime)
                links.append([
                    "rel": "item", "href": "./\(URL(fileURLWithPath: path).lastPathComponent)",
                    "type": "application/geo+json", "title": item["id"] as? String ?? "",
                ])
            }
        }
        let bbox: [Double] =
            boxes.isEmpty
            ? [-180, -90, 180, 90]
            : [
                boxes.map { $0[0] }.min()!, boxes.map { $0[1] }.min()!, boxes.map { $0[2] }.max()!,
                boxes.map { $0[3] }.max()!,
            ]
        // ISO 8601 strings of one format sort in time order.
        let interval: [Any] = times.isEmpty ? [NSNull(), NSNull()] : [times.min()!, times.max()!]
        var assets: [String: Any] = [:]
        for mosaic in mosaics {
            assets[URL(fileURLWithPath: mosaic.name).deletingPathExtension().lastPathComponent] =
                [
                    "href": "./\(mosaic.name)", "type": "application/xml", "roles": ["data"],
                    "title": "VRT mosaic of the CORINE level \(mosaic.level.rawValue) maps in \(mosaic.crs)",
                ] as [String: Any]
        }
        let collection: [String: Any] = [
            "type": "Collection",
            "stac_version": "1.0.0",
            "id": "landcover-\(outputDirectory.lastPathComponent)",
            "title": "Land-cover maps (\(jobs.count) granules)",
            "description": "CORINE land-cover maps predicted by landcover from Sentinel-2 granules with "
                + mapping.model.lastPathComponent,
            "license": "proprietary",
            "extent": [
                "spatial": ["bbox": [bbox]] as [String: Any], "temporal": ["interval": [interval]] as [String: Any],
            ] as [String: Any],
            "links": links,
            "assets": assets,
        ]
        try JSONSerialization.data(
            withJSONObject: collection, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        ).write(
            to: outputDirectory.appendingPathComponent(Self.collectionName), options: .atomic)
    }
}

/// The message of the current `errno`.
private func errnoMessage() -> String { String(cString: strerror(errno)) }
