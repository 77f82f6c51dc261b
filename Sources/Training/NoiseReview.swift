import Foundation
import GeoRaster
import LandCoverData

/// Likely mislabelled images: a trained classifier's highest-loss images (the paper's Fig. 5), with their labels,
/// predictions and probabilities, written as JSON, as a GeoPackage of footprints QGIS opens, and as PNG thumbnails.
public struct NoiseReview: Codable, Sendable {
    /// One ranked image.
    public struct Candidate: Codable, Sendable, Equatable {
        /// 1 = highest loss.
        public var rank: Int
        /// The image's index and name in its source.
        public var index: Int
        public var identifier: String
        /// Its binary cross-entropy, averaged over classes.
        public var loss: Double
        /// The true label names and the predicted ones.
        public var labels: [String]
        public var predicted: [String]
        /// Labels the model doubts (true, predicted absent) and labels it adds (predicted, not true).
        public var missing: [String]
        public var added: [String]
        /// The probability of every class, by name.
        public var probabilities: [String: Float]
        /// The thumbnail, relative to the review directory; nil when none was written.
        public var thumbnail: String?
        /// Where the image lies, when the source knows.
        public var footprint: Footprint?
    }

    /// The checkpoint that ranked the images.
    public var model: String
    /// Nomenclature id.
    public var nomenclature: String
    /// The split ranked.
    public var split: String
    /// Images ranked, and the mean loss over them.
    public var images: Int
    public var meanLoss: Double
    /// The highest-loss images, highest first.
    public var candidates: [Candidate]

    /// File names in the review directory.
    public enum FileName {
        public static let json = "noise.json"
        public static let geopackage = "noise.gpkg"
        public static let layer = "likely_mislabelled"
        public static let thumbnails = "thumbnails"
    }

    /// Ranks `predictions` of `source`'s images by loss and keeps the `top` highest, with thresholds for the
    /// predicted sets.
    public init(
        model: String, split: String, source: any MultiLabelSource, predictions: ClassifierPredictions,
        thresholds: [Float], top: Int
    ) throws {
        let names = source.nomenclature.names
        let order = predictions.losses.indices.sorted {
            (predictions.losses[$0], predictions.indices[$1]) > (predictions.losses[$1], predictions.indices[$0])
        }
        self.model = model
        nomenclature = source.nomenclature.id
        self.split = split
        images = predictions.indices.count
        meanLoss = predictions.meanLoss
        candidates = try order.prefix(top).enumerated().map { rank, position in
            let probabilities = predictions.probabilities[position]
            let truth = predictions.truth[position]
            let predicted = zip(probabilities, thresholds).map { $0 > $1 }
            let index = predictions.indices[position]
            func classes(_ keep: (Int) -> Bool) -> [String] { names.indices.filter(keep).map { names[$0] } }
            return Candidate(
                rank: rank + 1, index: index, identifier: source.identifier(at: index),
                loss: predictions.losses[position], labels: classes { truth[$0] }, predicted: classes { predicted[$0] },
                missing: classes { truth[$0] && !predicted[$0] }, added: classes { predicted[$0] && !truth[$0] },
                probabilities: Dictionary(uniqueKeysWithValues: zip(names, probabilities)), thumbnail: nil,
                footprint: try source.footprint(at: index))
        }
    }

    /// Writes `noise.json`, a PNG thumbnail per candidate under `thumbnails/`, and, when the candidates have
    /// footprints, `noise.gpkg` (layer `likely_mislabelled`: rank, identifier, loss, labels, predicted, missing,
    /// added). Each file is written under a temporary name and renamed.
    public mutating func write(to directory: URL, source: any MultiLabelSource) throws {
        let files = FileManager.default
        let thumbnails = directory.appendingPathComponent(FileName.thumbnails)
        // A previous review's thumbnails would mix with this one's.
        try? files.removeItem(at: thumbnails)
        try files.createDirectory(at: thumbnails, withIntermediateDirectories: true)
        for position in candidates.indices {
            let name =
                "\(String(format: "%03d", candidates[position].rank))-\(Self.safeName(candidates[position].identifier)).png"
            try Thumbnail.writePNG(
                source: source, index: candidates[position].index, to: thumbnails.appendingPathComponent(name))
            candidates[position].thumbnail = "\(FileName.thumbnails)/\(name)"
        }
        if candidates.contains(where: { $0.footprint != nil }) {
            try writeGeoPackage(to: directory.appendingPathComponent(FileName.geopackage))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: directory.appendingPathComponent(FileName.json), options: .atomic)
    }

    /// The footprints as polygons with the candidates' fields: a GeoJSON translated to GeoPackage by GDAL. The
    /// layer keeps the footprints' CRS when they share one (a chip store); footprints in several CRSs (BigEarthNet
    /// patches from several UTM zones) are transformed to WGS 84.
    private func writeGeoPackage(to url: URL) throws {
        let crsTexts = Set(candidates.compactMap { $0.footprint?.crsWKT })
        let target = try crsTexts.count == 1 ? CRS(crsTexts.first!) : CRS("EPSG:4326")
        let crsWKT = target.wkt
        var transforms: [String: CRS] = [:]
        let features: [[String: Any]] = try candidates.compactMap { candidate -> [String: Any]? in
            guard let box = candidate.footprint else { return nil }
            var corners: [(x: Double, y: Double)] = [
                (box.minX, box.minY), (box.maxX, box.minY), (box.maxX, box.maxY), (box.minX, box.maxY),
            ]
            if crsTexts.count > 1 {
                let crs = try transforms[box.crsWKT] ?? CRS(box.crsWKT)
                transforms[box.crsWKT] = crs
                corners = try crs.transform(corners, to: target)
            }
            let ring = (corners + [corners[0]]).map { [$0.x, $0.y] }
            return [
                "type": "Feature",
                "geometry": ["type": "Polygon", "coordinates": [ring]],
                "properties": [
                    "rank": candidate.rank, "identifier": candidate.identifier, "loss": candidate.loss,
                    "labels": candidate.labels.joined(separator: "; "),
                    "predicted": candidate.predicted.joined(separator: "; "),
                    "missing": candidate.missing.joined(separator: "; "),
                    "added": candidate.added.joined(separator: "; "), "thumbnail": candidate.thumbnail ?? "",
                ] as [String: Any],
            ]
        }
        let geojson = url.deletingLastPathComponent().appendingPathComponent(".noise.geojson")
        try JSONSerialization.data(withJSONObject: ["type": "FeatureCollection", "features": features])
            .write(to: geojson)
        defer { try? FileManager.default.removeItem(at: geojson) }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        try? FileManager.default.removeItem(at: temporary)
        let crsFile = url.deletingLastPathComponent().appendingPathComponent(".noise.wkt")
        try crsWKT.write(to: crsFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: crsFile) }
        let source = try Dataset.openVector(geojson.path)
        let output = try source.vectorTranslate(
            to: temporary.path, arguments: ["-f", "GPKG", "-a_srs", crsFile.path, "-nln", FileName.layer])
        try output.close()
        guard rename(temporary.path, url.path) == 0 else {
            throw TrainingError("\(url.path): cannot rename into place: \(String(cString: strerror(errno)))")
        }
    }

    /// `identifier` with characters other than letters, digits, `-`, `_` and `.` replaced by `_`.
    static func safeName(_ identifier: String) -> String {
        String(identifier.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }

    /// The review as Markdown, with the thumbnails inline.
    public var markdown: String {
        var lines = [
            "# Likely mislabelled images", "",
            "Ranked by loss of `\(model)` on the \(split) split (\(images) images, mean loss "
                + String(format: "%.4f", meanLoss) + ").", "",
            "| Rank | Image | Loss | Labels | Predicted | Thumbnail |", "|---|---|---|---|---|---|",
        ]
        for candidate in candidates {
            let thumbnail = candidate.thumbnail.map { "![](\($0))" } ?? ""
            lines.append(
                "| \(candidate.rank) | \(candidate.identifier) | \(String(format: "%.4f", candidate.loss)) | "
                    + "\(candidate.labels.joined(separator: ", ")) | \(candidate.predicted.joined(separator: ", ")) | "
                    + "\(thumbnail) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// True-colour PNG previews of source images.
public enum Thumbnail {
    /// Reflectance mapped to 0…255: 0.3 and above is white (a common true-colour stretch for Sentinel-2).
    public static let whiteReflectance: Float = 0.3

    /// Writes image `index` of `source` as an 8-bit PNG: B04, B03, B02 as red, green, blue when the source has
    /// them, else its first band as grey.
    public static func writePNG(source: any MultiLabelSource, index: Int, to url: URL) throws {
        let image = try source.image(at: index)
        let names = source.bands.map(\.name)
        let rgb = ["B04", "B03", "B02"].compactMap { names.firstIndex(of: $0) }
        let planes = rgb.count == 3 ? rgb : [0]
        let size = source.size
        let area = size * size
        let values = planes.map { plane in
            (0..<area).map { pixel -> UInt8 in
                let value = image[plane * area + pixel] / whiteReflectance * 255
                return UInt8(max(0, min(255, value.rounded())))
            }
        }
        try PNGImage.write(planes: values, width: size, height: size, to: url)
    }
}
