import Foundation

/// Reading product facts from the SENTINEL2 driver's metadata items and from the main XML
/// (metadata domain `xml:SENTINEL2`), which carries what GDAL 3.6.2 does not expose (offset lists).
extension Sentinel2Product {
    /// The value of the first non-empty metadata item among `keys`, else of the first such XML element.
    static func firstValue(_ keys: [String], items: [String: String], xml: String) -> String? {
        for key in keys {
            if let value = items[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty { return value }
        }
        for key in keys {
            if let value = xmlElementText(key, in: xml), !value.isEmpty { return value }
        }
        return nil
    }

    /// The text of the first `<name …>text</name>` element in `xml`, trimmed.
    static func xmlElementText(_ name: String, in xml: String) -> String? {
        guard let regex = try? Regex("<\(name)(?:\\s[^>]*)?>\\s*([^<]*?)\\s*</\(name)>"),
            let match = xml.firstMatch(of: regex), let text = match.output[1].substring
        else { return nil }
        return String(text)
    }

    /// `PRODUCT_URI` (or the level's `PRODUCT_URI_1C`/`_2A`) without ".SAFE", else the SAFE directory's name.
    static func name(items: [String: String], level: ProcessingLevel, metadataPath: String) -> String {
        let keys = ["PRODUCT_URI", level == .l2a ? "PRODUCT_URI_2A" : "PRODUCT_URI_1C"]
        if let uri = firstValue(keys, items: items, xml: "") { return strippingSafe(uri) }
        // The directory holding the XML: "X.SAFE", or "X.SAFE.zip" / "X.zip" for a zip without a SAFE folder.
        let components = metadataPath.split(separator: "/").map(String.init)
        if metadataPath.lowercased().hasSuffix(".zip"), let zip = components.last { return strippingSafe(zip) }
        return strippingSafe(components.count >= 2 ? components[components.count - 2] : metadataPath)
    }

    private static func strippingSafe(_ name: String) -> String {
        var name = name
        for suffix in [".zip", ".safe"] where name.lowercased().hasSuffix(suffix) {
            name.removeLast(suffix.count)
        }
        return name
    }

    /// The MGRS tile from the product name (`_T34UCF_`), else from the granule identifiers of the XML when they name
    /// exactly one tile of the chosen UTM zone.
    static func tile(productName: String, xml: String, epsg: Int) -> String? {
        let pattern = #/_T(\d{2}[C-X][A-Z]{2})(?=_|$)/#
        if let match = productName.firstMatch(of: pattern) { return String(match.output.1) }
        let zone = epsg % 100
        var tiles: Set<String> = []
        for match in xml.matches(of: #/granuleIdentifier="[^"]*?_T(\d{2}[C-X][A-Z]{2})_/#) {
            let tile = String(match.output.1)
            if Int(tile.prefix(2)) == zone { tiles.insert(tile) }
        }
        return tiles.count == 1 ? tiles.first : nil
    }

    /// "05.09" from the `_N0509_` field of a compact product name.
    static func baselineFromName(_ productName: String) -> String? {
        guard let match = productName.firstMatch(of: #/_N(\d{2})(\d{2})_/#) else { return nil }
        return "\(match.output.1).\(match.output.2)"
    }

    /// `QUANTIFICATION_VALUE` (L1C) or `BOA_QUANTIFICATION_VALUE` / Level-2Ap `L2A_BOA_QUANTIFICATION_VALUE` (L2A);
    /// 10000 when absent.
    static func quantification(level: ProcessingLevel, items: [String: String], xml: String) -> Double {
        let keys =
            switch level {
            case .l1c: ["QUANTIFICATION_VALUE"]
            case .l2a: ["BOA_QUANTIFICATION_VALUE", "L2A_BOA_QUANTIFICATION_VALUE"]
            }
        guard let text = firstValue(keys, items: items, xml: xml), let value = Double(text), value > 0 else {
            return 10000
        }
        return value
    }

    /// Offsets by band_id 0...12 from `RADIO_ADD_OFFSET` (L1C) or `BOA_ADD_OFFSET` (L2A) elements; 0 where absent.
    static func offsets(level: ProcessingLevel, xml: String) -> [Double] {
        let pattern = #/<(RADIO_ADD_OFFSET|BOA_ADD_OFFSET)\s+band_id="(\d+)"\s*>\s*([-+0-9.eE]+)\s*</#
        let preferred = level == .l1c ? "RADIO_ADD_OFFSET" : "BOA_ADD_OFFSET"
        var byElement: [String: [Int: Double]] = [:]
        for match in xml.matches(of: pattern) {
            guard let id = Int(match.output.2), let value = Double(match.output.3) else { continue }
            byElement[String(match.output.1), default: [:]][id] = value
        }
        let values = byElement[preferred] ?? byElement.values.first ?? [:]
        return SpectralBand.allCases.map { values[$0.xmlBandID] ?? 0 }
    }
}
