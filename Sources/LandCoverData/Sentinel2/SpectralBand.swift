/// One of the 13 Sentinel-2 MSI spectral bands, named as in the SAFE file names ("B02", "B8A", "B12").
///
/// Ordered by wavelength, which is also the order of the XML `band_id` (0...12).
public struct SpectralBand: Sendable, Hashable, Codable, Comparable, CaseIterable, CustomStringConvertible {
    /// The index of the band in the product XML (`band_id` / `bandId`): 0...12 = B1...B8, B8A, B9...B12.
    public let xmlBandID: Int

    private struct Properties {
        var name: String
        var nativeResolution: Int
        var centralWavelength: Int
    }

    private static let table: [Properties] = [
        Properties(name: "B01", nativeResolution: 60, centralWavelength: 443),
        Properties(name: "B02", nativeResolution: 10, centralWavelength: 490),
        Properties(name: "B03", nativeResolution: 10, centralWavelength: 560),
        Properties(name: "B04", nativeResolution: 10, centralWavelength: 665),
        Properties(name: "B05", nativeResolution: 20, centralWavelength: 705),
        Properties(name: "B06", nativeResolution: 20, centralWavelength: 740),
        Properties(name: "B07", nativeResolution: 20, centralWavelength: 783),
        Properties(name: "B08", nativeResolution: 10, centralWavelength: 842),
        Properties(name: "B8A", nativeResolution: 20, centralWavelength: 865),
        Properties(name: "B09", nativeResolution: 60, centralWavelength: 945),
        Properties(name: "B10", nativeResolution: 60, centralWavelength: 1375),
        Properties(name: "B11", nativeResolution: 20, centralWavelength: 1610),
        Properties(name: "B12", nativeResolution: 20, centralWavelength: 2190),
    ]

    private init(id: Int) { xmlBandID = id }

    /// The band with XML `band_id` `xmlBandID` (0...12), or nil.
    public init?(xmlBandID: Int) {
        guard Self.table.indices.contains(xmlBandID) else { return nil }
        self.init(id: xmlBandID)
    }

    /// Parses "B02", "B2", "b4", "02", "8A", "B8A" (case-insensitive, optional leading "B"); nil for anything else.
    public init?(_ name: String) {
        var text = Substring(name.uppercased())
        if text.hasPrefix("B") { text = text.dropFirst() }
        let key: String
        if text == "8A" {
            key = "B8A"
        } else if (1...2).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(text),
            (1...12).contains(number)
        {
            key = number < 10 ? "B0\(number)" : "B\(number)"
        } else {
            return nil
        }
        guard let id = Self.table.firstIndex(where: { $0.name == key }) else { return nil }
        self.init(id: id)
    }

    /// Canonical two-digit name: "B01"..."B12", "B8A".
    public var name: String { Self.table[xmlBandID].name }

    /// Native ground sampling distance in metres: 10, 20 or 60.
    public var nativeResolution: Int { Self.table[xmlBandID].nativeResolution }

    /// Central wavelength in nanometres (Sentinel-2A, rounded).
    public var centralWavelength: Int { Self.table[xmlBandID].centralWavelength }

    /// The name GDAL's SENTINEL2 driver uses in the band metadata item `BANDNAME`: "B4", "B8A", "B11".
    public var gdalBandName: String {
        let name = self.name
        return name.hasPrefix("B0") ? "B" + name.dropFirst(2) : name
    }

    /// The canonical name, "B04".
    public var description: String { name }

    /// Wavelength order (XML band_id order): B08 < B8A < B09.
    public static func < (lhs: SpectralBand, rhs: SpectralBand) -> Bool { lhs.xmlBandID < rhs.xmlBandID }

    /// All 13 bands in wavelength order.
    public static let allCases: [SpectralBand] = table.indices.map(SpectralBand.init(id:))

    /// B01, coastal aerosol (60 m).
    public static let b01 = SpectralBand(id: 0)
    /// B02, blue (10 m).
    public static let b02 = SpectralBand(id: 1)
    /// B03, green (10 m).
    public static let b03 = SpectralBand(id: 2)
    /// B04, red (10 m).
    public static let b04 = SpectralBand(id: 3)
    /// B05, vegetation red edge (20 m).
    public static let b05 = SpectralBand(id: 4)
    /// B06, vegetation red edge (20 m).
    public static let b06 = SpectralBand(id: 5)
    /// B07, vegetation red edge (20 m).
    public static let b07 = SpectralBand(id: 6)
    /// B08, near infrared (10 m).
    public static let b08 = SpectralBand(id: 7)
    /// B8A, narrow near infrared (20 m).
    public static let b8A = SpectralBand(id: 8)
    /// B09, water vapour (60 m).
    public static let b09 = SpectralBand(id: 9)
    /// B10, SWIR cirrus (60 m, L1C only).
    public static let b10 = SpectralBand(id: 10)
    /// B11, SWIR 1 (20 m).
    public static let b11 = SpectralBand(id: 11)
    /// B12, SWIR 2 (20 m).
    public static let b12 = SpectralBand(id: 12)

    /// Red, green, blue: B04, B03, B02 (the paper's input).
    public static let rgb: [SpectralBand] = [.b04, .b03, .b02]
    /// The 10 m bands: B02, B03, B04, B08.
    public static let tenMetre: [SpectralBand] = [.b02, .b03, .b04, .b08]
    /// The 20 m bands: B05, B06, B07, B8A, B11, B12.
    public static let twentyMetre: [SpectralBand] = [.b05, .b06, .b07, .b8A, .b11, .b12]
    /// The 60 m bands: B01, B09, B10.
    public static let sixtyMetre: [SpectralBand] = [.b01, .b09, .b10]

    /// Decodes a band name such as "B04" or "B4".
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let band = SpectralBand(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\"\(text)\" is not a Sentinel-2 band (B01...B12, B8A)")
        }
        self = band
    }

    /// Encodes the canonical name ("B04").
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
