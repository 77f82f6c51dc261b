/// A level of the three-level CORINE Land Cover hierarchy.
public enum CorineLevel: Int, Sendable, CaseIterable, Codable {
    /// The 5 top-level classes (1-digit codes, e.g. 1 "Artificial surfaces").
    case level1 = 1
    /// The 15 middle-level classes (2-digit codes, e.g. 11 "Urban fabric").
    case level2 = 2
    /// The 44 detailed classes (3-digit codes, e.g. 111 "Continuous urban fabric").
    case level3 = 3
}

/// An 8-bit sRGB colour.
public struct RGB: Sendable, Hashable, Codable {
    /// Red component.
    public var red: UInt8
    /// Green component.
    public var green: UInt8
    /// Blue component.
    public var blue: UInt8

    /// Creates a colour from its three components.
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// Creates a colour from its three components, in red, green, blue order.
    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.init(red: red, green: green, blue: blue)
    }

    /// The colour as a lowercase CSS hex string, e.g. `"#e6004d"`.
    public var hex: String {
        "#"
            + [red, green, blue].map { component in
                let digits = String(component, radix: 16)
                return digits.count == 1 ? "0" + digits : digits
            }.joined()
    }
}

/// One of the 44 level-3 classes of CORINE Land Cover, with its place in the hierarchy and its official colour.
public struct CorineClass: Sendable, Hashable {
    /// Raster pixel value of the class in release U2018 (1...44, in CLC-code order).
    public let gridCode: Int
    /// Three-digit CLC code (111...523).
    public let code: Int
    /// Official EEA level-3 name.
    public let name: String
    /// Two-digit code of the level-2 parent (11...52).
    public let level2Code: Int
    /// Official EEA name of the level-2 parent.
    public let level2Name: String
    /// One-digit code of the level-1 parent (1...5).
    public let level1Code: Int
    /// Official EEA name of the level-1 parent.
    public let level1Name: String
    /// Official EEA legend colour.
    public let color: RGB

    fileprivate init(_ gridCode: Int, _ code: Int, _ name: String, _ color: RGB) {
        self.gridCode = gridCode
        self.code = code
        self.name = name
        self.level2Code = code / 10
        self.level1Code = code / 100
        guard let level2Name = Corine.level2Names[level2Code], let level1Name = Corine.level1Names[level1Code] else {
            preconditionFailure("CLC code \(code) has no level-1/level-2 parent in the legend")
        }
        self.level2Name = level2Name
        self.level1Name = level1Name
        self.color = color
    }

    /// The class code at `level`: 1, 2 or 3 digits of the CLC code.
    public func code(at level: CorineLevel) -> Int {
        switch level {
        case .level1: level1Code
        case .level2: level2Code
        case .level3: code
        }
    }

    /// The official EEA name of the class (or of its parent) at `level`.
    public func name(at level: CorineLevel) -> String {
        switch level {
        case .level1: level1Name
        case .level2: level2Name
        case .level3: name
        }
    }
}

/// The CORINE Land Cover legend (EEA `clc_legend.csv`) and the special values of the U2018 raster.
public enum Corine {
    /// Raster value for "NODATA" (CLC code 999).
    public static let gridNoData = 48
    /// Raster value for "UNCLASSIFIED LAND SURFACE".
    public static let gridUnclassifiedLand = 49
    /// Raster value for "UNCLASSIFIED WATER BODIES".
    public static let gridUnclassifiedWater = 50
    /// Raster value for pixels outside the mapped area.
    public static let gridOutside = 255
    /// CLC code for "NODATA" in rasters that store CLC codes instead of grid codes.
    public static let codeNoData = 999

    /// Level-1 names by 1-digit code.
    fileprivate static let level1Names: [Int: String] = [
        1: "Artificial surfaces",
        2: "Agricultural areas",
        3: "Forest and semi natural areas",
        4: "Wetlands",
        5: "Water bodies",
    ]

    /// Level-2 names by 2-digit code.
    fileprivate static let level2Names: [Int: String] = [
        11: "Urban fabric",
        12: "Industrial, commercial and transport units",
        13: "Mine, dump and construction sites",
        14: "Artificial, non-agricultural vegetated areas",
        21: "Arable land",
        22: "Permanent crops",
        23: "Pastures",
        24: "Heterogeneous agricultural areas",
        31: "Forests",
        32: "Scrub and/or herbaceous vegetation associations",
        33: "Open spaces with little or no vegetation",
        41: "Inland wetlands",
        42: "Maritime wetlands",
        51: "Inland waters",
        52: "Marine waters",
    ]

    /// The 44 level-3 classes in grid-code order (`classes[g - 1].gridCode == g`).
    public static let classes: [CorineClass] = [
        // grid code, CLC code, level-3 name, colour
        CorineClass(1, 111, "Continuous urban fabric", RGB(230, 0, 77)),
        CorineClass(2, 112, "Discontinuous urban fabric", RGB(255, 0, 0)),
        CorineClass(3, 121, "Industrial or commercial units", RGB(204, 77, 242)),
        CorineClass(4, 122, "Road and rail networks and associated land", RGB(204, 0, 0)),
        CorineClass(5, 123, "Port areas", RGB(230, 204, 204)),
        CorineClass(6, 124, "Airports", RGB(230, 204, 230)),
        CorineClass(7, 131, "Mineral extraction sites", RGB(166, 0, 204)),
        CorineClass(8, 132, "Dump sites", RGB(166, 77, 0)),
        CorineClass(9, 133, "Construction sites", RGB(255, 77, 255)),
        CorineClass(10, 141, "Green urban areas", RGB(255, 166, 255)),
        CorineClass(11, 142, "Sport and leisure facilities", RGB(255, 230, 255)),
        CorineClass(12, 211, "Non-irrigated arable land", RGB(255, 255, 168)),
        CorineClass(13, 212, "Permanently irrigated land", RGB(255, 255, 0)),
        CorineClass(14, 213, "Rice fields", RGB(230, 230, 0)),
        CorineClass(15, 221, "Vineyards", RGB(230, 128, 0)),
        CorineClass(16, 222, "Fruit trees and berry plantations", RGB(242, 166, 77)),
        CorineClass(17, 223, "Olive groves", RGB(230, 166, 0)),
        CorineClass(18, 231, "Pastures", RGB(230, 230, 77)),
        CorineClass(19, 241, "Annual crops associated with permanent crops", RGB(255, 230, 166)),
        CorineClass(20, 242, "Complex cultivation patterns", RGB(255, 230, 77)),
        CorineClass(
            21, 243, "Land principally occupied by agriculture, with significant areas of natural vegetation",
            RGB(230, 204, 77)),
        CorineClass(22, 244, "Agro-forestry areas", RGB(242, 204, 166)),
        CorineClass(23, 311, "Broad-leaved forest", RGB(128, 255, 0)),
        CorineClass(24, 312, "Coniferous forest", RGB(0, 166, 0)),
        CorineClass(25, 313, "Mixed forest", RGB(77, 255, 0)),
        CorineClass(26, 321, "Natural grasslands", RGB(204, 242, 77)),
        CorineClass(27, 322, "Moors and heathland", RGB(166, 255, 128)),
        CorineClass(28, 323, "Sclerophyllous vegetation", RGB(166, 230, 77)),
        CorineClass(29, 324, "Transitional woodland-shrub", RGB(166, 242, 0)),
        CorineClass(30, 331, "Beaches, dunes, sands", RGB(230, 230, 230)),
        CorineClass(31, 332, "Bare rocks", RGB(204, 204, 204)),
        CorineClass(32, 333, "Sparsely vegetated areas", RGB(204, 255, 204)),
        CorineClass(33, 334, "Burnt areas", RGB(0, 0, 0)),
        CorineClass(34, 335, "Glaciers and perpetual snow", RGB(166, 230, 204)),
        CorineClass(35, 411, "Inland marshes", RGB(166, 166, 255)),
        CorineClass(36, 412, "Peat bogs", RGB(77, 77, 255)),
        CorineClass(37, 421, "Salt marshes", RGB(204, 204, 255)),
        CorineClass(38, 422, "Salines", RGB(230, 230, 255)),
        CorineClass(39, 423, "Intertidal flats", RGB(166, 166, 230)),
        CorineClass(40, 511, "Water courses", RGB(0, 204, 242)),
        CorineClass(41, 512, "Water bodies", RGB(128, 242, 230)),
        CorineClass(42, 521, "Coastal lagoons", RGB(0, 255, 166)),
        CorineClass(43, 522, "Estuaries", RGB(166, 255, 230)),
        CorineClass(44, 523, "Sea and ocean", RGB(230, 242, 255)),
    ]

    private static let classesByCode: [Int: CorineClass] =
        Dictionary(uniqueKeysWithValues: classes.map { ($0.code, $0) })

    /// The class with raster value `gridCode` (1...44), or nil for special values and anything else.
    public static func byGridCode(_ gridCode: Int) -> CorineClass? {
        classes.indices.contains(gridCode - 1) ? classes[gridCode - 1] : nil
    }

    /// The class with three-digit CLC code `code` (e.g. 311), or nil if there is none.
    public static func byCode(_ code: Int) -> CorineClass? {
        classesByCode[code]
    }
}
