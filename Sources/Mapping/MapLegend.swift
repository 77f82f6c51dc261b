import Foundation
import GeoRaster
import LandCoverData

/// The classes a map raster stores: pixel value, label and colour of each, with 0 reserved for no data.
public struct MapLegend: Sendable, Hashable {
    /// One class of the legend.
    public struct Entry: Sendable, Hashable {
        /// Pixel value (1...255).
        public var value: Int
        /// Short code shown before the name, for example "311"; may be empty.
        public var code: String
        /// Class name, for example "Broad-leaved forest".
        public var name: String
        /// Display colour.
        public var color: RGB

        /// Creates an entry.
        public init(value: Int, code: String, name: String, color: RGB) {
            self.value = value
            self.code = code
            self.name = name
            self.color = color
        }

        /// "code name", or the name alone when there is no code, for example "311 Broad-leaved forest".
        public var label: String { code.isEmpty ? name : "\(code) \(name)" }
    }

    /// Identifier written as the `NOMENCLATURE` metadata item, for example "corine-l3" or "agreement".
    public let id: String
    /// Classes in value order; values are unique and in 1...255.
    public let entries: [Entry]

    /// Creates a legend; values must be unique and within 1...255.
    public init(id: String, entries: [Entry]) {
        precondition(
            Set(entries.map(\.value)).count == entries.count && entries.allSatisfy { (1...255).contains($0.value) },
            "Legend values must be unique and within 1...255.")
        self.id = id
        self.entries = entries.sorted { $0.value < $1.value }
    }

    /// The largest pixel value of a class.
    public var maximumValue: Int { entries.last?.value ?? 0 }

    /// The legend of a nomenclature: value = class index (1...count), code = CLC code at its level, EEA colour.
    public static func nomenclature(_ nomenclature: Nomenclature) -> MapLegend {
        MapLegend(
            id: nomenclature.id,
            entries: nomenclature.names.indices.map { i in
                Entry(
                    value: i + 1, code: String(nomenclature.codes[i]), name: nomenclature.names[i],
                    color: nomenclature.colors[i])
            })
    }

    /// Map-versus-reference agreement: 1 = agree, 2 = disagree (0 = no data or excluded).
    public static let agreement = MapLegend(
        id: "agreement",
        entries: [
            Entry(value: 1, code: "", name: "Agreement", color: RGB(190, 190, 190)),
            Entry(value: 2, code: "", name: "Disagreement", color: RGB(215, 25, 28)),
        ])

    /// Two-date change: 1 = no change, 2 = change (0 = no data or excluded).
    public static let change = MapLegend(
        id: "change",
        entries: [
            Entry(value: 1, code: "", name: "No change", color: RGB(190, 190, 190)),
            Entry(value: 2, code: "", name: "Change", color: RGB(215, 25, 28)),
        ])

    /// Palette for GDAL: index 0 transparent black (no data), then each value's colour; unused values black.
    public var colorTable: [ColorEntry] {
        var table = [ColorEntry](repeating: ColorEntry(red: 0, green: 0, blue: 0), count: maximumValue + 1)
        table[0] = ColorEntry(red: 0, green: 0, blue: 0, alpha: 0)
        for entry in entries {
            table[entry.value] = ColorEntry(red: entry.color.red, green: entry.color.green, blue: entry.color.blue)
        }
        return table
    }

    /// Category names, index = pixel value: "No data" at 0, labels of the classes, empty for unused values.
    public var categoryNames: [String] {
        var names = [String](repeating: "", count: maximumValue + 1)
        names[0] = "No data"
        for entry in entries { names[entry.value] = entry.label }
        return names
    }

    /// A QGIS style (`.qml`) with a paletted renderer listing exactly the legend's classes, labelled "code name".
    public func qgisStyle(band: Int = 1) -> String {
        var lines = [
            "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>",
            "<qgis version=\"3.28\" styleCategories=\"AllStyleCategories\">",
            "  <pipe>",
            "    <rasterrenderer type=\"paletted\" band=\"\(band)\" opacity=\"1\" alphaBand=\"-1\" nodataColor=\"\">",
            "      <rasterTransparency/>",
            "      <colorPalette>",
        ]
        for entry in entries {
            lines.append(
                "        <paletteEntry value=\"\(entry.value)\" color=\"\(entry.color.hex)\" alpha=\"255\" "
                    + "label=\"\(xmlEscaped(entry.label))\"/>")
        }
        lines += [
            "      </colorPalette>",
            "    </rasterrenderer>",
            "    <rasterresampler maxOversampling=\"2\"/>",
            "  </pipe>",
            "</qgis>",
            "",
        ]
        return lines.joined(separator: "\n")
    }
}

/// Escapes the five XML special characters.
func xmlEscaped(_ text: String) -> String {
    var result = ""
    for character in text {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&apos;"
        default: result.append(character)
        }
    }
    return result
}
