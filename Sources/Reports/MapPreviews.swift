import Foundation
import GeoRaster
import LandCoverData
import Mapping
import Metrics
import Training

/// Side-by-side PNG previews of a run at reduced resolution, all on one grid: the Sentinel-2 input in true
/// colour, the CORINE reference, the predicted map and the map's agreement with CORINE, plus an SVG legend of the
/// classes they show. Each panel is made only when its input is known.
public struct MapPreviews {
    /// The grid every panel is drawn on: the map's (or else the product's) grid, at most `size` pixels a side.
    public let grid: RasterGrid
    /// The panels, left to right.
    public private(set) var figures: [ReportFigure] = []
    /// Classes shown in the reference and map panels, by pixel value.
    private var shown: [Int: (label: String, color: ColorEntry)] = [:]

    /// No data in every panel.
    static let noDataColor = ColorEntry(red: 255, green: 255, blue: 255)

    /// Makes the previews; `product` and `corine` may be nil (their panels are left out), as may `map` and
    /// `change`. Throws when an input is there but cannot be read.
    public init(product: String?, corine: String?, map: URL?, change: URL?, size: Int = 480) throws {
        let mapDataset = try map.map { try Dataset.open($0.path) }
        let sentinel = try product.map { try Sentinel2Product.open($0) }
        guard let full = mapDataset?.grid ?? sentinel?.grid else {
            throw ReportError("a map preview needs a land-cover map or a Sentinel-2 product")
        }
        let scale = max(1, Double(max(full.width, full.height)) / Double(size))
        let width = max(1, Int((Double(full.width) / scale).rounded()))
        let height = max(1, Int((Double(full.height) / scale).rounded()))
        var transform = full.geoTransform
        transform.pixelWidth *= Double(full.width) / Double(width)
        transform.pixelHeight *= Double(full.height) / Double(height)
        grid = RasterGrid(crsWKT: full.crsWKT, geoTransform: transform, width: width, height: height)
        let displayWidth = min(width, 280)

        if let sentinel {
            let reader = try sentinel.openReader(bands: SpectralBand.rgb)
            let digitalNumbers = try reader.readOverview(width: width, height: height)
            let area = width * height
            let planes = SpectralBand.rgb.enumerated().map { number, band in
                (0..<area).map { pixel -> UInt8 in
                    let reflectance = sentinel.reflectance(digitalNumbers[number * area + pixel], band: band)
                    guard reflectance.isFinite else { return Self.noDataColor.red }
                    return UInt8(max(0, min(255, (reflectance / Thumbnail.whiteReflectance * 255).rounded())))
                }
            }
            figures.append(
                ReportFigure(
                    name: "preview-input",
                    caption: "Sentinel-2 input, true colour (B04, B03, B02; reflectance 0.3 = white): "
                        + sentinel.productName,
                    image: .png(try PNGImage.encode(planes: planes, width: width, height: height)),
                    displayWidth: displayWidth))
        }
        // The reference is drawn in the map's classes and colours, so the two panels compare directly.
        let level = mapDataset?.metadataItem("LEVEL").flatMap { Int($0) }.flatMap(CorineLevel.init) ?? .level3
        let nomenclature = Nomenclature.corine(level)
        if let corine {
            let gridCodes = try CorineSource.open(corine).labels(on: grid)
            let values = gridCodes.map { nomenclature.level3LookupTable[Int($0)] }
            let legend = MapLegend.nomenclature(nomenclature)
            let palette = legend.entries.map {
                (
                    value: $0.value, label: $0.label,
                    color: ColorEntry(red: $0.color.red, green: $0.color.green, blue: $0.color.blue)
                )
            }
            figures.append(
                try panel(
                    values, palette: palette, name: "preview-reference",
                    caption: "CORINE reference (\(nomenclature.id)): \(URL(fileURLWithPath: corine).lastPathComponent)",
                    record: true, displayWidth: displayWidth))
        }
        if let mapDataset, let map {
            figures.append(
                try panel(
                    of: mapDataset, name: "preview-map",
                    caption: "Predicted map (\(nomenclature.id)): \(map.lastPathComponent)", record: true,
                    displayWidth: displayWidth))
        }
        if let change {
            let dataset = try Dataset.open(change.path)
            if dataset.width == full.width && dataset.height == full.height {
                figures.append(
                    try panel(
                        of: dataset, name: "preview-change",
                        caption: "Map against CORINE: \(change.lastPathComponent) (grey: same class, red: different)",
                        record: false, displayWidth: displayWidth))
            }
        }
    }

    /// The classes shown in the reference and map panels, as an SVG legend; nil when there are none.
    public var legend: ReportFigure? {
        guard !shown.isEmpty else { return nil }
        let entries = shown.sorted { $0.key < $1.key }.map(\.value)
        let columns = 2
        let rows = (entries.count + columns - 1) / columns
        let (width, row) = (720, 18)
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(rows * row + 12)" \
            viewBox="0 0 \(width) \(rows * row + 12)" font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="white"/>

            """
        for (number, entry) in entries.enumerated() {
            let x = 8 + (number / rows) * (width / columns)
            let y = 6 + (number % rows) * row
            let color = "rgb(\(entry.color.red),\(entry.color.green),\(entry.color.blue))"
            svg += "<rect x=\"\(x)\" y=\"\(y + 2)\" width=\"22\" height=\"12\" fill=\"\(color)\" stroke=\"#888\"/>"
            svg += "<text x=\"\(x + 28)\" y=\"\(y + 12)\">\(escapeXML(entry.label))</text>\n"
        }
        return ReportFigure(
            name: "preview-legend", caption: "Classes in the reference and the map", image: .svg(svg + "</svg>\n"))
    }

    /// A paletted raster (its colour table and category names) read at the preview grid's size (nearest).
    private mutating func panel(
        of dataset: Dataset, name: String, caption: String, record: Bool, displayWidth: Int
    ) throws -> ReportFigure {
        let band = dataset.band(1)
        var values = [UInt8](repeating: 0, count: grid.width * grid.height)
        try values.withUnsafeMutableBufferPointer {
            try band.read(dataset.grid!.fullWindow, into: $0, outputWidth: grid.width, outputHeight: grid.height)
        }
        let table = band.colorTable ?? []
        let names = band.categoryNames
        let palette = table.indices.dropFirst().map { value in
            (value: value, label: value < names.count ? names[value] : "\(value)", color: table[value])
        }
        return try self.panel(
            values, palette: palette, name: name, caption: caption, record: record, displayWidth: displayWidth)
    }

    /// Colours `values` with `palette` (0 and values without an entry are no data) as a PNG figure; `record`
    /// adds the values present to the legend.
    private mutating func panel(
        _ values: [UInt8], palette: [(value: Int, label: String, color: ColorEntry)], name: String, caption: String,
        record: Bool, displayWidth: Int
    ) throws -> ReportFigure {
        var colors = [ColorEntry](repeating: Self.noDataColor, count: 256)
        for entry in palette where entry.value > 0 && entry.value < 256 { colors[entry.value] = entry.color }
        if record {
            let present = Set(values)
            for entry in palette where entry.value > 0 && entry.value < 256 && present.contains(UInt8(entry.value)) {
                shown[entry.value] = (entry.label, entry.color)
            }
        }
        let planes = [\ColorEntry.red, \ColorEntry.green, \ColorEntry.blue].map { channel in
            values.map { colors[Int($0)][keyPath: channel] }
        }
        return ReportFigure(
            name: name, caption: caption,
            image: .png(try PNGImage.encode(planes: planes, width: grid.width, height: grid.height)),
            displayWidth: displayWidth)
    }
}
