import Foundation
import GeoRaster
import LandCoverData
import Mapping
import TestSupport

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Small grids and rasters shared by the mapping tests.
enum MapFixtures {
    /// A 256×256 grid of 10 m pixels on EPSG:32635 (UTM 35N), top-left corner at (500 000, 4 600 000).
    static func grid(width: Int = 256, height: Int = 256) throws -> RasterGrid {
        RasterGrid(
            crsWKT: try CRS(epsg: 32635).wkt,
            geoTransform: GeoTransform(originX: 500_000, originY: 4_600_000, pixelWidth: 10, pixelHeight: -10),
            width: width, height: height)
    }

    /// Test writer options: 128-pixel tiles so a 256² raster gets an overview.
    static func options(overwrite: Bool = false) -> LandCoverMapWriter.Options {
        LandCoverMapWriter.Options(blockSize: 128, overwrite: overwrite)
    }

    /// Level-3 classes in 2×2 cells: three pixels of 12 and one of 18, the odd pixel moving around so that a
    /// nearest-neighbour overview shows 18 somewhere but a mode overview is 12 everywhere; row 0 … 9 no data
    /// at the left edge; a 10×10 block of 23 (311 Broad-leaved forest) at columns 100..<110, rows 50..<60.
    static func pattern(width: Int = 256, height: Int = 256) -> [UInt8] {
        var classes = [UInt8](repeating: 12, count: width * height)
        for row in 0..<height {
            for column in 0..<width {
                let cell = (row / 2 + column / 2) % 4
                let position = (row % 2) * 2 + column % 2
                if cell == position { classes[row * width + column] = 18 }
            }
        }
        for row in 0..<10 { for column in 0..<4 { classes[row * width + column] = 0 } }
        for row in 50..<60 { for column in 100..<110 { classes[row * width + column] = 23 } }
        return classes
    }

    /// Category names of band 1. GDAL 3.6's GTiff reads the `.aux.xml` lazily, on the first georeferencing or
    /// metadata query, so `GDALGetRasterCategoryNames` alone on a fresh handle returns none: ask for the
    /// geotransform first, as QGIS does on opening.
    static func categoryNames(_ path: String) throws -> [String] {
        let dataset = try Dataset.open(path)
        _ = dataset.geoTransform
        return dataset.band(1).categoryNames
    }

    /// Names of the elements and the attributes of `paletteEntry` elements of an XML document.
    final class PaletteCollector: NSObject, XMLParserDelegate {
        var elements: [String] = []
        var entries: [[String: String]] = []

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            elements.append(elementName)
            if elementName == "paletteEntry" { entries.append(attributes) }
        }
    }

    /// Parses an XML file; nil when it is not well-formed.
    static func parseXML(_ path: String) -> PaletteCollector? {
        guard let parser = XMLParser(contentsOf: URL(fileURLWithPath: path)) else { return nil }
        let collector = PaletteCollector()
        parser.delegate = collector
        return parser.parse() ? collector : nil
    }
}

extension Array {
    /// The element at `index`, or nil when out of range.
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
