import Foundation
import GeoRaster
import LandCoverData

/// A map compared with a reference on the same grid: with CORINE (agreement) or with a map of another date (change).
///
/// **Raster codes** (Byte, written with `MapLegend.agreement` / `.change`): 0 = no data in either raster or a pixel
/// below the confidence threshold, 1 = same class (agreement / no change), 2 = different class (disagreement /
/// change). Transitions are counted with the reference (CORINE, or the earlier map) as rows and the map (or the
/// later map) as columns; areas are pixels × pixel area / 10 000 in hectares.
public struct ChangeAnalysis: Sendable {
    /// What was compared.
    public enum Kind: String, Sendable, Codable {
        /// A map against the CORINE layer warped onto its grid.
        case agreement
        /// Two maps of different dates.
        case change
    }

    /// The agreement or change raster, row-major on `grid`.
    public let raster: [UInt8]
    /// The common grid.
    public let grid: RasterGrid
    /// Numbers, transitions and hotspots.
    public let summary: ChangeSummary

    /// Compares a map with CORINE on the same grid, both as class indices of `nomenclature` (0 = no data); pixels
    /// whose `confidence` (percent, 255 = no data) is below `confidenceThreshold` are left out.
    public static func compare(
        map: [UInt8], reference: [UInt8], grid: RasterGrid, nomenclature: Nomenclature, confidence: [UInt8]? = nil,
        confidenceThreshold: UInt8? = nil, hotspotCellSize: Double = 1000, hotspotCount: Int = 10
    ) throws -> ChangeAnalysis {
        try analyse(
            kind: .agreement, reference: reference, map: map, grid: grid, nomenclature: nomenclature,
            confidences: [confidence].compactMap { $0 }, threshold: confidenceThreshold, cellSize: hotspotCellSize,
            hotspotCount: hotspotCount)
    }

    /// Compares two maps of different dates on the same grid; a pixel is left out when either confidence is below
    /// `confidenceThreshold`.
    public static func compare(
        earlier: [UInt8], later: [UInt8], grid: RasterGrid, nomenclature: Nomenclature,
        earlierConfidence: [UInt8]? = nil, laterConfidence: [UInt8]? = nil, confidenceThreshold: UInt8? = nil,
        hotspotCellSize: Double = 1000, hotspotCount: Int = 10
    ) throws -> ChangeAnalysis {
        try analyse(
            kind: .change, reference: earlier, map: later, grid: grid, nomenclature: nomenclature,
            confidences: [earlierConfidence, laterConfidence].compactMap { $0 }, threshold: confidenceThreshold,
            cellSize: hotspotCellSize, hotspotCount: hotspotCount)
    }

    private static func analyse(
        kind: Kind, reference: [UInt8], map: [UInt8], grid: RasterGrid, nomenclature: Nomenclature,
        confidences: [[UInt8]], threshold: UInt8?, cellSize: Double, hotspotCount: Int
    ) throws -> ChangeAnalysis {
        let pixels = grid.width * grid.height
        guard reference.count == pixels, map.count == pixels, confidences.allSatisfy({ $0.count == pixels }) else {
            throw MappingError(path: "change", problem: "rasters do not match the \(grid.width)×\(grid.height) grid")
        }
        let size = nomenclature.count + 1
        let pixelWidth = abs(grid.geoTransform.pixelWidth)
        let cell = max(1, Int((cellSize / pixelWidth).rounded()))
        let cellColumns = (grid.width + cell - 1) / cell
        let cellRows = (grid.height + cell - 1) / cell
        var cellCompared = [Int](repeating: 0, count: cellColumns * cellRows)
        var cellDiffering = [Int](repeating: 0, count: cellColumns * cellRows)
        var transitions = [Int](repeating: 0, count: size * size)
        var noData = 0
        var lowConfidence = 0
        var raster = [UInt8](repeating: 0, count: pixels)
        for row in 0..<grid.height {
            let cellRow = row / cell
            for column in 0..<grid.width {
                let i = row * grid.width + column
                let from = Int(reference[i])
                let to = Int(map[i])
                guard from != 0, to != 0 else {
                    noData += 1
                    continue
                }
                guard from < size, to < size else {
                    throw MappingError(
                        path: "change", problem: "value \(max(from, to)) is not a \(nomenclature.id) class")
                }
                if let threshold, confidences.contains(where: { $0[i] < threshold || $0[i] == 255 }) {
                    lowConfidence += 1
                    continue
                }
                transitions[from * size + to] += 1
                let cellIndex = cellRow * cellColumns + column / cell
                cellCompared[cellIndex] += 1
                if from == to {
                    raster[i] = 1
                } else {
                    raster[i] = 2
                    cellDiffering[cellIndex] += 1
                }
            }
        }
        let pixelHectares = abs(grid.geoTransform.pixelWidth * grid.geoTransform.pixelHeight) / 10_000
        var hotspots: [Hotspot] = []
        for cellRow in 0..<cellRows {
            for cellColumn in 0..<cellColumns {
                let index = cellRow * cellColumns + cellColumn
                let window = PixelWindow(column: cellColumn * cell, row: cellRow * cell, width: cell, height: cell)
                    .intersection(grid.fullWindow)
                // Cells less than half covered by compared pixels are too noisy to rank.
                guard cellDiffering[index] > 0, 2 * cellCompared[index] >= window.pixelCount else { continue }
                let centre = grid.geoTransform.map(
                    column: Double(window.column) + Double(window.width) / 2,
                    row: Double(window.row) + Double(window.height) / 2)
                hotspots.append(
                    Hotspot(
                        window: window, centerX: centre.x, centerY: centre.y, comparedPixels: cellCompared[index],
                        differingPixels: cellDiffering[index],
                        share: Double(cellDiffering[index]) / Double(cellCompared[index]),
                        differingHectares: Double(cellDiffering[index]) * pixelHectares, dominantTransition: nil))
            }
        }
        hotspots.sort { ($0.share, $0.differingPixels) > ($1.share, $1.differingPixels) }
        hotspots = Array(hotspots.prefix(hotspotCount))
        for h in hotspots.indices {
            var counts: [Int: Int] = [:]
            let window = hotspots[h].window
            for row in window.row..<window.endRow {
                for column in window.column..<window.endColumn where raster[row * grid.width + column] == 2 {
                    let i = row * grid.width + column
                    counts[Int(reference[i]) * size + Int(map[i]), default: 0] += 1
                }
            }
            if let top = counts.max(by: { ($0.value, -$0.key) < ($1.value, -$1.key) }) {
                hotspots[h].dominantTransition = ClassTransition(
                    from: ClassInfo(nomenclature, top.key / size), to: ClassInfo(nomenclature, top.key % size),
                    pixels: top.value, hectares: Double(top.value) * pixelHectares)
            }
        }
        let summary = ChangeSummary(
            kind: kind, nomenclature: nomenclature, transitions: transitions, pixelHectares: pixelHectares,
            noDataPixels: noData, lowConfidencePixels: lowConfidence,
            confidenceThreshold: threshold.map(Int.init), hotspotCellSize: Double(cell) * pixelWidth,
            hotspots: hotspots)
        return ChangeAnalysis(raster: raster, grid: grid, summary: summary)
    }

    /// Writes the agreement / change raster as a styled COG (`MapLegend.agreement` or `.change`).
    @discardableResult
    public func writeRaster(
        to path: String, provenance: [String: String] = [:],
        options: LandCoverMapWriter.Options = LandCoverMapWriter.Options()
    ) throws -> MapFiles {
        var items = provenance
        items["COMPARED_NOMENCLATURE"] = summary.nomenclature
        if let threshold = summary.confidenceThreshold { items["CONFIDENCE_THRESHOLD"] = String(threshold) }
        return try LandCoverMapWriter(legend: summary.kind == .agreement ? .agreement : .change, options: options)
            .write(classes: raster, grid: grid, to: path, provenance: items)
    }
}

/// A class of a nomenclature by index, code and name.
public struct ClassInfo: Sendable, Codable, Hashable {
    /// Class index (pixel value).
    public var index: Int
    /// CLC code at the nomenclature's level.
    public var code: Int
    /// Name.
    public var name: String

    init(_ nomenclature: Nomenclature, _ index: Int) {
        self.index = index
        code = nomenclature.codes[index - 1]
        name = nomenclature.names[index - 1]
    }

    /// "code name".
    public var label: String { "\(code) \(name)" }
}

/// An area moving from one class to another.
public struct ClassTransition: Sendable, Codable, Hashable {
    /// Class in the reference (or earlier map).
    public var from: ClassInfo
    /// Class in the map (or later map).
    public var to: ClassInfo
    /// Pixels.
    public var pixels: Int
    /// Hectares.
    public var hectares: Double
}

/// A square cell (1 km by default) ranked by its share of differing pixels.
public struct Hotspot: Sendable, Codable, Hashable {
    /// The cell's pixels (clipped at the raster edge).
    public var window: PixelWindow
    /// Map x of the cell centre.
    public var centerX: Double
    /// Map y of the cell centre.
    public var centerY: Double
    /// Pixels compared in the cell.
    public var comparedPixels: Int
    /// Pixels of different class.
    public var differingPixels: Int
    /// `differingPixels / comparedPixels`.
    public var share: Double
    /// Differing area in hectares.
    public var differingHectares: Double
    /// The most frequent transition in the cell.
    public var dominantTransition: ClassTransition?
}

/// Per-class areas of a comparison.
public struct ClassAreas: Sendable, Codable, Hashable {
    /// The class.
    public var info: ClassInfo
    /// Area in the reference (or earlier map).
    public var referenceHectares: Double
    /// Area in the map (or later map).
    public var mapHectares: Double
    /// Area of the class in both.
    public var agreeingHectares: Double
}

/// The numbers of a comparison, for JSON and Markdown reports.
public struct ChangeSummary: Sendable, Codable {
    /// Agreement with CORINE or change between dates.
    public var kind: ChangeAnalysis.Kind
    /// Nomenclature identifier.
    public var nomenclature: String
    /// Classes, index 1...count.
    public var classes: [ClassInfo]
    /// Hectares of one pixel.
    public var pixelHectares: Double
    /// Pixels compared (data in both, confident enough).
    public var comparedPixels: Int
    /// Pixels of the same class in both.
    public var agreeingPixels: Int
    /// Pixels with no data in either raster.
    public var noDataPixels: Int
    /// Pixels left out for low confidence.
    public var lowConfidencePixels: Int
    /// The confidence threshold in percent, if any.
    public var confidenceThreshold: Int?
    /// `agreeingPixels / comparedPixels` (the no-change share for two dates); 0 when nothing was compared.
    public var agreementShare: Double
    /// Compared area in hectares.
    public var comparedHectares: Double
    /// Transition areas in hectares, `[reference class - 1][map class - 1]`.
    public var transitionHectares: [[Double]]
    /// Transition pixel counts, `[reference class - 1][map class - 1]`.
    public var transitionPixels: [[Int]]
    /// Areas per class.
    public var perClass: [ClassAreas]
    /// Off-diagonal transitions, largest first.
    public var largestTransitions: [ClassTransition]
    /// Hotspot cell size in map units.
    public var hotspotCellSize: Double
    /// Cells with the highest share of differing pixels.
    public var hotspots: [Hotspot]

    init(
        kind: ChangeAnalysis.Kind, nomenclature: Nomenclature, transitions: [Int], pixelHectares: Double,
        noDataPixels: Int, lowConfidencePixels: Int, confidenceThreshold: Int?, hotspotCellSize: Double,
        hotspots: [Hotspot]
    ) {
        let size = nomenclature.count + 1
        self.kind = kind
        self.nomenclature = nomenclature.id
        classes = (1..<size).map { ClassInfo(nomenclature, $0) }
        self.pixelHectares = pixelHectares
        transitionPixels = (1..<size).map { from in (1..<size).map { to in transitions[from * size + to] } }
        transitionHectares = transitionPixels.map { $0.map { Double($0) * pixelHectares } }
        comparedPixels = transitions.reduce(0, +)
        agreeingPixels = (1..<size).reduce(0) { $0 + transitions[$1 * size + $1] }
        self.noDataPixels = noDataPixels
        self.lowConfidencePixels = lowConfidencePixels
        self.confidenceThreshold = confidenceThreshold
        agreementShare = comparedPixels == 0 ? 0 : Double(agreeingPixels) / Double(comparedPixels)
        comparedHectares = Double(comparedPixels) * pixelHectares
        let matrix = transitionPixels
        perClass = classes.enumerated().map { c, info in
            ClassAreas(
                info: info, referenceHectares: Double(matrix[c].reduce(0, +)) * pixelHectares,
                mapHectares: Double(matrix.reduce(0) { $0 + $1[c] }) * pixelHectares,
                agreeingHectares: Double(matrix[c][c]) * pixelHectares)
        }
        var moves: [ClassTransition] = []
        for from in classes.indices {
            for to in classes.indices where from != to && matrix[from][to] > 0 {
                moves.append(
                    ClassTransition(
                        from: classes[from], to: classes[to], pixels: matrix[from][to],
                        hectares: Double(matrix[from][to]) * pixelHectares))
            }
        }
        largestTransitions = Array(
            moves.sorted { ($0.pixels, -$0.from.index, -$0.to.index) > ($1.pixels, -$1.from.index, -$1.to.index) }
                .prefix(20))
        self.hotspotCellSize = hotspotCellSize
        self.hotspots = hotspots
    }

    /// Pretty-printed JSON with sorted keys.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// A Markdown report: headline shares, per-class areas, largest transitions and hotspots.
    public func markdown() -> String {
        let (referenceName, mapName, sameName) =
            kind == .agreement ? ("CORINE", "Map", "Agreement") : ("Earlier", "Later", "No change")
        var lines = [
            kind == .agreement ? "# Map versus CORINE (\(nomenclature))" : "# Land-cover change (\(nomenclature))",
            "",
            "- Compared: \(comparedPixels) pixels, \(format(comparedHectares)) ha",
            "- \(sameName): \(format(agreementShare * 100)) %",
            "- No data: \(noDataPixels) pixels",
        ]
        if let confidenceThreshold {
            lines.append("- Below confidence \(confidenceThreshold) %: \(lowConfidencePixels) pixels (left out)")
        }
        lines += [
            "", "## Areas per class (ha)", "",
            "| Class | \(referenceName) | \(mapName) | Both |", "|---|---:|---:|---:|",
        ]
        for areas in perClass where areas.referenceHectares > 0 || areas.mapHectares > 0 {
            lines.append(
                "| \(areas.info.label) | \(format(areas.referenceHectares)) | \(format(areas.mapHectares)) | "
                    + "\(format(areas.agreeingHectares)) |")
        }
        lines += ["", "## Largest transitions (ha)", "", "| From (\(referenceName)) | To (\(mapName)) | ha |"]
        lines.append("|---|---|---:|")
        for move in largestTransitions {
            lines.append("| \(move.from.label) | \(move.to.label) | \(format(move.hectares)) |")
        }
        lines += [
            "", "## Hotspots (\(format(hotspotCellSize)) m cells)", "",
            "| Centre x | Centre y | Differing | Main transition |", "|---:|---:|---:|---|",
        ]
        for spot in hotspots {
            let transition = spot.dominantTransition.map { "\($0.from.label) → \($0.to.label)" } ?? ""
            lines.append(
                "| \(format(spot.centerX)) | \(format(spot.centerY)) | \(format(spot.share * 100)) % | \(transition) |")
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }
}
